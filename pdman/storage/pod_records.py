"""Catalog rows for pods (`pods`): the pod's ID, name and immutable create options.
Only this module writes that table; the pod of a container is its `pod_id` column
(container_records.py)."""

from __future__ import annotations

import time

from pdman.errors import ConflictError, PodNotFound
from pdman.storage.catalog import Catalog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class PodRecord:
    __slots__ = ("id", "name", "created", "config")

    def __init__(self, id: str, name: str, created: float, config: "dict[str, Any]") -> None:
        self.id = id
        self.name = name
        self.created = created
        self.config = config


def _record(row: "Any") -> PodRecord:
    import json

    return PodRecord(id=row["id"], name=row["name"], created=row["created"],
                     config=json.loads(row["config"] or "{}"))


def list_all(catalog: Catalog) -> list[PodRecord]:
    return [_record(r) for r in catalog.query("SELECT * FROM pods ORDER BY created DESC")]


def find(catalog: Catalog, name_or_id: str) -> PodRecord:
    """By exact name, full ID, or unique ID prefix (as containers)."""
    rows = catalog.query("SELECT * FROM pods WHERE name = ? OR id = ?", (name_or_id, name_or_id))
    if not rows and name_or_id and all(ch in "0123456789abcdef" for ch in name_or_id):
        rows = catalog.query("SELECT * FROM pods WHERE id LIKE ?", (name_or_id + "%",))
        if len(rows) > 1:
            raise ConflictError(f"more than one pod matches the ID prefix {name_or_id!r}",
                                hint="give more characters of the ID, or the name")
    if not rows:
        # podman's words, which scripts grep for: "no such pod"
        raise PodNotFound(f"no pod with name or ID {name_or_id} found: no such pod",
                          hint="see `pdman pod ps` for the pods that exist")
    return _record(rows[0])


def insert(catalog: Catalog, rec: PodRecord) -> None:
    import json

    with catalog.write() as c:
        row = c.execute("SELECT id FROM pods WHERE name = ?", (rec.name,)).fetchone()
        if row:
            raise ConflictError(
                f'{rec.name}: the pod name "{rec.name}" is already in use by {row[0]}. '
                "You have to remove that pod to be able to reuse that name: that name is "
                "already in use",
                hint=f"remove that pod (`pdman pod rm {rec.name}`), choose another --name, "
                "or give --replace")
        c.execute("INSERT INTO pods (id, name, created, config) VALUES (?, ?, ?, ?)",
                  (rec.id, rec.name, rec.created, json.dumps(rec.config)))


def update_config(catalog: Catalog, pod_id: str, **changes: "Any") -> None:
    """Merge into the config (the infra container's ID, set once it exists)."""
    import json

    with catalog.write() as c:
        row = c.execute("SELECT config FROM pods WHERE id = ?", (pod_id,)).fetchone()
        if row is None:
            return
        config = json.loads(row["config"] or "{}")
        config.update(changes)
        c.execute("UPDATE pods SET config = ? WHERE id = ?", (json.dumps(config), pod_id))


def delete(catalog: Catalog, pod_id: str) -> None:
    with catalog.write() as c:
        if c.execute("SELECT 1 FROM containers WHERE pod_id = ?", (pod_id,)).fetchone():
            raise ConflictError(f"pod {pod_id} still has containers",
                                hint="remove them first (`pdman pod rm -f`)")
        c.execute("DELETE FROM pods WHERE id = ?", (pod_id,))


def now() -> float:
    return time.time()
