"""Bridges and veths of user-defined networks, configured with pyroute2.

These functions run inside the rootless network namespace (`nsexec.run_in`),
as root of its user namespace; pyroute2 (about 140-200 ms to import) is loaded
there, never on a path that does not need it.

    rootless netns                                   container netns
    pdman1 (bridge, gateway 10.89.0.1/24) ── v<id><net> ═══ veth ═══ eth0 10.89.0.2/24
                                                                     lo up
                                                                     unreachable 10.89.0.0/16

The unreachable route keeps a container from sending traffic for other pdman
networks out through its pasta/slirp4netns default route (to the host's real
network): a container on another network is not reachable, by design.
"""

from __future__ import annotations

import os
from typing import Any

from pdman.errors import RuntimeFailure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyroute2 import IPRoute  # type: ignore[import-untyped]

ENODEV = 19
EEXIST = 17


def _index(ipr: "IPRoute", ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return int(found[0]) if found else None


def _ensure_bridge(ipr: "IPRoute", name: str, gateway: str, prefixlen: int) -> int:
    index = _index(ipr, name)
    if index is None:
        ipr.link("add", ifname=name, kind="bridge")
        index = _index(ipr, name)
        if index is None:
            raise RuntimeFailure(f"bridge {name} vanished right after its creation")
        if gateway:                     # --ipam-driver none: a bridge without addresses
            ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
    ipr.link("set", index=index, state="up")
    return index


def _names(ipr: "IPRoute") -> set[str]:
    return {str(link.get_attr("IFLA_IFNAME")) for link in ipr.get_links()}


def plug(plan: dict[str, Any]) -> dict[str, str]:
    """Connect a container to a network: plan keys bridge, gateway, prefixlen,
    host_ifname, netns (path of the container's network namespace), address,
    subnet, unreachable (CIDRs); returns {"ifname", "mac"} of the container's end."""
    from pyroute2 import IPRoute

    from pdman.runtime import native

    with IPRoute() as ipr:                  # bound to the rootless netns
        bridge = _ensure_bridge(ipr, plan["bridge"], plan["gateway"], plan["prefixlen"])
        stale = _index(ipr, plan["host_ifname"])
        if stale is not None:
            ipr.link("del", index=stale)
        netns_fd = os.open(plan["netns"], os.O_RDONLY | os.O_CLOEXEC)
        try:
            native.join_namespace(plan["netns"], native.UNSHARE_NET)
            with IPRoute() as cipr:         # bound to the container's netns
                taken = _names(cipr)
                ifname = next(f"eth{i}" for i in range(1000) if f"eth{i}" not in taken)
                ipr.link("add", ifname=plan["host_ifname"], kind="veth",
                         peer={"ifname": ifname, "net_ns_fd": netns_fd})
                host_end = _index(ipr, plan["host_ifname"])
                ipr.link("set", index=host_end, master=bridge, state="up")
                index = _index(cipr, ifname)
                if index is None:
                    raise RuntimeFailure(f"{ifname} did not appear in the container")
                try:    # `network connect`: the subnet was routed nowhere until now
                    if plan["subnet"]:
                        cipr.route("del", dst=plan["subnet"], type="unreachable")
                except Exception:  # noqa: BLE001 - there was no such route
                    pass
                if plan.get("mac"):         # --mac-address
                    cipr.link("set", index=index, address=plan["mac"])
                if plan["address"]:         # none with --ipam-driver none
                    cipr.addr("add", index=index, address=plan["address"],
                              prefixlen=plan["prefixlen"])
                cipr.link("set", index=index, state="up")
                lo = _index(cipr, "lo")
                if lo is not None:
                    cipr.link("set", index=lo, state="up")
                for dst in plan.get("unreachable", []):
                    try:
                        cipr.route("add", dst=dst, type="unreachable")
                    except Exception as exc:  # noqa: BLE001 - pyroute2's NetlinkError
                        if getattr(exc, "code", None) != EEXIST:
                            raise
                mac = cipr.get_links(index)[0].get_attr("IFLA_ADDRESS")
        finally:
            os.close(netns_fd)
    return {"ifname": ifname, "mac": str(mac)}


def unplug(host_ifnames: list[str]) -> None:
    """Delete veths by their end in the rootless netns (the peer goes with it)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        for name in host_ifnames:
            index = _index(ipr, name)
            if index is None:
                continue
            try:
                ipr.link("del", index=index)
            except Exception as exc:  # noqa: BLE001
                if getattr(exc, "code", None) != ENODEV:
                    raise


def remove_bridge(name: str) -> None:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        index = _index(ipr, name)
        if index is not None:
            ipr.link("del", index=index)


def links_present(infra_pid: int) -> set[str]:
    """Interface names in the rootless netns, read from /proc without joining it
    (cheap: spares the fork and the pyroute2 import when there is nothing to do)."""
    names = set()
    try:
        with open(f"/proc/{infra_pid}/net/dev", encoding="ascii") as f:
            for line in f.readlines()[2:]:
                names.add(line.split(":", 1)[0].strip())
    except OSError:
        pass
    return names
