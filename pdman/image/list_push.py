"""`manifest push`: a local manifest list -> a registry.

With --all (podman's default) each instance goes first: its blobs the destination
lacks (from the local store for a local image, else copied from the registry the
instance was added from, through a temporary file), then its manifest, by digest.
The list goes last, under the tag, so the registry never names a partial list.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import StorageError, UsageError
from pdman.image import manifest, reference
from pdman.image.manifest import Descriptor
from pdman.storage.blobs import BlobStore

CHUNK = 1 << 20
FORMATS = {"oci": manifest.OCI_INDEX, "v2s2": manifest.DOCKER_LIST}


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


class _Sources:
    """Registry clients for the references instances were added from, opened once."""

    def __init__(self, tls_verify: "bool | None", creds: str, authfile: str) -> None:
        self.tls_verify, self.creds, self.authfile = tls_verify, creds, authfile
        self.open: dict[str, tuple[Any, str]] = {}

    def client(self, ref: reference.Reference) -> "tuple[Any, str]":
        from pdman.engine.manifests import registry_client

        key = ref.name
        if key not in self.open:
            # credentials given for the destination are not sent to other registries
            self.open[key] = registry_client(ref, self.tls_verify, "", self.authfile)
        return self.open[key]

    def close(self) -> None:
        for client, _repo in self.open.values():
            client.close()


def push_list(ctx: EngineContext, name: str, destination: str, *, all: bool = True,
              format: str = "", tls_verify: "bool | None" = None, creds: str = "",
              authfile: str = "", cert_dir: str = "", say: "Callable[[str], None] | None" = None) -> str:
    """Push the list (and, with `all`, its images); returns the list's digest."""
    from pdman.engine import manifests

    say = say or (lambda line: None)
    if format and format not in FORMATS:
        raise UsageError(f"unknown manifest list format {format!r}", hint="use oci or v2s2")
    rec = manifests.find(ctx, name)
    text = destination.removeprefix("docker://")
    if ":" in text.split("/")[0] and text.split(":", 1)[0] in (
            "oci-archive", "docker-archive", "oci", "dir", "containers-storage"):
        raise UsageError(f"push to {destination!r}: only docker:// destinations are supported")
    dest = reference.parse(text)
    if dest.is_short:
        raise UsageError(f"push destination {text!r} names no registry",
                         hint="use REGISTRY[:PORT]/REPOSITORY[:TAG]")
    dest = dest if dest.digest else dest.tagged_or_latest()
    raw_list = manifests.index_bytes(rec, FORMATS.get(format, ""))
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    client, repo = manifests.registry_client(dest, tls_verify, creds, authfile, cert_dir)
    sources = _Sources(tls_verify, creds, authfile)
    say("Getting image list signatures")
    try:
        with client:
            if all:
                for entry in rec["Index"]["manifests"]:
                    _push_instance(ctx, client, repo, blobs, sources, entry,
                                   rec["Sources"].get(entry["digest"], {}), say)
            say("Writing manifest list to image destination")
            digest: str = client.put_manifest(repo, dest.digest or dest.tag, raw_list,
                                              manifest.sniff_media_type(raw_list, "", name))
    finally:
        sources.close()
    return digest or "sha256:" + hashlib.sha256(raw_list).hexdigest()


def _push_instance(ctx: EngineContext, client: Any, repo: str, blobs: BlobStore,
                   sources: _Sources, entry: "dict[str, Any]", source: "dict[str, Any]",
                   say: "Callable[[str], None]") -> None:
    digest = entry["digest"]
    src_client: Any = None
    src_repo = ""
    if "ref" in source:
        src_client, src_repo = sources.client(reference.parse(source["ref"]))
    if blobs.has(digest):
        raw = blobs.get(digest)
        ctype = entry.get("mediaType", "")
    elif src_client is not None:
        raw, ctype, _d = src_client.get_manifest(src_repo, digest, manifest.ACCEPT)
    else:
        raise StorageError(f"the manifest {digest} of the list is not kept",
                           hint="add the image to the list again")
    doc = manifest.parse(raw, ctype, digest)
    if isinstance(doc, manifest.Index):
        raise UsageError(f"instance {digest} is itself a list: not supported")
    for desc in (*doc.layers, doc.config):
        if client.blob_exists(repo, desc.digest):
            say(f"Copying blob {desc.digest[7:19]} skipped: already exists")
            continue
        say(f"Copying blob {desc.digest[7:19]}")
        if blobs.has(desc.digest):
            path = blobs.path(desc.digest)
            client.upload_blob(repo, desc.digest, os.path.getsize(path), lambda p=path: _chunks(p))
        elif src_client is not None:
            _copy_blob(ctx, src_client, src_repo, client, repo, desc)
        else:
            raise StorageError(f"blob {desc.digest} of instance {digest} is not in the store",
                               hint="pull the image again, then add it to the list again")
    say(f"Copying manifest {digest[7:19]}")
    client.put_manifest(repo, digest, raw, doc.media_type)


def _copy_blob(ctx: EngineContext, src: Any, src_repo: str, dst: Any, dst_repo: str,
               desc: Descriptor) -> None:
    """Registry to registry through a temporary file (verified by fetch_blob)."""
    os.makedirs(ctx.paths.tmp, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=ctx.paths.tmp, prefix="list-push-") as tmp:
        src.fetch_blob(src_repo, desc, tmp.write)
        tmp.flush()
        dst.upload_blob(dst_repo, desc.digest, desc.size, lambda: _chunks(tmp.name))


__all__ = ["FORMATS", "push_list"]
