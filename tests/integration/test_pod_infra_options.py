"""`pod create --shm-size/--security-opt/--share-parent/--uidmap/--gidmap/--ip6`, as the
unprivileged user, with podman 4.3's behaviour: the pod's /dev/shm size reaches the
containers sharing its IPC namespace, its security options are the infra container's
only, --share-parent=false makes no pod cgroup, and the ID maps are the pod's user
namespace, which every member runs in."""

from __future__ import annotations

import os

import pytest

from tests.bed.runner import call, pod_inspect


pd = call


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


def shm_kib(env: dict[str, str], *run_args: str) -> int:
    out = pd(env, "run", "--rm", *run_args, "df", "-k", "/dev/shm").stdout
    return int(out.splitlines()[-1].split()[1])


def infra_pid(env: dict[str, str], pod: str) -> int:
    infra = pod_inspect(env, pod)["InfraContainerID"]
    return int(pd(env, "inspect", "--format", "{{.State.Pid}}", infra).stdout)


def status_field(pid: int | str, field: str) -> str:
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_pod_shm_size_reaches_the_members_sharing_its_ipc(env: dict[str, str],
                                                          busybox: str) -> None:
    pd(env, "pod", "create", "--name", "shm", "--shm-size", "32m")
    assert shm_kib(env, "--pod", "shm", busybox) == 32 * 1024
    # podman: a member sharing the pod's IPC namespace has the pod's /dev/shm, its
    # own --shm-size is not used
    assert shm_kib(env, "--pod", "shm", "--shm-size", "8m", busybox) == 32 * 1024
    # a pod not sharing IPC: its members keep the default (or their own) size
    pd(env, "pod", "create", "--name", "noipc", "--share", "net", "--shm-size", "32m")
    assert shm_kib(env, "--pod", "noipc", busybox) == 64 * 1024
    assert shm_kib(env, "--pod", "noipc", "--shm-size", "8m", busybox) == 8 * 1024
    done = pd(env, "pod", "create", "--shm-size", "lots", check=False)
    assert done.returncode == 125 and "lots" in done.stderr
    pd(env, "pod", "rm", "-f", "shm", "noipc")


def test_pod_security_opt_is_the_infra_containers(env: dict[str, str], busybox: str) -> None:
    pd(env, "pod", "create", "--name", "sec", "--security-opt", "no-new-privileges")
    assert pod_inspect(env, "sec")["security_opt"] == ["no-new-privileges"]
    pd(env, "run", "-d", "--pod", "sec", "--name", "member", busybox, "sleep", "1000")
    assert status_field(infra_pid(env, "sec"), "NoNewPrivs") == "1"
    # as podman 4.3: the members keep their own security options
    member_pid = pd(env, "inspect", "--format", "{{.State.Pid}}", "member").stdout.strip()
    assert status_field(member_pid, "NoNewPrivs") == "0"
    done = pd(env, "pod", "create", "--security-opt", "bogus=1", check=False)
    assert done.returncode == 125 and "bogus" in done.stderr
    assert pd(env, "pod", "ps", "--format", "{{.Name}}").stdout.split() == ["sec"]
    pd(env, "pod", "rm", "-f", "sec")


def test_share_parent_false_makes_no_pod_cgroup(env: dict[str, str], busybox: str) -> None:
    pd(env, "pod", "create", "--name", "own", "--share-parent=false")
    pd(env, "pod", "create", "--name", "shared", "--share-parent=true")
    assert pod_inspect(env, "own")["CreateCgroup"] is False
    assert pod_inspect(env, "shared")["CreateCgroup"] is True
    assert pd(env, "run", "--rm", "--pod", "own", busybox, "echo", "ok").stdout == "ok\n"
    pd(env, "pod", "rm", "-f", "own", "shared")


def test_pod_id_maps_are_its_members_user_namespace(env: dict[str, str],
                                                    busybox: str) -> None:
    pd(env, "pod", "create", "--name", "mapped", "--uidmap", "0:1:2000", "--gidmap", "0:1:2000")
    assert pod_inspect(env, "mapped")["InfraConfig"]["userns"] == "private"
    pd(env, "run", "-d", "--pod", "mapped", "--name", "m1", busybox, "sleep", "1000")
    # container 0..1999 -> the user's namespace IDs 1..2000: the first subordinate IDs
    first_sub = None
    with open("/etc/subuid", encoding="utf-8") as f:
        for line in f:
            user, start, _count = line.strip().split(":")
            if user in (os.environ.get("USER", ""), str(os.getuid()), "pdmantest"):
                first_sub = int(start)
    # (and, as run --uidmap, the user's own ID past them: runtime/userns_mode.py)
    uid_map = pd(env, "exec", "m1", "cat", "/proc/self/uid_map").stdout.split()
    assert uid_map == ["0", str(first_sub), "2000", "2000", str(os.getuid()), "1"]
    gid_map = pd(env, "exec", "m1", "cat", "/proc/self/gid_map").stdout.split()
    assert gid_map == ["0", str(first_sub), "2000", "2000", str(os.getgid()), "1"]
    # one user namespace: the infra's, which the member joined
    member_pid = pd(env, "inspect", "--format", "{{.State.Pid}}", "m1").stdout.strip()
    assert os.readlink(f"/proc/{member_pid}/ns/user") == \
        os.readlink(f"/proc/{infra_pid(env, 'mapped')}/ns/user")
    # its root filesystem is its root's under that map
    assert pd(env, "exec", "m1", "stat", "-c", "%u:%g", "/bin").stdout.strip() == "0:0"
    assert pd(env, "exec", "m1", "sh", "-c", "echo hi > /root/f && cat /root/f").stdout == "hi\n"
    # a member cannot bring maps of its own
    done = pd(env, "create", "--pod", "mapped", "--uidmap", "0:1:10", busybox, check=False)
    assert done.returncode == 125 and "share its user namespace" in done.stderr
    done = pd(env, "pod", "create", "--uidmap", "0:1:10", "--userns", "keep-id", check=False)
    assert done.returncode == 125
    # a clone of the pod: its member's clone runs in the clone's namespace, same maps
    pd(env, "pod", "clone", "--start", "mapped", "mapped2")
    assert pd(env, "exec", "m1-clone", "cat", "/proc/self/uid_map").stdout.split() == uid_map
    assert pd(env, "exec", "m1-clone", "stat", "-c", "%u:%g", "/bin").stdout.strip() == "0:0"
    # the members' root filesystems are owned for the pod's maps: no other ones for a
    # clone of a pod with containers, and no container of another namespace into it
    done = pd(env, "pod", "clone", "--uidmap", "0:1:500", "mapped", check=False)
    assert done.returncode == 125 and "user namespace" in done.stderr
    pd(env, "create", "--name", "plain", busybox, "true")
    done = pd(env, "container", "clone", "--pod", "mapped", "plain", check=False)
    assert done.returncode == 125 and "another user namespace" in done.stderr
    pd(env, "rm", "plain")
    pd(env, "pod", "rm", "-f", "mapped", "mapped2")
    assert pd(env, "ps", "-aq").stdout == ""


def test_pod_ip6_needs_a_user_defined_network(env: dict[str, str]) -> None:
    done = pd(env, "pod", "create", "--ip6", "fd00::5", check=False)
    assert done.returncode == 125 and "user-defined network" in done.stderr
    # as run --ip6: an IPv6 address in a subnet of the network
    pd(env, "network", "create", "net4only")
    done = pd(env, "pod", "create", "--network", "net4only", "--ip6", "nonsense", check=False)
    assert done.returncode == 125 and "not an IPv6 address" in done.stderr
    done = pd(env, "pod", "create", "--network", "net4only", "--ip6", "fd00::5", check=False)
    assert done.returncode == 125 and "not in a subnet" in done.stderr
    assert pd(env, "pod", "ps", "-q").stdout == ""
    assert pd(env, "ps", "-aq").stdout == ""
    pd(env, "network", "rm", "net4only")


def test_pod_userns_keep_id_is_its_members(env: dict[str, str], busybox: str,
                                           tmp_path: "os.PathLike[str]") -> None:
    pd(env, "pod", "create", "--name", "kid", "--userns", "keep-id")
    assert pod_inspect(env, "kid")["InfraConfig"]["userns"] == "keep-id"
    pd(env, "run", "-d", "--pod", "kid", "--name", "k1", busybox, "sleep", "1000")
    # keep-id: the member runs as the user, who is itself in the pod's namespace
    assert pd(env, "exec", "k1", "id", "-u").stdout.strip() == str(os.getuid())
    uid_map = pd(env, "exec", "k1", "cat", "/proc/self/uid_map").stdout
    assert f"{os.getuid()} {os.getuid()} 1".split() == next(
        line.split() for line in uid_map.splitlines() if line.split()[0] == str(os.getuid()))
    member_pid = pd(env, "inspect", "--format", "{{.State.Pid}}", "k1").stdout.strip()
    assert os.readlink(f"/proc/{member_pid}/ns/user") == \
        os.readlink(f"/proc/{infra_pid(env, 'kid')}/ns/user")
    done = pd(env, "create", "--pod", "kid", "--userns", "host", busybox, check=False)
    assert done.returncode == 125 and "user namespace of its own" in done.stderr
    done = pd(env, "pod", "create", "--userns", "bogus", check=False)
    assert done.returncode == 125 and "bogus" in done.stderr
    # kube play --userns: the pods it makes get it
    yaml = os.path.join(str(tmp_path), "pod.yaml")
    with open(yaml, "w", encoding="utf-8") as f:
        f.write(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: kp\nspec:\n  containers:\n"
                f"  - name: c\n    image: {busybox}\n    command: [sleep, '1000']\n")
    pd(env, "kube", "play", "--userns", "keep-id", yaml)
    assert pd(env, "exec", "kp-c", "id", "-u").stdout.strip() == str(os.getuid())
    pd(env, "kube", "down", yaml)
    pd(env, "kube", "play", yaml)
    assert pd(env, "exec", "kp-c", "id", "-u").stdout.strip() == "0"
    pd(env, "kube", "down", yaml)
    pd(env, "pod", "rm", "-f", "kid")
    assert pd(env, "ps", "-aq").stdout == ""
