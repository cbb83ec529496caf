"""`update` on a real systemd host (issue 13), inside the VM: a running container's
limits changed in its cgroup at once, and kept for its next start."""

from __future__ import annotations

from tests.vm.conftest import Pd, cgroup_of, inspect, wait_running

MiB = 1024 * 1024


def test_update_changes_a_running_containers_limits(pd: Pd, busybox: str) -> None:
    pd("run", "-d", "--network", "none", "--name", "up", "--memory", "64m", busybox,
       "sleep", "600")
    pid = wait_running(pd, "up")["State"]["Pid"]
    cg = cgroup_of(pid)
    assert (cg / "memory.max").read_text().strip() == str(64 * MiB)
    out = pd("update", "--memory", "128m", "--cpus", "0.5", "up").stdout.strip()
    doc = inspect(pd, "up")
    assert out == doc["Id"]
    assert (cg / "memory.max").read_text().strip() == str(128 * MiB)
    assert (cg / "cpu.max").read_text().split()[0] == "50000"
    assert doc["HostConfig"]["Memory"] == 128 * MiB
    # kept: the next start gets the new limits
    pd("stop", "-t", "0", "up")
    pd("start", "up")
    pid = wait_running(pd, "up")["State"]["Pid"]
    assert (cgroup_of(pid) / "memory.max").read_text().strip() == str(128 * MiB)
    pd("rm", "-f", "up")
