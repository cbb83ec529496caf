"""Network verbs: `network create/ls/inspect/rm/prune/connect/disconnect/exists`,
and `port`. User-defined networks are bridges in the per-user rootless network
namespace (pdman/network/infra.py); their records and leases are in the catalog.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from pdman.engine import events
from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, UsageError
from pdman.storage import container_records, network_records
from pdman.storage.network_records import NetworkRecord

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@dataclass(frozen=True)
class CreateNetworkOptions:
    name: str | None = None
    driver: str = "bridge"
    subnet: str | None = None
    gateway: str | None = None
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ignore: bool = False
    #: --disable-dns: its containers do not get each other's names
    disable_dns: bool = False
    #: --ip-range: the CIDR (inside the subnet) containers' addresses are taken from
    ip_range: str | None = None
    #: --ipam-driver: host-local (addresses from the subnet) or none (no addresses)
    ipam_driver: str = "host-local"
    #: the API's EnableIPv6: refused, pdman's networks are IPv4-only
    ipv6: bool = False


@dataclass(frozen=True)
class ConnectOptions:
    network: str
    container: str
    aliases: tuple[str, ...] = ()
    #: --ip, --ip6, --mac-address: the container's static address on this network
    ip: str | None = None
    ip6: str | None = None
    mac_address: str | None = None


def _rfc3339(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------

def _interface(existing: list[NetworkRecord]) -> str:
    """podman's bridge names: podman0 for the default network, then podman1, ..."""
    taken = {n.interface for n in existing}
    return next(f"podman{i}" for i in range(1, 10000) if f"podman{i}" not in taken)


def _default_name(existing: list[NetworkRecord]) -> str:
    taken = {n.name for n in existing}
    return next(f"podman{i}" for i in range(1, 10000) if f"podman{i}" not in taken)


def create(ctx: EngineContext, options: CreateNetworkOptions) -> NetworkRecord:
    """A bridge network with a subnet (given, or the first free /24 of 10.89.0.0/16)."""
    from pdman.network import ipam, modes

    if options.driver != "bridge":
        raise UsageError(f"network driver {options.driver!r} is not supported",
                         hint="use the default driver `bridge`")
    if options.name is not None and not _NAME.match(options.name):
        raise UsageError(f"invalid network name {options.name!r}",
                         hint="names start with a letter or digit and use [a-zA-Z0-9_.-]")
    if options.name in ("none", "host", "pasta", "slirp4netns", "bridge", "private", "default"):
        raise UsageError(f"{options.name!r} is a network mode, not a name a network can have")
    if (options.gateway or options.ip_range) and not options.subnet:
        raise UsageError("cannot set gateway or range without subnet",       # podman's words
                         hint="give --subnet too")
    if options.ipam_driver not in ("host-local", "none", ""):
        raise UsageError(f"unsupported ipam driver {options.ipam_driver!r}",
                         hint="use host-local (the default) or none; pdman runs no DHCP "
                              "client for the dhcp driver")
    if options.ipv6:
        raise UsageError("IPv6 networks are not supported: pdman's networks are IPv4-only",
                         hint="create the network without IPv6")
    no_ipam = options.ipam_driver == "none"
    if no_ipam and options.subnet:
        raise UsageError("--ipam-driver none gives no addresses: it takes no --subnet",
                         hint="leave --subnet, --gateway and --ip-range out")
    if options.ignore and options.name:
        try:
            return network_records.find(ctx.catalog, options.name)
        except Exception:
            pass
    wanted = ipam.parse_subnet(options.subnet) if options.subnet else None
    default = options.name == modes.DEFAULT_NETWORK
    config: dict[str, Any] = {"labels": dict(options.labels), "options": dict(options.options)}
    if options.disable_dns:
        config["disable_dns"] = True
    if no_ipam:
        config["ipam_driver"] = "none"
    if options.ip_range:
        assert wanted is not None
        config["ip_range"] = str(ipam.parse_range(options.ip_range, wanted))
    rec = NetworkRecord(id=os.urandom(32).hex(), name=options.name or "", driver="bridge",
                        internal=options.internal, created=time.time(), config=config)

    def choose(existing: list[NetworkRecord]) -> None:
        if no_ipam:
            rec.name = rec.name or _default_name(existing)
            rec.config["interface"] = _interface(existing)
            return
        used = [ipaddress.IPv4Network(n.subnet) for n in existing if n.subnet]
        if wanted is not None:
            clash = ipam.overlaps(wanted, used)
            if clash is not None:
                raise ConflictError(f"subnet {wanted} overlaps the subnet {clash} of another network",
                                    hint="choose a subnet no other network uses")
            subnet = wanted
        else:
            subnet = ipam.free_subnet(used + ipam.host_networks())
        rec.subnet = str(subnet)
        rec.gateway = str(ipam.gateway_of(subnet, options.gateway))
        rec.name = rec.name or _default_name(existing)
        rec.config["interface"] = "podman0" if default else _interface(existing)

    network_records.insert(ctx.catalog, rec, check=choose)
    events.emit(ctx.paths, "network", "create", id=rec.id, name=rec.name, network=rec.name,
                attributes={"driver": rec.driver})
    return rec


def ensure_default(ctx: EngineContext) -> NetworkRecord:
    """The network `--network bridge` (or `podman`) means, created on first use."""
    from pdman.network import modes

    return create(ctx, CreateNetworkOptions(name=modes.DEFAULT_NETWORK,
                                            subnet=modes.DEFAULT_SUBNET, ignore=True))


# ---------------------------------------------------------------------------
# who uses what
# ---------------------------------------------------------------------------

def _users(ctx: EngineContext) -> dict[str, list[container_records.ContainerRecord]]:
    """network ID -> containers whose networks include it."""
    from pdman.network import dns

    out: dict[str, list[container_records.ContainerRecord]] = {}
    for rec in container_records.list_all(ctx.catalog):
        for m in dns.memberships(rec):
            out.setdefault(m["id"], []).append(rec)
    return out


def report(ctx: EngineContext, rec: NetworkRecord,
           users: "list[container_records.ContainerRecord] | None" = None) -> dict[str, Any]:
    """`network inspect` fields, as podman 4 prints them."""
    leases = {lease.container_id: lease.address
              for lease in network_records.leases(ctx.catalog, network_id=rec.id)}
    prefix = ipaddress.IPv4Network(rec.subnet).prefixlen if rec.subnet else 0
    subnet: dict[str, Any] = {"subnet": rec.subnet, "gateway": rec.gateway}
    from pdman.network import modes

    if rec.config.get("ip_range"):
        from pdman.network import ipam

        first, last = ipam.range_bounds(ipaddress.IPv4Network(rec.config["ip_range"]),
                                        ipaddress.IPv4Network(rec.subnet))
        subnet["lease_range"] = {"start_ip": str(first), "end_ip": str(last)}
    containers: dict[str, Any] = {}
    for c in users or []:
        entry: dict[str, Any] = {"name": c.name, "interfaces": {}}
        if c.id in leases:
            entry["interfaces"]["eth"] = {"subnets": [
                {"ipnet": f"{leases[c.id]}/{prefix}", "gateway": rec.gateway}]}
        containers[c.id] = entry
    return {
        "name": rec.name,
        "id": rec.id,
        "driver": rec.driver,
        "network_interface": rec.interface,
        "created": _rfc3339(rec.created),
        "subnets": [subnet] if rec.subnet else [],
        "ipv6_enabled": False,
        "internal": rec.internal,
        # names of the other members, in /etc/hosts (network/dns.py): on user-defined
        # networks unless --disable-dns, as podman's DNS is; not on the default one
        "dns_enabled": not rec.config.get("disable_dns") and rec.name != modes.DEFAULT_NETWORK,
        "labels": rec.config.get("labels", {}),
        "options": rec.config.get("options", {}),
        "ipam_options": {"driver": rec.config.get("ipam_driver", "host-local")},
        "containers": containers,
    }


# ---------------------------------------------------------------------------
# ls / inspect / exists
# ---------------------------------------------------------------------------

def _matches(rec: NetworkRecord, key: str, value: str) -> bool:
    if key == "name":
        return re.search(value, rec.name) is not None
    if key == "id":
        return rec.id.startswith(value)
    if key == "driver":
        return rec.driver == value
    if key == "label":
        k, eq, v = value.partition("=")
        labels = rec.config.get("labels", {})
        return k in labels and (not eq or labels[k] == v)
    raise UsageError(f"invalid filter {key!r}", hint="supported: name, id, driver, label")


def list_networks(ctx: EngineContext, filters: tuple[str, ...] = ()) -> list[NetworkRecord]:
    from pdman import network

    network.sweep(ctx)
    by_key: dict[str, list[str]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE, e.g. name=web")
        by_key.setdefault(key, []).append(value)
    # labels: every one given must match; other keys: any of their values
    return [r for r in network_records.list_all(ctx.catalog)
            if all((all if k == "label" else any)(_matches(r, k, v) for v in vs)
                   for k, vs in by_key.items())]


def inspect(ctx: EngineContext, name: str) -> dict[str, Any]:
    from pdman import network

    network.sweep(ctx)
    rec = network_records.find(ctx.catalog, name)
    return report(ctx, rec, _users(ctx).get(rec.id, []))


def exists(ctx: EngineContext, name: str) -> bool:
    from pdman.errors import NetworkNotFound

    try:
        network_records.find(ctx.catalog, name)
    except NetworkNotFound:
        return False
    return True


# ---------------------------------------------------------------------------
# rm / prune
# ---------------------------------------------------------------------------

def _remove_bridge(ctx: EngineContext, rec: NetworkRecord) -> None:
    from pdman.network import bridge, infra, nsexec

    with infra.locked(ctx.paths):
        inf = infra.current(ctx.paths)
        if inf is not None and rec.interface in bridge.links_present(inf.pid):
            nsexec.run_in(inf, bridge.remove_bridge, rec.interface)


def remove(ctx: EngineContext, name: str, force: bool = False,
           stop_timeout: int | None = None) -> str:
    """`network rm`: refused while containers use it, unless `force`, which removes
    those containers (podman's semantics; stopped first, given `stop_timeout`, as
    `rm -f -t`). Returns the name."""
    from pdman import network
    from pdman.engine import containers
    from pdman.network import modes

    network.sweep(ctx)
    rec = network_records.find(ctx.catalog, name)
    if rec.name == modes.DEFAULT_NETWORK and not force:
        raise ConflictError(f"the default network {rec.name} cannot be removed",
                            hint="it is created again on first use anyway; -f removes it")
    users = _users(ctx).get(rec.id, [])
    if users and not force:
        names = ", ".join(sorted(c.name for c in users))
        raise ConflictError(f"network {rec.name} is used by containers: {names}",
                            hint=f"remove them first, or `pdman network rm -f {rec.name}` "
                            "removes them too")
    for c in users:
        containers.stop_then_remove(ctx, c.id, stop_timeout)
    if users:
        network.sweep(ctx)      # their teardown may still be running in another process
    _remove_bridge(ctx, rec)
    network_records.delete(ctx.catalog, rec.id)
    events.emit(ctx.paths, "network", "remove", id=rec.id, name=rec.name, network=rec.name,
                attributes={"driver": rec.driver})
    return rec.name


def prune(ctx: EngineContext, filters: tuple[str, ...] = ()) -> list[str]:
    """Remove every network no container uses (the default one stays)."""
    from pdman.network import modes

    users = _users(ctx)
    removed = []
    for rec in list_networks(ctx, filters):
        if rec.name == modes.DEFAULT_NETWORK or users.get(rec.id):
            continue
        removed.append(remove(ctx, rec.id))
    return removed


# ---------------------------------------------------------------------------
# connect / disconnect
# ---------------------------------------------------------------------------

def _running(ctx: EngineContext, rec: container_records.ContainerRecord) -> bool:
    from pdman.engine.containers import reconcile

    return reconcile(ctx, rec).status in ("running", "paused")


def connect(ctx: EngineContext, options: ConnectOptions) -> None:
    from pdman.network import dns, usernet

    rec = container_records.find(ctx.catalog, options.container)
    net = network_records.find(ctx.catalog, options.network)
    if rec.config.get("net", {}).get("mode") != "bridge":
        raise ConflictError(
            f"container {rec.name} uses the {rec.config.get('network', '?')} network mode; only "
            "containers on user-defined networks can be connected to another one",
            hint="create the container with --network NAME")
    members = dns.memberships(rec)
    if any(m["id"] == net.id for m in members):
        raise ConflictError(f"container {rec.name} is already connected to network {net.name}")
    from pdman.engine.runcompat import static_membership

    members.append({"id": net.id, "name": net.name, "aliases": list(options.aliases),
                    **static_membership(net, options.ip, options.ip6, options.mac_address)})
    container_records.update_state(ctx.catalog, rec.id, state={"networks": members})
    if _running(ctx, rec):
        try:
            usernet.connect_running(ctx, rec.id, net, members[-1])
        except BaseException:
            container_records.update_state(ctx.catalog, rec.id,
                                           state={"networks": members[:-1]})
            raise
    events.emit(ctx.paths, "network", "connect", id=rec.id, name=rec.name, network=net.name,
                attributes={"network_id": net.id})


def disconnect(ctx: EngineContext, network: str, container: str, force: bool = False) -> None:
    from pdman.network import dns, usernet

    rec = container_records.find(ctx.catalog, container)
    net = network_records.find(ctx.catalog, network)
    members = dns.memberships(rec)
    if not any(m["id"] == net.id for m in members):
        raise ConflictError(f"container {rec.name} is not connected to network {net.name}")
    rest = [m for m in members if m["id"] != net.id]
    container_records.update_state(ctx.catalog, rec.id, state={"networks": rest})
    if _running(ctx, rec):
        usernet.disconnect_running(ctx, rec.id, net.id)
    events.emit(ctx.paths, "network", "disconnect", id=rec.id, name=rec.name, network=net.name,
                attributes={"network_id": net.id})


# ---------------------------------------------------------------------------
# port
# ---------------------------------------------------------------------------

def container_ports(ctx: EngineContext, container: str) -> tuple[str, list[dict[str, Any]]]:
    """`port`: the container's name and its published ports."""
    from pdman.network import ports_of

    rec = container_records.find(ctx.catalog, container)
    return rec.name, ports_of(rec.config)


def all_container_ports(ctx: EngineContext) -> list[tuple[str, list[dict[str, Any]]]]:
    """`port --all`: every running container with published ports."""
    from pdman.engine.containers import reconcile
    from pdman.network import ports_of

    out = []
    for rec in container_records.list_all(ctx.catalog):
        if reconcile(ctx, rec).status in ("running", "paused") and ports_of(rec.config):
            out.append((rec.id, ports_of(rec.config)))
    return out
