"""The layer store: one directory per layer, keyed by its diff_id, shared by every
image that uses it.

    <root>/layers/<hex>/diff     the unpacked files (overlay lower dir)
    <root>/layers/<hex>/link     the layer's short name
    <root>/l/<SHORT>          -> ../layers/<hex>/diff
    <root>/tmp/                  unpacks in progress; garbage after a crash

Short names (26 characters, as containers/storage makes them) keep the overlay
`lowerdir=` option of a 128-layer image within one page: the mount runs with
`<root>/l` as its working directory and names `l/SHORT:l/SHORT:...`.

Crash safety (DESIGN §3): a layer is unpacked under tmp/, synced, and renamed into
layers/ under the store lock; its catalog row comes last. A directory in layers/
without a complete row is garbage from a crash and is replaced on the next pull.
Everything in tmp/ belongs to a running pdman as long as that process holds a
shared lock on tmp.lock; whoever gets it exclusively may clear tmp/.
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pdman.config import Paths
from pdman.storage import image_records
from pdman.storage.blobs import fsync_dir
from pdman.storage.catalog import Catalog
from pdman.storage.image_records import LayerRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.unpack import UnpackResult

#: removes trees that may hold files of subordinate IDs (Extractor.rmtree or remove_trees)
Remover = Callable[[list[str]], None]

LINK_LENGTH = 26


def new_link_name() -> str:
    return base64.b32encode(os.urandom(20)).decode()[:LINK_LENGTH]


def hex_of(diff_id: str) -> str:
    algorithm, _, hexpart = diff_id.partition(":")
    if algorithm != "sha256" or len(hexpart) != 64:
        raise ValueError(f"not a sha256 diff_id: {diff_id!r}")
    return hexpart


class LayerStore:
    def __init__(self, paths: Paths, catalog: Catalog) -> None:
        self.paths = paths
        self.catalog = catalog

    # -- paths -------------------------------------------------------------------------

    def layer_dir(self, diff_id: str) -> str:
        return os.path.join(self.paths.layers, hex_of(diff_id))

    def diff_dir(self, diff_id: str) -> str:
        return os.path.join(self.layer_dir(diff_id), "diff")

    def link_path(self, link: str) -> str:
        return os.path.join(self.paths.links, link)

    def ensure(self) -> None:
        for d in (self.paths.layers, self.paths.links, self.paths.tmp):
            os.makedirs(d, mode=0o700, exist_ok=True)

    # -- locks -------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The store lock: held for the short renames that publish or retire a layer."""
        self.ensure()
        fd = os.open(os.path.join(self.paths.root, "layers.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def tmp_area(self, prefix: str) -> Iterator[tuple[str, list[str]]]:
        """A private directory under tmp/, and the garbage found there (tmp entries of
        crashed processes, to be removed by the caller's remover)."""
        self.ensure()
        fd = os.open(os.path.join(self.paths.root, "tmp.lock"),
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        garbage: list[str] = []
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # others are working in tmp/: leave it alone
            else:
                for name in os.listdir(self.paths.tmp):
                    old = os.path.join(self.paths.tmp, name)
                    # renamed first: no one else will pick it up as garbage twice
                    moved = os.path.join(self.paths.tmp, "garbage-" + secrets.token_hex(6))
                    if name.startswith("garbage-"):
                        moved = old
                    else:
                        os.rename(old, moved)
                    garbage.append(moved)
            fcntl.flock(fd, fcntl.LOCK_SH)
            area = os.path.join(self.paths.tmp, f"{prefix}-{secrets.token_hex(6)}")
            os.mkdir(area, 0o700)
            try:
                yield area, garbage
            finally:
                if os.path.isdir(area) and not os.listdir(area):
                    os.rmdir(area)
        finally:
            os.close(fd)

    # -- publishing --------------------------------------------------------------------

    def complete(self, diff_id: str) -> LayerRecord | None:
        """The layer's record if it is complete and its directory is there."""
        rec = image_records.layer(self.catalog, diff_id)
        if rec is None or not os.path.isdir(self.diff_dir(diff_id)):
            return None
        return rec

    def commit(self, staged: str, result: UnpackResult, digest: str, media_type: str,
               remove: Remover) -> LayerRecord:
        """Publish the unpacked layer in `staged` (a dir holding `diff/`).

        If another pdman published the same layer meanwhile, ours is dropped and the
        existing one returned.
        """
        diff_id = result.diff_id
        final = self.layer_dir(diff_id)
        retired: list[str] = []
        with self.lock():
            existing = self.complete(diff_id)
            if existing is not None:
                retired.append(staged)
            else:
                if os.path.lexists(final):
                    # an earlier crash between rename and catalog row, or a layer being
                    # removed: out of the way (removed below, outside the lock)
                    self._unlink_link_of(final)
                    moved = os.path.join(os.path.dirname(staged),
                                         "old-" + secrets.token_hex(6))
                    os.rename(final, moved)
                    retired.append(moved)
                link = new_link_name()
                with open(os.path.join(staged, "link"), "w") as f:
                    f.write(link)
                os.rename(staged, final)
                fsync_dir(self.paths.layers)
                os.symlink(f"../layers/{hex_of(diff_id)}/diff", self.link_path(link))
                fsync_dir(self.paths.links)
                existing = LayerRecord(diff_id, digest, media_type, result.size,
                                       result.compressed_size, link)
                image_records.add_layer(self.catalog, existing)
        remove(retired)
        return existing

    def _unlink_link_of(self, layer_dir: str) -> None:
        try:
            with open(os.path.join(layer_dir, "link")) as f:
                link = f.read().strip()
        except OSError:
            return
        if link and "/" not in link:
            try:
                os.unlink(self.link_path(link))
            except FileNotFoundError:
                pass

    # -- retiring ----------------------------------------------------------------------

    def retire(self, layers: list[LayerRecord], remove: Remover) -> list[str]:
        """Remove layers no image uses any more (rows marked `removing` by
        image_records.delete_image); returns the diff_ids removed."""
        if not layers:
            return []
        moved: list[str] = []
        gone: list[str] = []
        with self.lock():
            users = image_records.layer_users(self.catalog)
            states = {r["diff_id"]: r["state"] for r in self.catalog.query(
                "SELECT diff_id, state FROM layers")}
            with self.tmp_area("rm") as (area, _):
                for rec in layers:
                    if users.get(rec.diff_id) or states.get(rec.diff_id) != "removing":
                        continue  # pulled again meanwhile
                    final = self.layer_dir(rec.diff_id)
                    self._unlink_link_of(final)
                    if os.path.lexists(final):
                        dest = os.path.join(self.paths.tmp, "garbage-" + secrets.token_hex(6))
                        os.rename(final, dest)
                        moved.append(dest)
                    gone.append(rec.diff_id)
                image_records.forget_layers(self.catalog, gone)
        remove(moved)
        return gone

    def lowerdirs(self, image_id: str) -> list[str]:
        """Short link names of an image's layers, TOP layer first (overlay's
        `lowerdir=` order: the leftmost lower dir is the uppermost)."""
        return [r.link for r in reversed(image_records.layers_of(self.catalog, image_id))]


__all__ = ["LINK_LENGTH", "LayerStore", "Remover", "hex_of", "new_link_name"]
