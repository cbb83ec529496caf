"""The network part of `inspect`, in docker's field names: `NetworkSettings` and
`HostConfig.PortBindings` of a container."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.storage.container_records import ContainerRecord


def port_bindings(config: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}: what was asked for."""
    out: dict[str, list[dict[str, str]]] = {}
    for p in (config.get("net") or {}).get("ports", []):
        key = f"{p['container_port']}/{p['protocol']}"
        out.setdefault(key, []).append({"HostIp": p.get("host_ip", ""),
                                        "HostPort": str(p["host_port"])})
    return out


def settings(ctx: "EngineContext", rec: "ContainerRecord", running: bool) -> "dict[str, Any]":
    """NetworkSettings: published ports (exposed ones with null), and per
    user-defined network the container's address while it runs."""
    config, container_id = rec.config, rec.id
    net = config.get("net") or {}
    ports: dict[str, Any] = {key: None for key in config.get("exposed_ports", [])}
    if running:
        ports.update({key: [{"HostIp": b["HostIp"] or "0.0.0.0", "HostPort": b["HostPort"]}
                            for b in bindings]
                      for key, bindings in port_bindings(config).items()})
    networks: dict[str, Any] = {}
    if net.get("mode") == "bridge":     # (imports here: `inspect` is a hot command)
        import ipaddress

        from pdman.network.dns import memberships
        from pdman.storage import network_records

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
            networks[m["name"]] = _endpoint(
                m["id"], address, prefix if address else 0,
                nrec.gateway if nrec and address else "", list(m.get("aliases", [])))
    elif net.get("mode") in ("pasta", "slirp4netns", "host", "none"):
        # no network of pdman's: one entry named after the mode, as docker shows
        # `host`/`none` and podman `pasta`/`slirp4netns` (clients such as testcontainers
        # look for at least one); a user-mode helper's address is read from the
        # container's namespace while it runs
        mode = str(net["mode"])
        address, prefix, gateway = ("", 0, "")
        if running and mode in ("pasta", "slirp4netns") and rec.pid:
            address, prefix, gateway = namespace_address(rec.pid)
        networks[mode] = _endpoint(mode, address, prefix, gateway)
    first: dict[str, Any] = next(iter(networks.values()), {})
    return {
        "Ports": ports,
        "IPAddress": first.get("IPAddress", ""),
        "IPPrefixLen": first.get("IPPrefixLen", 0),
        "Gateway": first.get("Gateway", ""),
        "Networks": networks,
    }


def _endpoint(network_id: str, address: str, prefix: int, gateway: str,
              aliases: "list[str] | None" = None) -> dict[str, Any]:
    """One entry of NetworkSettings.Networks, with every field docker's has."""
    return {"IPAMConfig": None, "Links": None, "Aliases": aliases, "MacAddress": "",
            "NetworkID": network_id, "EndpointID": "", "Gateway": gateway,
            "IPAddress": address, "IPPrefixLen": prefix, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
            "DNSNames": None}


def namespace_address(pid: int) -> tuple[str, int, str]:
    """(address, prefix length, gateway) of the network namespace `pid` is in, from
    its /proc/PID/net tables (the interface of its default route); empty if unknown."""
    import socket
    import struct

    def ip(hexle: str) -> str:
        return socket.inet_ntoa(struct.pack("<I", int(hexle, 16)))

    try:
        with open(f"/proc/{pid}/net/route", encoding="ascii") as f:
            routes = [ln.split() for ln in f.read().splitlines()[1:] if ln.strip()]
        with open(f"/proc/{pid}/net/fib_trie", encoding="ascii") as f:
            trie = f.read().splitlines()
    except (OSError, ValueError):
        return "", 0, ""
    default = next((r for r in routes if len(r) > 7 and r[1] == "00000000"), None)
    if default is None:
        return "", 0, ""
    iface, gateway = default[0], ip(default[2])
    # the subnet of that interface: its non-default route, and its mask
    subnets = [(int(r[1], 16), int(r[7], 16)) for r in routes
               if len(r) > 7 and r[0] == iface and r[1] != "00000000"]
    # local addresses: a "|-- A.B.C.D" line followed by "/32 host LOCAL"
    for line, nxt in zip(trie, trie[1:]):
        if "host LOCAL" not in nxt or "|--" not in line:
            continue
        addr = line.split("|--")[1].strip()
        if addr.startswith("127."):
            continue
        value = struct.unpack("<I", socket.inet_aton(addr))[0]
        for dest, mask in subnets:
            if value & mask == dest:
                return addr, bin(mask).count("1"), gateway
    return "", 0, gateway
