"""Remote handlers of `volume` and `network` (Docker API /volumes, /networks)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


from pdman.errors import NetworkNotFound, UsageError, VolumeNotFound
from pdman.remote.client import Client
from pdman.remote.common import each_name, filters_param, refuse_unsupported, short_id


def _kv(items: "list[str] | None", what: str) -> dict[str, str]:
    from pdman.remote.containers import _kv as kv

    return kv(items, what)


def _print_docs(docs: "list[Any]", format: str | None) -> None:
    from pdman.cli import output

    if format and format != "json":
        output.print_formatted(format, docs)
    else:
        output.print_json(docs)


# ---- volumes

def volume_create(c: Client, name: str | None, driver: str, label: "list[str] | None",
                  opt: "list[str] | None", ignore: bool, **rest: Any) -> int:
    refuse_unsupported("volume create", rest, set())
    if ignore and name:
        try:
            c.json("GET", f"/volumes/{name}", "volume")
            print(name)
            return 0
        except VolumeNotFound:
            pass
    body = {"Name": name or "", "Driver": driver or "local", "Labels": _kv(label, "label"),
            "DriverOpts": _kv(opt, "opt")}
    print(c.json("POST", "/volumes/create", "volume", body=body)["Name"])
    return 0


def volume_ls(c: Client, quiet: bool, filter: "list[str] | None", format: str | None,
              noheading: bool = False, **rest: Any) -> int:
    from pdman.cli import output

    refuse_unsupported("volume ls", rest, set())
    rows = (c.json("GET", "/volumes", params=filters_param(filter)) or {}).get("Volumes") or []
    rows.sort(key=lambda v: v["Name"])
    if quiet:
        for r in rows:
            print(r["Name"])
    elif format == "json":
        output.print_json(rows)
    elif format:
        output.print_formatted(format, rows, header=not noheading,
                               headers={"Name": "VOLUME NAME"})
    else:
        output.print_table(["DRIVER", "VOLUME NAME"], [[r.get("Driver", ""), r["Name"]]
                                                      for r in rows], header=not noheading)
    return 0


def volume_inspect(c: Client, names: "list[str]", format: str | None, **rest: Any) -> int:
    docs: list[Any] = []
    code = each_name(names, lambda n: docs.append(c.json("GET", f"/volumes/{n}", "volume")))
    _print_docs(docs, format)
    return code


def volume_rm(c: Client, names: "list[str] | None", force: bool, all: bool,
              **rest: Any) -> int:
    refuse_unsupported("volume rm", rest, set())
    if all:
        names = [v["Name"] for v in (c.json("GET", "/volumes") or {}).get("Volumes") or []]
    elif not names:
        raise UsageError("`volume rm` needs at least one volume name", hint="or pass --all")

    def one(n: str) -> str:
        c.request("DELETE", f"/volumes/{n}", "volume", params={"force": "1" if force else "0"})
        return n

    return each_name(names, one)


def volume_exists(c: Client, name: str) -> int:
    try:
        c.json("GET", f"/volumes/{name}", "volume")
    except VolumeNotFound:
        return 1
    return 0


# ---- networks

def network_create(c: Client, name: str | None, driver: str, subnet: str | None,
                   gateway: str | None, internal: bool, label: "list[str] | None",
                   opt: "list[str] | None", ignore: bool, **rest: Any) -> int:
    refuse_unsupported("network create", rest, set())
    if not name:
        raise UsageError("`network create` through a remote connection needs a name")
    if ignore:
        try:
            c.json("GET", f"/networks/{name}", "network")
            print(name)
            return 0
        except NetworkNotFound:
            pass
    body: dict[str, Any] = {"Name": name, "Driver": driver or "bridge", "Internal": internal,
                            "Labels": _kv(label, "label"), "Options": _kv(opt, "opt")}
    if subnet or gateway:
        cfg = {k: v for k, v in (("Subnet", subnet), ("Gateway", gateway)) if v}
        body["IPAM"] = {"Driver": "default", "Config": [cfg]}
    c.json("POST", "/networks/create", "network", body=body)
    print(name)
    return 0


def network_ls(c: Client, quiet: bool, filter: "list[str] | None", format: str | None,
               no_trunc: bool, noheading: bool = False, **rest: Any) -> int:
    from pdman.cli import output

    refuse_unsupported("network ls", rest, set())
    rows = sorted(c.json("GET", "/networks", params=filters_param(filter)) or [],
                  key=lambda n: n["Name"])
    if quiet:
        for r in rows:
            print(r["Name"])
    elif format == "json":
        output.print_json(rows)
    elif format:
        output.print_formatted(format, [{**r, "ID": short_id(r["Id"], no_trunc)} for r in rows],
                               header=not noheading, headers={"ID": "NETWORK ID"})
    else:
        output.print_table(["NETWORK ID", "NAME", "DRIVER"],
                           [[short_id(r["Id"], no_trunc), r["Name"], r.get("Driver", "")]
                            for r in rows], header=not noheading)
    return 0


def network_inspect(c: Client, names: "list[str]", format: str | None, **rest: Any) -> int:
    docs: list[Any] = []
    code = each_name(names, lambda n: docs.append(c.json("GET", f"/networks/{n}", "network")))
    _print_docs(docs, format)
    return code


def network_rm(c: Client, names: "list[str]", force: bool, **rest: Any) -> int:
    refuse_unsupported("network rm", rest, set())
    if force:
        # docker's API has no forced removal: remove the containers using it first
        for n in names:
            try:
                doc = c.json("GET", f"/networks/{n}", "network")
            except NetworkNotFound:
                continue
            for cid in (doc.get("Containers") or {}):
                c.request("DELETE", f"/containers/{cid}", "container", params={"force": "1"})

    def one(n: str) -> str:
        c.request("DELETE", f"/networks/{n}", "network")
        return n

    return each_name(names, one)


def network_exists(c: Client, name: str) -> int:
    try:
        c.json("GET", f"/networks/{name}", "network")
    except NetworkNotFound:
        return 1
    return 0


def inspect_any(c: Client, names: "list[str]", format: str | None, type: str = "all",
                size: bool = False, **rest: Any) -> int:
    """`pdman inspect`: a container, else an image, volume or network (`--type` narrows)."""
    from pdman.errors import NotFoundError

    kinds = {"container": [("/containers/{}/json", "container")],
             "image": [("/images/{}/json", "image")],
             "volume": [("/volumes/{}", "volume")], "network": [("/networks/{}", "network")]}
    order = (kinds.get(type) if type in kinds else
             [k for v in kinds.values() for k in v])
    if order is None:
        raise UsageError(f"invalid --type {type!r}",
                         hint="container, image, volume, network or all")
    docs: list[Any] = []

    def one(n: str) -> None:
        for path, kind in order:
            try:
                sized = size and kind == "container"
                docs.append(c.json("GET", path.format(n), kind,
                                   params={"size": "1"} if sized else None))
                return
            except NotFoundError:
                continue
        raise NotFoundError(f"no such object: {n!r}")

    code = each_name(names, one)
    _print_docs(docs, format)
    return code
