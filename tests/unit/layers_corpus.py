"""A corpus of layer tarballs, generated: well-formed ones with every kind of entry,
and hostile or broken ones, each with what unpacking must do with it.

Generated rather than checked in: every byte is chosen here (fixed mtimes, PAX
format), so the corpus is reproducible and readable as code.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable

MTIME = 1704067200

Entry = tuple[tarfile.TarInfo, bytes | None]


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = None,
          mode: int | None = None, uid: int = 0, gid: int = 0, link: str = "",
          mtime: float = MTIME, pax: dict[str, str] | None = None,
          devmajor: int = 0, devminor: int = 0) -> Entry:
    info = tarfile.TarInfo(name)
    if mode is None:
        mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
    info.linkname, info.mtime = link, mtime
    info.devmajor, info.devminor = devmajor, devminor
    if pax:
        info.pax_headers = dict(pax)
    if kind == tarfile.REGTYPE:
        data = data or b""
    return info, data


def tar(entries: list[Entry]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


D, L, S, H = tarfile.DIRTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def rich_layer() -> bytes:
    """Every supported kind of entry."""
    return tar([
        entry("etc", D, mode=0o755, mtime=1000),
        entry("etc/passwd", data=b"root:x:0:0\n", mtime=2000),
        entry("etc/owned", data=b"owned\n", uid=1000, gid=1001),
        entry("etc/setuid", data=b"#!/bin/sh\n", mode=0o4755),
        entry("etc/sticky", D, mode=0o1777),
        entry("etc/hard", H, link="etc/passwd"),
        entry("etc/sym", S, link="/etc/passwd", mode=0o777),
        entry("etc/dangling", S, link="../nowhere", mode=0o777),
        entry("etc/xattr", data=b"x", pax={"SCHILY.xattr.user.pdman": "1",
                                           "SCHILY.xattr.user.overlay.opaque": "y"}),
        entry("etc/fifo", tarfile.FIFOTYPE, mode=0o600),
        entry("etc/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        entry("etc/sda", tarfile.BLKTYPE, mode=0o660, devmajor=8, devminor=0),
        entry("ro", D, mode=0o555, mtime=3000),
        entry("ro/inside", data=b"inside\n"),
        entry("deep/missing/parents/file", data=b"deep\n"),
        entry("usr/lib", D, mode=0o755),
        entry("lib", S, link="usr/lib", mode=0o777),
        entry("lib/through", data=b"through a symlink in the layer\n"),
        entry("old", data=b"old\n", mtime=1234567890.5),
        entry("./dot/slash", data=b"dot\n"),
        entry("/abs/path", data=b"abs\n"),
    ])


def whiteout_layer() -> bytes:
    return tar([
        entry("data", D),
        entry("data/.wh.gone"),
        entry("data/dir", D),
        entry("data/dir/.wh..wh..opq"),
        entry("data/dir/new", data=b"new\n"),
        entry(".wh..wh.plnk", D),  # aufs metadata: skipped
    ])


def duplicate_layer() -> bytes:
    return tar([
        entry("a", data=b"first\n"),
        entry("a", data=b"second\n"),
        entry("d", D),
        entry("d/child", data=b"c\n"),
        entry("d", data=b"a file now\n"),
        entry("f", data=b"file\n"),
        entry("f", D, mode=0o700),
        entry("s", S, link="a"),
        entry("s", data=b"not a link\n"),
    ])


#: name -> (layer bytes builder, substring of the LayerError message)
HOSTILE: dict[str, tuple[Callable[[str], bytes], str]] = {
    "dotdot": (lambda out: tar([entry("../evil", data=b"x")]), "outside the layer"),
    "dotdot-nested": (lambda out: tar([entry("a/../../evil", data=b"x")]),
                      "outside the layer"),
    "dotdot-absolute": (lambda out: tar([entry("/../evil", data=b"x")]), "outside the layer"),
    "hardlink-dotdot": (lambda out: tar([entry("h", H, link="../outside/file")]),
                        "outside the layer"),
    "hardlink-absolute": (lambda out: tar([entry("h", H, link=out + "/file")]),
                          "not in the layer"),
    "hardlink-missing": (lambda out: tar([entry("h", H, link="nothere")]), "not in the layer"),
    "hardlink-via-symlink": (lambda out: tar([entry("s", S, link=out),
                                              entry("h", H, link="s/file")]),
                             "not in the layer"),
    "hardlink-to-dir": (lambda out: tar([entry("d", D), entry("h", H, link="d")]),
                        "names a directory"),
    "hardlink-to-root": (lambda out: tar([entry("h", H, link="./")]), "layer root"),
    "whiteout-dot": (lambda out: tar([entry(".wh..")]), "names no file"),
    "file-as-parent": (lambda out: tar([entry("f", data=b"x"), entry("f/x", data=b"y")]),
                       "is a file"),
    "symlink-loop": (lambda out: tar([entry("a", S, link="b"), entry("b", S, link="a"),
                                      entry("a/x", data=b"x")]), "too many levels"),
    "not-a-tar": (lambda out: gz(b"this is not a tar archive at all" * 40), "not a tar"),
    "truncated-gzip": (lambda out: gz(tar([entry("big", data=bytes(range(256)) * 4000)]))
                       [:3000], "truncated"),
    "corrupt-gzip": (lambda out: _flip(gz(tar([entry("big", data=bytes(range(256)) * 4000)]))),
                     "corrupt"),
    "truncated-tar": (lambda out: tar([entry("big", data=b"z" * 100_000)])[:50_000],
                      "truncated"),
    "truncated-header": (lambda out: tar([entry("a", data=b"1"), entry("b", data=b"2")])[:1300],
                         "truncated"),
    "truncated-zstd": (lambda out: zst(tar([entry("big", data=_noise(200_000))]))[:50_000],
                       "truncated"),
    "garbage-after-gzip": (lambda out: gz(tar([entry("a", data=b"1")])) + b"garbage",
                           "not another gzip member"),
}


def _noise(n: int) -> bytes:
    import random

    return random.Random(n).randbytes(n)


def _flip(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]


# symlinks that point outside are fine as symlinks (they resolve inside the container);
# what matters is that nothing is ever written through them
ESCAPING_SYMLINKS: dict[str, Callable[[str], bytes]] = {
    "symlink-absolute-parent": lambda out: tar([entry("s", S, link=out),
                                                entry("s/evil", data=b"x")]),
    "symlink-relative-parent": lambda out: tar([entry("s", S, link="../../../../../../../.." + out),
                                                entry("s/evil", data=b"x")]),
    "symlink-then-file-over-it": lambda out: tar([entry("s", S, link=out + "/evil"),
                                                  entry("s", data=b"replaces the link")]),
    "symlink-chain": lambda out: tar([entry("a", S, link="b"), entry("b", S, link=out),
                                      entry("a/evil", data=b"x")]),
    "whiteout-through-symlink": lambda out: tar([entry("s", S, link=out),
                                                 entry("s/.wh.victim")]),
    "hardlink-over-symlink": lambda out: tar([entry("f", data=b"x"),
                                              entry("s", S, link=out + "/evil"),
                                              entry("s", H, link="f")]),
}


def bomb(size: int, kind: str = "gzip") -> bytes:
    """One file of `size` zero bytes: compresses about 1000x (gzip) or far more (zstd)."""
    raw = tar([entry("zeros", data=bytes(size))])
    return gz(raw) if kind == "gzip" else zst(raw)
