"""Handlers of the container commands: build options, call the engine, print."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions


def _context(g: GlobalOptions):  # type: ignore[no-untyped-def]
    from pdman.engine.context import EngineContext

    return EngineContext.create(g.root, g.runroot)


def _command_text(argv: list[str], no_trunc: bool) -> str:
    text = " ".join(argv)
    return text if no_trunc or len(text) <= 20 else text[:17] + "..."


def _ports_text(ports: list[dict[str, object]]) -> str:
    return ", ".join(
        f"{p.get('host_ip') or '0.0.0.0'}:{p['host_port']}->{p['container_port']}/{p.get('protocol', 'tcp')}"
        for p in ports)


def ps(g: GlobalOptions, all: bool, quiet: bool, no_trunc: bool, filter: list[str] | None,
       format: str | None, last: int, latest: bool) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import ago
    from pdman.engine.containers import list_containers
    from pdman.entities.containers import ListContainersOptions

    opts = ListContainersOptions(all=all, filters=tuple(filter or ()), last=1 if latest else last)
    rows = list_containers(_context(g), opts)
    if quiet:
        for r in rows:
            print(r.ID if no_trunc else r.ID[:12])
        return 0
    if format == "json":
        output.print_json([{**r.as_dict(), "Id": r.ID} for r in rows])
        return 0
    if format:
        output.print_formatted(format, [{**r.as_dict(), "ID": r.ID if no_trunc else r.ID[:12],
                                         "Names": r.Name, "Command": " ".join(r.Command),
                                         "CreatedHuman": ago(r.Created),
                                         "Ports": _ports_text(r.Ports)} for r in rows])
        return 0
    output.print_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
        [[r.ID if no_trunc else r.ID[:12], r.Image, _command_text(r.Command, no_trunc),
          ago(r.Created), r.Status, _ports_text(r.Ports), r.Name] for r in rows])
    return 0
