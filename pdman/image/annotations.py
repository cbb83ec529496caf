"""An image's annotations: the `annotations` of its OCI manifest.

An image's ID is its config's digest, and annotations live in the manifest, not the
config: the same image can be published with other annotations under another manifest
digest. The image row's `digest` names the manifest the image is pushed, saved and
listed with (push.stored_manifest), so giving an image annotations (`build
--annotation`) writes a new manifest blob and points the row at it, as podman's storage
makes the latest commit's manifest the image's. The manifest it had before is removed
unless an image or a manifest list still names it.

A Docker v2s2 manifest has no annotations: its images have none.

`manifest_annotations` is on `image inspect`'s path (a hot command): it reads the
manifest blob with json alone, not through pdman.image.manifest (dataclasses, platform).
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.storage.image_records import ImageRecord

#: the OCI annotations naming the image a build started from, as buildah writes them
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"

_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob_path(blobs_dir: str, digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return os.path.join(blobs_dir, algorithm, hexdigest)


def _manifest_doc(blobs_dir: str, rec: "ImageRecord") -> "tuple[str, dict[str, Any]] | None":
    """(digest, document) of the image's manifest, in push.stored_manifest's order."""
    candidates = [d.partition("@")[2] for d in reversed(rec.repo_digests)] + [rec.digest]
    for digest in dict.fromkeys(d for d in candidates if d.startswith("sha256:")):
        try:
            with open(_blob_path(blobs_dir, digest), "rb") as f:
                doc = json.loads(f.read())
        except (OSError, ValueError):
            continue
        # an index (a multi-platform pull's digest) is not the image's own manifest
        if isinstance(doc, dict) and isinstance(doc.get("config"), dict) and \
                doc["config"].get("digest") == "sha256:" + rec.id:
            return digest, doc
    return None


def manifest_annotations(blobs_dir: str, rec: "ImageRecord") -> "dict[str, str]":
    """The annotations of the image's manifest ({} for a Docker v2s2 one, or none kept)."""
    found = _manifest_doc(blobs_dir, rec)
    if found is None:
        return {}
    value = found[1].get("annotations")
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def manifest_digest(blobs_dir: str, rec: "ImageRecord") -> str:
    """The digest of the image's own manifest (not a multi-platform index's)."""
    found = _manifest_doc(blobs_dir, rec)
    return found[0] if found is not None else rec.digest


def set_annotations(ctx: "EngineContext", image_id: str, annotations: "dict[str, str]") -> str:
    """Make the image's manifest carry exactly `annotations` (an OCI manifest: a Docker
    one cannot); returns the manifest digest the image has afterwards."""
    import hashlib

    from pdman.errors import StorageError
    from pdman.storage import image_records
    from pdman.storage.blobs import BlobStore

    rec = image_records.get(ctx.catalog, image_id)
    found = _manifest_doc(ctx.paths.blobs, rec)
    if found is None:
        raise StorageError(f"the manifest of image {image_id[:12]} is not in the blob store",
                           hint="build the image again")
    digest, doc = found
    if (doc.get("annotations") or {}) == annotations:
        return digest
    if doc.get("mediaType", _OCI_MANIFEST) != _OCI_MANIFEST:
        raise StorageError(f"image {image_id[:12]} has a {doc.get('mediaType')} manifest, "
                           "which has no annotations", hint="build with --format oci")
    doc = {k: v for k, v in doc.items() if k != "annotations"}
    if annotations:
        # sorted keys: the same annotations give the same manifest digest (--timestamp)
        doc["annotations"] = dict(sorted(annotations.items()))
    raw = json.dumps(doc, indent=3).encode()
    new = "sha256:" + hashlib.sha256(raw).hexdigest()
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    if not blobs.has(new):
        blobs.put(new, raw)
    image_records.set_digest(ctx.catalog, image_id, new)
    _forget_manifest(ctx, blobs, digest)
    return new


def _forget_manifest(ctx: "EngineContext", blobs: "Any", digest: str) -> None:
    """Remove the manifest the image had before, unless something still names it: an
    image (a pull's repo digest) or an instance of a manifest list (its push sends
    those very bytes)."""
    from pdman.storage.manifest_lists import ManifestListStore

    if ctx.catalog.query("SELECT 1 FROM images WHERE digest = ? OR repo_digests LIKE ?",
                         (digest, f"%{digest}%")):
        return
    lists = ManifestListStore(ctx.paths)
    with lists.locked():
        if any(digest in (rec.get("Sources") or {}) for rec in lists.all().values()):
            return
        blobs.remove(digest)


__all__ = ["BASE_DIGEST", "BASE_NAME", "manifest_annotations", "manifest_digest",
           "set_annotations"]
