"""More podman 4.3 commands (issue #13), as a podman user's scripts use them:
`unshare`, `mount`/`unmount` inside it, `volume export`/`volume import` and `search`."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.compat.test_scripts import _pd


def _sh(env: dict[str, str], script: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_unshare(registry_env: dict[str, str]) -> None:
    pd = _pd(registry_env)
    uid_map = pd("unshare", "cat", "/proc/self/uid_map").stdout.splitlines()
    assert uid_map[0].split() == ["0", str(os.getuid()), "1"]
    assert pd("unshare", "id", "-u").stdout == "0\n"
    out = pd("unshare", "sh", "-c", "echo $_CONTAINERS_USERNS_CONFIGURED "
             "$_CONTAINERS_ROOTLESS_UID").stdout.split()
    assert out == ["done", str(os.getuid())]
    # the command's exit status, and podman's for a command that is not there
    assert pd("unshare", "sh", "-c", "exit 3", check=False).returncode == 3
    missing = pd("unshare", "no-such-command", check=False)
    assert missing.returncode == 127 and "executable file not found" in missing.stderr
    # its options end at the command: the command's own are its
    assert pd("unshare", "ls", "-d", "/").stdout == "/\n"


def test_mount_inside_unshare(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "m", busybox, "cat", "/added")
    bad = pd("mount", "m", check=False)
    assert bad.returncode == 125 and "must execute `pdman unshare` first" in bad.stderr
    exe = shutil.which("pdman", path=registry_env["PATH"])
    script = (f'p=$({exe} mount m) && test -x "$p/bin/sh" && echo hi > "$p/added" && '
              f'{exe} mount && {exe} mount --format json && {exe} unmount m && '
              f'echo after: $({exe} mount | wc -l)')
    done = pd("unshare", "sh", "-c", script)
    lines = done.stdout.splitlines()
    cid = pd("inspect", "m", "--format", "{{.Id}}").stdout.strip()
    short, path = lines[0].split()
    assert short == cid[:12] and path.endswith("/merged")
    listed = json.loads("\n".join(lines[1:-2]))
    assert listed == [{"id": cid, "names": ["m"], "mountpoint": path}]
    assert lines[-2:] == ["m", "after: 0"]
    # what was written through the mount is in the container's writable layer
    assert pd("start", "-a", "m").stdout == "hi\n"


def test_volume_export_import(registry_env: dict[str, str], busybox: str,
                              tmp_path: Path) -> None:
    pd = _pd(registry_env)
    pd("volume", "create", "src")
    pd("run", "--rm", "-v", "src:/data", busybox, "sh", "-c",
       "echo a > /data/a; mkdir /data/d; echo b > /data/d/b; chown 1000:1000 /data/d/b")
    archive = tmp_path / "out.tar"
    pd("volume", "export", "src", "--output", str(archive))
    with tarfile.open(archive) as tar:
        members = {m.name.lstrip("./"): m for m in tar.getmembers()}
    assert {"a", "d", "d/b"} <= set(members) and members["d/b"].uid == 1000
    pd("volume", "create", "dst")
    pd("volume", "import", "dst", str(archive))
    out = pd("run", "--rm", "-v", "dst:/data", busybox, "sh", "-c",
             "cat /data/a /data/d/b; stat -c %u /data/d/b").stdout.split()
    assert out == ["a", "b", "1000"]
    # stdout and stdin, as scripts pipe them
    exe = shutil.which("pdman", path=registry_env["PATH"])
    pd("volume", "create", "piped")
    done = _sh(registry_env, f"{exe} volume export src | {exe} volume import piped -")
    assert done.returncode == 0, done.stderr
    assert pd("run", "--rm", "-v", "piped:/data", busybox, "cat", "/data/d/b").stdout == "b\n"
    missing = pd("volume", "export", "nosuch", "-o", str(tmp_path / "x.tar"), check=False)
    assert missing.returncode == 125 and "nosuch" in missing.stderr
    assert not (tmp_path / "x.tar").exists() and not (tmp_path / "x.tar.partial").exists()


def test_volume_import_refuses_entries_outside(registry_env: dict[str, str],
                                               tmp_path: Path) -> None:
    pd = _pd(registry_env)
    pd("volume", "create", "target")
    mountpoint = Path(json.loads(pd("volume", "inspect", "target").stdout)[0]["Mountpoint"])
    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        data = b"escaped\n"
        info = tarfile.TarInfo("../escape")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    bad = pd("volume", "import", "target", str(hostile), check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert not (mountpoint.parent / "escape").exists()


def test_search(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    registry = busybox.split("/")[0]
    out = pd("search", "--tls-verify=false", f"{registry}/busy").stdout.splitlines()
    assert out[0].split() == ["NAME", "DESCRIPTION"]
    # the test bed's registry is shared by the run: other tests push their own repositories
    found = [ln.split()[0] for ln in out[1:]]
    assert f"{registry}/busybox" in found and all("busy" in n for n in found), found
    # REGISTRY/: every repository it lists, --limit of them
    names = pd("search", "--tls-verify=false", "--format", "{{.Name}}",
               f"{registry}/").stdout.split()
    assert f"{registry}/busybox" in names and len(names) >= 2
    assert len(pd("search", "--tls-verify=false", "--limit", "1", "--format", "{{.Name}}",
                  f"{registry}/").stdout.split()) == 1
    rows = json.loads(pd("search", "--tls-verify=false", "--format", "json",
                         f"{registry}/busybox").stdout)
    assert rows[0]["Index"] == registry and rows[0]["Name"] == f"{registry}/busybox"
    assert pd("search", "--tls-verify=false", "--filter", "is-official",
              f"{registry}/busybox", "--format", "{{.Name}}").stdout == ""
    tags = pd("search", "--tls-verify=false", "--list-tags",
              f"{registry}/busybox").stdout.splitlines()
    assert tags[0].split() == ["NAME", "TAG"] and [f"{registry}/busybox", "latest"] in \
        [ln.split() for ln in tags[1:]]


def test_container_runlabel(registry_env: dict[str, str], busybox: str,
                            tmp_path: Path) -> None:
    pd = _pd(registry_env)
    (tmp_path / "Containerfile").write_text(
        f"FROM {busybox}\n"
        'LABEL RUN="podman run --rm --name NAME -e N=\\$NAME IMAGE env"\n')
    pd("build", "-q", "-t", "localhost/lbl", str(tmp_path))
    shown = pd("container", "runlabel", "--display", "RUN", "localhost/lbl").stdout
    assert shown == "command: podman run --rm --name lbl -e N=lbl localhost/lbl:latest env\n"
    assert "N=lbl" in pd("container", "runlabel", "RUN", "localhost/lbl").stdout.split()
    assert "N=other" in pd("container", "runlabel", "--name", "other", "RUN",
                           "localhost/lbl").stdout.split()
    missing = pd("container", "runlabel", "NOPE", "localhost/lbl", check=False)
    assert missing.returncode == 125
    assert "cannot find the value of label: NOPE in image: localhost/lbl" in missing.stderr


def test_container_clone(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "orig", "-e", "KEPT=yes", "-v", "/anon", "-w", "/tmp",
       "--label", "team=a", busybox, "sh", "-c", "echo $KEPT $(pwd) $(hostname); "
       "ls /anon; touch /anon/mine")
    pd("start", "-a", "orig")
    cid = pd("container", "clone", "orig").stdout.strip()
    info = json.loads(pd("inspect", "orig-clone").stdout)[0]
    assert info["Id"] == cid and info["Config"]["Labels"]["team"] == "a"
    # the same command, environment and working directory; its own hostname and an
    # anonymous volume of its own (empty: the original's file is not in it)
    out = pd("start", "-a", "orig-clone").stdout.split()
    assert out == ["yes", "/tmp", cid[:12]]
    orig_vol = [m["Name"] for m in json.loads(pd("inspect", "orig").stdout)[0]["Mounts"]]
    clone_vol = [m["Name"] for m in info["Mounts"]]
    assert orig_vol != clone_vol
    # NAME argument, --run, --destroy
    pd("container", "clone", "--run", "--destroy", "orig", "second")
    assert pd("container", "exists", "orig", check=False).returncode == 1
    assert pd("wait", "second").stdout.strip() == "0"
    missing = pd("container", "clone", "nosuch", check=False)
    assert missing.returncode == 125 and "no such container" in missing.stderr


def test_update_is_refused_where_limits_cannot_be_enforced(registry_env: dict[str, str],
                                                            busybox: str) -> None:
    pd = _pd(registry_env)
    pd("create", "--name", "u", busybox, "true")
    none = pd("update", "u", check=False)
    assert none.returncode == 125 and "no resource limits" in none.stderr
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        print("SKIP-REASON: cgroup v2 here: update's limits are tested in the VM tier "
              "(tests/vm/test_update_vm.py)")
        return
    bad = pd("update", "--memory", "64m", "u", check=False)
    assert bad.returncode == 125 and "Traceback" not in bad.stderr and "--memory" in bad.stderr
    # nothing recorded
    assert json.loads(pd("inspect", "u").stdout)[0]["HostConfig"]["Memory"] == 0
