"""Derive the static command-line description (`spec_data.py`) from the Typer app.

Run `python -m pdman.cli.genspec` after changing a command declaration; a unit test
fails while the committed spec and the Typer app disagree. The fast path parses hot
commands from this description with the standard library alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("spec_data.py")

_SIMPLE_TYPES = {"STR": "str", "INT": "int", "FLOAT": "float", "BOOLEAN": "bool"}


def _type_of(param: Any) -> str | None:
    name = getattr(param.type, "name", "")
    if name in ("path", "choice"):
        return name
    return _SIMPLE_TYPES.get(name.upper())


def _param(param: Any) -> dict[str, Any] | None:
    from pdman.cli.clickcompat import Option

    kind = _type_of(param)
    if kind is None:
        return None
    default = param.default
    if callable(default) or param.envvar and param.name not in ("root", "runroot"):
        return None
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, Path):
        default = str(default)
    entry: dict[str, Any] = {
        "name": param.name,
        "type": kind,
        "default": default,
        "required": bool(param.required),
        "multiple": bool(getattr(param, "multiple", False)),
        "nargs": param.nargs,
    }
    if kind == "choice":
        entry["choices"] = list(param.type.choices)
    if isinstance(param, Option):
        if param.count:
            return None
        entry.update(kind="option", opts=list(param.opts), flag=bool(param.is_flag),
                     secondary=list(param.secondary_opts))
    else:
        entry["kind"] = "argument"
    return entry


def build_spec() -> dict[str, Any]:
    from pdman.cli.app import get_command
    from pdman.cli.clickcompat import Command, Group

    root = get_command()
    commands: dict[str, Any] = {}

    def walk(cmd: Command, path: list[str]) -> None:
        if isinstance(cmd, Group):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, path + [name])
            return
        handler = getattr(cmd.callback, "__pdman_handler__", None)
        params = [_param(p) for p in cmd.params if p.name != "help"]
        fast = handler is not None and all(p is not None for p in params)
        settings = cmd.context_settings or {}
        commands[" ".join(path)] = {
            "handler": handler,
            "fast": fast,
            "help": list(settings.get("help_option_names", ["--help"])),
            "interspersed": bool(settings.get("allow_interspersed_args", cmd.allow_interspersed_args)),
            "params": [p for p in params if p is not None],
        }

    walk(root, [])
    global_params = [_param(p) for p in root.params if p.name not in ("help", "install_completion", "show_completion")]
    return {
        "version": 1,
        "groups": sorted(n for n, c in root.commands.items() if isinstance(c, Group)),
        "global": [p for p in global_params if p is not None],
        "commands": commands,
    }


_LAZY = '''
import marshal

_MISSING = object()


class _Commands:
    """command name -> its spec, each unmarshaled on first use: a hot command loads
    one of ~190 (the whole table as literals cost every command ~1.5 ms)."""

    __slots__ = ("_raw", "_done")

    def __init__(self, raw):
        self._raw, self._done = raw, {}

    def get(self, name, default=None):
        value = self._done.get(name, _MISSING)
        if value is _MISSING:
            raw = self._raw.get(name)
            if raw is None:
                return default
            value = self._done[name] = marshal.loads(raw)
        return value

    def __getitem__(self, name):
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name):
        return name in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)

    def keys(self):
        return self._raw.keys()

    def items(self):
        return [(name, self[name]) for name in self._raw]

    def values(self):
        return [self[name] for name in self._raw]

    def __eq__(self, other):
        return dict(self.items()) == other

    __hash__ = None
'''


def render(spec: dict[str, Any]) -> str:
    """A Python module, not JSON: its cached bytecode loads faster than json can parse,
    and the fast path then needs no `json` import. Each command's spec is marshal
    data, loaded when asked for (`_Commands`)."""
    import marshal
    import pprint

    rest = {k: v for k, v in spec.items() if k != "commands"}
    raw = {name: marshal.dumps(value) for name, value in sorted(spec["commands"].items())}
    blobs = sorted(set(raw.values()))          # aliases (`container rm`, `rm`) share one
    index = {name: blobs.index(blob) for name, blob in raw.items()}
    return ('"""Generated by `python -m pdman.cli.genspec` from the Typer app; do not edit."""\n'
            + _LAZY + "\n"
            + f"_BLOBS = {pprint.pformat(blobs, indent=1, width=100)}\n\n"
            + f"_INDEX = {pprint.pformat(index, indent=1, width=100)}\n\n"
            + f"SPEC = {pprint.pformat(rest, indent=1, width=100, sort_dicts=True)}\n"
            + 'SPEC["commands"] = _Commands({name: _BLOBS[i] for name, i in _INDEX.items()})\n')


def main() -> int:
    SPEC_PATH.write_text(render(build_spec()))
    print(f"wrote {SPEC_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
