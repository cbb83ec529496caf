"""Class 7 of issue #12: mounts and state files.

- /sys is read-only in the container, every mount below it too, in every network
  mode (with the host's network, the host's /sys is bind-mounted recursively, and
  /sys/fs/cgroup, /sys/kernel/... come along).
- With no XDG_RUNTIME_DIR, the runroot falls back to $TMPDIR/pdman-run-UID, which is
  refused unless it is a directory of the user's with mode 0700 (as podman does).
- Files pdman makes in the runroot are never created through a symlink planted there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

SECRET = "host secret, not to be touched\n"


def _sys_mounts(mountinfo: str) -> dict[str, str]:
    """Mount point -> per-mount options, for /sys and every mount below it."""
    found = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        point, options = fields[4], fields[5]
        if point == "/sys" or point.startswith("/sys/"):
            found[point] = options
    return found


@pytest.mark.parametrize("network", ["host", "none", "slirp4netns", "pasta", "a network",
                                     "container:"])
def test_sys_is_read_only_recursively(network: str, busybox: str,
                                      registry_env: dict[str, str]) -> None:
    if network == "a network":
        network = run_pdman("network", "create", "sysnet", env=registry_env).stdout.strip()
    elif network == "container:":
        run_pdman("run", "-d", "--name", "netowner", busybox, "sleep", "600",
                  env=registry_env)
        network = "container:netowner"
    try:
        done = run_pdman("run", "--rm", "--network", network, busybox, "sh", "-c",
                         "cat /proc/self/mountinfo; echo ---; "
                         "touch /sys/pdman-probe 2>&1; mkdir /sys/kernel/pdman-probe 2>&1; "
                         "mount -o remount,rw /sys 2>&1; echo done",
                         env=registry_env, check=False)
    finally:
        if network.startswith("container:"):
            run_pdman("rm", "-f", "netowner", env=registry_env, check=False)
    mountinfo, _, tries = done.stdout.partition("---")
    mounts = _sys_mounts(mountinfo)
    assert "/sys" in mounts, done.stdout + done.stderr
    writable = {p: o for p, o in mounts.items() if "ro" not in o.split(",")}
    assert writable == {}, f"writable under /sys with --network {network}: {writable}"
    assert "Read-only file system" in tries or "Permission denied" in tries, tries
    assert tries.count("done") == 1


def _no_runtime_dir(env: dict[str, str], tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in env.items() if k not in ("XDG_RUNTIME_DIR", "PDMAN_RUNROOT")}
    env["TMPDIR"] = str(tmp)
    return env


def test_runroot_fallback_made_private(pdman_env: dict[str, str], tmp_path: Path) -> None:
    env = _no_runtime_dir(pdman_env, tmp_path)
    run_pdman("ps", env=env)
    fallback = tmp_path / f"pdman-run-{os.getuid()}"
    st = fallback.lstat()
    assert fallback.is_dir() and st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o700


@pytest.mark.parametrize("bad", ["mode 0755", "symlink"])
def test_runroot_fallback_refused_unless_private(bad: str, pdman_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    env = _no_runtime_dir(pdman_env, tmp_path)
    fallback = tmp_path / f"pdman-run-{os.getuid()}"
    if bad == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        fallback.symlink_to(tmp_path / "elsewhere")
    else:
        fallback.mkdir()
        fallback.chmod(0o755)
    done = run_pdman("ps", env=env, check=False)
    assert done.returncode == 125, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"Error: the runroot {fallback}" in done.stderr and "0700" in done.stderr
    assert "Hint:" in done.stderr and "XDG_RUNTIME_DIR" in done.stderr


def _run_dir(env: dict[str, str], cid: str) -> Path:
    return Path(env["PDMAN_RUNROOT"]) / "containers" / cid


def test_exit_file_not_written_through_planted_symlink(
        busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text(SECRET)
    cid = run_pdman("run", "-d", busybox, "sleep", "2", env=registry_env).stdout.strip()
    run_dir = _run_dir(registry_env, cid)
    assert run_dir.is_dir()
    # the monitor writes <run dir>/exit.tmp, then renames it to `exit`
    (run_dir / "exit.tmp").symlink_to(canary)
    done = run_pdman("wait", cid, env=registry_env, timeout=60)
    assert done.stdout.strip() == "0"
    assert canary.read_text() == SECRET
    assert run_pdman("inspect", "--format", "{{.State.ExitCode}}", cid,
                     env=registry_env).stdout.strip() == "0"


def test_start_lock_not_created_through_planted_symlink(
        busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "made-by-pdman"
    cid = run_pdman("create", busybox, "true", env=registry_env).stdout.strip()
    run_dir = _run_dir(registry_env, cid)
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (run_dir / "start.lock").symlink_to(target)
    done = run_pdman("start", cid, env=registry_env, check=False)
    assert not target.exists(), "pdman created a file through a planted symlink"
    assert done.returncode == 125 and "Traceback" not in done.stderr, done.stderr
    assert "symlink" in done.stderr
    # once it is gone, the container starts
    (run_dir / "start.lock").unlink()
    run_pdman("start", cid, env=registry_env)
    assert run_pdman("wait", cid, env=registry_env, timeout=60).stdout.strip() == "0"
