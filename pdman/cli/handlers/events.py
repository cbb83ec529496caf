"""Handlers of `events` and `auto-update`."""

from __future__ import annotations

import sys
from typing import Any

from pdman.cli.globalopts import GlobalOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def events(g: GlobalOptions, filter: "list[str] | None", format: "str | None",
           since: "str | None", until: "str | None", stream: bool, no_trunc: bool) -> int:
    from pdman.engine import event_log

    flt = event_log.EventFilter(filter or [], since=since, until=until)
    try:
        print_events(event_log.stream(g.context().paths, flt, follow=stream), format, no_trunc)
    except KeyboardInterrupt:
        pass
    return 0


def print_events(events: "Iterable[Any]", format: "str | None", no_trunc: bool) -> None:
    """Each event as it comes: podman's line, its JSON, or a Go template (the remote
    client prints the service's events with this too)."""
    import json

    template = None
    if format and format != "json":
        from pdman.cli.gotemplate import Template

        template = Template(format[5:].lstrip() if format.startswith("table") else format)
    newline = "" if format and format.endswith(("\n", "\\n")) else "\n"
    out = sys.stdout
    for ev in events:
        if format == "json":
            out.write(json.dumps(ev.podman_json(), separators=(",", ":")) + "\n")
        elif template is not None:
            out.write(template.render(ev) + newline)
        else:
            out.write(ev.human(truncate=not no_trunc) + "\n")
        out.flush()


def auto_update(g: GlobalOptions, dry_run: bool, rollback: bool, format: "str | None",
                authfile: "str | None") -> int:
    from pdman.cli import output
    from pdman.engine import auto_update as engine

    reports = engine.auto_update(g.context(), engine.AutoUpdateOptions(
        dry_run=dry_run, rollback=rollback, authfile=authfile))
    if format == "json":
        output.print_json([r.as_dict() for r in reports])
    elif format:
        output.print_formatted(format, reports)
    elif reports:
        output.print_table(["UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED"],
                           [[r.Unit, r.Container, r.Image, r.Policy, r.Updated] for r in reports])
    failed = [r for r in reports if r.Updated == "failed"]
    for r in failed:
        print(f"Error: {r.Error}", file=sys.stderr)
    return 125 if failed else 0


__all__ = ["events", "auto_update", "print_events"]
