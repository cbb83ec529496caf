"""--cpu-period/--cpu-quota/--cpuset-mems and --cgroup-conf on a real systemd host
(issue 13), inside the VM: the values land in the container's own cgroup (cpu.max, the
named files), `update` changes them in a running container, inspect shows them under
podman's names; --cpuset-mems is refused (user@.service delegates no cpuset here)."""

from __future__ import annotations

from pathlib import Path

from tests.vm.conftest import Pd, cgroup_of, inspect, wait_running

RUN = ("run", "--network", "none")
MiB = 1024 * 1024


def test_cpu_quota_period_and_mems_reach_the_cgroup(pd: Pd, busybox: str) -> None:
    pd(*RUN, "-d", "--name", "cfs", "--cpu-quota", "20000", "--cpu-period", "50000",
       busybox, "sleep", "600")
    cg = cgroup_of(wait_running(pd, "cfs")["State"]["Pid"])
    assert (cg / "cpu.max").read_text().split() == ["20000", "50000"]
    host = inspect(pd, "cfs")["HostConfig"]
    assert (host["CpuQuota"], host["CpuPeriod"]) == (20000, 50000)
    # update: a new quota over the kept period, written at once
    pd("update", "--cpu-quota", "30000", "cfs")
    assert (cg / "cpu.max").read_text().split() == ["30000", "50000"]
    pd("rm", "-f", "-t", "0", "cfs")
    # user@.service delegates cpu, memory and pids here, not cpuset: refused, not ignored
    done = pd(*RUN, "--rm", "--cpuset-mems", "0", busybox, "true", check=False)
    assert done.returncode == 125
    assert "cannot enforce --cpuset-mems: the cpuset controller is not delegated" in done.stderr


def test_cgroup_conf_writes_the_named_file(pd: Pd, busybox: str) -> None:
    done = pd(*RUN, "--rm", "--cgroup-conf", f"memory.high={32 * MiB}", busybox, "sh", "-c",
              "cat /proc/self/cgroup")
    assert done.returncode == 0, done.stderr
    pd(*RUN, "-d", "--name", "conf", "--cgroup-conf", f"memory.high={32 * MiB}",
       "--cgroup-conf", "pids.max=50", busybox, "sleep", "600")
    cg: Path = cgroup_of(wait_running(pd, "conf")["State"]["Pid"])
    assert (cg / "memory.high").read_text().strip() == str(32 * MiB)
    assert (cg / "pids.max").read_text().strip() == "50"
    assert inspect(pd, "conf")["HostConfig"]["CgroupConf"] == {
        "memory.high": str(32 * MiB), "pids.max": "50"}
    pd("rm", "-f", "-t", "0", "conf")
    bad = pd(*RUN, "--rm", "--cgroup-conf", "memory.nosuchfile=1", busybox, "true",
             check=False)
    assert bad.returncode != 0 and "memory.nosuchfile" in bad.stderr
