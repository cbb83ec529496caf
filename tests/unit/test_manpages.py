"""Every command has help text and a manual page, and the pages say what --help says."""

from __future__ import annotations

import re
from pathlib import Path

from pdman.cli import manpages

MAN = Path(__file__).resolve().parents[2] / "man"


def test_committed_pages_match_the_app(tmp_path: Path) -> None:
    manpages.write_all(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.[157]")}
    committed = {p.relative_to(MAN): p.read_text() for p in MAN.rglob("*.[157]")}
    assert sorted(committed) == sorted(fresh), "run `python -m pdman.cli.manpages` and commit man/"
    stale = [str(k) for k in fresh if fresh[k] != committed[k]]
    assert stale == [], "run `python -m pdman.cli.manpages` and commit man/"


def test_every_command_has_a_page_with_its_options() -> None:
    for page in manpages.pages():
        for words in [page.words, *page.aliases]:
            assert (MAN / "man1" / f"pdman-{'-'.join(words)}.1").exists(), words
        text = (MAN / "man1" / f"{page.name}.1").read_text()
        documented = set(re.findall(r"\\fB((?:\\-){2}[a-z0-9](?:[a-z0-9]|\\-)*)\\fR", text))
        documented = {d.replace("\\-", "-") for d in documented}
        declared = {o for p in page.command.params if p.name != "help"
                    for o in getattr(p, "opts", []) + list(getattr(p, "secondary_opts", []))
                    if o.startswith("--")}
        assert declared <= documented, (page.name, declared - documented)
        assert (page.command.help or "").strip(), f"{page.name} has no help text"
