"""Output for humans and scripts: tables, JSON and Go-style `--format` templates.

The templates cover what podman and docker users type: `{{.ID}}`, `{{.State.Pid}}`,
`{{json .}}`, `{{json .Config}}`, `{{upper .Name}}`, `{{lower .X}}`, `{{index .Labels "k"}}`,
`{{join .Names ","}}`, a leading `table` for a header row, and `\\t`/`\\n` escapes.
Stdlib only: it runs on the hot path of `ps`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable, Sequence
    from typing import Any

_ACTION_PATTERN = r"{{-?\s*(.*?)\s*-?}}"


def _action() -> "re.Pattern[str]":
    import re

    return re.compile(_ACTION_PATTERN)


def _lookup(obj: Any, path: str) -> Any:
    if path in (".", ""):
        return obj
    for part in path.lstrip(".").split("."):
        if isinstance(obj, Mapping):
            if part in obj:
                obj = obj[part]
                continue
            lowered = {str(k).lower(): v for k, v in obj.items()}
            if part.lower() in lowered:
                obj = lowered[part.lower()]
                continue
            raise UsageError(
                f"template: can't evaluate field {part}",
                hint="see `--format json` for the field names",
            )
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        raise UsageError(f"template: can't evaluate field {part}",
                         hint="see `--format json` for the field names")
    return obj


def _text(value: Any) -> str:
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _evaluate(expr: str, obj: Any) -> str:
    import json
    import shlex

    words = shlex.split(expr)
    if not words:
        return ""
    func, args = (words[0], words[1:]) if not words[0].startswith(".") else ("", words)
    if func == "":
        return _text(_lookup(obj, args[0]))
    if func == "json":
        return json.dumps(_lookup(obj, args[0] if args else "."), default=str)
    if func in ("upper", "lower", "title"):
        return getattr(_text(_lookup(obj, args[0])), func)()
    if func == "join" and len(args) == 2:
        return args[1].join(str(v) for v in _lookup(obj, args[0]) or [])
    if func == "index" and len(args) == 2:
        container = _lookup(obj, args[0]) or {}
        return _text(container.get(args[1]) if isinstance(container, Mapping) else None)
    if func == "truncate" and len(args) == 2:
        return _text(_lookup(obj, args[0]))[: int(args[1])]
    raise UsageError(f"template: function {func!r} not defined",
                     hint="supported: json, upper, lower, title, join, index, truncate")


def render_template(template: str, obj: Any) -> str:
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    return _action().sub(lambda m: _evaluate(m.group(1), obj), template)


def _header_for(template: str) -> str:
    """The header row of a `table` template: each field's name, upper-cased."""
    template = template.replace("\\t", "\t").replace("\\n", "\n")

    import shlex

    def name(m: re.Match[str]) -> str:
        words = shlex.split(m.group(1)) or [""]
        field = next((w for w in words if w.startswith(".")), ".")
        return field.lstrip(".").split(".")[-1].upper() or "VALUE"

    return _action().sub(name, template)


def print_formatted(template: str, items: Iterable[Any], header: bool = True) -> None:
    """Apply a user `--format` to each item (a `table` prefix adds a header row,
    unless `header` is false: `--noheading`)."""
    out = sys.stdout
    rows: list[list[str]] = []
    is_table = template.startswith("table")
    body = template[5:].lstrip() if is_table else template
    if is_table:
        rows.append(_header_for(body).split("\t"))
    for item in items:
        line = render_template(body, item)
        if is_table:
            rows.append(line.split("\t"))
        else:
            out.write(line + "\n")
    if is_table:
        print_table(rows[0], rows[1:], header=header)


def print_json(value: Any) -> None:
    import json

    json.dump(value, sys.stdout, indent=4, default=str)
    sys.stdout.write("\n")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[str]], header: bool = True) -> None:
    """Columns separated by at least two spaces, like podman's tabwriter output; the
    header row (`columns`) only sizes the columns when `header` is false (`--noheading`)."""
    widths = [len(h) for h in columns]
    for row in rows:
        for i, cell in enumerate(row):
            if i < len(widths):
                widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(columns), *rows] if header else rows:
        cells = [c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
