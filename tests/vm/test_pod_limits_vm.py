"""A pod's resource limits on a real systemd host (issue 17), inside the VM: the pod is a
transient slice in the user's pdman.slice, its containers' scopes are inside it, and
its --memory and --cpus bound the pod's containers together.

Checked as a user would: `pod inspect`, exit statuses, `systemctl --user`, and the
cgroup files of the pod's slice (the parent of every member's cgroup).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.vm.conftest import Pd, cgroup_of, wait_running

MiB = 1024 * 1024
# busybox dd reads its 40 MB block from /dev/zero into memory, then blocks writing it
# into a pipe nobody reads: 40 MB resident for as long as the container runs
HOLD_40MB = "dd if=/dev/zero bs=40M count=1 | sleep 1000"
ALLOC_40MB = ["dd", "if=/dev/zero", "of=/dev/null", "bs=40M", "count=1"]
BUSY = ["sh", "-c", "while :; do :; done"]


def systemctl_user(*args: str) -> str:
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=60, check=False).stdout


def pod_inspect(pd: Pd, pod: str) -> dict:
    doc = json.loads(pd("pod", "inspect", pod).stdout)
    return doc[0] if isinstance(doc, list) else doc


def events(cg: Path, name: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in (cg / name).read_text().splitlines())}


def wait_for(check, what: str, timeout: float = 120):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:.0f} s", pytrace=False)


def member_cgroups(pd: Pd, pod_id: str, *names: str) -> tuple[Path, dict[str, Path]]:
    """The pod's slice, checked to be the parent of each member's own cgroup, and those
    cgroups by name (every `inspect` costs seconds under emulation: asked once)."""
    cgroups = {}
    for name in names:
        cg = cgroup_of(wait_running(pd, name)["State"]["Pid"])
        assert cg.name.startswith("pdman-") and cg.name.endswith(".scope"), cg
        cgroups[name] = cg
    (slice_dir,) = {cg.parent for cg in cgroups.values()}
    assert slice_dir.name == f"pdman-pod_{pod_id}.slice", slice_dir
    assert slice_dir.parent.name == "pdman.slice"
    return slice_dir, cgroups


def test_two_containers_of_a_pod_share_its_memory_limit(pd: Pd, busybox: str) -> None:
    # --memory-swap = --memory: no swap, so the 40 MB held cannot leave the pod's RAM
    pod_id = pd("pod", "create", "--name", "mempod", "--network", "none", "--memory", "64m",
                "--memory-swap", "64m").stdout.strip()
    try:
        doc = pod_inspect(pd, "mempod")
        assert doc["MemoryLimit"] == 64 * MiB and doc["MemorySwap"] == 64 * MiB
        pd("run", "-d", "--pod", "mempod", "--name", "holder", busybox, "sh", "-c", HOLD_40MB)
        slice_dir, cgroups = member_cgroups(pd, pod_id, "holder")
        # made when its first container started
        assert pod_inspect(pd, "mempod")["CgroupPath"] == f"pdman-pod_{pod_id}.slice"
        assert (slice_dir / "memory.max").read_text().strip() == str(64 * MiB)
        holder_cg = cgroups["holder"]
        # each container alone is unlimited: the limit is the pod's
        assert (holder_cg / "memory.max").read_text().strip() == "max"
        wait_for(lambda: int((holder_cg / "memory.current").read_text()) >= 40 * MiB,
                 "the holder did not hold its 40 MB")
        # 40 MB more in a second container of the pod: 80 MB > 64 MB together
        second = pd("run", "--pod", "mempod", "--name", "second", busybox, *ALLOC_40MB,
                    check=False)
        oom = events(slice_dir, "memory.events")
        assert oom["oom_kill"] >= 1, (oom, second.returncode, second.stderr)
        # the kernel killed one of the two: the second's dd (137), or the holder's
        held = int((holder_cg / "memory.current").read_text()) if holder_cg.exists() else 0
        assert second.returncode == 137 or held < 40 * MiB, (second.returncode, held)
    finally:
        pd("pod", "rm", "-f", "mempod", check=False)
    # the pod's slice goes with the pod
    assert f"pdman-pod_{pod_id}.slice" not in systemctl_user("list-units", "--all",
                                                             "--no-legend")


def test_the_same_allocations_in_a_pod_without_limits_succeed(pd: Pd, busybox: str) -> None:
    pod_id = pd("pod", "create", "--name", "freepod", "--network", "none").stdout.strip()
    try:
        pd("run", "-d", "--pod", "freepod", "--name", "freeholder", busybox, "sh", "-c",
           HOLD_40MB)
        slice_dir, cgroups = member_cgroups(pd, pod_id, "freeholder")
        holder_cg = cgroups["freeholder"]
        wait_for(lambda: int((holder_cg / "memory.current").read_text()) >= 40 * MiB,
                 "the holder did not hold its 40 MB")
        done = pd("run", "--pod", "freepod", busybox, *ALLOC_40MB, check=False)
        assert done.returncode == 0, done.stderr
        assert events(slice_dir, "memory.events")["oom_kill"] == 0
        assert "MemoryLimit" not in pod_inspect(pd, "freepod")
    finally:
        pd("pod", "rm", "-f", "freepod", check=False)


def test_cpus_caps_the_pods_containers_together(pd: Pd, busybox: str) -> None:
    pod_id = pd("pod", "create", "--name", "cpupod", "--network", "none", "--cpus", "0.5",
                "--cpu-shares", "512").stdout.strip()
    try:
        doc = pod_inspect(pd, "cpupod")
        assert doc["CPUQuota"] == 50000 and doc["CPUPeriod"] == 100000
        assert doc["CPUShares"] == 512
        for name in ("spin1", "spin2"):
            pd("run", "-d", "--pod", "cpupod", "--name", name, busybox, *BUSY)
        slice_dir, cgroups = member_cgroups(pd, pod_id, "spin1", "spin2")
        assert (slice_dir / "cpu.max").read_text().split() == ["50000", "100000"]
        assert (slice_dir / "cpu.weight").read_text().strip() == str(1 + (512 - 2) * 9999 // 262142)
        for scope in cgroups.values():
            assert (scope / "cpu.max").read_text().split()[0] == "max"  # not each one's
        # the kernel throttles the pod: its two busy loops together exceed half a CPU
        wait_for(lambda: events(slice_dir, "cpu.stat")["nr_throttled"] > 0,
                 "the pod's slice was never throttled")
        before, t0 = events(slice_dir, "cpu.stat")["usage_usec"], time.monotonic()
        time.sleep(5)
        used = events(slice_dir, "cpu.stat")["usage_usec"] - before
        wall = (time.monotonic() - t0) * 1e6
        # two unbounded loops would use up to the guest's 2 CPUs; the pod gets half of one
        assert used / wall < 0.75, f"the pod used {used / wall:.2f} CPUs"
    finally:
        pd("pod", "rm", "-f", "cpupod", check=False)
