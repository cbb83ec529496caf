"""`run --rootfs DIR` with a hostile root filesystem directory (issue #12: mount targets
are resolved inside the root, the same class as an image's content).

The directory's /etc/hosts, /etc/resolv.conf, /etc/hostname, /dev, /proc and /tmp
(and /etc itself) are symlinks to host paths, absolute or climbing out with `..`,
existing or dangling, and a volume copy-up is asked for through one. pdman bind-mounts
its generated files and mounts /dev and /proc there: nothing of that may land on, or
be created at, the host paths, in place (PATH) or as an overlay (PATH:O). A rootfs
that is itself a symlink runs its target; one the user does not own (the host's own
root) is never written. Each run ends cleanly: success, or exit 125 with `Error:`.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

Run = Callable[..., "subprocess.CompletedProcess[str]"]
CANARY = "HOST-ORIGINAL\n"
GENERATED = ("hosts", "resolv.conf", "hostname")
MOUNTED_DIRS = ("dev", "proc", "tmp")


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Run:
    def run(*args: object, **kw: Any) -> "subprocess.CompletedProcess[str]":
        kw.setdefault("env", registry_env)
        return run_pdman(*args, **kw)
    return run


@pytest.fixture
def exploded(pd: Run, busybox: str, tmp_path: Path) -> Path:
    """The busybox image's files as a plain directory of the user's."""
    cid = pd("create", busybox, "true").stdout.strip()
    tarball = tmp_path / "rootfs.tar"
    pd("export", "-o", tarball, cid)
    pd("rm", cid)
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(root)  # noqa: S202 - our own export
    tarball.unlink()
    return root


def _host_side(tmp_path: Path) -> Path:
    """Host files and directories the rootfs's links name, with canaries."""
    host = tmp_path / "host"
    (host / "etc").mkdir(parents=True)
    for name in GENERATED:
        (host / name).write_text(CANARY)
        (host / "etc" / name).write_text(CANARY)
    for d in MOUNTED_DIRS:
        (host / d).mkdir()
        (host / d / "canary").write_text(CANARY)
    return host


def _snapshot(top: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every path below `top`: (mode, mtime_ns, content of files)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            body = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
            out[str(p.relative_to(top))] = (st.st_mode, st.st_mtime_ns, body)
    return out


def _replace(path: Path, target: str) -> None:
    if path.is_dir() and not path.is_symlink():
        for sub in sorted(path.rglob("*"), reverse=True):
            sub.unlink() if not sub.is_dir() or sub.is_symlink() else sub.rmdir()
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target)


def _escape(path: Path) -> str:
    """`path` reached relatively from a rootfs entry: climbing far above `/` first."""
    return "../" * 40 + str(path).lstrip("/")


def _plant(root: Path, host: Path, how: str) -> list[Path]:
    """Point the rootfs's entries at `host`; the host paths that must not appear."""
    must_not_exist = []
    if how == "etc-dir":
        _replace(root / "etc", str(host / "etc"))
        return []
    for name in GENERATED:
        target = host / name
        if how == "dangling":
            target = host / f"new-{name}"
            must_not_exist.append(target)
        _replace(root / "etc" / name, _escape(target) if how == "relative" else str(target))
    for d in MOUNTED_DIRS:
        target = host / d
        if how == "dangling":
            target = host / f"new-{d}"
            must_not_exist.append(target)
        _replace(root / d, _escape(target) if how == "relative" else str(target))
    return must_not_exist


def _clean(done: "subprocess.CompletedProcess[str]") -> None:
    shown = f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    assert "Traceback" not in done.stderr and "unexpected internal error" not in done.stderr, shown
    assert done.returncode == 0 or (done.returncode == 125 and "Error: " in done.stderr), shown


@pytest.mark.parametrize("how", ["absolute", "relative", "dangling", "etc-dir"])
@pytest.mark.parametrize("overlay", [False, True], ids=["in-place", "overlay"])
def test_links_in_a_rootfs_never_lead_a_mount_to_the_host(
        pd: Run, exploded: Path, tmp_path: Path, how: str, overlay: bool) -> None:
    host = _host_side(tmp_path)
    created = _plant(exploded, host, how)
    before = _snapshot(host)
    rootfs = f"{exploded}:O" if overlay else str(exploded)
    # the container writes through each generated file (they are pdman's, bound there)
    script = ("for f in /etc/hosts /etc/resolv.conf /etc/hostname; do "
              "echo CONTAINER-WROTE >> $f; done; "
              "echo CONTAINER-WROTE > /tmp/canary; echo CONTAINER-WROTE > /dev/canary; "
              "cat /etc/hostname; grep -c . /etc/hosts; ls /proc/self/ >/dev/null && echo PROC")
    done = pd("run", "--rm", "--hostname", "hostile-rootfs", "--rootfs", rootfs,
              "sh", "-c", script, check=False, timeout=120)
    _clean(done)
    # resolved inside the root, every link leads somewhere: the container runs, and
    # pdman's files and mounts are what it sees through its own links
    assert done.returncode == 0, done.stderr
    assert "hostile-rootfs" in done.stdout and "PROC" in done.stdout, done.stdout
    assert _snapshot(host) == before, "a host file or directory changed through the rootfs"
    for path in created:
        assert not os.path.lexists(path), f"{path} was created on the host through the rootfs"
    # the volume copy-up reads the rootfs's directory without following it out
    (host / "tmp" / "secret").write_text("HOST-SECRET\n")
    done = pd("run", "--rm", "-v", "copyup:/tmp", "--rootfs", rootfs, "sh", "-c",
              "cat /tmp/secret 2>/dev/null; echo done", check=False, timeout=120)
    _clean(done)
    assert done.returncode == 0, done.stderr
    assert "HOST-SECRET" not in done.stdout, "a host file was copied into the volume"


def test_a_rootfs_that_is_a_symlink_runs_its_target(pd: Run, exploded: Path,
                                                    tmp_path: Path) -> None:
    (exploded / "marker").write_text("the target\n")
    link = tmp_path / "link"
    link.symlink_to(exploded)
    before = sorted(os.listdir(tmp_path))
    out = pd("run", "--rm", "--rootfs", link, "cat", "/marker").stdout
    assert out == "the target\n"
    assert link.is_symlink() and os.readlink(link) == str(exploded)
    assert sorted(os.listdir(tmp_path)) == before


def test_a_rootfs_the_user_does_not_own_is_not_written(pd: Run, tmp_path: Path) -> None:
    # the host's own root: root's files, outside the user's ID mapping. Whatever the
    # container may do, pdman itself must create nothing there (a mount target, a
    # .containerenv), and fail or run cleanly.
    marker = tmp_path / "marker"
    marker.write_text("")
    done = pd("run", "--rm", "--network", "none", "--rootfs", "/", "/bin/sh", "-c",
              "cat /etc/hostname", check=False, timeout=120)
    _clean(done)
    print(f"--rootfs /: exit {done.returncode}: {done.stderr.strip()[:200]}")
    found = subprocess.run(
        ["find", "/", "-xdev", "-maxdepth", "3", "-newer", str(marker), "-user", str(os.getuid()),
         "-not", "-path", "/tmp/*", "-not", "-path", "/var/tmp/*", "-not", "-path", "/home/*",
         "-not", "-path", "/proc/*", "-not", "-path", "/run/user/*", "-not", "-path", "/dev/*"],
        capture_output=True, text=True, check=False).stdout.split()
    assert not found, f"pdman created host files through --rootfs /: {found}"
