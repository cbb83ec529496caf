"""The network part of `inspect`, in docker's field names: `NetworkSettings` and
`HostConfig.PortBindings` of a container."""

from __future__ import annotations

from typing import Any

from pdman.engine.context import EngineContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.container_records import ContainerRecord


def port_bindings(config: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}: what was asked for."""
    out: dict[str, list[dict[str, str]]] = {}
    for p in (config.get("net") or {}).get("ports", []):
        key = f"{p['container_port']}/{p['protocol']}"
        out.setdefault(key, []).append({"HostIp": p.get("host_ip", ""),
                                        "HostPort": str(p["host_port"])})
    return out


def settings(ctx: EngineContext, rec: "ContainerRecord", running: bool) -> dict[str, Any]:
    """NetworkSettings: published ports (exposed ones with null), and per
    user-defined network the container's address while it runs."""
    import ipaddress

    from pdman.network.dns import memberships
    from pdman.storage import network_records

    config, container_id = rec.config, rec.id
    net = config.get("net") or {}
    ports: dict[str, Any] = {key: None for key in config.get("exposed_ports", [])}
    if running:
        ports.update({key: [{"HostIp": b["HostIp"] or "0.0.0.0", "HostPort": b["HostPort"]}
                            for b in bindings]
                      for key, bindings in port_bindings(config).items()})
    networks: dict[str, Any] = {}
    if net.get("mode") == "bridge":
        leases = {lease.network_id: lease.address
                  for lease in network_records.leases(ctx.catalog, container_id=container_id)}
        for m in memberships(rec):
            nrec: network_records.NetworkRecord | None
            try:
                nrec = network_records.find(ctx.catalog, m["id"])
            except Exception:  # noqa: BLE001 - removed since: shown without addresses
                nrec = None
            address = leases.get(m["id"], "") if running else ""
            prefix = ipaddress.ip_network(nrec.subnet).prefixlen if nrec and nrec.subnet else 0
            networks[m["name"]] = {
                "NetworkID": m["id"], "Aliases": list(m.get("aliases", [])),
                "IPAddress": address, "IPPrefixLen": prefix if address else 0,
                "Gateway": nrec.gateway if nrec and address else ""}
    first: dict[str, Any] = next(iter(networks.values()), {})
    return {
        "Ports": ports,
        "IPAddress": first.get("IPAddress", ""),
        "IPPrefixLen": first.get("IPPrefixLen", 0),
        "Gateway": first.get("Gateway", ""),
        "Networks": networks,
    }
