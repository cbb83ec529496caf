"""The uncompressed view of a layer blob, read once, front to back.

`LayerStream(source)` detects the compression from the first bytes (gzip, zstd or
plain tar, whatever the media type claimed), decompresses as it is read, hashes the
uncompressed bytes (the layer's diff_id) and counts them. It offers just enough of
a file's interface for `tarfile` (read, tell and forward-only seek), so the layer
is unpacked while it downloads, without a temporary file.

Bomb limits (documented in `Limits`): a layer may not expand past `max_size`
uncompressed bytes, nor, once past `ratio_floor` bytes, expand more than
`max_ratio` times its compressed size. Output is produced in bounded pieces, so a
hostile stream never makes a huge allocation before the limits see it.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

from pdman.errors import LayerError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
RAW_CHUNK = 256 << 10       # compressed bytes read at a time
OUT_CHUNK = 1 << 20         # decompressed bytes produced at a time (gzip)
ZSTD_FEED = 2 << 10         # zstd input per call: bounds its output to ~64 MiB


@dataclass(frozen=True)
class Limits:
    """How far a layer may expand.

    max_size     uncompressed bytes of one layer (default 64 GiB; PDMAN_MAX_LAYER_SIZE)
    max_ratio    uncompressed/compressed ratio allowed once past `ratio_floor`
                 (default 1000: gzip cannot exceed ~1030 on any input, real layers
                 stay under 20; a gzip or zstd bomb goes far past it)
    ratio_floor  below this many uncompressed bytes the ratio is not checked (1 GiB)
    """

    max_size: int = 64 << 30
    max_ratio: int = 1000
    ratio_floor: int = 1 << 30

    @classmethod
    def from_env(cls) -> "Limits":
        value = os.environ.get("PDMAN_MAX_LAYER_SIZE", "")
        return cls(max_size=int(value)) if value.isdigit() else cls()


class RawSource(Protocol):
    def read(self, n: int, /) -> bytes: ...


class _Counting:
    """The compressed source, counted (for the ratio limit)."""

    def __init__(self, source: RawSource, first: bytes) -> None:
        self.source = source
        self.pending = first
        self.count = 0

    def read(self, n: int = RAW_CHUNK) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
        else:
            data = self.source.read(n)
        self.count += len(data)
        return data


class _Plain:
    def __init__(self, raw: _Counting) -> None:
        self.raw = raw

    def chunk(self) -> bytes:
        return self.raw.read(RAW_CHUNK)


def _inflate_module() -> tuple[Any, tuple[type[BaseException], ...]]:
    """ISA-L's inflate (the `isal` package) when installed: the same API as zlib's,
    about 3x faster; else the standard zlib."""
    try:
        from isal import isal_zlib  # type: ignore[import-not-found]
    except ImportError:
        return zlib, (zlib.error,)
    return isal_zlib, (zlib.error, isal_zlib.error)


class _Gzip:
    """Multi-member gzip with bounded output (max_length)."""

    def __init__(self, raw: _Counting) -> None:
        self.raw = raw
        self.zlib, self.errors = _inflate_module()
        self.d = self.zlib.decompressobj(16 + zlib.MAX_WBITS)

    def chunk(self) -> bytes:
        while True:
            d = self.d
            out: bytes
            try:
                if d.unconsumed_tail:
                    out = d.decompress(d.unconsumed_tail, OUT_CHUNK)
                elif d.eof:
                    rest = d.unused_data or self.raw.read(RAW_CHUNK)
                    if not rest:
                        return b""
                    if not rest.startswith(GZIP_MAGIC[: len(rest)]):
                        raise LayerError("corrupt layer: data after the end of the gzip stream "
                                         "is not another gzip member",
                                         hint="the layer blob is damaged; re-push the image")
                    self.d = self.zlib.decompressobj(16 + zlib.MAX_WBITS)
                    out = self.d.decompress(rest, OUT_CHUNK)
                else:
                    data = self.raw.read(RAW_CHUNK)
                    if not data:
                        raise LayerError("truncated layer: the gzip stream ends before its "
                                         "end marker", hint="the download or the blob is "
                                         "incomplete; pull again")
                    out = d.decompress(data, OUT_CHUNK)
            except self.errors as exc:
                raise LayerError(f"corrupt layer: gzip data error ({exc})",
                                 hint="the layer blob is damaged; re-push the image") from exc
            if out:
                return out


class _Zstd:
    """zstd frames one after another; input fed in small slices so that output stays
    bounded (zstd can expand ~32000x)."""

    def __init__(self, raw: _Counting) -> None:
        import zstandard

        self.zstandard = zstandard
        self.raw = raw
        self.dctx = zstandard.ZstdDecompressor()
        self.d = self.dctx.decompressobj()
        self.fresh = True
        self.pending = memoryview(b"")

    def chunk(self) -> bytes:
        while True:
            if not self.pending:
                data = self.raw.read(RAW_CHUNK)
                if not data:
                    if not self.fresh and not self.d.eof:
                        raise LayerError("truncated layer: the zstd stream ends inside a frame",
                                         hint="the download or the blob is incomplete; pull "
                                              "again")
                    return b""
                self.pending = memoryview(data)
            if self.d.eof:
                self.d = self.dctx.decompressobj()
                self.fresh = True
            feed, self.pending = self.pending[:ZSTD_FEED], self.pending[ZSTD_FEED:]
            self.fresh = False
            try:
                out = self.d.decompress(feed)
            except self.zstandard.ZstdError as exc:
                raise LayerError(f"corrupt layer: zstd data error ({exc})",
                                 hint="the layer blob is damaged; re-push the image") from exc
            if self.d.eof and self.d.unused_data:
                # the next frame began inside this slice: give its bytes back
                rest = bytes(self.d.unused_data) + bytes(self.pending)
                self.pending = memoryview(rest)
            if out:
                return out


class LayerStream:
    """Forward-only, decompressing, hashing reader over a layer blob.

    With `threaded`, reading, decompressing and hashing run in a thread of their own
    (zlib, ISA-L, zstd and hashlib release the GIL), a few chunks ahead of the tar
    parsing and file writing that consume them.
    """

    def __init__(self, source: RawSource, limits: Limits | None = None,
                 threaded: bool = False) -> None:
        self.limits = limits or Limits()
        first = source.read(RAW_CHUNK)
        self.raw = _Counting(source, first)
        if first.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._decoder: _Plain | _Gzip | _Zstd = _Gzip(self.raw)
        elif first.startswith(ZSTD_MAGIC):
            self.compression = "zstd"
            self._decoder = _Zstd(self.raw)
        else:
            self.compression = ""
            self._decoder = _Plain(self.raw)
        self._hash = hashlib.sha256()
        self._buf = bytearray()
        self._off = 0            # read position inside _buf
        self._pos = 0            # read position in the uncompressed stream
        self.size = 0            # uncompressed bytes produced so far
        self.eof = False
        self._queue: queue.Queue[bytes | BaseException | None] | None = None
        self._stop = False
        if threaded:
            self._queue = queue.Queue(maxsize=8)
            self._thread = threading.Thread(target=self._produce, name="pdman-inflate",
                                            daemon=True)
            self._thread.start()

    # -- producing -------------------------------------------------------------------

    def _next_chunk(self) -> bytes:
        """The next verified piece of uncompressed data; b"" at the end."""
        out = self._decoder.chunk()
        if not out:
            return b""
        self.size += len(out)
        lim = self.limits
        if self.size > lim.max_size:
            raise LayerError(f"layer expands past {lim.max_size} bytes uncompressed; rejected "
                             "as a decompression bomb",
                             hint="raise PDMAN_MAX_LAYER_SIZE if the image is legitimate")
        if self.size > lim.ratio_floor and self.size > lim.max_ratio * max(self.raw.count, 1):
            raise LayerError(f"layer expands more than {lim.max_ratio}x its compressed size "
                             f"({self.raw.count} -> {self.size}+ bytes); rejected as a "
                             "decompression bomb",
                             hint="a legitimate layer compresses far less; check the image")
        self._hash.update(out)
        return out

    def _produce(self) -> None:
        assert self._queue is not None
        item: bytes | BaseException | None
        while not self._stop:
            try:
                out = self._next_chunk()
                item = out or None
            except BaseException as exc:  # noqa: BLE001 - handed to the reader
                item = exc
            self._queue.put(item)
            if not isinstance(item, bytes):
                return

    def close(self) -> None:
        """Let the producer thread stop (the reader gave up early): it finishes the
        chunk it is on, finds room in the queue, and returns."""
        if self._queue is None:
            return
        self._stop = True
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass

    def _fill(self) -> bool:
        if self.eof:
            return False
        if self._queue is not None:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self.eof = True
                raise item
            out = item or b""
        else:
            out = self._next_chunk()
        if not out:
            self.eof = True
            return False
        if self._off and self._off >= len(self._buf) // 2:
            del self._buf[: self._off]
            self._off = 0
        self._buf += out
        return True

    # -- the file interface tarfile needs --------------------------------------------

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            while self._fill():
                pass
            n = len(self._buf) - self._off
        while len(self._buf) - self._off < n and self._fill():
            pass
        end = min(self._off + n, len(self._buf))
        data = bytes(self._buf[self._off:end])
        self._pos += end - self._off
        self._off = end
        return data

    def read_some(self, n: int) -> bytes:
        """Up to `n` bytes, at most what one decompressed chunk holds (for copying)."""
        if self._off >= len(self._buf) and not self._fill():
            return b""
        end = min(self._off + n, len(self._buf))
        data = bytes(self._buf[self._off:end])
        self._pos += end - self._off
        self._off = end
        return data

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            raise OSError("a layer stream cannot seek from its end")
        if pos < self._pos:
            raise OSError(f"a layer stream only seeks forward ({self._pos} -> {pos})")
        skip = pos - self._pos
        while skip:
            got = self.read_some(min(skip, OUT_CHUNK))
            if not got:
                break
            skip -= len(got)
        return self._pos

    # -- finishing -------------------------------------------------------------------

    def drain(self) -> None:
        """Read to the end: the diff_id covers every byte, padding included."""
        while self._fill():
            self._off = len(self._buf)
        self._pos = self.size
        self._buf.clear()
        self._off = 0

    @property
    def diff_id(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    @property
    def compressed_size(self) -> int:
        return self.raw.count


__all__ = ["Limits", "LayerStream"]
