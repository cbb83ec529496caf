"""The stdlib fast path for hot commands (`ps`, `run`, `inspect`, ...).

Parses the command line from `spec_data.py` (derived from the Typer app, see
`genspec.py`) and calls the same handler Typer would. Anything it is not sure of —
help, an unknown option, a bad value, a missing argument — returns None, and Typer
parses the line again and gives its usual message. Importing Typer costs ~50 ms;
this path costs ~1 ms.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Fallback(Exception):
    """The fast path declines; Typer takes the command line."""


def _spec() -> "dict[str, Any]":
    from pdman.cli.spec_data import SPEC

    return SPEC


def _convert(param: "dict[str, Any]", value: str) -> "Any":
    kind = param["type"]
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "path":
            from pathlib import Path

            return Path(value)
        if kind == "choice" and value not in param["choices"]:
            raise _Fallback
        if kind == "bool":
            raise _Fallback
    except ValueError:
        raise _Fallback from None
    return value


def _parse(params: "list[dict[str, Any]]", args: "list[str]", interspersed: bool,
           stop_at_command: bool = False,
           help_names: "tuple[str, ...] | list[str]" = ("-h", "--help")) -> "tuple[dict[str, Any], list[str]]":
    """Parse `args` against `params`; returns values and the unconsumed rest
    (the rest is only non-empty with `stop_at_command`, for the global options)."""
    by_opt: "dict[str, tuple[dict[str, Any], bool]]" = {}
    for p in params:
        if p["kind"] == "option":
            for o in p["opts"]:
                by_opt[o] = (p, True)
            for o in p.get("secondary", []):
                by_opt[o] = (p, False)
    values: "dict[str, Any]" = {}
    positional: "list[str]" = []

    def set_opt(p: "dict[str, Any]", raw: "Any") -> None:
        if p["multiple"]:
            values.setdefault(p["name"], []).append(raw)
        else:
            values[p["name"]] = raw

    i = 0
    only_args = False
    while i < len(args):
        a = args[i]
        i += 1
        if only_args or a == "-" or not a.startswith("-"):
            if stop_at_command:
                return values, args[i - 1:]
            positional.append(a)
            if not interspersed:
                only_args = True
            continue
        if a == "--":
            only_args = True
            continue
        if a in help_names:
            raise _Fallback
        if a.startswith("--"):
            name, eq, inline = a.partition("=")
            if name not in by_opt:
                raise _Fallback
            p, positive = by_opt[name]
            if p["flag"]:
                if eq:
                    raise _Fallback
                set_opt(p, positive)
            else:
                if not eq:
                    if i >= len(args):
                        raise _Fallback
                    inline = args[i]
                    i += 1
                set_opt(p, _convert(p, inline))
            continue
        # short options, possibly bundled: -aq, -n5, -n 5
        j = 1
        while j < len(a):
            o = "-" + a[j]
            if o not in by_opt:
                raise _Fallback
            p, positive = by_opt[o]
            if p["flag"]:
                set_opt(p, positive)
                j += 1
                continue
            rest = a[j + 1:]
            if not rest:
                if i >= len(args):
                    raise _Fallback
                rest = args[i]
                i += 1
            set_opt(p, _convert(p, rest))
            break

    # positional arguments, in declaration order
    for p in params:
        if p["kind"] != "argument":
            continue
        if p["nargs"] == -1:
            if p["required"] and not positional:
                raise _Fallback
            values[p["name"]] = [_convert(p, v) for v in positional]
            positional = []
        elif positional:
            values[p["name"]] = _convert(p, positional.pop(0))
        elif p["required"]:
            raise _Fallback
    if positional:
        raise _Fallback
    for p in params:
        if p["name"] not in values:
            if p["required"]:
                raise _Fallback
            values[p["name"]] = p["default"]
    return values, []


def bool_values(argv: "list[str]") -> "list[str]":
    """podman's `--flag=true|false` on a boolean flag (`--rm=false`,
    `--read-only-tmpfs=false`), which click refuses: rewritten to the flag, its
    `--no-` form, or nothing. Only the command's own options, before its arguments
    when those end them (`run IMAGE CMD...`); anything unexpected leaves argv as is."""
    if not any(a.startswith("-") and "=" in a for a in argv):    # `--rm=false`, `-a=false`
        return argv
    try:
        spec = _spec()
        _, rest = _parse(spec["global"], argv, True, stop_at_command=True)
    except _Fallback:
        return argv
    if not rest:
        return argv
    words = rest[:2] if rest[0] in spec["groups"] else rest[:1]
    command = spec["commands"].get(" ".join(words))
    if command is None:
        return argv
    flags = {}
    takes_value = set()
    for p in command["params"]:
        if p["kind"] == "option" and p["flag"]:
            for o in p["opts"]:
                flags[o] = (p, True)
            for o in p.get("secondary", []):
                flags[o] = (p, False)
        elif p["kind"] == "option":
            takes_value.update(p["opts"])
    start = len(argv) - len(rest) + len(words)
    out = argv[:start]
    skip = False
    for i, a in enumerate(argv[start:], start):
        if skip:  # the value of the option before
            out.append(a)
            skip = False
            continue
        if a == "--" or (not a.startswith("-") and not command["interspersed"]):
            return out + argv[i:]
        if a in takes_value or (len(a) > 1 and a[1] != "-" and "-" + a[-1] in takes_value
                                and "-" + a[-1] not in a[1:-1]):
            skip = True
        name, eq, value = a.partition("=")
        if eq and name in flags and value.lower() in ("true", "false"):
            p, positive = flags[name]
            if (value.lower() == "true") == positive:
                out.append(p["opts"][0])
            elif p.get("secondary"):
                out.append(p["secondary"][0])
            continue
        out.append(a)
    return out


def try_run(argv: "list[str]") -> "int | None":
    """Run `argv` through the fast path; None means: let Typer do it."""
    import os

    if "_PDMAN_COMPLETE" in os.environ:
        # a shell asking for completions (`pdman completion`): Typer's machinery answers
        return None
    if argv in (["--version"], ["-v"]):          # before the spec: ~1.5 ms to load
        from pdman import __version__

        print(f"pdman version {__version__}")
        return 0
    try:
        spec = _spec()
        gvals, rest = _parse(spec["global"], argv, True, stop_at_command=True)
        if gvals.get("version"):
            from pdman import __version__

            print(f"pdman version {__version__}")
            return 0
        if not rest:
            return None
        words = rest[:2] if rest[0] in spec["groups"] else rest[:1]
        command = spec["commands"].get(" ".join(words))
        if command is None or not command["fast"]:
            return None
        options, _ = _parse(command["params"], rest[len(words):], command["interspersed"],
                            help_names=command["help"])
    except _Fallback:
        return None
    from pdman.cli.globalopts import GlobalOptions, call_handler

    g = GlobalOptions(root=gvals.get("root"), runroot=gvals.get("runroot"),
                      log_level=gvals.get("log_level") or "warn",
                      events_backend=gvals.get("events_backend"), url=gvals.get("url"),
                      connection=gvals.get("connection"), identity=gvals.get("identity"),
                      remote=bool(gvals.get("remote")), noout=bool(gvals.get("noout")))
    return call_handler(command["handler"], g, options)
