"""Hostile images against the commands that read or write a container's files from
pdman's own process: `cp` (both ways), `export`, `commit`, `diff` (issue #12, classes 1
and 2).

1. Nothing of the image is ever loaded: an image that plants NSS modules (real shared
   objects) and Python modules where a chrooted pdman would load them never gets its
   code run, on a stopped container or a running one.
2. A running container that keeps swapping (atomically, RENAME_EXCHANGE) a file, and
   a directory on the way to a file, with symlinks to a host secret never gets that
   secret into an image layer or a tar stream.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bed import hostile

Run = Callable[..., subprocess.CompletedProcess[str]]


def _raw(env: dict[str, str], *args: object, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("pdman", path=env["PATH"])
    assert exe
    return subprocess.run([exe, *map(str, args)], env=env, input=stdin, capture_output=True,
                          timeout=120, check=False)


def _clean(done: subprocess.CompletedProcess[Any], what: str) -> None:
    err = done.stderr.decode(errors="replace") if isinstance(done.stderr, bytes) else done.stderr
    assert "Traceback" not in err, f"{what}: a traceback reached the user:\n{err}"


def _tar_bytes(data: bytes) -> bytes:
    """Every byte of a tar stream's members (nested gzip'd blobs opened)."""
    out = [data]
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for m in tar:
                if m.isreg():
                    body = tar.extractfile(m).read()  # type: ignore[union-attr]
                    if body[:2] == b"\x1f\x8b":
                        body = gzip.decompress(body)
                    out.append(body)
    except tarfile.TarError:
        pass
    return b"".join(out)


def _exercise(pd: Run, env: dict[str, str], ctr: str, tmp_path: Path, tag: str) -> list[Any]:
    """cp both ways, export, diff, commit of `ctr`: every result (each must be clean)."""
    results: list[Any] = []
    host_file = tmp_path / f"in-{tag}.txt"
    host_file.write_text("from the host\n")
    results.append(_raw(env, "cp", f"{ctr}:/data", "-"))
    out_dir = tmp_path / f"out-{tag}"
    out_dir.mkdir()
    results.append(_raw(env, "cp", f"{ctr}:/data", out_dir))
    results.append(_raw(env, "cp", host_file, f"{ctr}:/data/"))
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:  # names of a user and group
        info = tarfile.TarInfo("streamed.txt")
        info.size, info.uid, info.gid, info.uname, info.gname = 3, 4321, 4321, "nobody", "nogroup"
        tar.addfile(info, io.BytesIO(b"hi\n"))
    results.append(_raw(env, "cp", "-", f"{ctr}:/data", stdin=packed.getvalue()))
    results.append(_raw(env, "export", ctr))
    results.append(_raw(env, "diff", ctr))
    results.append(_raw(env, "commit", ctr, f"localhost/committed-{tag}"))
    return results


def _all_clean(results: list[subprocess.CompletedProcess[bytes]]) -> None:
    for r in results:
        _clean(r, " ".join(map(str, r.args[1:3])))
        assert r.returncode == 0, (r.args, r.stderr.decode(errors="replace"))


def _owned_by_strangers() -> list[tuple[tarfile.TarInfo, bytes | None]]:
    # owners no passwd/group file of the image names: a name lookup goes past `files`
    return [hostile.dir_entry("data", 0o755, 4321, 4321),
            hostile.file_entry("data/owned", b"x\n", 0o644, 4321, 4322),
            hostile.dir_entry("data/sub", 0o755, 4323, 4324),
            hostile.file_entry("data/sub/f", b"y\n", 0o640, 4325, 4326)]


def _run_hostile(pd: Run, env: dict[str, str], image: str, tmp_path: Path,
                 canary: Path) -> None:
    stopped = pd("create", "--network", "none", image, "true").stdout.strip()
    running = pd("run", "-d", "--network", "none", image, "sleep", "1000").stdout.strip()
    results = []
    for ctr, tag in ((stopped, "stopped"), (running, "running")):
        results += _exercise(pd, env, ctr, tmp_path, tag)
    # (stdout is left out: archives that hold the payloads themselves)
    found = hostile.payload_ran(*(r.stderr for r in results), canary=canary)
    assert not found, f"code of the image ran in pdman's process: {found}"
    # the payload's own mark, had it run at the root it found itself in
    probe = pd("exec", running, "sh", "-c", f"test -e {hostile.IN_ROOT_CANARY} && echo RAN || echo clean")
    assert probe.stdout.strip() == "clean"
    _all_clean(results)


def test_nss_modules_of_the_image_are_never_loaded(pd: Run, busybox: str, registry_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    canary = tmp_path / "nss-canary"
    base = hostile.busybox_rootfs(pd, busybox, tmp_path)
    image = hostile.hostile_image(pd, base, tmp_path, "nss",
                                  add=hostile.nss_payload_entries(tmp_path, canary) + _owned_by_strangers())
    _run_hostile(pd, registry_env, image, tmp_path, canary)
    # the stream still says who owns what, by number
    stream = _raw(registry_env, "cp", pd("create", image, "true").stdout.strip() + ":/data", "-").stdout
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        f = tar.getmember("data/sub/f")
        assert (f.uid, f.gid, f.uname, f.gname) == (4325, 4326, "", "")


def test_python_modules_of_the_image_are_never_imported(pd: Run, busybox: str,
                                                        registry_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    canary = tmp_path / "py-canary"
    base = hostile.busybox_rootfs(pd, busybox, tmp_path)
    image = hostile.hostile_image(pd, base, tmp_path, "py",
                                  add=hostile.python_payload_entries(canary) + _owned_by_strangers())
    _run_hostile(pd, registry_env, image, tmp_path, canary)


# -- class 2: a running container racing pdman ----------------------------------------

_SWAPPER_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>
/* swap each pair of paths, atomically (RENAME_EXCHANGE), forever: no name is ever
   missing, a name is now the real thing, now the symlink */
int main(int argc, char **argv) {
  for (;;)
    for (int i = 1; i + 1 < argc; i += 2)
      syscall(SYS_renameat2, AT_FDCWD, argv[i], AT_FDCWD, argv[i + 1], RENAME_EXCHANGE);
}
"""

_SETUP = r"""
mkdir -p /data/d
i=0
while [ $i -lt 150 ]; do printf '%044d\n' 0 > /data/d/a$i; i=$((i+1)); done
printf '%044d\n' 0 > /data/d/secret
ln -s HOSTDIR /data/dx
for n in 1 2 3 4 5 6; do printf '%044d\n' 0 > /data/f$n; ln -s HOSTSECRET /data/x$n; done
/swapper /data/d /data/dx /data/f1 /data/x1 /data/f2 /data/x2 /data/f3 /data/x3 &
/swapper /data/f4 /data/x4 /data/f5 /data/x5 /data/f6 /data/x6 &
touch /data/ready
wait
"""


def test_a_running_container_cannot_swap_a_host_file_into_commit_cp_export(
        pd: Run, busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    token = f"HOST-SECRET-{uuid.uuid4().hex}"
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    secret = host_dir / "secret"
    secret.write_text(token + "\n")
    # the same names and sizes as the container's own files: a reader fooled by a swap
    # finds what it expects, and reads the secret
    assert len(token) == 44
    for name in [f"a{n}" for n in range(150)] + [f"f{n}" for n in range(1, 7)]:
        (host_dir / name).write_text(token + "\n")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the swapping program (install gcc)")
    (tmp_path / "swapper.c").write_text(_SWAPPER_C)
    subprocess.run([cc, "-static", "-O2", "-o", str(tmp_path / "swapper"), str(tmp_path / "swapper.c")],
                   check=True, capture_output=True)
    script = _SETUP.replace("HOSTDIR", str(host_dir)).replace("HOSTSECRET", str(secret))
    ctr = pd("create", "--network", "none", busybox, "sh", "-c", script).stdout.strip()
    pd("cp", tmp_path / "swapper", f"{ctr}:/swapper")
    pd("start", ctr)
    for _ in range(600):
        if pd("exec", ctr, "test", "-e", "/data/ready", check=False).returncode == 0:
            break
    else:
        pytest.fail("the swapping container never got ready")
    leaks: list[str] = []
    results: list[subprocess.CompletedProcess[bytes]] = []
    for i in range(8):
        ref = f"localhost/raced:{i}"
        # --pause freezes it where the freezer is available; the read is safe without it
        pause = ("--pause",) if i % 2 else ()
        results.append(_raw(registry_env, "commit", *pause, ctr, ref))
        if results[-1].returncode == 0:
            archive = tmp_path / f"raced-{i}.tar"
            pd("save", "-o", archive, ref)
            if token.encode() in _tar_bytes(archive.read_bytes()):
                leaks.append(f"commit #{i}")
            archive.unlink()
        for args in (("cp", f"{ctr}:/data", "-"), ("export", ctr)):
            results.append(_raw(registry_env, *args))
            if token.encode() in _tar_bytes(results[-1].stdout):
                leaks.append(f"{args[0]} #{i}")
        out_dir = tmp_path / f"cp-{i}"
        out_dir.mkdir()
        results.append(_raw(registry_env, "cp", f"{ctr}:/data", out_dir))
        if any(token in p.read_text(errors="replace") for p in out_dir.rglob("*")
               if p.is_file() and not p.is_symlink()):
            leaks.append(f"cp to a directory #{i}")
    pd("rm", "-f", ctr)
    assert not leaks, f"the host secret ended up in: {leaks}"
    _all_clean(results)
