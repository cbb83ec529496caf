"""Catalog rows for user-defined networks (`networks`) and their address leases
(`network_leases`). Only this module writes those two tables (container removal
drops a container's leases with it, in container_records.delete)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pdman.errors import ConflictError, NetworkNotFound
from pdman.storage.catalog import Catalog


@dataclass
class NetworkRecord:
    id: str
    name: str
    driver: str = "bridge"
    subnet: str = ""
    gateway: str = ""
    internal: bool = False
    created: float = 0.0
    #: interface (the bridge's name), labels, options
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def interface(self) -> str:
        return str(self.config.get("interface", ""))


@dataclass
class Lease:
    network_id: str
    container_id: str
    address: str


def _record(row: Any) -> NetworkRecord:
    return NetworkRecord(id=row["id"], name=row["name"], driver=row["driver"] or "bridge",
                         subnet=row["subnet"] or "", gateway=row["gateway"] or "",
                         internal=bool(row["internal"]), created=row["created"] or 0.0,
                         config=json.loads(row["config"] or "{}"))


def list_all(catalog: Catalog) -> list[NetworkRecord]:
    return [_record(r) for r in catalog.query("SELECT * FROM networks ORDER BY created")]


def find(catalog: Catalog, name_or_id: str) -> NetworkRecord:
    """By exact name, full ID or unique ID prefix."""
    rows = catalog.query("SELECT * FROM networks WHERE name = ? OR id = ?", (name_or_id, name_or_id))
    if not rows and name_or_id and all(c in "0123456789abcdef" for c in name_or_id):
        rows = catalog.query("SELECT * FROM networks WHERE id LIKE ?", (name_or_id + "%",))
        if len(rows) > 1:
            raise ConflictError(f"more than one network matches the ID prefix {name_or_id!r}",
                                hint="give more characters of the ID, or the name")
    if not rows:
        raise NetworkNotFound(f"no network with name or ID {name_or_id!r} found",
                              hint="see `pdman network ls`; create it with "
                              f"`pdman network create {name_or_id}`")
    return _record(rows[0])


def insert(catalog: Catalog, rec: NetworkRecord,
           check: Callable[[list[NetworkRecord]], None] | None = None) -> None:
    """Insert, with `check(existing networks)` run inside the same transaction (the
    subnet and interface choice must not race another `network create`)."""
    with catalog.write() as c:
        if c.execute("SELECT 1 FROM networks WHERE name = ?", (rec.name,)).fetchone():
            raise ConflictError(f"the network name {rec.name!r} is already in use",
                                hint="choose another name, or remove that network first")
        if check is not None:
            check([_record(r) for r in c.execute("SELECT * FROM networks").fetchall()])
        c.execute(
            "INSERT INTO networks (id, name, driver, subnet, gateway, internal, created, config)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.id, rec.name, rec.driver, rec.subnet, rec.gateway, int(rec.internal),
             rec.created or time.time(), json.dumps(rec.config)))


def delete(catalog: Catalog, network_id: str) -> None:
    with catalog.write() as c:
        c.execute("DELETE FROM network_leases WHERE network_id = ?", (network_id,))
        c.execute("DELETE FROM networks WHERE id = ?", (network_id,))


# ---- leases ----

def _lease(row: Any) -> Lease:
    return Lease(row["network_id"], row["container_id"], row["address"])


def leases(catalog: Catalog, network_id: str | None = None,
           container_id: str | None = None) -> list[Lease]:
    sql, args = "SELECT * FROM network_leases WHERE 1=1", []
    if network_id is not None:
        sql += " AND network_id = ?"
        args.append(network_id)
    if container_id is not None:
        sql += " AND container_id = ?"
        args.append(container_id)
    return [_lease(r) for r in catalog.query(sql + " ORDER BY address", tuple(args))]


def lease(catalog: Catalog, network_id: str, container_id: str,
          choose: Callable[[list[str]], str]) -> str:
    """The container's address on the network: its existing lease, or a new one
    chosen by `choose(addresses in use)` in the same write transaction."""
    with catalog.write() as c:
        row = c.execute("SELECT address FROM network_leases WHERE network_id = ? AND "
                        "container_id = ?", (network_id, container_id)).fetchone()
        if row:
            return str(row["address"])
        used = [r["address"] for r in c.execute(
            "SELECT address FROM network_leases WHERE network_id = ?", (network_id,))]
        address = choose(used)
        c.execute("INSERT INTO network_leases (network_id, container_id, address) VALUES (?, ?, ?)",
                  (network_id, container_id, address))
        return address


def release(catalog: Catalog, container_id: str, network_id: str | None = None) -> list[str]:
    """Drop the container's leases (on one network, or all); the network IDs."""
    with catalog.write() as c:
        sql, args = "SELECT network_id FROM network_leases WHERE container_id = ?", [container_id]
        if network_id is not None:
            sql += " AND network_id = ?"
            args.append(network_id)
        ids = [r["network_id"] for r in c.execute(sql, tuple(args))]
        c.execute(sql.replace("SELECT network_id", "DELETE"), tuple(args))
    return ids


def release_all_but(catalog: Catalog, keep: set[str]) -> list[str]:
    """Drop the leases of every container not in `keep` (stale after a crash);
    the network IDs that changed."""
    with catalog.write() as c:
        rows = c.execute("SELECT network_id, container_id FROM network_leases").fetchall()
        stale = [(r["network_id"], r["container_id"]) for r in rows if r["container_id"] not in keep]
        for nid, cid in stale:
            c.execute("DELETE FROM network_leases WHERE network_id = ? AND container_id = ?",
                      (nid, cid))
    return sorted({nid for nid, _ in stale})
