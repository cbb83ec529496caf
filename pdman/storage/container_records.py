"""Catalog rows for containers: immutable config in `containers`, mutable state in
`container_state`. Only this module writes those two tables."""

from __future__ import annotations

import time

from pdman.errors import ConflictError, ContainerNotFound
from pdman.storage.catalog import Catalog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ContainerRecord:
    """A container as the catalog knows it (hot path of `ps`: a plain class)."""

    __slots__ = ("id", "name", "image_id", "image_name", "command", "created", "config",
                 "status", "pid", "monitor_pid", "exit_code", "oom_killed", "started_at",
                 "finished_at", "state")

    def __init__(self, id: str, name: str, image_id: str, image_name: str, command: list[str],
                 created: float, config: dict[str, Any], status: str = "created", pid: int = 0,
                 monitor_pid: int = 0, exit_code: int | None = None, oom_killed: bool = False,
                 started_at: float = 0.0, finished_at: float = 0.0,
                 state: dict[str, Any] | None = None) -> None:
        self.id = id
        self.name = name
        self.image_id = image_id
        self.image_name = image_name
        self.command = command
        self.created = created
        self.config = config
        self.status = status
        self.pid = pid
        self.monitor_pid = monitor_pid
        self.exit_code = exit_code
        self.oom_killed = oom_killed
        self.started_at = started_at
        self.finished_at = finished_at
        self.state = state if state is not None else {}


_SELECT = """
SELECT c.id, c.name, c.image_id, c.image_name, c.command, c.created, c.config,
       s.status, s.pid, s.monitor_pid, s.exit_code, s.oom_killed, s.started_at,
       s.finished_at, s.state
FROM containers c JOIN container_state s ON s.id = c.id
"""


def _record(row: Any) -> ContainerRecord:
    from pdman.cjson import loads  # without `json`: see that module

    return ContainerRecord(
        id=row["id"], name=row["name"], image_id=row["image_id"], image_name=row["image_name"],
        command=loads(row["command"] or "[]"), created=row["created"],
        config=loads(row["config"] or "{}"), status=row["status"], pid=row["pid"] or 0,
        monitor_pid=row["monitor_pid"] or 0, exit_code=row["exit_code"],
        oom_killed=bool(row["oom_killed"]), started_at=row["started_at"] or 0.0,
        finished_at=row["finished_at"] or 0.0, state=loads(row["state"] or "{}"),
    )


def in_pod(catalog: Catalog, pod_id: str) -> list[ContainerRecord]:
    """The containers of a pod (its infra container too), oldest first."""
    return [_record(r) for r in catalog.query(_SELECT + " WHERE c.pod_id = ? ORDER BY c.created",
                                              (pod_id,))]


def list_all(catalog: Catalog, include_stopped: bool = True) -> list[ContainerRecord]:
    sql = _SELECT + ("" if include_stopped else " WHERE s.status IN ('running', 'paused')")
    return [_record(r) for r in catalog.query(sql + " ORDER BY c.created DESC")]


def list_all_shared(catalog: Catalog) -> list[ContainerRecord]:
    """Every container, newest first, parsed once per catalog change on a kept
    connection (`Catalog.cached`). The records are shared with the next caller: read
    them, or copy before changing one."""
    return catalog.cached("containers", list_all)


def find(catalog: Catalog, name_or_id: str) -> ContainerRecord:
    """By exact name, full ID, or unique ID prefix (docker's rules)."""
    rows = catalog.query(_SELECT + " WHERE c.name = ? OR c.id = ?", (name_or_id, name_or_id))
    if not rows and name_or_id and all(ch in "0123456789abcdef" for ch in name_or_id):
        rows = catalog.query(_SELECT + " WHERE c.id LIKE ?", (name_or_id + "%",))
        if len(rows) > 1:
            raise ConflictError(
                f"more than one container matches the ID prefix {name_or_id!r}",
                hint="give more characters of the ID, or the name")
    if not rows:
        # podman's words, which scripts grep for: "no such container"
        raise ContainerNotFound(f'no container with name or ID "{name_or_id}" found: '
                                "no such container",
                                hint="see `pdman ps -a` for the containers that exist")
    return _record(rows[0])


def insert(catalog: Catalog, rec: ContainerRecord) -> None:
    from pdman.cjson import dumps

    with catalog.write() as c:
        row = c.execute("SELECT id FROM containers WHERE name = ?", (rec.name,)).fetchone()
        if row:
            # podman's words ("that name is already in use"), which scripts grep for
            raise ConflictError(
                f'the container name "{rec.name}" is already in use by {row[0]}. You have '
                "to remove that container to be able to reuse that name: that name is "
                "already in use",
                hint=f"remove that container (`pdman rm {rec.name}`) or choose another --name")
        c.execute(
            "INSERT INTO containers (id, name, image_id, image_name, command, created, config,"
            " pod_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.id, rec.name, rec.image_id, rec.image_name, dumps(rec.command),
             rec.created, dumps(rec.config), rec.config.get("pod") or ""))
        c.execute(
            "INSERT INTO container_state (id, status, pid, monitor_pid, exit_code, oom_killed,"
            " started_at, finished_at, state) VALUES (?, ?, 0, 0, NULL, 0, 0, 0, ?)",
            (rec.id, rec.status, dumps(rec.state)))


_STATE_COLUMNS = {"status", "pid", "monitor_pid", "exit_code", "oom_killed", "started_at",
                  "finished_at"}


def update_state(catalog: Catalog, container_id: str, **changes: Any) -> None:
    """Change mutable state columns (and merge `state=` JSON) in one transaction."""
    _update(catalog, container_id, None, changes)


def record_exit(catalog: Catalog, container_id: str, running_pid: int, **changes: Any) -> bool:
    """`update_state` for the exit of the run with process `running_pid`, only while it
    is still recorded as running or paused with that process: False when another
    process recorded it first (so that one exit is reported once)."""
    return _update(catalog, container_id, running_pid, changes)


def _update(catalog: Catalog, container_id: str, running_pid: "int | None",
            changes: "dict[str, Any]") -> bool:
    from pdman.cjson import dumps, loads

    extra = changes.pop("state", None)
    unknown = set(changes) - _STATE_COLUMNS
    if unknown:
        raise ValueError(f"unknown state columns {unknown}")
    with catalog.write() as c:
        if running_pid is not None:
            row = c.execute("SELECT status, pid FROM container_state WHERE id = ?",
                            (container_id,)).fetchone()
            if row is None or row["status"] not in ("running", "paused") or \
                    row["pid"] != running_pid:
                return False
        if changes:
            cols = ", ".join(f"{k} = ?" for k in changes)
            c.execute(f"UPDATE container_state SET {cols} WHERE id = ?",
                      (*changes.values(), container_id))
        if extra:
            row = c.execute("SELECT state FROM container_state WHERE id = ?",
                            (container_id,)).fetchone()
            merged = loads(row["state"] or "{}") if row else {}
            merged.update(extra)
            c.execute("UPDATE container_state SET state = ? WHERE id = ?",
                      (dumps(merged), container_id))
    return True


def update_config(catalog: Catalog, container_id: str, config: "dict[str, Any]") -> None:
    """Replace a container's configuration (`update`'s new resource limits: the one
    change of a container's configuration after create)."""
    from pdman.cjson import dumps

    with catalog.write() as c:
        c.execute("UPDATE containers SET config = ? WHERE id = ?",
                  (dumps(config), container_id))


def rename(catalog: Catalog, container_id: str, new_name: str) -> None:
    with catalog.write() as c:
        if c.execute("SELECT 1 FROM containers WHERE name = ?", (new_name,)).fetchone():
            raise ConflictError(f"the container name {new_name!r} is already in use",
                                hint="choose another name")
        c.execute("UPDATE containers SET name = ? WHERE id = ?", (new_name, container_id))


def delete(catalog: Catalog, container_id: str) -> None:
    with catalog.write() as c:
        c.execute("DELETE FROM network_leases WHERE container_id = ?", (container_id,))
        c.execute("DELETE FROM container_state WHERE id = ?", (container_id,))
        c.execute("DELETE FROM containers WHERE id = ?", (container_id,))


def now() -> float:
    return time.time()
