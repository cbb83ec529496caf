"""Containers on user-defined networks: plugging them into the bridges of the
rootless network namespace (infra.py), their leases, their hosts files, and
tearing all of it down again -- also for containers whose pdman died (`sweep`).

Per container on a network: a veth pair (bridge end `v<id8><net5>`, container end
`ethN`), an address leased in the catalog, and hosts entries in every peer. The
way out of the container (outbound traffic, published ports) is its own
pasta/slirp4netns with interface `tap0`, not a shared one on the rootless netns:
pasta binds its ports once, at start, so a shared one would have to be restarted
for every container that publishes a port; a per-container one keeps the client
address (as in the default mode) and needs no NAT rules. An `--internal` network
gets no backend at all.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, RuntimeFailure
from pdman.network import backends, bridge, dns, infra, ipam, modes, nsexec, procs, state
from pdman.storage import container_records, network_records

#: the container's end of its backend when it also has veths (eth0... are theirs)
BACKEND_IFNAME = "tap0"


def host_ifname(container_id: str, network_id: str) -> str:
    return f"v{container_id[:8]}{network_id[:5]}"      # 14 of IFNAMSIZ's 15


def _unreachable(own: list[ipaddress.IPv4Network], catalog: Any) -> list[str]:
    """Subnets of pdman networks that the container is not on: routed nowhere, so
    that no packet for them leaves through the backend to the host's network."""
    candidates = [ipam.POOL, ipaddress.IPv4Network(modes.DEFAULT_SUBNET)]
    for rec in network_records.list_all(catalog):
        if rec.subnet:
            candidates.append(ipaddress.IPv4Network(rec.subnet))
    out = []
    for c in candidates:
        # a route as specific as one of the container's own would shadow it
        if any(o == c or o.supernet_of(c) for o in own):
            continue
        if str(c) not in out:
            out.append(str(c))
    return out


def _plug(ctx: EngineContext, inf: infra.Infra, st: state.NetState, container_id: str,
          rec: network_records.NetworkRecord, own: list[ipaddress.IPv4Network],
          want: "dict[str, Any] | None" = None) -> state.Link:
    """`want`: the container's membership of the network (its --ip, --mac-address).
    A network without addresses (--ipam-driver none) gives a link and no address."""
    if rec.subnet:
        subnet = ipaddress.IPv4Network(rec.subnet)
        gateway = ipaddress.IPv4Address(rec.gateway)
        static = (want or {}).get("ip")
        within = (ipaddress.IPv4Network(rec.config["ip_range"])
                  if rec.config.get("ip_range") else None)
        address = network_records.lease(
            ctx.catalog, rec.id, container_id,
            lambda used: ipam.claim(subnet, gateway, used, static) if static
            else str(ipam.allocate(subnet, gateway, used, within)))
    else:
        address = ""
    link = state.Link(rec.id, host_ifname(container_id, rec.id), "", address)
    st.links = [ln for ln in st.links if ln.network_id != rec.id] + [link]
    state.save(ctx.paths, st)              # before the veth exists: detach finds it
    plan = {"bridge": rec.interface, "gateway": rec.gateway,
            "prefixlen": subnet.prefixlen if address else 0,
            "host_ifname": link.host_ifname, "netns": f"/proc/{st.pid}/ns/net",
            "address": address, "subnet": rec.subnet, "mac": (want or {}).get("mac") or "",
            "unreachable": _unreachable(own, ctx.catalog)}
    result = nsexec.run_in(inf, bridge.plug, plan)
    link = link._replace(ifname=result["ifname"])
    st.links[-1] = link
    state.save(ctx.paths, st)
    return link


def _networks(ctx: EngineContext, container_id: str) -> list[network_records.NetworkRecord]:
    rec = container_records.find(ctx.catalog, container_id)
    out = []
    for m in dns.memberships(rec):
        try:
            out.append(network_records.find(ctx.catalog, m["id"]))
        except Exception:
            raise RuntimeFailure(f"network {m['name']} of container {rec.name} no longer exists",
                                 hint=f"disconnect it (`pdman network disconnect {m['name']} "
                                 f"{rec.name}`) or recreate the network") from None
    return out


def namespaces(paths: Any, container_id: str) -> tuple[str | None, None]:
    """Before the spawn: the rootless namespace is running and claimed for this
    container; the user namespace to spawn into (as root: none, the host's)."""
    from pdman.config import is_root_mode

    with infra.locked(paths):
        inf = infra.ensure(paths)
        state.claim(paths, container_id, uses_infra=True)
    return (None if is_root_mode() else inf.userns), None


def attach(ctx: EngineContext, container_id: str, net: dict[str, Any], pid: int) -> None:
    paths = ctx.paths
    with infra.locked(paths):
        inf = infra.current(paths)
        if inf is None:
            raise RuntimeFailure("the rootless network namespace went away while the "
                                 "container was starting", hint="start the container again")
        st = state.load(paths, container_id) or state.NetState(container_id, uses_infra=True)
        st.pid, st.pid_start, st.uses_infra = pid, procs.start_time(pid), True
        state.save(paths, st)
        _sweep_locked(ctx, skip=container_id)
        nets = _networks(ctx, container_id)
        own = [ipaddress.IPv4Network(n.subnet) for n in nets if n.subnet]
        wanted = {m["id"]: m for m in net.get("networks") or []}
        # as `network connect --ip/--mac-address` left them since the create
        wanted.update({m["id"]: m for m in dns.memberships(
            container_records.find(ctx.catalog, container_id))})
        for rec in nets:
            _plug(ctx, inf, st, container_id, rec, own, wanted.get(rec.id))
        dns.refresh(ctx, {n.id for n in nets})
    if nets and not all(n.internal for n in nets):
        backends.start(paths, container_id, net, pid, st, ifname=BACKEND_IFNAME)


def _unplug(ctx: EngineContext, st: state.NetState, links: list[state.Link]) -> None:
    """Remove veths: gone by themselves once the container's namespace went, which
    takes the kernel a moment; what is left is deleted in the rootless netns."""
    inf = infra.current(ctx.paths)
    if inf is None or not links:
        return
    names = {ln.host_ifname for ln in links}
    deadline = time.monotonic() + 0.3
    while True:
        left = names & bridge.links_present(inf.pid)
        if not left:
            return
        if time.monotonic() > deadline or (st.pid and procs.alive(st.pid, st.pid_start)):
            break
        time.sleep(0.01)
    nsexec.run_in(inf, bridge.unplug, sorted(left))


def _teardown_locked(ctx: EngineContext, st: state.NetState) -> set[str]:
    """Everything `st` names, undone; the networks whose members changed."""
    backends.stop(ctx.paths, st)
    _unplug(ctx, st, st.links)
    changed = set(network_records.release(ctx.catalog, st.container_id))
    state.remove(ctx.paths, st.container_id)
    return changed


def detach(ctx: EngineContext, container_id: str) -> None:
    paths = ctx.paths
    with infra.locked(paths):
        st = state.load(paths, container_id) or state.NetState(container_id)
        changed = _teardown_locked(ctx, st)
        dns.refresh(ctx, changed)
        infra.stop_if_unused(paths)


def _sweep_locked(ctx: EngineContext, skip: str | None = None) -> None:
    changed: set[str] = set()
    for st in state.list_all(ctx.paths):
        if st.container_id != skip and not st.live():
            changed |= _teardown_locked(ctx, st)
    keep = {st.container_id for st in state.list_all(ctx.paths)}
    changed |= set(network_records.release_all_but(ctx.catalog, keep))
    dns.refresh(ctx, changed)


def sweep(ctx: EngineContext, leases: bool = True) -> None:
    """Tear down the network of containers that are gone without a teardown (their
    pdman or monitor was killed): helpers, veths, leases; then the rootless netns
    if nothing uses it. `leases`: also look for leases without any state (after a
    reboot wiped the runroot), which costs a catalog query."""
    paths = ctx.paths
    states = state.list_all(paths)
    stale = [st for st in states if not st.live()]
    unused_infra = not any(st.uses_infra for st in states) and infra.current(paths) is not None
    orphans = False
    if leases and not stale:
        known = {st.container_id for st in states}
        orphans = any(lease.container_id not in known for lease in network_records.leases(ctx.catalog))
    if not stale and not unused_infra and not orphans:
        return
    with infra.locked(paths):
        _sweep_locked(ctx)
        infra.stop_if_unused(paths)


# ---- connect / disconnect of a running container ----

def connect_running(ctx: EngineContext, container_id: str,
                    rec: network_records.NetworkRecord,
                    want: "dict[str, Any] | None" = None) -> None:
    """Plug a running container (already in the rootless user namespace) into one
    more network; `want`: its membership (--ip, --mac-address)."""
    paths = ctx.paths
    with infra.locked(paths):
        inf = infra.current(paths)
        st = state.load(paths, container_id)
        if inf is None or st is None or not st.uses_infra or not st.live():
            raise ConflictError("only a container started on a user-defined network can be "
                                "connected to another one while it runs",
                                hint="stop it, connect it, start it again")
        nets = _networks(ctx, container_id)
        own = [ipaddress.IPv4Network(n.subnet) for n in nets if n.subnet]
        _plug(ctx, inf, st, container_id, rec, own, want)
        dns.refresh(ctx, {n.id for n in nets})


def disconnect_running(ctx: EngineContext, container_id: str, network_id: str) -> None:
    paths = ctx.paths
    with infra.locked(paths):
        st = state.load(paths, container_id)
        if st is not None:
            gone = [ln for ln in st.links if ln.network_id == network_id]
            inf = infra.current(paths)
            if inf is not None and gone:
                nsexec.run_in(inf, bridge.unplug, [ln.host_ifname for ln in gone])
            st.links = [ln for ln in st.links if ln.network_id != network_id]
            state.save(paths, st)
        network_records.release(ctx.catalog, container_id, network_id)
        dns.refresh(ctx, {network_id}, also=[container_id])
