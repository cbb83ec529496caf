"""Handlers of `system connection`: the remote client's destinations
(pdman/remote/connections.py keeps them)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


from pdman.cli.globalopts import GlobalOptions


def add(g: GlobalOptions, name: str, destination: str, default: bool, identity: str | None,
        port: int | None, socket_path: str | None) -> int:
    import os

    from pdman.remote import connections
    from pdman.remote.transport import normalize

    uri = normalize(destination, port, socket_path)
    if uri.startswith("unix://") and not os.path.exists(uri[len("unix://"):]):
        import sys

        print(f"WARNING: {uri[len('unix://'):]!r} does not exist (yet)", file=sys.stderr)
    data = connections.load()
    entry: dict[str, str] = {"uri": uri}
    if identity:
        entry["identity"] = os.path.abspath(os.path.expanduser(identity))
    data["connections"][name] = entry
    if default or not data.get("default") or data["default"] not in data["connections"]:
        data["default"] = name
    connections.save(data)
    return 0


def _rows() -> list[dict[str, Any]]:
    from pdman.remote import connections

    data = connections.load()
    return [{"Name": n, "URI": c["uri"], "Identity": c.get("identity", ""),
             "Default": n == data.get("default")}
            for n, c in sorted(data["connections"].items())]


def ls(g: GlobalOptions, format: str | None, quiet: bool) -> int:
    from pdman.cli import output

    rows = _rows()
    if quiet:
        for r in rows:
            print(r["Name"])
    elif format == "json":
        output.print_json(rows)
    elif format:
        output.print_formatted(format, rows)
    else:
        output.print_table(["NAME", "URI", "IDENTITY", "DEFAULT"],
                           [[r["Name"], r["URI"], r["Identity"], str(r["Default"]).lower()]
                            for r in rows])
    return 0


def default(g: GlobalOptions, name: str) -> int:
    from pdman.remote import connections

    data = connections.load()
    if name not in data["connections"]:
        raise connections.ConnectionNotFound(name)
    data["default"] = name
    connections.save(data)
    return 0


def rm(g: GlobalOptions, name: str | None, all: bool) -> int:
    from pdman.errors import UsageError
    from pdman.remote import connections

    data = connections.load()
    if all:
        data = {"default": "", "connections": {}}
    elif not name:
        raise UsageError("`system connection rm` needs a name", hint="or pass --all")
    else:
        # podman: removing a name that is not there is not an error
        data["connections"].pop(name, None)
        if data.get("default") == name:
            data["default"] = next(iter(sorted(data["connections"])), "")
    connections.save(data)
    return 0


def rename(g: GlobalOptions, old: str, new: str) -> int:
    from pdman.remote import connections

    data = connections.load()
    if old not in data["connections"]:
        raise connections.ConnectionNotFound(old)
    data["connections"][new] = data["connections"].pop(old)
    if data.get("default") == old:
        data["default"] = new
    connections.save(data)
    return 0


def dial_stdio(g: GlobalOptions, uri: str | None) -> int:
    from pdman.remote.dialstdio import dial_stdio as run

    return run(uri)
