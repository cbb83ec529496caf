"""Removing images: `rmi`, `image prune`, and the disk-use summary `system df`.

podman's rules for `rmi NAME`:
- an image named by one of several tags only loses that tag ("Untagged: ...");
- named by ID while it has several tags, it is removed only with --force;
- an image a container uses is refused (exit 2) unless --force, which removes
  those containers first;
- otherwise every name goes, then the image; layers other images share stay, the
  rest are removed with their blobs.
Exit codes: 0; 1 when an image was not found (and nothing worse); 2 when one is in
use; 125 for any other failure.
"""

from __future__ import annotations

import os
from typing import Any

from pdman.engine.context import EngineContext
from pdman.engine.images import _short_candidates, resolve_image
from pdman.entities.images import (DiskUsageRow, PruneImagesOptions, PruneImagesReport,
                                   RemoveImagesOptions, RemoveImagesReport)
from pdman.errors import ConflictError, ImageNotFound, PdmanError
from pdman.storage import image_records
from pdman.storage.image_records import ImageRecord

EXIT_NOT_FOUND = 1
EXIT_IN_USE = 2
EXIT_OTHER = 125


class ImageInUse(ConflictError):
    """An image a container uses (podman's rmi exit code 2)."""

    reference = "image-in-use"
    exit_code = EXIT_IN_USE


def _matched_name(text: str, rec: ImageRecord) -> str | None:
    """Which of the image's names `text` designates; None when it was its ID or digest."""
    from pdman.image import reference

    hexpart = text.removeprefix("sha256:")
    if reference.looks_like_id(text) and rec.id.startswith(hexpart):
        return None
    ref = reference.parse(text)
    if ref.digest:
        full = f"{ref.name}@{ref.digest}"
        return full if full in rec.names else None
    candidates = [str(ref.tagged_or_latest())] if not ref.is_short else _short_candidates(ref)
    for c in candidates:
        if c in rec.names:
            return c
    if ref.is_short:
        tagged = ref.tagged_or_latest()
        for n in rec.names:
            if n.endswith(f"/{tagged.path}:{tagged.tag}"):
                return n
    return None


def _remove_containers(ctx: EngineContext, ids: list[str]) -> None:
    """`rmi --force` of an image in use removes its containers first (podman)."""
    from pdman.engine import containers

    for cid in ids:
        containers.remove(ctx, containers.RemoveOptions(name=cid, force=True))


def _delete(ctx: EngineContext, rec: ImageRecord, force: bool,
            report: RemoveImagesReport | None) -> int:
    """Remove an image with all its names; returns the bytes its layers freed."""
    from pdman.storage.blobs import BlobStore
    from pdman.storage.extractor import remove_trees
    from pdman.storage.layers import LayerStore

    cat = ctx.catalog
    users = image_records.containers_using(cat, rec.id)
    if users:
        if not force:
            raise ImageInUse(
                f"image used by {users[0]}: image is in use by a container: consider listing "
                "external containers and force-removing image",
                hint=f"remove the container first (`pdman rm {users[0][:12]}`), or use --force")
        _remove_containers(ctx, users)
    try:
        orphans = image_records.delete_image(cat, rec.id)
    except ConflictError as exc:
        raise ImageInUse(exc.message, exc.hint) from exc
    if report is not None:
        report.untagged.extend(rec.names)
        report.deleted.append(rec.id)
    from pdman.engine import events

    for name in rec.names:
        if "@" not in name:
            events.emit(ctx.paths, "image", "untag", id=rec.id, name=name)
    events.emit(ctx.paths, "image", "remove", id=rec.id,
                name=next((n for n in rec.names if "@" not in n), rec.id))
    store = LayerStore(ctx.paths, cat)
    gone = set(store.retire(orphans, remove_trees))
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    freed = 0
    for layer in orphans:
        if layer.diff_id in gone:
            freed += layer.size
            if layer.digest:
                blobs.remove(layer.digest)
    # manifests and config: unless another image still names the same digests
    others = " ".join(r["repo_digests"] + " " + r["digest"] for r in cat.query(
        "SELECT repo_digests, digest FROM images"))
    for digest in {rec.digest, *(d.partition("@")[2] for d in rec.repo_digests)}:
        if digest and digest not in others:
            blobs.remove(digest)
    blobs.remove("sha256:" + rec.id)
    return freed


def remove_images(ctx: EngineContext, options: RemoveImagesOptions) -> RemoveImagesReport:
    report = RemoveImagesReport()
    codes: list[int] = []

    def fail(exc: PdmanError, code: int) -> None:
        report.errors.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        codes.append(code)

    cat = ctx.catalog
    if options.all:
        targets: list[tuple[str, ImageRecord | None]] = [
            (rec.id, rec) for rec in image_records.list_images(cat)]
    else:
        targets = [(name, None) for name in options.names]
    for text, rec in targets:
        try:
            if rec is None:
                rec = resolve_image(ctx, text)
            name = None if options.all else _matched_name(text, rec)
            if name is not None and len(rec.names) > 1:
                image_records.remove_name(cat, name)
                report.untagged.append(name)
                continue
            if name is None and len(rec.names) > 1 and not options.force and not options.all:
                raise ConflictError(
                    f"unable to delete image {text!r} by ID with more than one tag "
                    f"({rec.names}): please force removal",
                    hint="remove the tags one by one, or use --force")
            _delete(ctx, rec, options.force, report)
        except ImageNotFound as exc:
            if not options.ignore:
                fail(exc, EXIT_NOT_FOUND)
        except ImageInUse as exc:
            fail(exc, EXIT_IN_USE)
        except PdmanError as exc:
            fail(exc, EXIT_OTHER)
    if codes:
        report.exit_code = EXIT_IN_USE if EXIT_IN_USE in codes else \
            EXIT_OTHER if EXIT_OTHER in codes else EXIT_NOT_FOUND
    return report


def _prune_filter(rec: ImageRecord, filters: tuple[str, ...]) -> bool:
    import datetime as dt

    from pdman.errors import UsageError

    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE")
        labels = (rec.config.get("config") or {}).get("Labels") or {}
        if key == "label":
            k, has_value, v = value.partition("=")
            if k not in labels or (has_value and labels[k] != v):
                return False
        elif key == "label!":
            k, has_value, v = value.partition("=")
            if k in labels and (not has_value or labels[k] == v):
                return False
        elif key == "until":
            created = rec.created.replace("Z", "+00:00")
            try:
                when = dt.datetime.fromisoformat(created).timestamp()
                limit = float(value) if value.replace(".", "").isdigit() else \
                    dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError as exc:
                raise UsageError(f"invalid until filter {value!r}",
                                 hint="give a Unix timestamp or an RFC 3339 date") from exc
            if when >= limit:
                return False
        else:
            raise UsageError(f"invalid image prune filter {key!r}",
                             hint="supported: label, label!, until")
    return True


def prune_images(ctx: EngineContext, options: PruneImagesOptions) -> PruneImagesReport:
    """Remove dangling images (no name), or with `all` every image no container uses."""
    cat = ctx.catalog
    used = {r["image_id"] for r in cat.query("SELECT DISTINCT image_id FROM containers")}
    report = PruneImagesReport()
    for rec in image_records.list_images(cat):
        if rec.id in used or (rec.names and not options.all):
            continue
        if not _prune_filter(rec, options.filters):
            continue
        try:
            report.reclaimed += _delete(ctx, rec, False, None)
        except ImageInUse:
            continue  # a container appeared meanwhile
        report.deleted.append(rec.id)
    return report


def _tree_size(path: str) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path, onerror=lambda e: None):
        for name in filenames + dirnames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def disk_usage(ctx: EngineContext) -> list[DiskUsageRow]:
    """`system df`: shared layers are counted once."""
    cat = ctx.catalog
    layer_sizes = {r["diff_id"]: r["size"] for r in cat.query(
        "SELECT diff_id, size FROM layers WHERE state = 'complete'")}
    image_ids = [r["id"] for r in cat.query("SELECT id FROM images")]
    used_images = {r["image_id"] for r in cat.query("SELECT DISTINCT image_id FROM containers")}
    active_layers = {r["diff_id"] for r in cat.query(
        "SELECT DISTINCT diff_id FROM image_layers WHERE image_id IN "
        "(SELECT image_id FROM containers)")}
    images_size = sum(layer_sizes.values())
    reclaimable = sum(s for d, s in layer_sizes.items() if d not in active_layers)
    rows = [DiskUsageRow("Images", len(image_ids), len(used_images & set(image_ids)),
                         images_size, reclaimable)]
    containers: list[Any] = cat.query(
        "SELECT c.id, s.status FROM containers c LEFT JOIN container_state s ON s.id = c.id")
    c_total = c_reclaim = 0
    running = 0
    for r in containers:
        size = _tree_size(os.path.join(ctx.paths.containers, r["id"]))
        c_total += size
        if r["status"] in ("running", "paused"):
            running += 1
        else:
            c_reclaim += size
    rows.append(DiskUsageRow("Containers", len(containers), running, c_total, c_reclaim))
    volumes = cat.query("SELECT name, mountpoint FROM volumes")
    v_total = sum(_tree_size(r["mountpoint"] or os.path.join(ctx.paths.volumes, r["name"]))
                  for r in volumes)
    rows.append(DiskUsageRow("Local Volumes", len(volumes), 0, v_total, v_total))
    return rows


__all__ = ["disk_usage", "prune_images", "remove_images"]
