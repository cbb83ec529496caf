"""Deterministic layer tars and OCI image layouts, written with the standard library.

Why by hand rather than with umoci: umoci writes manifests without `mediaType`
(DESIGN §9) and real mtimes, so its layers differ between builds. Here every byte
is chosen: entries sorted, mtimes clamped to EPOCH, owners numeric with empty
names, gzip header mtime 0 and no file name. The same inputs give the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

# 2024-01-01T00:00:00Z: a fixed clock for mtimes and `created`, so rebuilds match.
EPOCH = 1704067200
CREATED = "2024-01-01T00:00:00Z"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"

Descriptor = dict[str, Any]


def canonical_json(obj: object) -> bytes:
    """Sorted keys, no spaces: digests of configs and manifests stay stable."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Layer:
    """One layer blob as a manifest needs it: the gzip descriptor and its diff_id."""

    descriptor: Descriptor
    diff_id: str  # sha256 of the uncompressed tar, as config.rootfs.diff_ids wants


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class _HashingWriter:
    """A write-only file that hashes and counts what passes through to `sink`."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def tell(self) -> int:  # TarFile asks once, in __init__
        return self.size

    def flush(self) -> None:
        self.sink.flush()


class LayerWriter:
    """Writes one gzip layer into a layout, entry by entry, hashing both forms at once.

    Use through `Layout.add_layer` or `write_layer`. Entries must come in a
    deterministic order with parents before children; `add_tree` does that for a
    directory on disk.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._compressed = _HashingWriter(raw)
        # filename="" and mtime=0: the gzip header would otherwise record both
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._compressed,
                                   compresslevel=6, mtime=0)
        self._plain = _HashingWriter(self._gzip)
        self._tar = tarfile.TarFile(mode="w", fileobj=self._plain,  # type: ignore[arg-type]
                                    format=tarfile.PAX_FORMAT)
        self._inodes: dict[tuple[int, int], str] = {}

    def add(self, info: tarfile.TarInfo, data: bytes | IO[bytes] | None = None) -> None:
        """Add one entry; owners are numeric only (uname/gname would leak the host)."""
        info.uname = info.gname = ""
        if isinstance(data, bytes):
            info.size = len(data)
            data = io.BytesIO(data)
        self._tar.addfile(info, data)

    def add_tree(self, root: Path, paths: list[str], clamp: int = EPOCH) -> None:
        """Add `paths` (relative, sorted, parents first) from the tree at `root`.

        Owners and modes come from the tree; mtimes are clamped to `clamp` so
        files written today do not change the digest tomorrow. Device nodes and
        sockets are skipped: an image carries no /dev, and the engine makes its own.
        """
        for rel in paths:
            info = self._info_from_disk(root, rel, clamp)
            if info is None:
                continue
            if info.type == tarfile.REGTYPE:
                with open(root / rel, "rb") as f:
                    self.add(info, f)
            else:
                self.add(info)

    def _info_from_disk(self, root: Path, rel: str, clamp: int) -> tarfile.TarInfo | None:
        st = os.lstat(root / rel)
        info = tarfile.TarInfo(rel)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = min(int(st.st_mtime), clamp)
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(root / rel)
        elif stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key) if st.st_nlink > 1 else None
            if first is not None:
                # a second name of a file already in this layer: a hard link entry
                info.type = tarfile.LNKTYPE
                info.linkname = first
            else:
                if st.st_nlink > 1:
                    self._inodes[key] = rel
                info.type = tarfile.REGTYPE
                info.size = st.st_size
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        else:
            return None
        return info

    def close(self) -> tuple[str, str, int]:
        """Finish the tar and gzip; return (digest, diff_id, compressed size)."""
        self._tar.close()
        self._gzip.close()
        return ("sha256:" + self._compressed.hash.hexdigest(),
                "sha256:" + self._plain.hash.hexdigest(), self._compressed.size)


def whiteout(path: str) -> tarfile.TarInfo:
    """The OCI whiteout for `path` (relative): an empty file `.wh.<name>` beside it."""
    parent, _, name = path.rpartition("/")
    info = tarfile.TarInfo(f"{parent}/.wh.{name}" if parent else f".wh.{name}")
    info.mode, info.mtime = 0o644, EPOCH
    return info


def opaque(directory: str) -> tarfile.TarInfo:
    """The OCI opaque marker: `directory` hides everything below it in lower layers."""
    info = tarfile.TarInfo(f"{directory}/.wh..wh..opq")
    info.mode, info.mtime = 0o644, EPOCH
    return info


def sorted_tree(root: Path, skip_contents_of: frozenset[str] = frozenset()) -> list[str]:
    """Every path under `root`, relative, depth-first with names sorted (parents first).

    Directories named in `skip_contents_of` are listed but not entered (/proc, /dev).
    """
    out: list[str] = []

    def walk(rel: str) -> None:
        with os.scandir(root / rel if rel else root) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            child = f"{rel}/{e.name}" if rel else e.name
            out.append(child)
            if e.is_dir(follow_symlinks=False) and child not in skip_contents_of:
                walk(child)

    walk("")
    return out


class Layout:
    """An OCI image layout directory being written: `oci-layout`, `blobs/`, `index.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        (root / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))

    def blob_path(self, digest: str) -> Path:
        return blob_path(self.root, digest)

    def add_json(self, obj: object, media_type: str) -> Descriptor:
        data = canonical_json(obj)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blob_path(digest).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def add_layer(self, fill: Callable[[LayerWriter], object]) -> Layer:
        """A new gzip layer whose entries `fill` adds; filed under its digest."""
        tmp = self.root / f".layer-{os.getpid()}.tmp"
        layer = write_layer(tmp, fill)
        os.replace(tmp, self.blob_path(layer.descriptor["digest"]))
        return layer

    def import_layer(self, blob: Path, layer: Layer) -> Layer:
        """Reuse a layer blob made elsewhere byte for byte (hard link when possible):
        sharing must be real, the derived image names the very same digest."""
        dst = self.blob_path(layer.descriptor["digest"])
        if not dst.exists():
            try:
                os.link(blob, dst)
            except OSError:
                shutil.copyfile(blob, dst)
                os.chmod(dst, 0o644)
        return layer

    def copy_layer(self, other: Path, layer: Layer) -> Layer:
        """Reuse a layer of another finished layout (see import_layer)."""
        return self.import_layer(blob_path(other, layer.descriptor["digest"]), layer)

    def add_image(self, config: dict[str, Any], layers: list[Layer],
                  annotations: dict[str, str] | None = None) -> Descriptor:
        """Write config and manifest blobs; return the manifest descriptor."""
        config = dict(config)
        config["rootfs"] = {"type": "layers", "diff_ids": [lay.diff_id for lay in layers]}
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": MT_MANIFEST,
            "config": self.add_json(config, MT_CONFIG),
            "layers": [lay.descriptor for lay in layers],
        }
        if annotations:
            manifest["annotations"] = annotations
        return self.add_json(manifest, MT_MANIFEST)

    def add_index(self, manifests: list[Descriptor]) -> Descriptor:
        return self.add_json({"schemaVersion": 2, "mediaType": MT_INDEX,
                              "manifests": manifests}, MT_INDEX)

    def write_index(self, top: Descriptor, ref: str) -> None:
        """index.json names one entry point (a manifest or an index) under `ref`."""
        entry = dict(top, annotations={REF_NAME: ref})
        (self.root / "index.json").write_bytes(canonical_json(
            {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [entry]}))


def write_layer(path: Path, fill: Callable[[LayerWriter], object]) -> Layer:
    """Write a gzip layer to `path` (mode 0644: the suite's user reads the cache)."""
    try:
        with open(path, "wb") as raw:
            writer = LayerWriter(raw)
            fill(writer)
            digest, diff_id, size = writer.close()
        os.chmod(path, 0o644)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Layer({"mediaType": MT_LAYER_GZIP, "digest": digest, "size": size}, diff_id)


# -- reading back a finished layout (for derived images, the registry push, tests) --

def blob_path(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def read_blob_json(layout: Path, digest: str) -> Any:
    return json.loads(blob_path(layout, digest).read_bytes())


def image_layers(layout: Path, manifest_digest: str) -> list[Layer]:
    """The layers of one image manifest in `layout`, with diff_ids from its config."""
    manifest = read_blob_json(layout, manifest_digest)
    config = read_blob_json(layout, manifest["config"]["digest"])
    return [Layer(desc, diff) for desc, diff in
            zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True)]


def manifests_by_platform(layout: Path) -> Iterator[tuple[str, Descriptor]]:
    """("os/arch", descriptor) for each image behind index.json's entry point."""
    top = json.loads((layout / "index.json").read_bytes())["manifests"][0]
    if top["mediaType"] == MT_INDEX:
        for desc in read_blob_json(layout, top["digest"])["manifests"]:
            plat = desc["platform"]
            yield f"{plat['os']}/{plat['architecture']}", desc
    else:
        config = read_blob_json(layout, read_blob_json(layout, top["digest"])["config"]["digest"])
        yield f"{config['os']}/{config['architecture']}", top
