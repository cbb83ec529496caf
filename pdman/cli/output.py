"""Output for humans and scripts: tables, JSON and Go `--format` templates (the template
language itself is `gotemplate.py`). Stdlib only: it runs on the hot path of `ps`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any


def render_template(template: str, obj: Any) -> str:
    """Go template semantics (`gotemplate.py`): `{{.ID}}`, `{{json .}}`, `range`, ..."""
    from pdman.cli.gotemplate import Template

    return Template(template).render(obj)


def print_formatted(template: str, items: Iterable[Any], header: bool = True,
                    headers: Mapping[str, str] | None = None) -> None:
    """Apply a user `--format` to each item. A `table` prefix adds a header row (unless
    `header` is false: `--noheading`; `headers` names columns, e.g. ID -> CONTAINER ID)
    and lines the columns up on their tabs; without it, each item's text ends with a
    newline, as in podman."""
    from pdman.cli.gotemplate import Template

    out = sys.stdout
    is_table = template.startswith("table")
    body = template[5:].lstrip() if is_table else template
    if is_table and not body:
        body = "{{.}}"
    parsed = Template(body)
    if not is_table:
        # podman ends the template, not each output, with a newline if it has none
        newline = "" if body.endswith(("\n", "\\n")) else "\n"
        for item in items:
            out.write(parsed.render(item) + newline)
        return
    rows = [parsed.render(item).rstrip("\n").split("\t") for item in items]
    print_table(parsed.header(headers).split("\t"), rows, header=header)


def print_json(value: Any) -> None:
    from pdman.cjson import dumps_indented      # json's text, without importing json

    sys.stdout.write(dumps_indented(value, indent=4, default=str) + "\n")


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


def write_tar(output: "str | None", write: "Callable[[int], None]") -> None:
    """`export`'s output: `write(fd)` to stdout (never a terminal), or to FILE through
    FILE.partial, renamed only once complete (a failed or killed export leaves no half
    archive under the name)."""
    import os

    from pdman.errors import UsageError

    if output is None and sys.stdout.isatty():
        raise UsageError("refusing to write a tar archive to a terminal",
                         hint="redirect stdout or use --output FILE")
    sys.stdout.flush()
    if output is None:
        write(sys.stdout.fileno())
        return
    tmp = output + ".partial"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write(fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, output)
