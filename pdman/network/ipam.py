"""Address management of user-defined networks, as pure functions: which subnet a
new network gets, and which address a container gets in it. The leases live in the
catalog (`storage.network_records`); these functions only choose.

Subnets are IPv4. A new network without `--subnet` gets the first free /24 of
10.89.0.0/16 (podman's pool) that overlaps neither another network nor a network
of the host's own interfaces. The gateway is the subnet's first address; it is
given to the bridge.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from pdman.errors import ConflictError, UsageError

POOL = ipaddress.IPv4Network("10.89.0.0/16")
POOL_PREFIX = 24


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise UsageError(f"invalid subnet {text!r}", hint="use CIDR notation, e.g. 10.89.5.0/24") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise UsageError(f"subnet {text!r} is IPv6, which pdman networks do not support yet",
                         hint="give an IPv4 subnet")
    if net.prefixlen > 30:
        raise UsageError(f"subnet {net} is too small", hint="use a prefix of /30 or shorter")
    return net


def gateway_of(net: ipaddress.IPv4Network, gateway: str | None = None) -> ipaddress.IPv4Address:
    if not gateway:
        return net.network_address + 1
    try:
        gw = ipaddress.IPv4Address(gateway.strip())
    except ValueError:
        raise UsageError(f"invalid gateway {gateway!r}", hint="give an IPv4 address") from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise UsageError(f"gateway {gw} is not a host address of the subnet {net}")
    return gw


def overlaps(net: ipaddress.IPv4Network, others: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network | None:
    for other in others:
        if net.overlaps(other):
            return other
    return None


def free_subnet(taken: Iterable[ipaddress.IPv4Network],
                pool: ipaddress.IPv4Network = POOL, prefix: int = POOL_PREFIX) -> ipaddress.IPv4Network:
    """The first subnet of `pool` that overlaps nothing in `taken`."""
    used = list(taken)
    for candidate in pool.subnets(new_prefix=prefix):
        if overlaps(candidate, used) is None:
            return candidate
    raise ConflictError(f"every /{prefix} subnet of {pool} is in use",
                        hint="remove unused networks (`pdman network prune`), or give --subnet")


def allocate(net: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address,
             used: Iterable[str],
             within: "ipaddress.IPv4Network | None" = None) -> ipaddress.IPv4Address:
    """The lowest host address of `net` (of its `within` range, --ip-range) that is
    neither the gateway nor used."""
    taken = {ipaddress.IPv4Address(u) for u in used}
    taken.add(gateway)
    first, last = range_bounds(within, net) if within is not None else (None, None)
    for addr in net.hosts():
        if first is not None and not first <= addr <= last:    # type: ignore[operator]
            continue
        if addr not in taken:
            return addr
    where = f"the range {within} of the subnet {net}" if within is not None else f"the subnet {net}"
    raise ConflictError(f"no free address left in {where}",
                        hint="remove containers from the network, or use a larger subnet")


def parse_range(text: str, subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    """--ip-range: a CIDR inside the subnet (podman 4.3's form)."""
    try:
        rng = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise UsageError(f"invalid --ip-range {text!r}",
                         hint="use CIDR notation inside the subnet, e.g. 10.89.5.128/25") from None
    if not isinstance(rng, ipaddress.IPv4Network) or not rng.subnet_of(subnet):
        raise UsageError(f"--ip-range {rng} is not inside the subnet {subnet}",
                         hint="give a range of the subnet's addresses")
    return rng


def range_bounds(rng: ipaddress.IPv4Network,
                 subnet: ipaddress.IPv4Network) -> "tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]":
    """The first and last addresses a container may get from range `rng`: from its
    first host address on (podman's lease_range start), never the subnet's network or
    broadcast address."""
    first = rng.network_address + (1 if rng.prefixlen < 31 else 0)
    first = max(first, subnet.network_address + 1)
    last = min(rng.broadcast_address, subnet.broadcast_address - 1)
    return first, last


def claim(net: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address, used: Iterable[str],
          wanted: str) -> str:
    """`--ip`: the address asked for, if it is a free host address of `net`."""
    addr = ipaddress.IPv4Address(wanted)
    if addr not in net or addr in (net.network_address, net.broadcast_address):
        raise ConflictError(f"requested ip address {wanted} is not in the network's subnet {net}",
                            hint="give an address of that subnet")
    if addr == gateway or wanted in set(used):
        raise ConflictError(f"requested ip address {wanted} is already allocated",
                            hint="give another address, or leave --ip out")
    return str(addr)


def host_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of the host's interfaces (from /proc/net/route and
    /proc/net/fib_trie would be exact; the route table suffices here)."""
    nets = []
    try:
        with open("/proc/net/route", encoding="ascii") as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) < 8:
                    continue
                dest, mask = int(fields[1], 16), int(fields[7], 16)
                if mask == 0:
                    continue               # the default route covers nothing specific
                addr = ipaddress.IPv4Address(dest.to_bytes(4, "little"))
                netmask = ipaddress.IPv4Address(mask.to_bytes(4, "little"))
                nets.append(ipaddress.IPv4Network(f"{addr}/{netmask}", strict=False))
    except OSError:
        pass
    return nets
