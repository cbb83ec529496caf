"""Hostile images for tests/security, built by the test itself: the busybox test image's
root filesystem (exported from a container) with hostile files added, `pdman import`ed.

    base = busybox_rootfs(pd, busybox, tmp_path)        # once per test
    image = hostile_image(pd, base, tmp_path, "nss", add=[...], drop=("etc/passwd",))

and the payloads that would run code in pdman's own process if it ever loaded them:
an NSS module (a real shared object with a constructor) and Python modules. Each
payload, once run, proves it three ways: a marker on stderr (fd 2 is the user's
terminal), a file at the root it finds itself in, and a file at a host path after
trying the classic chroot escape.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MARKER = "PDMAN-HOSTILE-PAYLOAD-RAN"
IN_ROOT_CANARY = "/pdman-hostile-canary"

#: where a chrooted glibc looks for NSS modules (no ld.so.cache in the image)
LIB_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib", "lib64",
            "lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu")
NSS_SERVICES = ("files", "compat", "systemd", "db", "dns", "nis", "hesiod", "sss", "ldap",
                "winbind", "mymachines", "resolve", "myhostname", "hostile")
NSSWITCH = "".join(f"{db}: hostile compat systemd sss\n"
                   for db in ("passwd", "group", "shadow", "gshadow", "hosts", "services",
                              "networks", "protocols", "netgroup", "initgroups"))

_NSS_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
static void mark(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) { (void)!write(fd, "pwned\n", 6); close(fd); }
}
__attribute__((constructor)) static void payload(void) {
  static const char msg[] = "\n" MARKER " (nss module)\n";
  (void)!write(2, msg, sizeof msg - 1);
  mark(IN_ROOT);
  if (chroot("etc") == 0 || chroot("tmp") == 0) {   /* out of a chroot, if in one */
    for (int i = 0; i < 64; i++) (void)!chdir("..");
    (void)!chroot(".");
  }
  mark(CANARY);
}
"""

_PY_PAYLOAD = """\
import os as _os
_os.write(2, b"\\n{marker} (python module " + __name__.encode() + b")\\n")
for _p in ({in_root!r}, {canary!r}):
    try:
        open(_p, "w").write("pwned")
    except OSError:
        pass
    try:
        _os.chroot("etc")
        for _ in range(64):
            _os.chdir("..")
        _os.chroot(".")
    except OSError:
        pass
raise ImportError("hostile module")
"""


def busybox_rootfs(pd: Callable[..., Any], image: str, tmp_path: Path) -> Path:
    """The image's root filesystem as a tar (export of a created container)."""
    out = tmp_path / "base-rootfs.tar"
    cid = pd("create", image, "true").stdout.strip()
    pd("export", "-o", out, cid)
    pd("rm", cid)
    return out


def file_entry(name: str, data: bytes, mode: int = 0o644, uid: int = 0,
               gid: int = 0) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
    return info, data


def dir_entry(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, gid
    return info, None


def symlink_entry(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
    return info, None


def hostile_image(pd: Callable[..., Any], base: Path, tmp_path: Path, name: str,
                  add: Iterable[tuple[tarfile.TarInfo, bytes | None]],
                  drop: tuple[str, ...] = ()) -> str:
    """`pdman import` of `base` minus the entries under `drop`, plus `add`."""
    out = tmp_path / f"{name}.tar"
    with tarfile.open(base) as src, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            clean = member.name.lstrip("./")
            if any(clean == d or clean.startswith(d + "/") for d in drop):
                continue
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        for info, data in add:
            dst.addfile(info, io.BytesIO(data) if data is not None else None)
    ref = f"localhost/hostile-{name}:latest"
    pd("import", out, ref)
    return ref


def nss_payload_entries(tmp_path: Path, canary: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """/etc/nsswitch.conf naming modules, and every libnss_*.so.2 a glibc may dlopen,
    each a real shared object whose constructor leaves the canaries."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        import pytest

        pytest.skip("no C compiler to build the hostile NSS module (install gcc)")
    src = tmp_path / "nss.c"
    src.write_text(_NSS_C)
    so = tmp_path / "libnss_hostile.so.2"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(so), str(src),
                    f'-DMARKER="{MARKER}"', f'-DIN_ROOT="{IN_ROOT_CANARY}"',
                    f'-DCANARY="{canary}"'], check=True, capture_output=True)
    data = so.read_bytes()
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [
        file_entry("etc/nsswitch.conf", NSSWITCH.encode()),
        file_entry("etc/ld.so.preload", b""),
    ]
    seen_dirs: set[str] = set()
    for d in LIB_DIRS:
        parts = d.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in seen_dirs and sub not in ("lib", "usr", "usr/lib", "lib64"):
                seen_dirs.add(sub)
                entries.append(dir_entry(sub))
        for svc in NSS_SERVICES:
            entries.append(file_entry(f"{d}/libnss_{svc}.so.2", data, 0o755))
    return entries


def python_payload_entries(canary: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """A module under every stdlib name (and every pdman module name) at each path a
    chrooted pdman would search: the stdlib directory, /usr/local's, and the
    site-packages pdman runs from."""
    import sysconfig

    import pdman

    body = _PY_PAYLOAD.format(marker=MARKER, in_root=IN_ROOT_CANARY, canary=str(canary)).encode()
    stdlib = sysconfig.get_paths()["stdlib"].lstrip("/")
    minor = f"python3.{sys.version_info.minor}"
    dirs = [stdlib, f"usr/local/lib/{minor}", f"usr/local/lib/{minor}/dist-packages",
            f"usr/lib/{minor}/lib-dynload", "usr/lib/python3/dist-packages",
            sysconfig.get_paths()["purelib"].lstrip("/")]
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") or n in (
        "_compression", "_strptime", "_pydecimal", "_threading_local"))
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    made: set[str] = set()

    def mkdirs(path: str) -> None:
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in made and sub not in ("usr", "usr/lib", "usr/local", "usr/local/lib"):
                made.add(sub)
                entries.append(dir_entry(sub))

    for d in dirs:
        mkdirs(d)
        for n in names:
            entries.append(file_entry(f"{d}/{n}.py", body))
        mkdirs(f"{d}/encodings")
        for codec in ("idna", "punycode", "latin_1", "ascii", "cp437", "utf_16", "hex_codec"):
            entries.append(file_entry(f"{d}/encodings/{codec}.py", body))
    # pdman's own modules where the chrooted process would look for them
    pkg = Path(pdman.__file__).resolve().parent
    for py in sorted(pkg.rglob("*.py")):
        rel = py.relative_to(pkg.parent)
        target = f"{str(pkg.parent).lstrip('/')}/{rel}"
        mkdirs(str(Path(target).parent))
        entries.append(file_entry(target, body))
    return entries


def payload_ran(*outputs: str | bytes, canary: Path) -> list[str]:
    """Evidence that a payload ran: markers in outputs, the host canary."""
    found = []
    for out in outputs:
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        if MARKER in text:
            found.append(text[text.index(MARKER):][:200])
    if canary.exists():
        found.append(f"host canary {canary} exists")
    return found
