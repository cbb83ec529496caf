"""Manual pages, generated from the Typer app: each option's text is written once (in
its declaration) and shows in `--help` and in `man pdman-run` alike.

    python -m pdman.cli.manpages [DIR]      writes DIR/man1/*.1, DIR/man5/*.5 and DIR/man7/*.7
                                            (default: man/)

One page per command, named as podman names them (`pdman-run.1`, `pdman-volume-create.1`);
a command reachable under several names (`ps`, `container ps`, `container ls`) gets one
page, and the other names are `.so` links to it. A unit test keeps the committed pages
in step with the app.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pdman import __version__

# the date in the footer: fixed, so the committed pages only change with their content
DATE = "2026-11"


@dataclass
class Page:
    name: str                      # "pdman-run"
    words: list[str]               # ["run"]
    command: Any
    aliases: list[list[str]] = field(default_factory=list)


def _esc(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + ln) if ln.startswith((".", "'")) else ln for ln in text.splitlines())


def _leaves(cmd: Any, words: list[str]) -> list[tuple[list[str], Any]]:
    from pdman.cli.clickcompat import Group

    if isinstance(cmd, Group):
        out = []
        for name, sub in sorted(cmd.commands.items()):
            if getattr(sub, "hidden", False):
                continue
            out += _leaves(sub, words + [name])
        return out
    return [(words, cmd)]


def pages() -> list[Page]:
    """Group the commands by the function behind them; the shortest name is canonical
    (top-level `run` before `container run`)."""
    from pdman.cli.app import get_command

    by_target: dict[object, list[tuple[list[str], Any]]] = {}
    for words, cmd in _leaves(get_command(), []):
        key = getattr(cmd.callback, "__pdman_handler__", None) or id(cmd)
        by_target.setdefault(key, []).append((words, cmd))
    out = []
    for names in by_target.values():
        names.sort(key=lambda n: (len(n[0]), n[0]))
        words, cmd = names[0]
        out.append(Page("pdman-" + "-".join(words), words, cmd, [w for w, _ in names[1:]]))
    return sorted(out, key=lambda p: p.name)


def _option_lines(cmd: Any) -> list[str]:
    from pdman.cli.clickcompat import Option

    lines: list[str] = []
    for p in cmd.params:
        if not isinstance(p, Option) or p.name == "help" or getattr(p, "hidden", False):
            continue
        flags = ", ".join(f"\\fB{_esc(o)}\\fR" for o in p.opts + list(p.secondary_opts))
        meta = "" if p.is_flag else f" \\fI{_esc(p.name.upper())}\\fR"
        lines += [".TP", flags + meta, _esc(p.help or "")]
        if p.multiple:
            lines.append("May be given more than once.")
    return lines


def _argument_text(cmd: Any) -> str:
    from pdman.cli.clickcompat import Option

    parts = []
    for p in cmd.params:
        if isinstance(p, Option):
            continue
        name = p.name.upper()
        name = f"{name}..." if p.nargs == -1 else name
        parts.append(name if p.required else f"[{name}]")
    return " ".join(parts)


def _summary(help_text: str) -> str:
    """The NAME line: the first sentence (or clause before a colon) of the help."""
    import re

    first = re.split(r"(?<=[.:])\s", " ".join(help_text.split()), maxsplit=1)[0]
    return first.rstrip(".:")


#: commands whose pages point to pdman-security(7)
SECURITY_PAGES = (["run"], ["create"], ["exec"], ["info"])


def render(page: Page) -> str:
    cmd = page.command
    title = page.name.upper()
    help_text = (cmd.help or "").strip()
    summary = _summary(help_text)
    lines = [
        f'.TH "{title}" "1" "{DATE}" "pdman {__version__}" "pdman Manual"',
        ".SH NAME",
        f"{_esc(page.name)} \\- {_esc(summary)}",
        ".SH SYNOPSIS",
        f"\\fBpdman {_esc(' '.join(page.words))}\\fR [\\fIOPTIONS\\fR] {_esc(_argument_text(cmd))}".rstrip(),
    ]
    for alias in page.aliases:
        lines += [".br", f"\\fBpdman {_esc(' '.join(alias))}\\fR [\\fIOPTIONS\\fR] {_esc(_argument_text(cmd))}".rstrip()]
    lines += [".SH DESCRIPTION", _esc(" ".join(help_text.split()))]
    options = _option_lines(cmd)
    if options:
        lines += [".SH OPTIONS", *options]
    if page.words in (["run"], ["create"]):
        from pdman.cli.manpage_security import run_section

        lines += run_section()
    lines += [".SH EXIT STATUS",
              "0 on success; 125 when pdman itself fails (bad options, unknown objects, "
              "registry or storage errors); for commands that run a container process, "
              "126 when it cannot be invoked, 127 when it is not found, else its own status.",
              ".SH SEE ALSO", "\\fBpdman\\fR(1), \\fBpdman-files\\fR(5)"
              + (", \\fBpdman\\-security\\fR(7)" if page.words in SECURITY_PAGES else "")]
    return "\n".join(lines) + "\n"


def render_main(all_pages: list[Page]) -> str:
    from pdman.cli.app import get_command

    root = get_command()
    lines = [
        f'.TH "PDMAN" "1" "{DATE}" "pdman {__version__}" "pdman Manual"',
        ".SH NAME", "pdman \\- rootless, daemonless container engine",
        ".SH SYNOPSIS", "\\fBpdman\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]",
        ".SH DESCRIPTION",
        "pdman runs containers as an unprivileged user, without a daemon: each command "
        "does its work and exits, keeping its state in a per\\-user SQLite catalog and "
        "overlay store. Commands, options, output columns and exit codes follow podman's.",
        ".SH GLOBAL OPTIONS", *_option_lines(root),
        ".SH COMMANDS",
    ]
    for p in all_pages:
        lines += [".TP", f"\\fB{_esc(p.name)}\\fR(1)", _esc(_summary(p.command.help or ""))]
    lines += [".SH ENVIRONMENT",
              ".TP", "\\fBPDMAN_ROOT\\fR, \\fBPDMAN_RUNROOT\\fR",
              "Store and runtime directories (as \\fB\\-\\-root\\fR, \\fB\\-\\-runroot\\fR).",
              ".TP", "\\fBREGISTRY_AUTH_FILE\\fR",
              "Credentials file written by \\fBpdman login\\fR (mode 0600).",
              ".TP", "\\fBCONTAINERS_REGISTRIES_CONF\\fR",
              "Use this registries.conf instead of the user's and the system's.",
              ".TP", "\\fBPDMAN_DEBUG\\fR",
              "Set to 1 to print the Python traceback of an unexpected internal error "
              "(as does \\fB\\-\\-log\\-level debug\\fR); without it pdman shows such "
              "an error in one line, exit status 125.",
              ".SH FILES", "See \\fBpdman\\-files\\fR(5).",
              ".SH SECURITY", "See \\fBpdman\\-security\\fR(7).",
              ".SH SEE ALSO", "\\fBpodman\\fR(1), \\fBnewuidmap\\fR(1), \\fBsubuid\\fR(5)"]
    return "\n".join(lines) + "\n"


FILES_PAGE = f'''.TH "PDMAN-FILES" "5" "{DATE}" "pdman {__version__}" "pdman Manual"
.SH NAME
pdman\\-files \\- the files pdman reads and writes
.SH DESCRIPTION
.TP
\\fB$XDG_DATA_HOME/pdman/\\fR (default \\fB~/.local/share/pdman\\fR; \\fB\\-\\-root\\fR)
The store: \\fBcatalog.db\\fR (SQLite, WAL: images, layers, containers, volumes,
networks), \\fBblobs/sha256/\\fR (content\\-addressed blobs), \\fBlayers/\\fR (each layer
unpacked once, by diff ID), \\fBl/\\fR (short links used in overlay mount options),
\\fBcontainers/ID/\\fR (each container's writable layer), \\fBvolumes/NAME/_data\\fR.
Without \\fBHOME\\fR (a system unit), the home directory is the user database's.
.TP
\\fB/var/lib/pdman/\\fR, \\fB/run/pdman/\\fR (root mode: \\fB\\-\\-root\\fR, \\fB\\-\\-runroot\\fR)
Real root's store and runtime state, apart from every user's, whatever \\fBHOME\\fR and
\\fBXDG_*\\fR say. As root a container gets no user namespace by default (its IDs are
the host's, as rootful podman's), with the same capabilities, seccomp filter and masked
paths as a user's container. \\fBuserns\\-auto.lock\\fR: held while a
\\fB\\-\\-userns=auto\\fR container's range (of /etc/subuid's \\fBcontainers\\fR entry) is
chosen; \\fBcontainers/ID/idmapped\\-rootfs\\fR: its copy of the image, owners moved.
.TP
\\fB$XDG_RUNTIME_DIR/pdman/\\fR (\\fB\\-\\-runroot\\fR)
Runtime state: probes, exit files and sockets of running containers. Lost at reboot,
by design. Without \\fBXDG_RUNTIME_DIR\\fR: \\fB$TMPDIR/pdman\\-run\\-UID\\fR (\\fB/tmp\\fR
by default), made mode 0700 and refused unless it is a directory of the user's with
mode 0700, as podman does. pdman never creates a file there through a symlink.
.TP
\\fB~/.config/containers/systemd/\\fR, \\fB~/.config/pdman/systemd/\\fR, \\fB/etc/containers/systemd/\\fR, ...
Quadlet files (\\fB.container\\fR, \\fB.volume\\fR, \\fB.network\\fR, \\fB.image\\fR, with
\\fBNAME.container.d/*.conf\\fR drop\\-ins), read by \\fBpdman\\-systemd\\-generator\\fR at
\\fBsystemctl daemon\\-reload\\fR and turned into services that run pdman, with
podman\\-systemd.unit(5)'s keys; see \\fBpdman\\-systemd\\-generator\\fR(1) for the
search paths (\\fBQUADLET_UNIT_DIRS\\fR replaces them).
.TP
\\fB~/.config/containers/registries.conf\\fR, \\fB/etc/containers/registries.conf\\fR
Short\\-name resolution (\\fBunqualified\\-search\\-registries\\fR, \\fB[aliases]\\fR,
\\fBshort\\-name\\-mode\\fR: \\fBenforcing\\fR by default) and per\\-registry settings
(\\fB[[registry]]\\fR \\fBlocation\\fR, \\fBinsecure\\fR), as for podman. Credentials go to a
registry's token service only over https on its own host or domain, unless the
registry is \\fBinsecure\\fR.
.TP
\\fB~/.config/containers/short\\-name\\-aliases.conf\\fR
The registries picked at short\\-name prompts (\\fB[aliases]\\fR), written by pdman; they
win over the aliases of registries.conf.
.TP
\\fB~/.config/containers/certs.d/HOST[:PORT]/*.crt\\fR, \\fB/etc/containers/certs.d/...\\fR
CA certificates a registry's TLS certificate is verified against, besides the
system's (\\fBcontainers\\-certs.d\\fR(5)).
.TP
\\fB$XDG_RUNTIME_DIR/containers/auth.json\\fR (or \\fBREGISTRY_AUTH_FILE\\fR), \\fB~/.docker/config.json\\fR
Registry credentials; pdman writes the first, mode 0600, and reads both.
.TP
\\fB/etc/subuid\\fR, \\fB/etc/subgid\\fR
The user's subordinate ID ranges, mapped into containers with \\fBnewuidmap\\fR(1) and
\\fBnewgidmap\\fR(1). Without them pdman maps the user alone and says so once.
.SH SEE ALSO
\\fBpdman\\fR(1), \\fBcontainers\\-registries.conf\\fR(5), \\fBsubuid\\fR(5)
'''


def write_all(out: Path) -> list[Path]:
    (out / "man1").mkdir(parents=True, exist_ok=True)
    (out / "man5").mkdir(parents=True, exist_ok=True)
    (out / "man7").mkdir(parents=True, exist_ok=True)
    from pdman.cli.manpage_security import security_page

    all_pages = pages()
    wanted = {out / "man1" / "pdman.1", out / "man5" / "pdman-files.5",
              out / "man7" / "pdman-security.7"}
    (out / "man1" / "pdman.1").write_text(render_main(all_pages))
    (out / "man5" / "pdman-files.5").write_text(FILES_PAGE)
    (out / "man7" / "pdman-security.7").write_text(security_page(DATE, __version__))
    for p in all_pages:
        path = out / "man1" / f"{p.name}.1"
        path.write_text(render(p))
        wanted.add(path)
        for alias in p.aliases:
            link = out / "man1" / f"pdman-{'-'.join(alias)}.1"
            link.write_text(f".so man1/{p.name}.1\n")
            wanted.add(link)
    for old in [*(out / "man1").glob("*.1"), *(out / "man5").glob("*.5"),
                *(out / "man7").glob("*.7")]:
        if old not in wanted:
            old.unlink()
    return sorted(wanted)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "man"
    n = len(write_all(out))
    print(f"wrote {n} pages under {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

