"""Content-addressed blobs: `<root>/blobs/sha256/<hex>` (manifests, configs, and the
compressed layers as pulled, so a push reproduces the same digests).

A blob is written to a temporary file beside its final place, synced, and renamed
into place only once its digest is verified: a name in the store always holds
exactly the bytes its digest says. Readers never see a partial blob.
"""

from __future__ import annotations

import hashlib
import os

from pdman.errors import DigestMismatchError, StorageError


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: str) -> None:
    """Flush the whole filesystem holding `path` (one call for a layer's thousands of
    files, where fsync per file would cost a syscall and a journal commit each)."""
    import ctypes

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise StorageError(f"syncfs {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


class BlobWriter:
    """A blob being written; `commit()` verifies and publishes, `discard()` drops it."""

    def __init__(self, store: "BlobStore", digest: str, verify: bool = True) -> None:
        self.store = store
        self.digest = digest
        algorithm = digest.partition(":")[0]
        # verify=False: the caller hashed the same bytes already (registry downloads)
        self._hash = hashlib.new(algorithm) if verify else None
        self.size = 0
        os.makedirs(store.tmp_dir, mode=0o700, exist_ok=True)
        self.tmp = os.path.join(store.tmp_dir, f"{digest.partition(':')[2][:16]}."
                                f"{os.urandom(4).hex()}")
        self._fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)

    def write(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def commit(self) -> str:
        """Verify, sync and publish; returns the blob's path."""
        try:
            got = self.digest if self._hash is None else \
                f"{self.digest.partition(':')[0]}:{self._hash.hexdigest()}"
            if got != self.digest:
                raise DigestMismatchError(f"blob {self.digest} does not match its digest "
                                          f"(got {got}); discarded")
            os.fsync(self._fd)
        except BaseException:
            self.discard()
            raise
        os.close(self._fd)
        self._fd = -1
        final = self.store.path(self.digest)
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        os.replace(self.tmp, final)
        fsync_dir(os.path.dirname(final))
        return final

    def discard(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass


class BlobStore:
    def __init__(self, root: str, tmp_dir: str) -> None:
        self.root = root                      # <store>/blobs
        self.tmp_dir = tmp_dir                # <store>/tmp: garbage after a crash

    def path(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if not hexpart or "/" in hexpart or "/" in algorithm or hexpart.startswith("."):
            raise StorageError(f"invalid blob digest {digest!r}")
        return os.path.join(self.root, algorithm, hexpart)

    def has(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def open_writer(self, digest: str, verify: bool = True) -> BlobWriter:
        return BlobWriter(self, digest, verify)

    def put(self, digest: str, data: bytes) -> str:
        w = self.open_writer(digest)
        w.write(data)
        return w.commit()

    def get(self, digest: str) -> bytes:
        try:
            with open(self.path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise StorageError(f"blob {digest} is not in the store",
                               hint="pull the image again") from None

    def remove(self, digest: str) -> None:
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            pass


__all__ = ["BlobStore", "BlobWriter", "fsync_dir", "syncfs"]
