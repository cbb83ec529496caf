"""Local images into the store: layers from archives, commits and imports, unpacked
exactly as pulled ones (extraction worker in the user namespace, published through
the layer store), and the image row last.

    with LayerIngest(ctx) as ingest:
        layer = ingest.add(chunks, expected_diff_id)     # -> IngestedLayer
    register_image(ctx, config_raw, [layer...], names)

Crash safety is pull's: unpacks and blob files live in tmp/ until published, blobs
are renamed into place once complete and synced, and the image row comes last, so a
killed load or a full disk leaves no half-registered image.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable

from pdman.engine.context import EngineContext
from pdman.errors import DigestMismatchError, LayerError
from pdman.record import Record
from pdman.storage import image_records
from pdman.storage.blobs import BlobStore, fsync_dir
from pdman.storage.image_records import ImageRecord
from pdman.storage.layers import LayerStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from pdman.storage.extractor import Extractor

#: manifest.OCI_MANIFEST (image/manifest.py is imported only when a manifest is made)
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

_MEDIA = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
          "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
          "": "application/vnd.oci.image.layer.v1.tar"}


class IngestedLayer(Record):
    def __init__(self, diff_id: str, digest: str, size: int, media_type: str) -> None:
        self.diff_id = diff_id
        self.digest = digest            # the blob as stored (compressed or plain)
        self.size = size                # blob bytes
        self.media_type = media_type    # OCI media type of the blob


class LayerIngest:
    """`lazy`: the extraction process starts when first needed, not on entering (a
    build whose steps all come from the cache never needs it; it is started from a
    thread of its own, forking while this process holds no locks, as on entering)."""

    def __init__(self, ctx: EngineContext, prefix: str = "load", lazy: bool = False) -> None:
        self.ctx = ctx
        self.prefix = prefix
        self.blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
        self.layers = LayerStore(ctx.paths, ctx.catalog)
        self.lazy = lazy
        self._extractor: Extractor | None = None
        self.area = ""
        self._area_cm: Any = None
        self._n = 0

    @property
    def extractor(self) -> "Extractor":
        if self._extractor is None:
            from pdman.storage.extractor import Extractor

            self._extractor = Extractor().start()
        return self._extractor

    def _rmtree(self, paths: list[str]) -> None:
        if paths:
            self.extractor.rmtree(paths)

    def _close(self) -> None:
        if self._extractor is not None:
            self._extractor.close()

    def __enter__(self) -> "LayerIngest":
        try:
            if not self.lazy:
                _ = self.extractor      # started before any thread of the caller's exists
            self._area_cm = self.layers.tmp_area(self.prefix)
            self.area, garbage = self._area_cm.__enter__()
            self._rmtree(garbage)
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            leftovers = [os.path.join(self.area, n) for n in os.listdir(self.area)] \
                if self.area and os.path.isdir(self.area) else []
            self._rmtree(leftovers)
            self._area_cm.__exit__(*exc)
        finally:
            self._close()

    @property
    def warning(self) -> str | None:
        return self._extractor.warning if self._extractor is not None else None

    def present(self, diff_id: str) -> IngestedLayer | None:
        """A complete layer whose blob is kept: reused as it is."""
        rec = self.layers.complete(diff_id)
        if rec is None or not rec.digest or not self.blobs.has(rec.digest):
            return None
        return IngestedLayer(diff_id, rec.digest, os.path.getsize(self.blobs.path(rec.digest)),
                             rec.media_type or _MEDIA["gzip"])

    def add(self, chunks: Iterable[bytes], expected_diff_id: str = "",
            expected_digest: str = "", what: str = "layer") -> IngestedLayer:
        """Store the blob made of `chunks` and unpack it as a layer."""
        from pdman.storage.extractor import WorkerGone
        from pdman.storage.tarstream import Limits

        self._n += 1
        staged = os.path.join(self.area, f"layer-{self._n}")
        os.mkdir(staged, 0o700)
        blob_tmp = os.path.join(self.area, f"blob-{self._n}")
        job = self.extractor.unpack(os.path.join(staged, "diff"), Limits.from_env())
        h = hashlib.sha256()
        size = 0
        fd = os.open(blob_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            gone = False
            try:
                for chunk in chunks:
                    h.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                    if not gone:
                        try:
                            job.write(chunk)
                        except WorkerGone:
                            gone = True
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                result = job.finish()
            except LayerError as exc:
                raise LayerError(f"{what}: {exc.message}", exc.hint) from exc
            digest = "sha256:" + h.hexdigest()
            if expected_digest and digest != expected_digest:
                raise DigestMismatchError(f"{what} is {digest}, but its descriptor says "
                                          f"{expected_digest}; nothing stored",
                                          hint="the archive is corrupt")
            if expected_diff_id and result.diff_id != expected_diff_id:
                raise DigestMismatchError(
                    f"{what} unpacks to {result.diff_id}, but the image config names "
                    f"{expected_diff_id}; nothing stored", hint="the archive is corrupt")
        except BaseException:
            job.abort()
            self.extractor.rmtree([staged])
            if os.path.exists(blob_tmp):
                os.unlink(blob_tmp)
            raise
        final = self.blobs.path(digest)
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        os.replace(blob_tmp, final)
        fsync_dir(os.path.dirname(final))
        media_type = _MEDIA.get(result.compression, _MEDIA[""])
        self.layers.commit(staged, result, digest, media_type, self.extractor.rmtree)
        return IngestedLayer(result.diff_id, digest, size, media_type)


def register_image(ctx: EngineContext, config_raw: bytes, layers: list[IngestedLayer],
                   names: list[str], manifest_raw: bytes = b"",
                   manifest_type: str = _OCI_MANIFEST) -> ImageRecord:
    """Record an image whose layers are published: config and manifest blobs first,
    then the image row with its names (the manifest is built when none is given)."""
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    config_digest = "sha256:" + hashlib.sha256(config_raw).hexdigest()
    config = json.loads(config_raw)
    if not manifest_raw:
        from pdman.image import manifest

        oci = manifest_type == manifest.OCI_MANIFEST
        from pdman.image.push import _convert

        doc = {"schemaVersion": 2, "mediaType": manifest_type,
               "config": {"mediaType": manifest.OCI_CONFIG if oci else manifest.DOCKER_CONFIG,
                          "digest": config_digest, "size": len(config_raw)},
               "layers": [{"mediaType": _convert(layer.media_type, manifest_type),
                           "digest": layer.digest, "size": layer.size} for layer in layers]}
        manifest_raw = json.dumps(doc, indent=3).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest_raw).hexdigest()
    if not blobs.has(config_digest):
        blobs.put(config_digest, config_raw)
    if not blobs.has(manifest_digest):
        blobs.put(manifest_digest, manifest_raw)
    diff_ids = [layer.diff_id for layer in layers]
    sizes = {}
    for d in dict.fromkeys(diff_ids):
        rec = image_records.layer(ctx.catalog, d)
        sizes[d] = rec.size if rec else 0
    from pdman.engine.images import split_name

    repos = dict.fromkeys(split_name(n)[0] for n in names)
    image = ImageRecord(
        id=config_digest[7:], digest=manifest_digest,
        manifest_media_type=manifest_type, config=config,
        architecture=str(config.get("architecture", "")), os=str(config.get("os", "")),
        size=sum(sizes.values()), created=str(config.get("created", "")), added=time.time(),
        repo_digests=[f"{r}@{manifest_digest}" for r in repos], layers=diff_ids)
    image_records.add_image(ctx.catalog, image, names)
    return image_records.get(ctx.catalog, image.id)


__all__ = ["IngestedLayer", "LayerIngest", "register_image"]
