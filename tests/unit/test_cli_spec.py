"""The Typer app is the one definition of the CLI; the fast path must agree with it."""

from __future__ import annotations

from typing import Any

import pytest

from pdman.cli import fast
from pdman.cli.app import get_command
from pdman.cli.clickcompat import Group
from pdman.cli.genspec import build_spec, render


def test_committed_spec_matches_the_typer_app() -> None:
    from pdman.cli import spec_data

    assert spec_data.SPEC == build_spec(), "run `python -m pdman.cli.genspec` and commit"
    assert render(build_spec()).startswith('"""Generated')


def _leaves(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(cmd, Group):
        out = []
        for name, sub in cmd.commands.items():
            out += _leaves(sub, path + (name,))
        return out
    return [(path, cmd)]


def test_every_command_has_help_text() -> None:
    missing = [" ".join(p) for p, c in _leaves(get_command()) if not (c.help or "").strip()]
    assert missing == []


CASES = [
    (["ps"], []),
    (["ps"], ["-a"]),
    (["ps"], ["-aq", "--no-trunc"]),
    (["ps"], ["--filter", "status=running", "--filter=name=x", "-n", "3"]),
    (["ps"], ["--format", "{{.ID}}"]),
    (["container", "ls"], ["-a", "--last=2"]),
    (["images"], ["-q", "--digests"]),
    (["volume", "create"], ["v1", "--label", "a=b", "-o", "x=y"]),
    (["volume", "rm"], ["-f", "v1", "v2"]),
    (["run"], ["--rm", "busybox", "ls", "-la"]),
    (["run"], ["-it", "-e", "A=1", "-eB=2", "--name=x", "busybox"]),
    (["run"], ["-v", "/a:/b:ro", "--cap-drop", "all", "-h", "box", "img", "--", "x"]),
    (["container", "create"], ["--entrypoint", "", "-u", "1000:1000", "img", "sh", "-c", "id -u"]),
    (["rm"], ["-fa"]),
    (["wait"], ["--condition", "running", "c1"]),
]


@pytest.mark.parametrize(("words", "args"), CASES)
def test_fast_parser_agrees_with_typer(words: list[str], args: list[str]) -> None:
    spec = fast._spec()
    command = spec["commands"][" ".join(words)]
    ours, _ = fast._parse(command["params"], args, command["interspersed"],
                          help_names=command["help"])
    leaf = dict(_leaves(get_command()))[tuple(words)]
    ctx = leaf.make_context(words[-1], list(args))
    theirs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in ctx.params.items()}
    # an absent repeatable option: Typer hands the handler None, click's parser [];
    # handlers treat both as "none given"
    multiple = {p["name"] for p in command["params"] if p["multiple"] or p["nargs"] == -1}
    ours = {k: ([] if k in multiple and v is None else v) for k, v in ours.items()}
    assert ours == theirs


@pytest.mark.parametrize("argv", [
    ["ps", "--bogus"], ["ps", "--help"], ["ps", "-n"], ["ps", "-n", "x"], ["nosuch"], [],
    ["volume"], ["volume", "rm", "--bogus"],
])
def test_fast_path_declines_what_typer_must_answer(argv: list[str]) -> None:
    assert fast.try_run(argv) is None


def test_version_on_the_fast_path(capsys: pytest.CaptureFixture[str]) -> None:
    from pdman import __version__

    assert fast.try_run(["--version"]) == 0
    assert capsys.readouterr().out == f"pdman version {__version__}\n"
