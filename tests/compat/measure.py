"""The compatibility measure: podman 4.3's commands and flags (the snapshot) against
pdman's Typer app, less the exclusions (`exclusions.toml`).

Used by `test_flags.py` (fails on any gap the exclusions do not name), by
`readme_table.py` (the README's command table) and by hand:

    python -m tests.compat.measure     # counts, then every gap
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "podman-4.3.json"
EXCLUSIONS = HERE / "exclusions.toml"

#: podman's second names for one command: an exclusion written for the short name
#: (`run --pod`) covers the long one (`container run --pod`) too
_SAME_AS = {"container list": "ps", "image list": "images", "image rm": "rmi",
            "system info": "info", "image build": "build", "kube generate": "generate kube",
            "manifest remove": "manifest rm"}


def canonical(path: str, podman_commands: dict[str, Any]) -> str:
    """The short name podman users type for `path` (`container run` -> `run`)."""
    if path in _SAME_AS:
        return _SAME_AS[path]
    for group in ("container ", "image "):
        if path.startswith(group):
            rest = path[len(group):]
            if rest in podman_commands and not podman_commands[rest]["group"]:
                return rest
    return path


@dataclass
class Exclusions:
    commands: dict[str, str]
    #: (command or "*", "--flag") -> reason
    flags: dict[tuple[str, str], str]

    @classmethod
    def load(cls, path: Path = EXCLUSIONS) -> "Exclusions":
        """`[commands]` and `[flags]` map a reason to what it excludes: commands
        (`"pod"`, with its subcommands), or flags (`"run,create --pod"`; `"* --latest"`
        on every command)."""
        data = tomllib.loads(path.read_text())
        commands: dict[str, str] = {}
        for reason, names in data.get("commands", {}).items():
            for name in names:
                commands[name] = reason
        flags: dict[tuple[str, str], str] = {}
        for reason, keys in data.get("flags", {}).items():
            for key in keys:
                cmds, _, flag = key.rpartition(" ")
                for cmd in cmds.split(","):
                    flags[(cmd.strip(), flag)] = reason
        return cls(commands=commands, flags=flags)

    def command_reason(self, path: str, canon: str) -> str | None:
        for p in (path, canon):
            words = p.split()
            for i in range(len(words), 0, -1):
                reason = self.commands.get(" ".join(words[:i]))
                if reason:
                    return reason
        return None

    def flag_reason(self, path: str, canon: str, flag: str) -> str | None:
        for key in ((path, flag), (canon, flag), ("*", flag)):
            if key in self.flags:
                return self.flags[key]
        return None


@dataclass
class CommandReport:
    path: str
    exists: bool
    excluded: str | None
    flags_ok: list[str] = field(default_factory=list)
    #: flag -> what is wrong ("missing", "takes a value in podman", ...)
    flags_missing: dict[str, str] = field(default_factory=dict)
    #: flag -> reason
    flags_excluded: dict[str, str] = field(default_factory=dict)


def pdman_tree() -> dict[str, dict[str, bool]]:
    """Every pdman command path -> {option name: takes a value}."""
    from pdman.cli.app import get_command
    from pdman.cli.clickcompat import Group

    tree: dict[str, dict[str, bool]] = {}

    def walk(cmd: Any, path: list[str]) -> None:
        opts: dict[str, bool] = {}
        for p in cmd.params:
            if getattr(p, "param_type_name", "") != "option":
                continue
            for o in [*p.opts, *p.secondary_opts]:
                opts[o] = not p.is_flag
        tree[" ".join(path)] = opts
        if isinstance(cmd, Group):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])

    walk(get_command(), [])
    return tree


def load_snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


def measure(snapshot: dict[str, Any] | None = None, exclusions: Exclusions | None = None,
            tree: dict[str, dict[str, bool]] | None = None) -> list[CommandReport]:
    snapshot = snapshot or load_snapshot()
    exclusions = exclusions or Exclusions.load()
    tree = tree if tree is not None else pdman_tree()
    podman = snapshot["commands"]
    reports = []
    for path, cmd in sorted(podman.items()):
        canon = canonical(path, podman)
        have = tree.get(path)
        rep = CommandReport(path=path, exists=have is not None,
                            excluded=exclusions.command_reason(path, canon))
        for f in cmd["flags"]:
            long = "--" + f["long"]
            problem = _flag_problem(f, have)
            if problem is None:
                rep.flags_ok.append(long)
                continue
            # a command pdman has answers for each flag; one it lacks, for all of them
            reason = (None if rep.exists else rep.excluded) or exclusions.flag_reason(path, canon, long)
            if reason:
                rep.flags_excluded[long] = reason
            else:
                rep.flags_missing[long] = problem
        reports.append(rep)
    return reports


def _flag_problem(flag: dict[str, Any], have: dict[str, bool] | None) -> str | None:
    long = "--" + flag["long"]
    if have is None or long not in have:
        return "missing"
    if have[long] != flag["value"]:
        return "takes a value in podman" if flag["value"] else "is a boolean in podman"
    if flag["short"] and have.get("-" + flag["short"]) != flag["value"]:
        return f"short name -{flag['short']} missing"
    return None


def counts(reports: list[CommandReport]) -> dict[str, int]:
    return {
        "commands": len(reports),
        "commands_covered": sum(r.exists for r in reports),
        "commands_excluded": sum(bool(r.excluded) and not r.exists for r in reports),
        "flags": sum(len(r.flags_ok) + len(r.flags_missing) + len(r.flags_excluded)
                     for r in reports),
        "flags_covered": sum(len(r.flags_ok) for r in reports),
        "flags_excluded": sum(len(r.flags_excluded) for r in reports),
    }


def gaps(reports: list[CommandReport]) -> list[str]:
    """What podman has and pdman lacks, with no exclusion naming it."""
    out = []
    for r in reports:
        if not r.exists and not r.excluded:
            out.append(f"command `{r.path}`: missing")
        for flag, problem in r.flags_missing.items():
            out.append(f"`{r.path or 'podman'} {flag}`: {problem}")
    return out


def stale_exclusions(reports: list[CommandReport], exclusions: Exclusions,
                     snapshot: dict[str, Any]) -> list[str]:
    """Exclusions that name nothing podman has, or something pdman now does."""
    podman = snapshot["commands"]
    out = []
    by_path = {r.path: r for r in reports}
    for cmd in exclusions.commands:
        if cmd not in podman:
            out.append(f"command exclusion `{cmd}`: podman has no such command")
        elif by_path[cmd].exists:
            out.append(f"command exclusion `{cmd}`: pdman has it (name its missing flags instead)")
    for (cmd, flag) in exclusions.flags:
        if cmd == "*":
            if not any(flag in r.flags_excluded for r in reports):
                out.append(f"flag exclusion `* {flag}`: excludes nothing")
            continue
        if cmd not in podman:
            out.append(f"flag exclusion `{cmd} {flag}`: podman has no command `{cmd}`")
            continue
        matches = [r for r in reports
                   if (r.path == cmd or canonical(r.path, podman) == cmd)]
        if not any(flag in r.flags_excluded for r in matches):
            out.append(f"flag exclusion `{cmd} {flag}`: excludes nothing")
    return out


def main() -> int:
    reports = measure()
    c = counts(reports)
    print(f"podman {load_snapshot()['podman']}: "
          f"commands {c['commands_covered']}/{c['commands']} covered "
          f"({c['commands_excluded']} excluded); "
          f"flags {c['flags_covered']}/{c['flags']} covered ({c['flags_excluded']} excluded)")
    for g in gaps(reports):
        print(g)
    for s in stale_exclusions(reports, Exclusions.load(), load_snapshot()):
        print("stale:", s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
