"""Catalog rows for images, their names and their layers. Only this module writes the
`images`, `image_names`, `image_layers` and `layers` tables.

Visibility rule (crash safety): a layer row is inserted only after its directory is
complete and synced; an image row (with its names and layer list) only after all its
layers have rows, in one transaction. A layer is shared: its reference count is the
number of `image_layers` rows naming it, derived, never stored.
"""

from __future__ import annotations

import time

from pdman.errors import ConflictError, ImageNotFound
from pdman.storage.catalog import Catalog
from pdman.cjson import dumps, loads  # without `json` (~4 ms): see there

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class LayerRecord:
    """A layer row. A plain slotted class: `run` reads these on its hot path, where
    importing dataclasses would cost ~6 ms."""

    __slots__ = ("diff_id", "digest", "media_type", "size", "compressed_size", "link")

    def __init__(self, diff_id: str, digest: str, media_type: str, size: int,
                 compressed_size: int, link: str) -> None:
        self.diff_id = diff_id              # "sha256:..."
        self.digest = digest                # compressed blob digest, "" for local layers
        self.media_type = media_type
        self.size = size                    # unpacked (tar) bytes
        self.compressed_size = compressed_size
        self.link = link                    # short name under l/

    def __repr__(self) -> str:
        return f"LayerRecord({self.diff_id!r}, link={self.link!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LayerRecord) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)


class ImageRecord:
    """An image row with its names and layers (a plain slotted class, see above)."""

    __slots__ = ("id", "digest", "manifest_media_type", "config", "architecture", "os",
                 "size", "created", "added", "names", "repo_digests", "layers")

    def __init__(self, id: str, digest: str, manifest_media_type: str, config: dict[str, Any],
                 architecture: str, os: str, size: int, created: str, added: float,
                 names: list[str] | None = None, repo_digests: list[str] | None = None,
                 layers: list[str] | None = None) -> None:
        self.id = id                        # config digest hex (the image ID)
        self.digest = digest                # manifest digest "sha256:..."
        self.manifest_media_type = manifest_media_type
        self.config = config
        self.architecture = architecture
        self.os = os
        self.size = size
        self.created = created
        self.added = added
        self.names = names if names is not None else []
        self.repo_digests = repo_digests if repo_digests is not None else []
        self.layers = layers if layers is not None else []   # diff_ids, bottom first

    def __repr__(self) -> str:
        return f"ImageRecord(id={self.id[:12]!r}, names={self.names!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageRecord) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)


def _image(row: Any, names: list[str], layers: list[str]) -> ImageRecord:
    return ImageRecord(
        id=row["id"], digest=row["digest"], manifest_media_type=row["manifest_media_type"],
        config=loads(row["config"]), architecture=row["architecture"], os=row["os"],
        size=row["size"], created=row["created"], added=row["added"], names=names,
        repo_digests=loads(row["repo_digests"] or "[]"), layers=layers,
    )


def _load(catalog: Catalog, rows: list[Any]) -> list[ImageRecord]:
    if not rows:
        return []
    # one image (the common case: `run`, `inspect`): only its own names and layers
    where, params = ("WHERE image_id = ?", (rows[0]["id"],)) if len(rows) == 1 else ("", ())
    names: dict[str, list[str]] = {}
    for r in catalog.query(f"SELECT name, image_id FROM image_names {where} ORDER BY rowid",
                           params):
        names.setdefault(r["image_id"], []).append(r["name"])
    layers: dict[str, list[str]] = {}
    for r in catalog.query(f"SELECT image_id, diff_id FROM image_layers {where}"
                           " ORDER BY image_id, position", params):
        layers.setdefault(r["image_id"], []).append(r["diff_id"])
    return [_image(r, names.get(r["id"], []), layers.get(r["id"], [])) for r in rows]


def list_images(catalog: Catalog) -> list[ImageRecord]:
    with catalog.read():
        return _load(catalog, catalog.query("SELECT * FROM images ORDER BY added DESC"))


def get(catalog: Catalog, image_id: str) -> ImageRecord:
    with catalog.read():
        found = _load(catalog, catalog.query("SELECT * FROM images WHERE id = ?", (image_id,)))
    if not found:
        raise ImageNotFound(f"image {image_id[:12]} not found in the catalog")
    return found[0]


def find_by_name(catalog: Catalog, name: str) -> ImageRecord | None:
    """Exact full name (`docker.io/library/nginx:latest`)."""
    row = catalog.query("SELECT image_id FROM image_names WHERE name = ?", (name,))
    return get(catalog, row[0]["image_id"]) if row else None


def find_by_id_prefix(catalog: Catalog, prefix: str) -> ImageRecord | None:
    prefix = prefix.removeprefix("sha256:")
    if len(prefix) < 3 or any(ch not in "0123456789abcdef" for ch in prefix):
        return None
    rows = catalog.query("SELECT id FROM images WHERE id LIKE ?", (prefix + "%",))
    if len(rows) > 1:
        raise ConflictError(f"more than one image matches the ID prefix {prefix!r}",
                            hint="give more characters of the ID")
    return get(catalog, rows[0]["id"]) if rows else None


def find_by_repo_digest(catalog: Catalog, repo_digest: str) -> ImageRecord | None:
    """`repo@sha256:...` as pulled by digest."""
    repo, _, digest = repo_digest.partition("@")
    for r in catalog.query("SELECT id, repo_digests, digest FROM images WHERE digest = ?"
                           " OR repo_digests LIKE ?", (digest, f"%{digest}%")):
        if r["digest"] == digest or repo_digest in loads(r["repo_digests"] or "[]"):
            return get(catalog, r["id"])
    return None


def layer(catalog: Catalog, diff_id: str) -> LayerRecord | None:
    rows = catalog.query("SELECT * FROM layers WHERE diff_id = ? AND state = 'complete'", (diff_id,))
    if not rows:
        return None
    r = rows[0]
    return LayerRecord(r["diff_id"], r["digest"] or "", r["media_type"] or "", r["size"],
                       r["compressed_size"] or 0, r["link"])


def layers_of(catalog: Catalog, image_id: str) -> list[LayerRecord]:
    rows = catalog.query(
        "SELECT l.* FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id"
        " WHERE il.image_id = ? ORDER BY il.position", (image_id,))
    return [LayerRecord(r["diff_id"], r["digest"] or "", r["media_type"] or "", r["size"],
                        r["compressed_size"] or 0, r["link"]) for r in rows]


def layer_users(catalog: Catalog) -> dict[str, int]:
    """diff_id -> number of images using it (for shared sizes and `image tree`)."""
    return {r["diff_id"]: r["n"] for r in catalog.query(
        "SELECT diff_id, count(DISTINCT image_id) AS n FROM image_layers GROUP BY diff_id")}


def add_layer(catalog: Catalog, rec: LayerRecord) -> None:
    """Record a layer whose directory is complete and synced (idempotent)."""
    with catalog.write() as c:
        c.execute(
            "INSERT INTO layers (diff_id, digest, media_type, size, compressed_size, link,"
            " state, added) VALUES (?, ?, ?, ?, ?, ?, 'complete', ?)"
            # a row left `removing` by an interrupted rmi takes the new directory's
            # link and sizes
            " ON CONFLICT(diff_id) DO UPDATE SET state = 'complete', link = excluded.link,"
            " size = excluded.size, compressed_size = excluded.compressed_size,"
            " media_type = excluded.media_type,"
            " digest = COALESCE(NULLIF(layers.digest, ''), excluded.digest)",
            (rec.diff_id, rec.digest, rec.media_type, rec.size, rec.compressed_size, rec.link,
             time.time()))


def add_image(catalog: Catalog, rec: ImageRecord, names: list[str]) -> None:
    """Record an image whose layers are all recorded; names move to it from older
    images (a re-pulled tag points at the new image, the old one becomes dangling)."""
    with catalog.write() as c:
        existing = c.execute("SELECT repo_digests FROM images WHERE id = ?", (rec.id,)).fetchone()
        if existing is None:
            c.execute(
                "INSERT INTO images (id, digest, manifest_media_type, config, architecture, os,"
                " size, created, added, repo_digests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.id, rec.digest, rec.manifest_media_type, dumps(rec.config),
                 rec.architecture, rec.os, rec.size, rec.created, rec.added,
                 dumps(rec.repo_digests)))
            for position, diff_id in enumerate(rec.layers):
                c.execute("INSERT INTO image_layers (image_id, position, diff_id) VALUES (?, ?, ?)",
                          (rec.id, position, diff_id))
        else:
            merged = loads(existing["repo_digests"] or "[]")
            merged += [d for d in rec.repo_digests if d not in merged]
            c.execute("UPDATE images SET repo_digests = ? WHERE id = ?", (dumps(merged), rec.id))
        for name in names:
            c.execute("INSERT INTO image_names (name, image_id) VALUES (?, ?)"
                      " ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                      (name, rec.id))


def set_digest(catalog: Catalog, image_id: str, digest: str) -> None:
    """Point the image at another manifest of the same config (its blob is stored):
    `build --annotation` gives a cached image the build's annotations."""
    with catalog.write() as c:
        c.execute("UPDATE images SET digest = ? WHERE id = ?", (digest, image_id))


def add_name(catalog: Catalog, image_id: str, name: str) -> None:
    # a name already on the image (a rebuild, a repeated tag) costs no write transaction
    if catalog.query("SELECT 1 FROM image_names WHERE name = ? AND image_id = ?",
                     (name, image_id)):
        return
    with catalog.write() as c:
        c.execute("INSERT INTO image_names (name, image_id) VALUES (?, ?)"
                  " ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id", (name, image_id))


def remove_name(catalog: Catalog, name: str) -> bool:
    with catalog.write() as c:
        return c.execute("DELETE FROM image_names WHERE name = ?", (name,)).rowcount > 0


def containers_using(catalog: Catalog, image_id: str) -> list[str]:
    return [r["id"] for r in catalog.query("SELECT id FROM containers WHERE image_id = ?", (image_id,))]


def delete_image(catalog: Catalog, image_id: str) -> list[LayerRecord]:
    """Forget an image; returns the layers no other image uses any more (the caller
    removes their directories after this transaction, then calls `forget_layers`)."""
    with catalog.write() as c:
        if c.execute("SELECT 1 FROM containers WHERE image_id = ?", (image_id,)).fetchone():
            raise ConflictError(f"image {image_id[:12]} is in use by a container",
                                hint="remove the container first, or use --force")
        diff_ids = [r["diff_id"] for r in c.execute(
            "SELECT diff_id FROM image_layers WHERE image_id = ?", (image_id,))]
        c.execute("DELETE FROM image_names WHERE image_id = ?", (image_id,))
        c.execute("DELETE FROM image_layers WHERE image_id = ?", (image_id,))
        c.execute("DELETE FROM images WHERE id = ?", (image_id,))
        orphans: list[LayerRecord] = []
        for d in dict.fromkeys(diff_ids):
            if c.execute("SELECT 1 FROM image_layers WHERE diff_id = ?", (d,)).fetchone():
                continue
            r = c.execute("SELECT * FROM layers WHERE diff_id = ?", (d,)).fetchone()
            if r is not None:
                # marked, not deleted: the row goes once the directory is gone, so a
                # crash in between leaves a row that `system check` can finish off
                c.execute("UPDATE layers SET state = 'removing' WHERE diff_id = ?", (d,))
                orphans.append(LayerRecord(r["diff_id"], r["digest"] or "", r["media_type"] or "",
                                           r["size"], r["compressed_size"] or 0, r["link"]))
        return orphans


def forget_layers(catalog: Catalog, diff_ids: list[str]) -> None:
    with catalog.write() as c:
        for d in diff_ids:
            c.execute("DELETE FROM layers WHERE diff_id = ? AND state = 'removing'"
                      " AND NOT EXISTS (SELECT 1 FROM image_layers WHERE diff_id = ?)", (d, d))
