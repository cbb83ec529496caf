"""Names on user-defined networks: every container's /etc/hosts lists the other
containers of its networks by name, network aliases and short ID, and is kept
current as containers join and leave (no DNS daemon to run or to leave behind).

A container's hosts file is bind-mounted from its userdata directory, so it is
rewritten in place (`container_fs.rewrite_in_place`), under the network lock.
Lookups of other names go to the nameservers of /etc/resolv.conf as usual.
"""

from __future__ import annotations

from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import ContainerNotFound
from pdman.storage import container_fs, container_records, network_records


add_host_lines = container_fs.add_host_lines  # one parser of --add-host, shared with create


def memberships(rec: container_records.ContainerRecord) -> list[dict[str, Any]]:
    """The user-defined networks of a container now: as created, changed by
    `network connect/disconnect` (kept in its mutable state)."""
    if "networks" in rec.state:
        return list(rec.state["networks"])
    return list(rec.config.get("net", {}).get("networks", []))


def names_of(rec: container_records.ContainerRecord, network_id: str) -> list[str]:
    """What others call this container on one network."""
    names = [rec.name]
    for m in memberships(rec):
        if m["id"] == network_id:
            names += [a for a in m.get("aliases", []) if a not in names]
    names.append(rec.id[:12])
    return names


def render(rec: container_records.ContainerRecord, own: list[str],
           peers: list[tuple[str, list[str]]]) -> str:
    """The hosts file of `rec`: localhost, --add-host entries, its peers, itself."""
    config = rec.config
    extra = add_host_lines(config.get("net", {}).get("add_hosts", []))
    extra += [f"{address}\t{' '.join(names)}" for address, names in peers]
    hostname = config.get("hostname") or rec.id[:12]
    if own:
        # its own name(s) on its first network's address
        extra += [f"{addr}\t{hostname}{'' if hostname == rec.name else ' ' + rec.name}"
                  for addr in own[1:]]
        return container_fs.hosts_file(
            hostname if hostname == rec.name else f"{hostname} {rec.name}", extra, own[0])
    return container_fs.hosts_file(hostname, extra)


def refresh(ctx: EngineContext, network_ids: "set[str] | list[str]",
            also: "list[str] | None" = None) -> None:
    """Rewrite the hosts file of every container on these networks (and of the
    containers in `also`, e.g. one that just left them). Call with the lock held."""
    if not network_ids and not also:
        return
    catalog = ctx.catalog
    all_leases = network_records.leases(catalog)
    # --disable-dns: on these networks containers do not learn each other's names
    nameless = {n.id for n in network_records.list_all(catalog) if n.config.get("disable_dns")}
    members = {lease.container_id for lease in all_leases if lease.network_id in network_ids}
    members.update(also or [])
    records: dict[str, container_records.ContainerRecord] = {}

    def record(cid: str) -> container_records.ContainerRecord | None:
        if cid not in records:
            try:
                records[cid] = container_records.find(catalog, cid)
            except ContainerNotFound:
                return None
        return records[cid]

    for cid in sorted(members):
        rec = record(cid)
        if rec is None:
            continue
        mine = [lease for lease in all_leases if lease.container_id == cid]
        my_nets = {lease.network_id for lease in mine}
        peers = []
        for lease in all_leases:
            if lease.network_id in my_nets and lease.container_id != cid \
                    and lease.network_id not in nameless:
                other = record(lease.container_id)
                if other is not None:
                    peers.append((lease.address, names_of(other, lease.network_id)))
        path = container_fs.ContainerDirs(ctx.paths, cid).userfile("hosts")
        try:
            container_fs.rewrite_in_place(path, render(rec, [m.address for m in mine], peers))
        except FileNotFoundError:
            continue                          # removed meanwhile
