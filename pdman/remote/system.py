"""Remote `info` and `version` (Docker API /info, /version)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


from pdman.remote.client import Client


def info(c: Client, format: str | None, **rest: Any) -> int:
    from pdman.cli import output
    from pdman.cli.handlers.system import _yaml

    report = c.json("GET", "/info")
    if format == "json":
        output.print_json(report)
    elif format:
        output.print_formatted(format, [report])
    else:
        print("\n".join(_yaml(report)))
    return 0


def version(c: Client, format: str | None, **rest: Any) -> int:
    """podman-remote's layout: the client's fields, then the service's."""
    import platform
    import sys

    from pdman import __version__
    from pdman.cli import output

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    client = {"APIVersion": __version__, "Version": __version__,
              "GoVersion": "python{}.{}.{}".format(*sys.version_info[:3]),
              "GitCommit": "", "BuiltTime": "", "Built": 0, "OsArch": f"linux/{arch}",
              "Os": "linux"}
    srv = c.json("GET", "/version")
    server = {"APIVersion": srv.get("ApiVersion", ""), "Version": srv.get("Version", ""),
              "GoVersion": srv.get("GoVersion", ""), "GitCommit": srv.get("GitCommit", ""),
              "BuiltTime": srv.get("BuildTime", ""), "Built": 0,
              "OsArch": f"{srv.get('Os', '')}/{srv.get('Arch', '')}", "Os": srv.get("Os", "")}
    report = {"Client": client, "Server": server}
    if format == "json":
        output.print_json(report)
    elif format:
        output.print_formatted(format, [report])
    else:
        comps = srv.get("Components") or [{}]
        engine = str(comps[0].get("Name") or "Engine")
        for title, name, part in (("Client", "pdman", client), ("Server", engine, server)):
            if title == "Server":
                print()
            print(f"{title + ':':<14}{name}")
            print(f"Version:      {part['Version']}\nAPI Version:  {part['APIVersion']}\n"
                  f"Go Version:   {part['GoVersion']}\nOS/Arch:      {part['OsArch']}")
    return 0
