"""The synthetic images: busybox (multi-platform), layers (storage edge cases), many.

These need no network: their layers are written entry by entry from the host's
static busybox and from the tables below, so their digests only change when this
file or the busybox-static package does.
"""

from __future__ import annotations

import subprocess
import tarfile
from functools import partial
from pathlib import Path
from typing import Any

from tests.bed.oci import CREATED, EPOCH, Layer, LayerWriter, Layout, opaque, whiteout

BUSYBOX = Path("/bin/busybox")  # from busybox-static: no shared libraries to carry
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Tests read /etc/pdman-platform in a container to see which manifest was picked.
PLATFORM_MARKER = {"linux/amd64": b"linux/amd64\n", "linux/arm64": b"linux/arm64\n"}
PLATFORMS = {"linux/amd64": {"architecture": "amd64", "os": "linux"},
             "linux/arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"}}

# The final view of the `layers` image (busybox's layer, then A, then B), for
# storage tests to compare with what they unpack. Keyed by absolute path; None
# means the path must NOT exist (whited out by layer B). "mode" is the permission
# bits including setuid; "link" is a symlink target; "hardlink" names the other
# path that must be the same inode; "xattrs" must be present (user.* survives
# rootless unpacking); "mtime" is only given where a test should check it.
LAYERS_EXPECTED: dict[str, dict[str, Any] | None] = {
    "/data": {"type": "dir", "mode": 0o755, "uid": 0, "gid": 0},
    "/data/keep": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"keep\n"},
    "/data/gone": None,                      # removed by layer B's .wh.gone
    "/data/dir": {"type": "dir", "mode": 0o755, "uid": 0, "gid": 0},
    "/data/dir/old1": None,                  # hidden by layer B's opaque marker
    "/data/dir/old2": None,
    "/data/dir/new": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"new\n"},
    "/data/owned": {"type": "file", "mode": 0o644, "uid": 1000, "gid": 1000,
                    "content": b"owned by 1000\n"},
    "/data/setuid": {"type": "file", "mode": 0o4755, "uid": 0, "gid": 0,
                     "content": b"#!/bin/sh\necho setuid\n"},
    "/data/hard1": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"hard\n"},
    "/data/hard2": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"hard\n",
                    "hardlink": "/data/hard1"},
    "/data/link": {"type": "symlink", "link": "keep", "uid": 0, "gid": 0},
    "/data/abs": {"type": "symlink", "link": "/data/keep", "uid": 0, "gid": 0},
    "/data/xattr": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"xattr\n",
                    "xattrs": {"user.pdman": b"1"}},
    "/data/mtime": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "content": b"old\n",
                    "mtime": 1234567890},
    "/data/nobody": {"type": "file", "mode": 0o600, "uid": 65534, "gid": 65534,
                     "content": b"nobody\n"},
    # no whiteout or opaque marker may ever be visible in the final view
    "/data/.wh.gone": None,
    "/data/dir/.wh..wh..opq": None,
}

MANY_LAYERS = 128  # busybox's layer + 127 of /layers/NNN


def _entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, uid: int = 0,
           gid: int = 0, link: str = "", mtime: int = EPOCH) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = kind, mode, uid, gid
    info.linkname, info.mtime = link, mtime
    return info


def _dir(w: LayerWriter, name: str, mode: int = 0o755) -> None:
    w.add(_entry(name, tarfile.DIRTYPE, mode))


def applets() -> list[str]:
    """Where busybox wants its applet links ('usr/bin/awk', ...), from the binary itself."""
    out = subprocess.run([str(BUSYBOX), "--list-full"], check=True, capture_output=True,
                         text=True).stdout.split()
    # skip the binary itself and /linuxrc, which only an initrd wants
    return sorted(p for p in out if p not in ("bin/busybox", "linuxrc"))


def write_busybox_layer(w: LayerWriter, platform: str, links: list[str]) -> None:
    """The whole busybox root in one layer, the way the Docker Hub image is built."""
    dirs = sorted({"bin", "dev", "etc", "home", "proc", "root", "sbin", "sys", "tmp", "usr",
                   "usr/bin", "usr/sbin", "var"} | {p.rpartition("/")[0] for p in links})
    entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
    for d in dirs:
        mode = {"tmp": 0o1777, "root": 0o700}.get(d, 0o755)
        entries.append((d, _entry(d, tarfile.DIRTYPE, mode), None))
    entries.append(("bin/busybox", _entry("bin/busybox", mode=0o755), BUSYBOX.read_bytes()))
    for p in links:
        entries.append((p, _entry(p, tarfile.SYMTYPE, 0o777, link="/bin/busybox"), None))
    files: dict[str, bytes] = {
        "etc/passwd": b"root:x:0:0:root:/root:/bin/sh\n"
                      b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        "etc/group": b"root:x:0:\nnobody:x:65534:\n",
        "etc/pdman-platform": PLATFORM_MARKER[platform],
    }
    for name, content in files.items():
        entries.append((name, _entry(name), content))
    for _, info, data in sorted(entries, key=lambda e: e[0]):
        w.add(info, data)


def image_config(platform: str, cmd: list[str], history: list[dict[str, Any]],
                 **extra: Any) -> dict[str, Any]:
    """An OCI image config; `extra` goes into its "config" section (ExposedPorts, ...)."""
    plat = PLATFORMS[platform]
    config: dict[str, Any] = {"Env": [PATH_ENV], "Cmd": cmd, **extra}
    out: dict[str, Any] = {"created": CREATED, "architecture": plat["architecture"],
                           "os": plat["os"], "config": config, "history": history}
    if "variant" in plat:
        out["variant"] = plat["variant"]
    return out


def history(created_by: str, empty: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"created": CREATED, "created_by": created_by}
    if empty:
        entry["empty_layer"] = True
    return entry


BUSYBOX_HISTORY = [history("ADD busybox-static /bin/busybox + applet links + /etc"),
                   history('CMD ["sh"]', empty=True)]


def build_busybox(layout: Layout) -> None:
    """A multi-platform index: a real linux/amd64 image and a linux/arm64 stand-in.

    The arm64 image carries the same (amd64) binary: it is never run, only chosen
    or not, and its /etc/pdman-platform says which manifest a client picked.
    """
    links = applets()
    manifests = []
    for platform in ("linux/amd64", "linux/arm64"):
        layer = layout.add_layer(partial(write_busybox_layer, platform=platform, links=links))
        desc = layout.add_image(image_config(platform, ["sh"], BUSYBOX_HISTORY), [layer])
        manifests.append(dict(desc, platform=PLATFORMS[platform]))
    layout.write_index(layout.add_index(manifests), "latest")


def _layer_a(w: LayerWriter) -> None:
    _dir(w, "data")
    w.add(_entry("data/abs", tarfile.SYMTYPE, 0o777, link="/data/keep"))
    _dir(w, "data/dir")
    w.add(_entry("data/dir/old1"), b"old1\n")
    w.add(_entry("data/dir/old2"), b"old2\n")
    w.add(_entry("data/gone"), b"gone\n")
    w.add(_entry("data/hard1"), b"hard\n")
    # a hard link entry carries no data: it names the earlier member
    w.add(_entry("data/hard2", tarfile.LNKTYPE, link="data/hard1"))
    w.add(_entry("data/keep"), b"keep\n")
    w.add(_entry("data/link", tarfile.SYMTYPE, 0o777, link="keep"))
    w.add(_entry("data/mtime", mtime=1234567890), b"old\n")
    w.add(_entry("data/owned", uid=1000, gid=1000), b"owned by 1000\n")
    w.add(_entry("data/setuid", mode=0o4755), b"#!/bin/sh\necho setuid\n")
    xattr = _entry("data/xattr")
    xattr.pax_headers = {"SCHILY.xattr.user.pdman": "1"}
    w.add(xattr, b"xattr\n")


def _layer_b(w: LayerWriter) -> None:
    _dir(w, "data")
    w.add(whiteout("data/gone"))
    _dir(w, "data/dir")
    w.add(opaque("data/dir"))
    w.add(_entry("data/dir/new"), b"new\n")
    w.add(_entry("data/nobody", mode=0o600, uid=65534, gid=65534), b"nobody\n")


def build_layers(layout: Layout, base: Path, base_layer: Layer) -> None:
    """busybox amd64 + layer A (every kind of entry) + layer B (whiteouts, opaque dir)."""
    layers = [layout.copy_layer(base, base_layer)]
    for fill in (_layer_a, _layer_b):
        layers.append(layout.add_layer(fill))
    hist = [BUSYBOX_HISTORY[0],
            history("ADD layer-a /data  # files, owners, setuid, links, xattr, mtime"),
            history("ADD layer-b /data  # .wh.gone, opaque /data/dir, uid 65534"),
            history('CMD ["sh"]', empty=True)]
    desc = layout.add_image(image_config("linux/amd64", ["sh"], hist), layers)
    layout.write_index(desc, "latest")


def _one_file(w: LayerWriter, n: int) -> None:
    _dir(w, "layers")
    w.add(_entry(f"layers/{n:03d}"), f"{n:03d}\n".encode())


def build_many(layout: Layout, base: Path, base_layer: Layer) -> None:
    """busybox amd64 + 127 one-file layers: 128 lower dirs for one overlay mount."""
    layers = [layout.copy_layer(base, base_layer)]
    hist = [BUSYBOX_HISTORY[0]]
    for n in range(1, MANY_LAYERS):
        layers.append(layout.add_layer(partial(_one_file, n=n)))
        hist.append(history(f"RUN echo {n:03d} > /layers/{n:03d}"))
    hist.append(history('CMD ["sh"]', empty=True))
    desc = layout.add_image(image_config("linux/amd64", ["sh"], hist), layers)
    layout.write_index(desc, "latest")
