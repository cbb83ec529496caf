"""Catalog rows for named volumes. Only this module writes the `volumes` table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from pdman.errors import ConflictError, VolumeNotFound
from pdman.storage.catalog import Catalog


@dataclass
class VolumeRecord:
    name: str
    driver: str
    mountpoint: str
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


def _rec(r) -> VolumeRecord:  # type: ignore[no-untyped-def]
    return VolumeRecord(r["name"], r["driver"], r["mountpoint"], r["created"],
                        json.loads(r["labels"] or "{}"), json.loads(r["options"] or "{}"))


def list_all(catalog: Catalog) -> list[VolumeRecord]:
    return [_rec(r) for r in catalog.query("SELECT * FROM volumes ORDER BY name")]


def get(catalog: Catalog, name: str) -> VolumeRecord:
    rows = catalog.query("SELECT * FROM volumes WHERE name = ?", (name,))
    if not rows:
        raise VolumeNotFound(f"no volume with name {name!r} found",
                             hint="see `pdman volume ls`, or create it with `pdman volume create`")
    return _rec(rows[0])


def insert(catalog: Catalog, rec: VolumeRecord, ignore_existing: bool = False) -> bool:
    """Returns False when it already existed (and `ignore_existing`)."""
    with catalog.write() as c:
        if c.execute("SELECT 1 FROM volumes WHERE name = ?", (rec.name,)).fetchone():
            if ignore_existing:
                return False
            raise ConflictError(f"volume with name {rec.name!r} already exists",
                                hint="choose another name, or pass --ignore")
        c.execute("INSERT INTO volumes (name, driver, mountpoint, created, labels, options)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  (rec.name, rec.driver, rec.mountpoint, rec.created or time.time(),
                   json.dumps(rec.labels), json.dumps(rec.options)))
    return True


def users(catalog: Catalog) -> dict[str, list[str]]:
    """volume name -> IDs of containers that mount it (from their immutable config)."""
    out: dict[str, list[str]] = {}
    for r in catalog.query("SELECT id, config FROM containers"):
        for m in json.loads(r["config"] or "{}").get("mounts", []):
            if m.get("type") == "volume":
                out.setdefault(m["source"], []).append(r["id"])
    return out


def delete(catalog: Catalog, name: str) -> None:
    with catalog.write() as c:
        c.execute("DELETE FROM volumes WHERE name = ?", (name,))
