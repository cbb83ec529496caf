"""Numbered schema migrations of the catalog, recorded in the database itself.

`PRAGMA user_version` holds the number of the last applied migration (a cheap check
on every open); the `migrations` table records when each one ran. A migration runs
inside one `BEGIN IMMEDIATE` transaction together with its bookkeeping, so a process
killed half-way leaves the previous schema intact, and two processes opening a new
catalog at once apply it exactly once.

Tables are described with sqlite-utils (loaded only here, off the hot path).
Configuration that never changes (a container's create options, an image's config)
is a JSON document beside the few indexed columns that queries need; mutable state
lives in its own table (`container_state`).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    import sqlite_utils

    from pdman.storage.catalog import Catalog


def _m1_initial(db: "sqlite_utils.Database") -> None:
    db["images"].create(
        {
            "id": str,            # config digest hex: the image ID
            "digest": str,        # manifest digest "sha256:..." as pulled/pushed
            "manifest_media_type": str,
            "config": str,        # the image config JSON, verbatim
            "architecture": str,
            "os": str,
            "size": int,          # sum of unpacked layer sizes
            "created": str,       # from the config, RFC 3339
            "added": float,       # when it entered this catalog
            "repo_digests": str,  # JSON list of "repo@sha256:..."
        },
        pk="id",
    )
    db["layers"].create(
        {
            "diff_id": str,       # sha256 of the uncompressed tar: the layer's identity
            "digest": str,        # compressed blob digest it was unpacked from (if any)
            "media_type": str,
            "size": int,          # unpacked size in bytes
            "compressed_size": int,
            "link": str,          # short name under l/ for overlay lowerdir lists
            "state": str,         # "complete" once files are synced; else garbage
            "added": float,
        },
        pk="diff_id",
    )
    db["layers"].create_index(["link"], unique=True)
    db["image_layers"].create(
        {"image_id": str, "position": int, "diff_id": str},
        pk=("image_id", "position"),
        foreign_keys=[("image_id", "images", "id"), ("diff_id", "layers", "diff_id")],
    )
    db["image_layers"].create_index(["diff_id"])
    db["image_names"].create(
        {"name": str, "image_id": str},  # "docker.io/library/nginx:latest"
        pk="name",
        foreign_keys=[("image_id", "images", "id")],
    )
    db["image_names"].create_index(["image_id"])
    db["containers"].create(
        {
            "id": str,
            "name": str,
            "image_id": str,
            "image_name": str,
            "command": str,       # for ps, JSON list
            "created": float,
            "config": str,        # immutable create options, JSON
        },
        pk="id",
        foreign_keys=[("image_id", "images", "id")],
    )
    db["containers"].create_index(["name"], unique=True)
    db["containers"].create_index(["image_id"])
    db["container_state"].create(
        {
            "id": str,
            "status": str,        # created | running | paused | exited | stopping | removing
            "pid": int,
            "monitor_pid": int,
            "exit_code": int,
            "oom_killed": int,
            "started_at": float,
            "finished_at": float,
            "state": str,         # other mutable fields, JSON
        },
        pk="id",
        foreign_keys=[("id", "containers", "id")],
    )
    db["volumes"].create(
        {"name": str, "driver": str, "mountpoint": str, "created": float,
         "labels": str, "options": str},
        pk="name",
    )
    db["networks"].create(
        {"id": str, "name": str, "driver": str, "subnet": str, "gateway": str,
         "internal": int, "created": float, "config": str},
        pk="id",
    )
    db["networks"].create_index(["name"], unique=True)
    db["network_leases"].create(
        {"network_id": str, "container_id": str, "address": str},
        pk=("network_id", "container_id"),
        foreign_keys=[("network_id", "networks", "id"), ("container_id", "containers", "id")],
    )
    db["network_leases"].create_index(["network_id", "address"], unique=True)


def _m2_build_cache(db: "sqlite_utils.Database") -> None:
    # `pdman build`'s layer cache: the hash of a step (parent, expanded instruction,
    # sources' content) -> the image that step made. No foreign key: removing the
    # image leaves a stale row, which a lookup ignores and the next build replaces.
    db["build_cache"].create({"key": str, "image_id": str, "created": float}, pk="key")
    db["build_cache"].create_index(["image_id"])


def _m3_pods(db: "sqlite_utils.Database") -> None:
    # pods: the immutable create options as JSON (labels, shared namespaces, the
    # infra container's ID); a pod's state is its containers' (engine/pods.py)
    db["pods"].create({"id": str, "name": str, "created": float, "config": str}, pk="id")
    db["pods"].create_index(["name"], unique=True)
    # the pod a container belongs to ('' for none); no foreign key: sqlite cannot add
    # one to an existing table, and only pod_records/container_records write either
    db["containers"].add_column("pod_id", str, not_null_default="")
    db["containers"].create_index(["pod_id"])


#: index i holds migration number i+1; never reorder or edit a released one
MIGRATIONS: "list[tuple[str, Callable[[sqlite_utils.Database], None]]]" = [
    ("initial schema", _m1_initial),
    ("build cache", _m2_build_cache),
    ("pods", _m3_pods),
]
LATEST = len(MIGRATIONS)


def migrate(catalog: "Catalog") -> None:
    import sqlite_utils

    conn = catalog.conn
    with catalog.write():
        # re-read under the write lock: another process may have migrated meanwhile
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= LATEST:
            return
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if not db["migrations"].exists():
            db["migrations"].create({"number": int, "name": str, "applied": float}, pk="number")
        for number in range(version + 1, LATEST + 1):
            name, step = MIGRATIONS[number - 1]
            step(db)
            db["migrations"].insert({"number": number, "name": name, "applied": time.time()})
        # PRAGMA user_version takes no parameters; LATEST is our own integer
        conn.execute(f"PRAGMA user_version = {LATEST}")
