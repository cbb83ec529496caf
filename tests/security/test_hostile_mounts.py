"""`image mount IMAGE` and `mount CONTAINER` (inside `pdman unshare`, as rootless
podman) of hostile images (issue #12): layers carrying absolute and `..` symlinks to a
host secret, a directory swapped for such a symlink in an upper layer, device nodes,
set-ID files, and hard links whose names are host paths.

The mount shows the image's own files and nothing of the host: symlinks stay
symlinks (nothing is mounted or copied at their targets), hard links name the
layer's own files, no device node exists, set-ID files belong to the image's owners
as the user namespace maps them. Unmounting leaves no mount behind, in the namespace
or on the host. Hard links that leave the layer are refused at import, cleanly,
with nothing left in the store.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bed import hostile
from tests.bed.runner import run_pdman

Run = Callable[..., "subprocess.CompletedProcess[str]"]
SECRET = "HOST-SECRET-NEVER-IN-A-MOUNT\n"
IMAGE_TEXT = b"IMAGE-CONTENT\n"


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Run:
    def run(*args: object, **kw: Any) -> "subprocess.CompletedProcess[str]":
        kw.setdefault("env", registry_env)
        return run_pdman(*args, **kw)
    return run


def _device(name: str, kind: bytes, major: int, minor: int) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.devmajor, info.devminor = kind, 0o666, major, minor
    return info, None


def _hardlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = tarfile.LNKTYPE, target, 0o644
    return info, None


def _host(tmp_path: Path) -> Path:
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text(SECRET)
    return host


def _hostile_image(pd: Run, busybox: str, tmp_path: Path, host: Path) -> str:
    """One imported layer of hostile entries, and a committed one over it that swaps
    a directory for a symlink to the host."""
    secret = str(host / "secret")
    base = hostile.busybox_rootfs(pd, busybox, tmp_path)
    rel = "../" * 30 + secret.lstrip("/")
    image = hostile.hostile_image(pd, base, tmp_path, "mounts", add=[
        hostile.symlink_entry("escape-abs", secret),
        hostile.symlink_entry("escape-rel", rel),
        hostile.symlink_entry("escape-dir", str(host)),
        # the host path's name, inside the layer: what a hard link by that name means
        hostile.file_entry(secret.lstrip("/"), IMAGE_TEXT),
        _hardlink("hl-host-name", secret),
        _hardlink("hl-passwd", "/etc/passwd"),
        _device("dev/mem-too", tarfile.CHRTYPE, 1, 1),
        _device("dev/sda-too", tarfile.BLKTYPE, 8, 0),
        _device("kmsg", tarfile.CHRTYPE, 1, 11),
        hostile.file_entry("suid-root", b"#!/bin/sh\nid\n", 0o4755, 0, 0),
        hostile.file_entry("sgid-other", b"#!/bin/sh\nid\n", 0o2755, 1000, 1000),
        hostile.dir_entry("data"),
        hostile.file_entry("data/file", IMAGE_TEXT),
    ])
    pd("run", "--name", "swapper", "--network", "none", image, "sh", "-c",
       f"rm -rf /data && ln -s {host} /data")
    pd("commit", "swapper", "localhost/hostile-mounts-swapped:1")
    pd("rm", "swapper")
    return "localhost/hostile-mounts-swapped:1"


#: what the script inside `pdman unshare` reports of a mount at $m
_PROBE = r"""
echo "abs=$(readlink "$m/escape-abs")"
echo "rel=$(readlink "$m/escape-rel")"
echo "dir=$(readlink "$m/escape-dir")"
echo "data=$(readlink "$m/data")"
echo "hl-host-name=$(cat "$m/hl-host-name")"
echo "hl-passwd=$(head -c 5 "$m/hl-passwd")"
echo "devices=$(find "$m" -xdev \( -type b -o -type c \) | wc -l)"
echo "suid=$(stat -c %a:%u:%g "$m/suid-root")"
echo "sgid=$(stat -c %a:%u:%g "$m/sgid-other")"
echo "mounted-at-point=$(awk -v m="$m" '$5 == m' /proc/self/mountinfo | wc -l)"
echo "mounted-at-host=$(awk -v h="$HOSTDIR" 'index($5, h) == 1' /proc/self/mountinfo | wc -l)"
"""


def _report(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _check(report: dict[str, str], host: Path) -> None:
    secret = str(host / "secret")
    assert report["abs"] == secret and report["rel"].endswith(secret.lstrip("/"))
    assert report["dir"] == str(host)
    assert report["data"] == str(host), "the upper layer's symlink is not what shows"
    assert report["hl-host-name"] == IMAGE_TEXT.decode().strip()
    assert report["hl-passwd"] == "root:"
    assert report["devices"] == "0", "a device node of the image is in the mount"
    # set-ID bits kept, owners the image's as the namespace maps them (root = the user)
    assert report["suid"] == "4755:0:0" and report["sgid"] == "2755:1000:1000", report
    assert report["mounted-at-host"] == "0", "something was mounted at a symlink's target"
    assert SECRET.strip() not in "\n".join(report.values())


def _host_mounts(env: dict[str, str]) -> list[str]:
    """Mounts of the store or runroot visible outside the namespace (none may be)."""
    roots = (env["PDMAN_ROOT"], env["PDMAN_RUNROOT"])
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return [ln for ln in f if any(r in ln.split()[4] for r in roots)]


def test_image_mount_of_a_hostile_image(pd: Run, busybox: str, registry_env: dict[str, str],
                                        tmp_path: Path) -> None:
    host = _host(tmp_path)
    image = _hostile_image(pd, busybox, tmp_path, host)
    exe = shutil.which("pdman", path=registry_env["PATH"])
    script = (f'set -e; m=$({exe} image mount {image}); echo "mount=$m"; {_PROBE}'
              f'{exe} image unmount {image} >/dev/null; '
              'echo "after=$(awk -v m="$m" \'$5 == m\' /proc/self/mountinfo | wc -l)"; '
              f'echo "listed=$({exe} image mount | wc -l)"')
    done = pd("unshare", "sh", "-c", script, env=dict(registry_env, HOSTDIR=str(host)))
    report = _report(done.stdout)
    assert "Traceback" not in done.stderr
    assert report["mounted-at-point"] == "1"
    _check(report, host)
    assert report["after"] == "0" and report["listed"] == "0", "unmount left the mount"
    assert not _host_mounts(registry_env), "a mount of the store leaked to the host"
    assert (host / "secret").read_text() == SECRET and sorted(p.name for p in host.iterdir()) \
        == ["secret"]
    pd("rmi", image)   # nothing holds it any more


@pytest.mark.parametrize("running", [False, True], ids=["created", "running"])
def test_mount_of_a_hostile_container(pd: Run, busybox: str, registry_env: dict[str, str],
                                      tmp_path: Path, running: bool) -> None:
    host = _host(tmp_path)
    image = _hostile_image(pd, busybox, tmp_path, host)
    args = ("run", "-d") if running else ("create",)
    cid = pd(*args, "--network", "none", image, "sleep", "1000").stdout.strip()
    exe = shutil.which("pdman", path=registry_env["PATH"])
    script = (f'set -e; m=$({exe} mount {cid}); echo "mount=$m"; {_PROBE}'
              f'{exe} umount {cid} >/dev/null; '
              'echo "after=$(awk -v m="$m" \'$5 == m\' /proc/self/mountinfo | wc -l)"; '
              f'echo "listed=$({exe} mount | wc -l)"')
    done = pd("unshare", "sh", "-c", script, env=dict(registry_env, HOSTDIR=str(host)))
    report = _report(done.stdout)
    assert "Traceback" not in done.stderr
    if running:
        # a running container's root is the kernel's own view of it, /proc/PID/root,
        # which the container's non-dumpable processes keep closed even to the
        # namespace's root: nothing of it shows, and no host file either
        assert report["mount"].startswith("/proc/") and report["mount"].endswith("/root")
        assert report["mounted-at-host"] == "0"
        assert SECRET.strip() not in done.stdout
    else:
        assert report["mounted-at-point"] == "1" and report["after"] == "0"
        assert report["listed"] == "0", "umount left the mount"
        _check(report, host)
    assert not _host_mounts(registry_env), "a mount of the store leaked to the host"
    assert (host / "secret").read_text() == SECRET and sorted(p.name for p in host.iterdir()) \
        == ["secret"]
    pd("rm", "-f", cid)


@pytest.mark.parametrize("target", ["../../../etc/passwd", "SECRET", "escape-dir/secret",
                                    "escape-abs"])
def test_a_hard_link_out_of_the_layer_is_refused_at_import(
        pd: Run, busybox: str, registry_env: dict[str, str], tmp_path: Path,
        target: str) -> None:
    host = _host(tmp_path)
    base = hostile.busybox_rootfs(pd, busybox, tmp_path)
    linkname = str(host / "secret") if target == "SECRET" else target
    before = set(pd("images", "-q", "--no-trunc").stdout.split())
    out = tmp_path / "hl.tar"
    with tarfile.open(base) as src, tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        for info, _ in (hostile.symlink_entry("escape-dir", str(host)),
                        hostile.symlink_entry("escape-abs", str(host / "secret")),
                        _hardlink("stolen", linkname)):
            dst.addfile(info)
    done = pd("import", out, "localhost/hardlink-out:1", check=False)
    shown = f"exit {done.returncode}\n{done.stderr}"
    assert "Traceback" not in done.stderr and "unexpected internal error" not in done.stderr
    if target == "escape-abs":
        # a hard link to a symlink of the layer is the symlink itself: allowed, and it
        # still points where it pointed (a name, not the host file's inode)
        assert done.returncode == 0, shown
        got = pd("run", "--rm", "--network", "none", "localhost/hardlink-out:1", "sh", "-c",
                 "readlink /stolen; cat /stolen 2>&1 | head -c 40").stdout
        assert SECRET.strip() not in got
        return
    assert done.returncode == 125 and "Error: " in done.stderr, shown
    assert "hard link" in done.stderr, shown
    assert set(pd("images", "-q", "--no-trunc").stdout.split()) == before
    assert (host / "secret").read_text() == SECRET
