"""The layer cache of `pdman build`: step key -> image ID (migration 2)."""

from __future__ import annotations

import time

from pdman.storage.catalog import Catalog


def lookup(catalog: Catalog, key: str, max_age: float | None = None) -> str | None:
    """The image a step with this key made, if that image is still stored (and, with
    `max_age`, was made at most that many seconds ago: build --cache-ttl)."""
    oldest = time.time() - max_age if max_age is not None else 0.0
    rows = catalog.query("SELECT c.image_id FROM build_cache c JOIN images i ON i.id = c.image_id"
                         " WHERE c.key = ? AND c.created >= ?", (key, oldest))
    return rows[0]["image_id"] if rows else None


def record(catalog: Catalog, key: str, image_id: str) -> None:
    with catalog.write() as c:
        c.execute("INSERT INTO build_cache (key, image_id, created) VALUES (?, ?, ?)"
                  " ON CONFLICT(key) DO UPDATE SET image_id = excluded.image_id,"
                  " created = excluded.created", (key, image_id, time.time()))


def is_cached_image(catalog: Catalog, image_id: str) -> bool:
    return bool(catalog.query("SELECT 1 FROM build_cache WHERE image_id = ? LIMIT 1", (image_id,)))


__all__ = ["is_cached_image", "lookup", "record"]
