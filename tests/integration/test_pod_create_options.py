"""`pod create` options beyond the first increment of issue #17, as the unprivileged
user: the pod's resource limits (refused here, where they cannot be enforced: the
VM tier's tests/vm/test_pod_limits_vm.py proves them on a systemd host) and the
infra container's options that its members share.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

V2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


def pod_inspect(env: dict[str, str], pod: str) -> dict:
    doc = json.loads(pd(env, "pod", "inspect", pod).stdout)
    return doc[0] if isinstance(doc, list) else doc


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
