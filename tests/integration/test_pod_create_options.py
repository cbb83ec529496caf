"""`pod create` options beyond the first increment of issue #17, as the unprivileged
user: the pod's resource limits (refused here, where they cannot be enforced: the
VM tier's tests/vm/test_pod_limits_vm.py proves them on a systemd host) and the
infra container's options that its members share.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.bed.runner import call, pod_inspect

V2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()


pd = call


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


@pytest.mark.skipif(V2, reason="this host has cgroup v2: pod limits may be enforceable "
                               "here (tests/vm covers enforcement)")
@pytest.mark.parametrize(("flags", "named"), [
    (["--memory", "64m"], "--memory"),
    (["--cpus", "0.5", "--memory", "64m", "--memory-swap", "128m"],
     "--memory, --memory-swap, --cpus"),
    (["--cpu-shares", "512"], "--cpu-shares"),
    (["--cpuset-cpus", "0"], "--cpuset-cpus"),
    (["--cpuset-mems", "0"], "--cpuset-mems"),
])
def test_pod_limits_are_refused_where_they_cannot_be_enforced(env: dict[str, str],
                                                              flags: list[str],
                                                              named: str) -> None:
    done = pd(env, "pod", "create", "--name", "limited", *flags, check=False)
    assert done.returncode == 125, done.stderr
    assert f"cannot enforce {named} on this host" in done.stderr
    assert "cgroup v2" in done.stderr                    # why
    assert "enable-linger" in done.stderr                # what fixes it
    # nothing was made: no pod, no infra container
    assert pd(env, "pod", "ps", "-q").stdout == ""
    assert pd(env, "ps", "-aq").stdout == ""


@pytest.mark.skipif(V2, reason="this host has cgroup v2: --cgroup-parent may be usable")
def test_pod_cgroup_parent_is_refused_with_the_fix(env: dict[str, str]) -> None:
    done = pd(env, "pod", "create", "--cgroup-parent", "mine.slice", check=False)
    assert done.returncode == 125
    assert "cannot use --cgroup-parent mine.slice on this host" in done.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""


@pytest.mark.parametrize(("flags", "message"), [
    (["--cpus", "0"], "invalid --cpus 0"),
    (["--memory", "1k"], "--memory 1k is too small"),
    (["--memory-swap", "64m"], "--memory-swap needs --memory"),
    (["--cpuset-cpus", "1-0"], "invalid --cpuset-cpus"),
    (["--cpuset-mems", "x"], "invalid --cpuset-mems"),
    (["--cpu-shares", "1"], "invalid --cpu-shares 1"),
])
def test_bad_pod_limits_are_usage_errors(env: dict[str, str], flags: list[str],
                                         message: str) -> None:
    done = pd(env, "pod", "create", *flags, check=False)
    assert done.returncode == 125
    assert message in done.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_a_container_of_a_pod_takes_no_cgroup_parent(env: dict[str, str], busybox: str) -> None:
    pd(env, "pod", "create", "--name", "cgp")
    try:
        done = pd(env, "create", "--pod", "cgp", "--cgroup-parent", "x.slice", busybox,
                  check=False)
        assert done.returncode == 125
        assert "give --cgroup-parent to `pdman pod create`" in done.stderr
        doc = pod_inspect(env, "cgp")
        assert doc["CreateCgroup"] is True and "MemoryLimit" not in doc
    finally:
        pd(env, "pod", "rm", "-f", "cgp")


def test_pod_device_pid_and_sysctl_reach_its_containers(env: dict[str, str],
                                                         busybox: str) -> None:
    mine = os.readlink("/proc/self/ns/pid")
    pd(env, "pod", "create", "--name", "dps", "--device", "/dev/zero:/dev/myzero",
       "--pid", "host", "--sysctl", "net.ipv4.ping_group_range=0 0",
       "--sysctl", "kernel.msgmax=12345")
    try:
        out = pd(env, "run", "--rm", "--pod", "dps", busybox, "sh", "-c",
                 "head -c 3 /dev/myzero | od -An -tx1; readlink /proc/self/ns/pid; "
                 f"test -d /proc/{os.getpid()} && echo seen; "
                 "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/msgmax"
                 ).stdout.splitlines()
        assert out[0].split() == ["00"] * 3                  # the pod's device
        assert out[1:3] == [mine, "seen"]                    # the host's PID namespace
        assert out[3].split() == ["0", "0"]                  # the pod's network namespace
        assert out[4] == "12345"                             # the pod's IPC namespace
        # a container's own --pid wins over the pod's
        own = pd(env, "run", "--rm", "--pod", "dps", "--pid", "private", busybox,
                 "sh", "-c", "echo $$").stdout.strip()
        assert own == "1"
        doc = pod_inspect(env, "dps")
        assert doc["InfraConfig"]["pid_ns"] == "host"
        assert doc["Devices"][0]["PathOnHost"] == "/dev/zero"
        assert doc["Devices"][0]["PathInContainer"] == "/dev/myzero"
    finally:
        pd(env, "pod", "rm", "-f", "dps")
    bad = pd(env, "pod", "create", "--sysctl", "kernel.hostname=x", check=False)
    assert bad.returncode == 125 and "kernel.hostname" in bad.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_pod_ip_mac_and_network_alias(env: dict[str, str], busybox: str) -> None:
    pd(env, "network", "create", "--subnet", "10.89.93.0/24", "podfixed")
    try:
        pd(env, "pod", "create", "--name", "fixedpod", "--network", "podfixed",
           "--ip", "10.89.93.50", "--mac-address", "92:d0:c6:0a:29:34",
           "--network-alias", "webalias")
        pd(env, "run", "-d", "--pod", "fixedpod", "--name", "member", busybox, "sleep", "600")
        out = pd(env, "exec", "member", "ip", "addr", "show", "eth0").stdout
        assert "inet 10.89.93.50/24" in out and "link/ether 92:d0:c6:0a:29:34" in out
        # another container of the network finds the pod by its alias and by its name
        # (pdman's names on a network are /etc/hosts lines)
        hosts = pd(env, "run", "--rm", "--network", "podfixed", busybox, "cat",
                   "/etc/hosts").stdout
        line = next(ln.split() for ln in hosts.splitlines() if "webalias" in ln)
        assert line[0] == "10.89.93.50" and "fixedpod" in line, hosts
        infra = pod_inspect(env, "fixedpod")["InfraConfig"]
        assert infra["StaticIP"] == "10.89.93.50"
        assert infra["StaticMAC"] == "92:d0:c6:0a:29:34"
        assert infra["NetworkAliases"] == ["webalias"]
    finally:
        pd(env, "pod", "rm", "-f", "fixedpod", check=False)
        pd(env, "network", "rm", "-f", "podfixed", check=False)
    bad = pd(env, "pod", "create", "--ip", "10.89.93.60", check=False)
    assert bad.returncode == 125 and "user-defined network" in bad.stderr
    bad = pd(env, "pod", "create", "--network-alias", "x", check=False)
    assert bad.returncode == 125 and "user-defined networks" in bad.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_pod_dns_search_options_no_hosts_uts_and_label_file(env: dict[str, str],
                                                             busybox: str,
                                                             tmp_path: Path) -> None:
    labels = tmp_path / "labels"
    labels.write_text("# the pod's\ntier=web\nowner=ops\n")
    pd(env, "pod", "create", "--name", "dnspod", "--dns-search", "example.test",
       "--dns-option", "ndots:3", "--label-file", str(labels), "--label", "owner=dev")
    try:
        out = pd(env, "run", "--rm", "--pod", "dnspod", busybox, "cat",
                 "/etc/resolv.conf").stdout
        assert "search example.test" in out and "options ndots:3" in out, out
        doc = pod_inspect(env, "dnspod")
        assert doc["Labels"] == {"tier": "web", "owner": "dev"}
        assert doc["InfraConfig"]["DNSSearch"] == ["example.test"]
        assert doc["InfraConfig"]["DNSOption"] == ["ndots:3"]
    finally:
        pd(env, "pod", "rm", "-f", "dnspod")
    # --no-hosts: the image's own /etc/hosts (busybox has none), not pdman's
    pd(env, "pod", "create", "--name", "nohosts", "--no-hosts")
    try:
        out = pd(env, "run", "--rm", "--pod", "nohosts", busybox, "sh", "-c",
                 "grep -c nohosts /etc/hosts 2>/dev/null || echo none").stdout.strip()
        assert out in ("none", "0"), out
        assert pod_inspect(env, "nohosts")["InfraConfig"]["NoManageHosts"] is True
    finally:
        pd(env, "pod", "rm", "-f", "nohosts")
    # --uts host: the host's hostname in every container of the pod
    pd(env, "pod", "create", "--name", "utshost", "--uts", "host")
    try:
        out = pd(env, "run", "--rm", "--pod", "utshost", busybox, "hostname").stdout.strip()
        assert out == socket.gethostname()
        assert pod_inspect(env, "utshost")["InfraConfig"]["uts_ns"] == "host"
    finally:
        pd(env, "pod", "rm", "-f", "utshost")
    bad = pd(env, "pod", "create", "--uts", "host", "--hostname", "x", check=False)
    assert bad.returncode == 125 and "hostname" in bad.stderr


def test_pod_volume_and_volumes_from_reach_every_container(env: dict[str, str],
                                                           busybox: str,
                                                           tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "given").write_text("from the host\n")
    pd(env, "create", "--name", "donor", "-v", "donorvol:/donor", busybox, "true")
    pd(env, "pod", "create", "--name", "volpod", "-v", f"{shared}:/shared",
       "-v", "podvol:/data", "--volumes-from", "donor")
    try:
        pd(env, "run", "--rm", "--pod", "volpod", busybox, "sh", "-c",
           "echo one > /data/f; echo d > /donor/f; cat /shared/given > /shared/copy")
        out = pd(env, "run", "--rm", "--pod", "volpod", busybox, "sh", "-c",
                 "cat /data/f /donor/f").stdout
        assert out == "one\nd\n"
        assert (shared / "copy").read_text() == "from the host\n"
        mounts = {m["Destination"]: m for m in pod_inspect(env, "volpod")["Mounts"]}
        assert mounts["/data"]["Type"] == "volume" and mounts["/data"]["Name"] == "podvol"
        assert mounts["/shared"]["Source"] == str(shared)
        assert "/donor" in mounts
    finally:
        pd(env, "pod", "rm", "-f", "volpod")
        pd(env, "rm", "-f", "donor")
    # the pod's volume outlives it, as a named volume does
    assert "podvol" in pd(env, "volume", "ls", "-q").stdout.split()
    pd(env, "volume", "rm", "podvol", "donorvol")


def test_container_clone_into_a_pod_and_of_a_pods_container(env: dict[str, str],
                                                            busybox: str) -> None:
    pd(env, "pod", "create", "--name", "clonepod", "--hostname", "podhost")
    pd(env, "run", "-d", "--pod", "clonepod", "--name", "srv", busybox, "sh", "-c",
       "mkdir -p /w && echo served > /w/index.html && exec httpd -f -p 8080 -h /w")
    pd(env, "create", "--name", "loner", busybox, "sh", "-c",
       "hostname; wget -q -O - http://localhost:8080/")
    try:
        # a container outside any pod, cloned into it: the pod's network and hostname
        pd(env, "container", "clone", "--pod", "clonepod", "loner", "inpod")
        out = pd(env, "start", "-a", "inpod").stdout.split()
        assert out == ["podhost", "served"], out
        members = pd(env, "ps", "-a", "--filter", "pod=clonepod", "--format",
                     "{{.Names}}").stdout.split()
        assert "inpod" in members and "loner" not in members
        # a member's clone stays in its pod
        pd(env, "container", "clone", "inpod", "again")
        assert pd(env, "start", "-a", "again").stdout.split() == ["podhost", "served"]
        names = {c["Name"] for c in pod_inspect(env, "clonepod")["Containers"]}
        assert {"srv", "inpod", "again"} <= names
        # the infra container is the pod's own
        infra = pod_inspect(env, "clonepod")["InfraContainerID"]
        bad = pd(env, "container", "clone", infra, check=False)
        assert bad.returncode == 125 and "infra container" in bad.stderr
        bad = pd(env, "container", "clone", "--pod", "nosuchpod", "loner", check=False)
        assert bad.returncode != 0 and "nosuchpod" in bad.stderr
    finally:
        pd(env, "pod", "rm", "-f", "clonepod", check=False)
        pd(env, "rm", "-f", "loner", check=False)
    assert pd(env, "ps", "-aq").stdout == ""
