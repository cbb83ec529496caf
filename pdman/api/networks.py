"""Network endpoints, in docker's shapes."""

from __future__ import annotations

from pdman.api.router import route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.engine.context import EngineContext


def network_json(ctx: "EngineContext", name: str) -> "dict[str, Any]":
    from pdman.engine import networks

    doc = networks.inspect(ctx, name)
    return {
        "Name": doc["name"], "Id": doc["id"], "Created": doc["created"], "Scope": "local",
        "Driver": doc["driver"], "EnableIPv6": False, "Internal": doc["internal"],
        "Attachable": False, "Ingress": False,
        "IPAM": {"Driver": "default", "Options": {}, "Config": [
            {"Subnet": s["subnet"], "Gateway": s["gateway"]} for s in doc["subnets"]]},
        "Containers": {cid: {"Name": c["name"], "EndpointID": "", "MacAddress": "",
                             "IPv4Address": _address(c), "IPv6Address": ""}
                       for cid, c in doc["containers"].items()},
        "Options": doc["options"], "Labels": doc["labels"],
    }


def _address(member: "dict[str, Any]") -> str:
    for iface in (member.get("interfaces") or {}).values():
        for subnet in iface.get("subnets") or []:
            return str(subnet.get("ipnet", ""))
    return ""


@route("POST", "/networks/create")
def create(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    from pdman.engine import networks
    from pdman.errors import UsageError

    body = req.json()
    name = body.get("Name") or ""
    if not name:
        raise UsageError("network create needs a Name")
    ipam = body.get("IPAM") or {}
    configs = ipam.get("Config") or []
    subnet = configs[0].get("Subnet") if configs else None
    gateway = configs[0].get("Gateway") if configs else None
    ip_range = configs[0].get("IPRange") if configs else None
    driver = body.get("Driver") or "bridge"
    ipam_driver = ipam.get("Driver") or "default"
    rec = networks.create(ctx, networks.CreateNetworkOptions(
        name=name, driver=driver, subnet=subnet or None, gateway=gateway or None,
        internal=bool(body.get("Internal")), labels=dict(body.get("Labels") or {}),
        options=dict(body.get("Options") or {}), ip_range=ip_range or None,
        ipam_driver="host-local" if ipam_driver == "default" else ipam_driver,
        ipv6=bool(body.get("EnableIPv6"))))
    conn.send_json(201, {"Id": rec.id, "Warning": ""})


@route("GET", "/networks")
def list_(ctx: "EngineContext", req: "Request", conn: "Connection") -> "list[dict[str, Any]]":
    from pdman.api.containers import filters_of
    from pdman.engine import networks

    return [network_json(ctx, r.id) for r in networks.list_networks(ctx, filters_of(req))]


@route("GET", "/networks/{name}")
def inspect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "dict[str, Any]":
    return network_json(ctx, name)


@route("DELETE", "/networks/{name}")
def remove(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import networks

    networks.remove(ctx, name)


@route("POST", "/networks/prune")
def prune(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.api.containers import filters_of
    from pdman.engine import networks

    return {"NetworksDeleted": networks.prune(ctx, filters_of(req)) or None}


@route("POST", "/networks/{name}/connect")
def connect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import networks

    body = req.json()
    endpoint = body.get("EndpointConfig") or {}
    ipam = endpoint.get("IPAMConfig") or {}
    networks.connect(ctx, networks.ConnectOptions(
        network=name, container=body.get("Container", ""),
        aliases=tuple(endpoint.get("Aliases") or ()), ip=ipam.get("IPv4Address") or None,
        ip6=ipam.get("IPv6Address") or None, mac_address=endpoint.get("MacAddress") or None))


@route("POST", "/networks/{name}/disconnect")
def disconnect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import networks

    body = req.json()
    networks.disconnect(ctx, name, body.get("Container", ""), force=bool(body.get("Force")))
