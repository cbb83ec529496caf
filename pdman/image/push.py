"""Push: a local image -> a registry, blob by blob, then its manifest.

    report = push_image(ctx, PushOptions("busybox", "registry:5000/me/busybox:1"))

Stages:
1. source: the local image and its manifest. A pulled image keeps the manifest bytes
   it was pulled with (`blobs/<manifest digest>`), so an unchanged image is pushed
   with the very same bytes and digest; `--format oci|v2s2` converts (same blobs,
   other media types, so another manifest digest).
2. destination: DEST, or the image's own name; credentials as for pull;
3. blobs: layers and config, several at once; a blob the registry already has
   (HEAD) is skipped;
4. manifest: PUT under the tag, last, so the registry never names a partial image.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pdman.engine.context import EngineContext
from pdman.entities.image_transfer import PushOptions, PushReport
from pdman.errors import StorageError, UsageError
from pdman.image import auth, manifest, reference, registries_conf
from pdman.image.manifest import Descriptor, Manifest
from pdman.image.registry import RegistryClient
from pdman.storage import image_records
from pdman.storage.blobs import BlobStore
from pdman.storage.image_records import ImageRecord

PARALLEL_BLOBS = 4
CHUNK = 1 << 20

#: docker <-> OCI media types of the same bytes
_TO_OCI = {
    manifest.DOCKER_MANIFEST: manifest.OCI_MANIFEST,
    manifest.DOCKER_CONFIG: manifest.OCI_CONFIG,
    "application/vnd.docker.image.rootfs.diff.tar.gzip":
        "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.oci.image.layer.v1.tar",
}
_TO_DOCKER = {v: k for k, v in _TO_OCI.items()}
FORMATS = {"oci": manifest.OCI_MANIFEST, "v2s2": manifest.DOCKER_MANIFEST}


def stored_manifest(blobs: BlobStore, rec: ImageRecord) -> tuple[bytes, Manifest] | None:
    """The manifest the image was pulled (or loaded, committed) with, if kept."""
    candidates = [d.partition("@")[2] for d in reversed(rec.repo_digests)] + [rec.digest]
    for digest in dict.fromkeys(d for d in candidates if d):
        if not blobs.has(digest):
            continue
        raw = blobs.get(digest)
        try:
            doc = manifest.parse(raw, "", digest)
        except Exception:  # noqa: BLE001 - an index or something else: not this one
            continue
        if isinstance(doc, Manifest) and doc.config.digest == "sha256:" + rec.id:
            return raw, doc
    return None


def _convert(media_type: str, to: str) -> str:
    table = _TO_OCI if to == manifest.OCI_MANIFEST else _TO_DOCKER
    if to == manifest.DOCKER_MANIFEST and media_type.endswith("+zstd"):
        raise UsageError("a zstd-compressed layer cannot go into a Docker v2s2 manifest",
                         hint="push with --format oci")
    return table.get(media_type, media_type)


def build_manifest(blobs: BlobStore, catalog: Any, rec: ImageRecord,
                   to: str) -> tuple[bytes, Manifest]:
    """A manifest of type `to` for the image, from its stored blobs."""
    layers: list[Descriptor] = []
    for layer in image_records.layers_of(catalog, rec.id):
        if not layer.digest or not blobs.has(layer.digest):
            raise StorageError(f"the compressed blob of layer {layer.diff_id[:19]} of image "
                               f"{rec.id[:12]} is not kept",
                               hint="pull the image again to push it")
        mt = layer.media_type or "application/vnd.oci.image.layer.v1.tar+gzip"
        layers.append(Descriptor(_convert(mt, to), layer.digest,
                                 os.path.getsize(blobs.path(layer.digest))))
    config_digest = "sha256:" + rec.id
    if not blobs.has(config_digest):
        raise StorageError(f"the config of image {rec.id[:12]} is not in the blob store",
                           hint="pull the image again to push it")
    config = Descriptor(_convert(manifest.DOCKER_CONFIG, to), config_digest,
                        os.path.getsize(blobs.path(config_digest)))
    doc = {"schemaVersion": 2, "mediaType": to,
           "config": {"mediaType": config.media_type, "digest": config.digest,
                      "size": config.size},
           "layers": [{"mediaType": d.media_type, "digest": d.digest, "size": d.size}
                      for d in layers]}
    raw = json.dumps(doc, indent=3).encode()
    return raw, Manifest(to, config, tuple(layers))


def image_manifest(ctx: EngineContext, rec: ImageRecord, fmt: str = "") -> tuple[bytes, Manifest]:
    """The manifest to publish: the stored one when it has the wanted type."""
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    if fmt and fmt not in FORMATS:
        raise UsageError(f"unknown manifest format {fmt!r}", hint="use oci or v2s2")
    stored = stored_manifest(blobs, rec)
    want = FORMATS.get(fmt, "")
    if stored is not None and (not want or stored[1].media_type == want):
        return stored
    to = want or (stored[1].media_type if stored else manifest.OCI_MANIFEST)
    if stored is not None:
        fresh = [Descriptor(_convert(d.media_type, to), d.digest, d.size)
                 for d in stored[1].layers]
        config = Descriptor(_convert(stored[1].config.media_type, to), stored[1].config.digest,
                            stored[1].config.size)
        doc = {"schemaVersion": 2, "mediaType": to,
               "config": {"mediaType": config.media_type, "digest": config.digest,
                          "size": config.size},
               "layers": [{"mediaType": d.media_type, "digest": d.digest, "size": d.size}
                          for d in fresh]}
        return json.dumps(doc, indent=3).encode(), Manifest(to, config, tuple(fresh))
    return build_manifest(blobs, ctx.catalog, rec, to)


def _destination(rec: ImageRecord, image: str, destination: str) -> reference.Reference:
    text = destination.removeprefix("docker://") if destination else ""
    if destination and ":" in destination.split("/")[0] and "://" not in destination and \
            destination.split(":", 1)[0] in ("oci-archive", "docker-archive", "oci", "dir"):
        raise UsageError(f"push to {destination!r}: only docker:// destinations are supported",
                         hint="use `pdman save` for archives")
    if not text:
        if reference.looks_like_id(image) or not rec.names:
            raise UsageError(f"image {image} has no name to push to",
                             hint="give a destination: pdman push IMAGE REGISTRY/REPO[:TAG]")
        ref = reference.parse(image)
        tagged = ref.tagged_or_latest()
        suffix = f"/{tagged.path}:{tagged.tag}"
        text = next((n for n in rec.names if n.endswith(suffix) or n == str(tagged)),
                    rec.names[0])
    ref = reference.parse(text)
    if ref.is_short:
        raise UsageError(f"push destination {text!r} names no registry",
                         hint="use REGISTRY[:PORT]/REPOSITORY[:TAG]")
    return ref if ref.digest else ref.tagged_or_latest()


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def push_image(ctx: EngineContext, options: PushOptions, transport: Any = None) -> PushReport:
    from pdman.engine.images import resolve_image

    say = options.progress or (lambda line: None)
    rec = resolve_image(ctx, options.image)
    raw, doc = image_manifest(ctx, rec, options.format)
    ref = _destination(rec, options.image, options.destination)
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    for desc in (*doc.layers, doc.config):
        if not blobs.has(desc.digest):
            raise StorageError(f"blob {desc.digest} of image {rec.id[:12]} is not in the store",
                               hint="pull the image again to push it")
    conf = registries_conf.load()
    endpoint = conf.endpoints(ref)[-1]
    insecure = endpoint.insecure or options.tls_verify is False
    creds = auth.parse_creds_option(options.creds) if options.creds else \
        auth.lookup(ref.domain, ref.path, options.authfile or None)
    repo = endpoint.repository
    report = PushReport(str(ref), "")
    say("Getting image source signatures")
    with RegistryClient(endpoint.registry, insecure=insecure, credentials=creds,
                        transport=transport, cert_dir=options.cert_dir) as client:
        def one(desc: Descriptor) -> None:
            if client.blob_exists(repo, desc.digest):
                report.skipped.append(desc.digest)
                say(f"Copying blob {desc.digest[7:19]} skipped: already exists")
                return
            say(f"Copying blob {desc.digest[7:19]}")
            path = blobs.path(desc.digest)
            client.upload_blob(repo, desc.digest, os.path.getsize(path),
                               lambda: _chunks(path))
            report.pushed.append(desc.digest)

        unique = list({d.digest: d for d in doc.layers}.values())
        with ThreadPoolExecutor(PARALLEL_BLOBS, thread_name_prefix="pdman-push") as pool:
            for future in [pool.submit(one, d) for d in unique]:
                future.result()
        one(doc.config)
        say("Writing manifest to image destination")
        report.digest = client.put_manifest(repo, ref.digest or ref.tag, raw, doc.media_type)
    return report


__all__ = ["FORMATS", "build_manifest", "image_manifest", "push_image", "stored_manifest"]
