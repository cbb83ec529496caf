"""Snapshot podman's command and flag table (the compatibility measure's reference).

    python -m tests.compat.snapshot            # rewrite tests/compat/podman-4.3.json
    python -m tests.compat.snapshot --check    # exit 1 if the file differs from podman

Walks `podman --help`, then `podman COMMAND --help` into every subcommand it lists,
and records each command's flags: long name, short name, and whether it takes a value.
Cobra prints a flag as `  -a, --all   Help` (a boolean) or `      --time uint   Help`
(the word after the name is the value's type: the flag takes a value). The test
(`test_flags.py`) compares pdman against the committed file, so it runs without podman;
`test_snapshot.py` checks the file still equals the installed podman's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("podman-4.3.json")

# `      --time uint   Seconds to wait`; `  -a, --all   Remove all`
_FLAG = re.compile(r"^\s{2,}(?:-(?P<short>\S), )?--(?P<long>[A-Za-z0-9][\w.-]*)"
                   r"(?: (?P<type>\S+))?(?:\s{2,}|$)")
_COMMAND = re.compile(r"^\s{2}(?P<name>[a-z][\w-]*)\s+\S")

#: cobra's own `help` subcommand is not a podman command
_SKIP = {"help"}


def podman_help(words: list[str], podman: str = "podman") -> str:
    proc = subprocess.run([podman, *words, "--help"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "LANG": "C"})
    return proc.stdout


def parse_help(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(subcommands, flags) from one cobra help page."""
    section = ""
    subcommands: list[str] = []
    flags: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.rstrip(":")
            continue
        if section == "Available Commands":
            m = _COMMAND.match(line)
            if m and m["name"] not in _SKIP:
                subcommands.append(m["name"])
        elif section in ("Options", "Flags", "Global Flags"):
            m = _FLAG.match(line)
            if m and m["long"] != "help":
                flags.append({"long": m["long"], "short": m["short"] or "",
                              "value": m["type"] is not None})
    return subcommands, flags


def build(podman: str = "podman") -> dict[str, Any]:
    proc = subprocess.run([podman, "--version"], capture_output=True, text=True, timeout=60)
    version = proc.stdout.split()[-1] if proc.stdout else "?"
    commands: dict[str, Any] = {}

    def walk(words: list[str]) -> None:
        subs, flags = parse_help(podman_help(words, podman))
        commands[" ".join(words)] = {"group": bool(subs), "subcommands": subs,
                                     "flags": sorted(flags, key=lambda f: f["long"])}
        for sub in subs:
            walk(words + [sub])

    walk([])
    return {"podman": version, "commands": commands}


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    data = build()
    if not data["podman"].startswith("4.3."):
        print(f"podman {data['podman']} is not 4.3: the snapshot is of podman 4.3",
              file=sys.stderr)
        return 2
    text = render(data)
    if "--check" in argv:
        if SNAPSHOT.read_text() != text:
            print(f"{SNAPSHOT} differs from the installed podman's help", file=sys.stderr)
            return 1
        return 0
    SNAPSHOT.write_text(text)
    n = sum(len(c["flags"]) for c in data["commands"].values())
    print(f"wrote {SNAPSHOT}: {len(data['commands'])} commands, {n} flags", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
