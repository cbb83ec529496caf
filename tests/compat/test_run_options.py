"""The run/create options of lower priority (issue #13), each as a podman user checks
it: environment, labels and annotations, ports, groups, generated files, namespaces,
/dev/shm, the time zone, --read-only's tmpfs, --pidfile, --requires, --rmi,
--init-path, --oom-score-adj and --volumes-from."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from tests.bed.runner import run_pdman
from tests.compat.test_scripts import _pd


def test_environment_options(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    env = {**registry_env, "FROM_HOST": "yes"}
    out = run_pdman("run", "--rm", "--env-host", "-e", "X=1", busybox, "sh", "-c",
                    "echo $FROM_HOST $X", env=env).stdout
    assert out == "yes 1\n"
    assert run_pdman("run", "--rm", "-e", "X=1", busybox, "sh", "-c", "echo ${FROM_HOST:-no}",
                     env=env).stdout == "no\n"
    out = pd("run", "--rm", "--env-merge", "PATH=/opt/bin:${PATH}", busybox,
             "sh", "-c", "echo $PATH").stdout
    assert out.startswith("/opt/bin:/") and out.count("/opt/bin") == 1
    out = pd("run", "--rm", "--unsetenv", "TERM", "--unsetenv", "HOSTNAME", busybox,
             "env").stdout
    assert "TERM=" not in out and "HOSTNAME=" not in out and "PATH=" in out
    out = pd("run", "--rm", "--unsetenv-all", "-e", "ONLY=me", busybox, "/usr/bin/env").stdout
    assert sorted(ln.split("=")[0] for ln in out.split()) == ["HOME", "ONLY"]


def test_labels_annotations_expose(registry_env: dict[str, str], busybox: str,
                                   tmp_path: Path) -> None:
    pd = _pd(registry_env)
    labels = tmp_path / "labels"
    labels.write_text("# team labels\na=from-file\nb=2\n")
    pd("create", "--name", "c", "--label-file", str(labels), "--label", "a=flag",
       "--annotation", "note=hello", "--expose", "8080", "--expose", "9000-9001/udp",
       busybox, "true")
    info = json.loads(pd("inspect", "c").stdout)[0]["Config"]
    assert info["Labels"]["a"] == "flag" and info["Labels"]["b"] == "2"
    assert info["Annotations"] == {"note": "hello"}
    assert {"8080/tcp", "9000/udp", "9001/udp"} <= set(info["ExposedPorts"])


def test_groups_hosts_dns(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    groups = set(pd("run", "--rm", "--group-add", "123", "--group-add", "nobody", busybox,
                    "id", "-G").stdout.split())
    assert {"123", "65534"} <= groups
    bad = pd("run", "--rm", "--group-add", "nosuchgroup", busybox, "true", check=False)
    assert bad.returncode == 125 and "unable to find group nosuchgroup" in bad.stderr
    # the image's own /etc/hosts (busybox has none), not pdman's generated file
    assert "127.0.1.1" in pd("run", "--rm", busybox, "cat", "/etc/hosts").stdout
    hosts = pd("run", "--rm", "--no-hosts", busybox, "sh", "-c",
               "cat /etc/hosts 2>/dev/null; echo end").stdout
    assert hosts == "end\n"
    conf = pd("run", "--rm", "--dns-search", "example.org", "--dns-option", "ndots:3",
              busybox, "cat", "/etc/resolv.conf").stdout
    assert "search example.org" in conf and "options ndots:3" in conf


def test_shm_tz_read_only_tmpfs_namespaces(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    shm = pd("run", "--rm", "--shm-size", "8m", busybox, "grep", " /dev/shm ",
             "/proc/mounts").stdout
    assert "size=8192k" in shm
    tz = pd("run", "--rm", "--tz", "Asia/Tokyo", busybox, "md5sum", "/etc/localtime").stdout
    with open("/usr/share/zoneinfo/Asia/Tokyo", "rb") as f:
        assert tz.split()[0] == hashlib.md5(f.read()).hexdigest()
    bad = pd("run", "--rm", "--tz", "No/Where", busybox, "true", check=False)
    assert bad.returncode == 125 and "unknown time zone" in bad.stderr
    out = pd("run", "--rm", "--read-only", busybox, "sh", "-c",
             "touch /tmp/a /run/b /var/tmp/c && echo ok; touch /etc/x 2>/dev/null || echo ro"
             ).stdout.split()
    assert out == ["ok", "ro"]
    out = pd("run", "--rm", "--read-only", "--read-only-tmpfs=false", busybox, "sh", "-c",
             "touch /tmp/a 2>/dev/null || echo ro").stdout
    assert out == "ro\n"
    host = socket.gethostname()
    assert pd("run", "--rm", "--uts", "host", busybox, "hostname").stdout.strip() == host
    assert pd("run", "--rm", busybox, "hostname").stdout.strip() != host
    own = os.readlink("/proc/self/ns/ipc")
    assert pd("run", "--rm", "--ipc", "host", busybox, "readlink",
              "/proc/self/ns/ipc").stdout.strip() == own
    assert pd("run", "--rm", "--ipc", "private", busybox, "readlink",
              "/proc/self/ns/ipc").stdout.strip() != own


def test_pidfile_requires_rmi_oom_init_path(registry_env: dict[str, str], busybox: str,
                                            tmp_path: Path) -> None:
    pd = _pd(registry_env)
    pidfile = tmp_path / "pid"
    pd("run", "-d", "--name", "db", "--pidfile", str(pidfile), "--oom-score-adj", "500",
       busybox, "sleep", "600")
    pid = int(pidfile.read_text())
    assert pid == int(pd("inspect", "--format", "{{.State.Pid}}", "db").stdout)
    assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "500"
    lower = pd("run", "--rm", "--oom-score-adj", "-500", busybox, "true", check=False)
    assert lower.returncode == 125 and "oom-score-adj" in lower.stderr
    pd("stop", "-t", "0", "db")
    pd("run", "-d", "--name", "app", "--requires", "db", busybox, "sleep", "600")
    assert pd("inspect", "--format", "{{.State.Status}}", "db").stdout.strip() == "running"
    missing = pd("create", "--requires", "nosuch", busybox, "true", check=False)
    assert missing.returncode == 125 and "no such container" in missing.stderr
    # --init-path: the program --init runs as PID 1
    init = tmp_path / "myinit"
    init.write_text("#!/bin/sh\necho my-init \"$@\"\n")
    init.chmod(0o755)
    assert pd("run", "--rm", "--init", "--init-path", str(init), busybox,
              "true").stdout == "my-init -- true\n"
    # --rmi: the image goes once the container exits (and the container with it)
    pd("tag", busybox, "localhost/doomed:1")
    pd("run", "--rmi", "localhost/doomed:1", "true")
    assert pd("image", "exists", "localhost/doomed:1", check=False).returncode == 1
    assert pd("ps", "-a", "-q", "--filter", "ancestor=localhost/doomed:1").stdout == ""


def test_volumes_from(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    pd = _pd(registry_env)
    data = tmp_path / "bound"
    data.mkdir()
    pd("run", "--name", "src", "-v", "named:/named", "-v", "/anon", "-v", f"{data}:/bound",
       busybox, "sh", "-c", "echo n > /named/f; echo a > /anon/f; echo b > /bound/f")
    out = pd("run", "--rm", "--volumes-from", "src", busybox, "cat",
             "/named/f", "/anon/f", "/bound/f").stdout
    assert out == "n\na\nb\n"
    ro = pd("run", "--rm", "--volumes-from", "src:ro", busybox, "sh", "-c",
            "echo x > /named/g 2>/dev/null || echo read-only").stdout
    assert ro == "read-only\n"
    # the anonymous volume stays the first container's
    pd("run", "--name", "user", "--volumes-from", "src", busybox, "true")
    pd("rm", "-v", "user")
    assert pd("start", "-a", "src").returncode == 0
    assert pd("run", "--rm", "--volumes-from", "src", busybox, "cat", "/anon/f").stdout == "a\n"


def test_umask(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    out = pd("run", "--rm", "--umask", "0027", busybox, "sh", "-c",
             "umask; touch /tmp/f; stat -c %a /tmp/f").stdout.split()
    assert out == ["0027", "640"]
    bad = pd("run", "--rm", "--umask", "999", busybox, "true", check=False)
    assert bad.returncode == 125 and "invalid umask" in bad.stderr
