"""Volumes as podman 4.3 makes them (issue #13): `volume create -o type=tmpfs` is a
tmpfs in the container, `-o type=bind -o device=PATH` binds PATH (refused at create
when PATH is missing, in podman's words and exit code), and `:U` gives the source to
the container's user. podman 4.3 on this host was run for the words and codes."""

from __future__ import annotations

import os
from pathlib import Path

from tests.compat.test_scripts import _pd


def _mount_line(mounts: str, target: str) -> list[str]:
    lines = [ln.split() for ln in mounts.splitlines() if ln.split()[1:2] == [target]]
    assert lines, f"{target} not mounted:\n{mounts}"
    return lines[-1]


def test_tmpfs_volume_is_a_tmpfs_with_its_size(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "scratch")
    line = _mount_line(pd("run", "--rm", "-v", "scratch:/scratch", busybox,
                          "cat", "/proc/mounts").stdout, "/scratch")
    assert line[2] == "tmpfs" and "size=2048k" in line[3]
    # writable, and still a volume in podman's sense: in use while a container has it
    pd("run", "--rm", "-v", "scratch:/scratch", busybox, "sh", "-c", "echo x > /scratch/f")
    assert pd("volume", "inspect", "--format", "{{.Options.type}}", "scratch").stdout == "tmpfs\n"
    pd("create", "--name", "holder", "-v", "scratch:/s", busybox, "true")
    assert pd("volume", "rm", "scratch", check=False).returncode != 0


def test_bind_volume_of_a_missing_device_is_refused(registry_env: dict[str, str]) -> None:
    pd = _pd(registry_env)
    for opts in (["-o", "type=bind"], ["-o", "type=none", "-o", "o=bind"]):
        out = pd("volume", "create", *opts, "-o", "device=/no/such/dir", "gone", check=False)
        # podman 4.3: `Error: invalid volume option device for driver 'local':
        # stat /no/such/dir: no such file or directory`, exit 125
        assert out.returncode == 125, out
        assert ("invalid volume option device for driver 'local': stat /no/such/dir: "
                "no such file or directory") in out.stderr
        assert "Traceback" not in out.stderr
    assert pd("volume", "ls", "-q").stdout.split() == []


def test_bind_volume_binds_its_device(registry_env: dict[str, str], busybox: str,
                                      tmp_path: Path) -> None:
    pd = _pd(registry_env)
    src = tmp_path / "data"
    src.mkdir()
    (src / "from-host").write_text("hello\n")
    pd("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", f"device={src}", "hostdata")
    out = pd("run", "--rm", "-v", "hostdata:/data", busybox, "sh", "-c",
             "cat /data/from-host; echo back > /data/from-ctr").stdout
    assert out == "hello\n"
    assert (src / "from-ctr").read_text() == "back\n"
    pd("volume", "create", "-o", "type=bind", "-o", f"device={src}", "hostdata2")
    assert pd("run", "--rm", "-v", "hostdata2:/d", busybox, "cat", "/d/from-ctr").stdout == "back\n"


def _has_subids() -> bool:
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name
    try:
        return any(ln.split(":")[0] in (user, str(os.getuid()))
                   for ln in Path("/etc/subuid").read_text().splitlines())
    except OSError:
        return False


def test_U_chowns_a_volume_and_a_host_dir_to_the_container_user(
        registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    import pytest

    if not _has_subids():
        pytest.skip("no subordinate IDs for the test user: only container root is mapped")
    pd = _pd(registry_env)
    host = tmp_path / "work"
    (host / "sub").mkdir(parents=True)
    (host / "sub" / "f").write_text("x")
    script = "stat -c %u:%g /d /d/sub /d/sub/f && touch /d/mine"
    out = pd("run", "--rm", "--user", "1000:1001", "-v", f"{host}:/d:U", busybox,
             "sh", "-c", script).stdout.split()
    assert out == ["1000:1001"] * 3
    assert (host / "mine").exists()
    # on the host: the user's subordinate IDs, not the user's own
    assert host.stat().st_uid != os.getuid()
    # a named volume, with other options beside U
    out = pd("run", "--rm", "--user", "123:45", "-v", "owned:/d:rw,U", busybox,
             "sh", "-c", "stat -c %u:%g /d && touch /d/mine").stdout
    assert out == "123:45\n"
    # without U the volume stays as it was made: container root's
    plain = pd("run", "--rm", "--user", "1000:1000", "-v", "plain:/d", busybox,
               "stat", "-c", "%u:%g", "/d").stdout
    assert plain == "0:0\n"
