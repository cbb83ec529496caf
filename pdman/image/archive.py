"""docker-archive and oci-archive tarballs: write (`save`) and read (`load`).

docker-archive (docker save, podman save, skopeo docker-archive:):
    manifest.json   [{"Config": "<id>.json", "RepoTags": [...], "Layers": ["<hex>/layer.tar"]}]
    <id>.json       the image config
    <hex>/layer.tar each layer, uncompressed (readers accept compressed ones too)
oci-archive (OCI image layout in a tar):
    oci-layout, index.json (manifests, named by `org.opencontainers.image.ref.name`),
    blobs/sha256/<hex> (manifests, configs, layers as stored)

A loaded OCI image keeps its manifest bytes (and digest); a docker-archive has none, so
a Docker v2s2 manifest is made for it. Layers already in the store are reused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from typing import IO, Any

from pdman.engine.context import EngineContext
from pdman.errors import PdmanError, StorageError
from pdman.image import config as image_config, manifest, reference
from pdman.image.ingest import IngestedLayer, LayerIngest, register_image
from pdman.image.push import image_manifest
from pdman.storage import image_records
from pdman.storage.blobs import BlobStore
from pdman.storage.image_records import ImageRecord

REF_NAME = "org.opencontainers.image.ref.name"
CHUNK = 1 << 20


class ArchiveError(StorageError):
    reference = "bad-archive"


# -- writing --------------------------------------------------------------------------

def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def _uncompressed(path: str) -> IO[bytes]:
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if magic == b"\x28\xb5\x2f\xfd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def _tags(rec: ImageRecord) -> list[str]:
    return [n for n in rec.names if "@" not in n]


def write_docker_archive(ctx: EngineContext, images: list[tuple[ImageRecord, list[str]]],
                         out: IO[bytes]) -> None:
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    entries: list[dict[str, Any]] = []
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rec, tags in images:
            _, doc = image_manifest(ctx, rec)
            config_name = f"{rec.id}.json"
            if config_name not in written:
                _add_bytes(tar, config_name, blobs.get("sha256:" + rec.id))
                written.add(config_name)
            layer_names = []
            for desc, diff_id in zip(doc.layers, rec.layers):
                hexd = diff_id.partition(":")[2]
                name = f"{hexd}/layer.tar"
                layer_names.append(name)
                if name in written:
                    continue
                written.add(name)
                layer = image_records.layer(ctx.catalog, diff_id)
                if layer is None:
                    raise StorageError(f"layer {diff_id[:19]} of image {rec.id[:12]} is missing",
                                       hint="run `pdman system check`, or pull the image again")
                _add_dir(tar, hexd)
                info = tarfile.TarInfo(name)
                info.size = layer.size
                info.mode = 0o644
                src = _uncompressed(blobs.path(desc.digest))
                h = _HashingReader(src)
                try:
                    tar.addfile(info, h)  # type: ignore[arg-type,unused-ignore]
                finally:
                    src.close()
                if "sha256:" + h.hash.hexdigest() != diff_id:
                    raise StorageError(f"the stored blob of layer {diff_id[:19]} does not "
                                       "unpack to its diff_id", hint="pull the image again")
            entries.append({"Config": config_name, "RepoTags": tags, "Layers": layer_names})
        repositories: dict[str, dict[str, str]] = {}
        for e, (rec, tags) in zip(entries, images):
            for t in tags:
                repo, _, tag = t.rpartition(":")
                repositories.setdefault(repo, {})[tag] = (rec.layers[-1].partition(":")[2]
                                                          if rec.layers else rec.id)
        _add_bytes(tar, "manifest.json", json.dumps(entries).encode())
        _add_bytes(tar, "repositories", json.dumps(repositories).encode())


class _HashingReader:
    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.hash.update(data)
        return data


def _uncompressed_manifest(ctx: EngineContext, rec: ImageRecord,
                           doc: manifest.Manifest) -> tuple[bytes, manifest.Manifest, dict[str, str]]:
    """`save --uncompressed`: the manifest with plain tar layers (named by their
    diff_ids), and compressed blob digest -> diff_id for the layers to decompress."""
    from pdman.storage import image_records

    plain = "application/vnd.oci.image.layer.v1.tar"
    records = {layer.diff_id: layer for layer in image_records.layers_of(ctx.catalog, rec.id)}
    layers, source = [], {}
    for desc, diff_id in zip(doc.layers, rec.layers):
        kind = manifest.layer_compression(desc, rec.id[:12])
        if not kind:
            layers.append(desc)
            continue
        if kind != "gzip":
            raise StorageError(f"layer {desc.digest[:19]} is {kind}-compressed: --uncompressed "
                               "handles gzip layers", hint="save without --uncompressed")
        source[diff_id] = desc.digest
        layers.append(manifest.Descriptor(plain, diff_id, records[diff_id].size))
    new = {"schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
           "config": {"mediaType": doc.config.media_type, "digest": doc.config.digest,
                      "size": doc.config.size},
           "layers": [{"mediaType": d.media_type, "digest": d.digest, "size": d.size}
                      for d in layers]}
    return (json.dumps(new).encode(),
            manifest.Manifest(manifest.OCI_MANIFEST, doc.config, tuple(layers)), source)


def write_oci_archive(ctx: EngineContext, images: list[tuple[ImageRecord, list[str]]],
                      out: IO[bytes], uncompressed: bool = False) -> None:
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    index: list[dict[str, Any]] = []
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_dir(tar, "blobs")
        _add_dir(tar, "blobs/sha256")
        for rec, tags in images:
            raw, doc = image_manifest(ctx, rec, "oci")
            compressed: dict[str, str] = {}
            if uncompressed:
                raw, doc, compressed = _uncompressed_manifest(ctx, rec, doc)
            mdigest = "sha256:" + hashlib.sha256(raw).hexdigest()
            for desc in (*doc.layers, doc.config):
                name = "blobs/sha256/" + desc.digest.partition(":")[2]
                if name in written:
                    continue
                written.add(name)
                info = tarfile.TarInfo(name)
                info.mode = 0o644
                if desc.digest in compressed:
                    # decompressed as it is written: its size is the layer's tar size
                    info.size = desc.size
                    with gzip.open(blobs.path(compressed[desc.digest]), "rb") as f:
                        tar.addfile(info, f)
                    continue
                with open(blobs.path(desc.digest), "rb") as f:
                    info.size = os.fstat(f.fileno()).st_size
                    tar.addfile(info, f)
            name = "blobs/sha256/" + mdigest.partition(":")[2]
            if name not in written:
                _add_bytes(tar, name, raw)
                written.add(name)
            for tag in tags or [""]:
                entry: dict[str, Any] = {"mediaType": manifest.OCI_MANIFEST, "digest": mdigest,
                                         "size": len(raw)}
                if tag:
                    entry["annotations"] = {REF_NAME: tag}
                index.append(entry)
        _add_bytes(tar, "index.json", json.dumps({"schemaVersion": 2,
                                                  "manifests": index}).encode())


def resolve_for_save(ctx: EngineContext, names: list[str]) -> list[tuple[ImageRecord, list[str]]]:
    from pdman.engine.images import resolve_image

    out: list[tuple[ImageRecord, list[str]]] = []
    for name in names:
        rec = resolve_image(ctx, name)
        tags = _tags(rec)
        if not reference.looks_like_id(name):
            ref = reference.parse(name).tagged_or_latest()
            suffix = f"/{ref.path}:{ref.tag}"
            chosen = [t for t in tags if t == str(ref) or t.endswith(suffix)]
            tags = chosen or tags
        out.append((rec, tags))
    return out


# -- reading ---------------------------------------------------------------------------

def _member_chunks(tar: tarfile.TarFile, name: str) -> Iterator[bytes]:
    f = _open_member(tar, name)
    with f:
        try:
            while chunk := f.read(CHUNK):
                yield chunk
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"reading {name} from the archive: {exc}",
                               hint="the archive is corrupt or truncated") from exc


def _open_member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        member = tar.getmember(name.removeprefix("./"))
    except KeyError:
        try:
            member = tar.getmember("./" + name.removeprefix("./"))
        except KeyError:
            raise ArchiveError(f"the archive lacks {name}",
                               hint="the archive is incomplete or not an image archive") from None
    # a symlink (docker writes layers that way) is resolved by tarfile
    try:
        f = tar.extractfile(member)
    except (KeyError, RecursionError):
        raise ArchiveError(f"{name} in the archive is a link to nothing (or a link loop)",
                           hint="the archive is malformed") from None
    if f is None:
        raise ArchiveError(f"{name} in the archive is not a file")
    return f


def _read_member(tar: tarfile.TarFile, name: str, cap: int = 64 << 20) -> bytes:
    with _open_member(tar, name) as f:
        try:
            data = f.read(cap + 1)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"reading {name} from the archive: {exc}",
                               hint="the archive is corrupt or truncated") from exc
    if len(data) > cap:
        raise ArchiveError(f"{name} in the archive is larger than {cap} bytes")
    return data


def _load_name(text: str) -> str:
    """A RepoTag or OCI ref name as a full image name (short names go to localhost/,
    a bare tag names nothing)."""
    ref = reference.parse(text)
    if ref.is_short:
        ref = reference.Reference("localhost", ref.path, ref.tag, ref.digest)
    return str(ref.tagged_or_latest())


def _layers_of(ingest: LayerIngest, tar: tarfile.TarFile, diff_ids: list[str],
               members: list[str], digests: list[str], what: str) -> list[IngestedLayer]:
    out: list[IngestedLayer] = []
    for i, (diff_id, member) in enumerate(zip(diff_ids, members)):
        have = ingest.present(diff_id)
        if have is None:
            have = ingest.add(_member_chunks(tar, member), diff_id,
                              digests[i] if digests else "", f"layer {i + 1} of {what}")
        out.append(have)
    return out


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ArchiveError(f"{what} must be a list of strings", hint="the archive is malformed")
    return value


def load_docker_archive(ctx: EngineContext, tar: tarfile.TarFile) -> list[ImageRecord]:
    entries = image_config.load_json(_read_member(tar, "manifest.json"),
                                     "manifest.json of the archive", ArchiveError)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ArchiveError("manifest.json of the archive is not a list of images",
                           hint="the archive is malformed")
    loaded: list[ImageRecord] = []
    with LayerIngest(ctx, "load") as ingest:
        for entry in entries:
            config_name = entry.get("Config")
            if not isinstance(config_name, str):
                raise ArchiveError("manifest.json of the archive: an image has no Config",
                                   hint="the archive is malformed")
            members = _strings(entry.get("Layers"), f"{config_name}: Layers in manifest.json")
            config_raw = _read_member(tar, config_name)
            config = image_config.parse(config_raw, f"{config_name} in the archive",
                                        ArchiveError)
            diff_ids = list(config["rootfs"]["diff_ids"])
            if len(diff_ids) != len(members):
                raise ArchiveError(f"{config_name}: {len(diff_ids)} diff_ids but "
                                   f"{len(members)} layers in manifest.json")
            tags = _strings(entry.get("RepoTags") or [],
                            f"{config_name}: RepoTags in manifest.json")
            names = [_load_name(t) for t in tags]
            layers = _layers_of(ingest, tar, diff_ids, members, [], config_name)
            loaded.append(register_image(ctx, config_raw, layers, names,
                                         manifest_type=manifest.DOCKER_MANIFEST))
    return loaded


def load_oci_archive(ctx: EngineContext, tar: tarfile.TarFile) -> list[ImageRecord]:
    def blob(digest: object) -> str:
        reference.check_digest(str(digest))
        return "blobs/" + str(digest).replace(":", "/", 1)

    index = image_config.load_json(_read_member(tar, "index.json"),
                                   "index.json of the archive", ArchiveError)
    descs = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(descs, list) or not all(isinstance(d, dict) for d in descs):
        raise ArchiveError("index.json of the archive has no list of manifests",
                           hint="the archive is malformed")
    loaded: list[ImageRecord] = []
    with LayerIngest(ctx, "load") as ingest:
        for desc in descs:
            where = f"oci-archive manifest {str(desc.get('digest'))[:80]}"
            raw = _read_member(tar, blob(desc.get("digest")), 4 << 20)
            if "sha256:" + hashlib.sha256(raw).hexdigest() != desc["digest"]:
                raise ArchiveError(f"{where} does not match its digest")
            doc = manifest.parse(raw, str(desc.get("mediaType") or ""), where)
            if isinstance(doc, manifest.Index):
                chosen = manifest.choose(doc, manifest.host_platform(), where)
                raw = _read_member(tar, blob(chosen.digest), 4 << 20)
                if "sha256:" + hashlib.sha256(raw).hexdigest() != chosen.digest:
                    raise ArchiveError(f"{where}: manifest {chosen.digest} does not match "
                                       "its digest")
                doc = manifest.parse(raw, chosen.media_type, where)
                if not isinstance(doc, manifest.Manifest):
                    raise ArchiveError(f"{where}: an index inside an index is not supported")
            config_raw = _read_member(tar, blob(doc.config.digest))
            if "sha256:" + hashlib.sha256(config_raw).hexdigest() != doc.config.digest:
                raise ArchiveError(f"the config {doc.config.digest} in the archive does not "
                                   "match its digest")
            config = image_config.parse(config_raw, f"{where}: config {doc.config.digest}",
                                        ArchiveError)
            diff_ids = list(config["rootfs"]["diff_ids"])
            if len(diff_ids) != len(doc.layers):
                raise ArchiveError(f"{where}: {len(diff_ids)} diff_ids in the config but "
                                   f"{len(doc.layers)} layers in the manifest",
                                   hint="the archive is malformed")
            layers = _layers_of(ingest, tar, diff_ids, [blob(d.digest) for d in doc.layers],
                                [d.digest for d in doc.layers], where)
            # the manifest names the blobs as they are in the archive: keep it (and its
            # digest) only when the store holds exactly those blobs
            same = [x.digest for x in layers] == [d.digest for d in doc.layers]
            annotations = desc.get("annotations")
            ref_name = str((annotations if isinstance(annotations, dict) else {})
                           .get(REF_NAME) or "")
            names = [_load_name(ref_name)] if ref_name and not ref_name.isdigit() and \
                _valid_name(ref_name) else []
            loaded.append(register_image(ctx, config_raw, layers, names,
                                         raw if same else b"", doc.media_type))
    return loaded


def _valid_name(text: str) -> bool:
    try:
        reference.parse(text)
    except PdmanError:
        return False
    return True


def load_archive(ctx: EngineContext, path: str) -> list[ImageRecord]:
    try:
        tar = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveError(f"{path}: not a tar archive ({exc})",
                           hint="give a docker-archive or oci-archive tarball") from exc
    with tar:
        try:
            names = set(n.removeprefix("./") for n in tar.getnames())
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{path}: the archive is corrupt or truncated ({exc})",
                               hint="give a complete docker-archive or oci-archive") from exc
        if "manifest.json" in names:
            return load_docker_archive(ctx, tar)
        if "index.json" in names and "oci-layout" in names:
            return load_oci_archive(ctx, tar)
    raise ArchiveError(f"{path} is neither a docker-archive nor an oci-archive",
                       hint="it has no manifest.json and no index.json")


__all__ = ["ArchiveError", "load_archive", "resolve_for_save", "write_docker_archive",
           "write_oci_archive"]
