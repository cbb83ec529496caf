"""Resource limits on a real systemd host (issue 7), inside the VM: the container's
transient scope in the user's pdman.slice, limits the kernel enforces, OOM kills seen
from the cgroup, stats, pause/unpause, and containers inside systemd services.

Everything is checked the way a user would: exit statuses, `inspect`, `ps`, `stats`,
`systemctl --user`, and the cgroup files of the container's own cgroup.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.vm.conftest import Background, Pd, cgroup_of, inspect, wait_running

MiB = 1024 * 1024
# the guest has no network device; `none` needs no pasta/slirp4netns either
RUN = ("run", "--network", "none")
# busybox dd allocates its block (bs) and fills it from /dev/zero: 200 MB resident
ALLOC_200MB = ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]


def systemctl_user(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_tier_runs_in_a_systemd_login_session() -> None:
    # what a user's shell has after logging in (pam_systemd + dbus-user-session)
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    assert runtime == f"/run/user/{os.getuid()}" and os.getuid() != 0
    assert os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").startswith("unix:path=")
    assert Path("/sys/fs/cgroup/cgroup.controllers").exists(), "cgroup v2 (unified)"
    own = Path("/proc/self/cgroup").read_text()
    assert re.search(r"^0::/user\.slice/user-\d+\.slice/session-\w+\.scope$", own, re.MULTILINE), own
    state = systemctl_user("is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state
    uid = os.getuid()
    delegated = Path(f"/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service/"
                     "cgroup.controllers").read_text().split()
    assert {"cpu", "memory", "pids"} <= set(delegated)


def test_memory_limit_oom_kills_and_says_so(pd: Pd, busybox: str) -> None:
    done = pd(*RUN, "--name", "oom", "--memory", "64m", busybox, *ALLOC_200MB, check=False)
    assert done.returncode == 137, done.stderr
    state = inspect(pd, "oom")["State"]
    assert state["OOMKilled"] is True
    assert state["ExitCode"] == 137
    ps = pd("ps", "-a", "--filter", "name=oom", "--format", "{{.Status}}").stdout
    assert ps.startswith("Exited (137)"), ps
    # its scope is gone with it
    assert "pdman-" not in systemctl_user("list-units", "--all", "--no-legend",
                                          "pdman-*.scope").stdout


def test_same_allocation_without_a_limit_succeeds(pd: Pd, busybox: str) -> None:
    done = pd(*RUN, "--name", "nolimit", busybox, *ALLOC_200MB, check=False)
    assert done.returncode == 0, done.stderr
    assert inspect(pd, "nolimit")["State"]["OOMKilled"] is False


def test_oom_of_a_child_is_seen_while_pid1_lives_on(pd: Pd, busybox: str) -> None:
    # docker's meaning of OOMKilled: any process of the container, from memory.events
    script = " ".join(ALLOC_200MB) + "; echo child=$?"
    done = pd(*RUN, "--name", "oomchild", "--memory", "64m", busybox, "sh", "-c", script,
              check=False)
    assert "child=137" in done.stdout, done.stdout + done.stderr
    assert inspect(pd, "oomchild")["State"]["OOMKilled"] is True
    assert done.returncode == 0


def test_exec_joins_the_container_cgroup_and_its_limits(pd: Pd, busybox: str) -> None:
    pd(*RUN, "-d", "--name", "execcg", "--memory", "64m", busybox, "sleep", "1000")
    pid = wait_running(pd, "execcg")["State"]["Pid"]
    # seen from inside: the exec'd shell is where the container's PID 1 is
    mine, first = pd("exec", "execcg", "sh", "-c",
                     "grep ^0:: /proc/self/cgroup; grep ^0:: /proc/1/cgroup").stdout.split()
    assert mine == first, (mine, first)
    assert cgroup_of(pid).name.startswith("pdman-")
    # and the container's memory limit holds for it
    done = pd("exec", "execcg", *ALLOC_200MB, check=False)
    assert done.returncode == 137, done.stdout + done.stderr
    assert inspect(pd, "execcg")["State"]["Running"] is True    # PID 1 lives on
    pd("rm", "-f", "execcg")


def test_the_container_sees_its_own_cgroup_and_limits(pd: Pd, busybox: str) -> None:
    # as podman: its cgroup, read-only, at /sys/fs/cgroup (runtimes read their limits
    # there); nothing of the host's hierarchy above it
    script = ("cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max;"
              " grep ' /sys/fs/cgroup ' /proc/mounts; cat /proc/self/cgroup;"
              " ls /sys/fs/cgroup | grep -c slice;"
              " echo 1 > /sys/fs/cgroup/pids.max && echo WROTE")
    out = pd(*RUN, "--rm", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50",
             busybox, "sh", "-c", script, check=False).stdout
    lines = out.splitlines()
    assert lines[:3] == [str(64 * MiB), "50000 100000", "50"], out
    fstype, options = lines[3].split()[2:4]
    assert fstype == "cgroup2" and "ro" in options.split(","), lines[3]
    assert lines[4] == "0::/", lines[4]               # the root of its own namespace
    assert lines[5] == "0", out                       # no user.slice, no session scopes
    assert "WROTE" not in out
    # --network host binds the host's sysfs, and the host's cgroup view with it
    # (read-only): the container still starts
    assert pd("run", "--rm", "--network", "host", "--memory", "64m", busybox,
              "true").returncode == 0
    # --cgroupns=host keeps the host's view (podman's rule), no mount over it
    out = pd(*RUN, "--rm", "--cgroupns", "host", busybox, "cat", "/proc/self/cgroup").stdout
    assert out.strip() != "0::/"


def test_pids_limit_stops_forks_beyond_it(pd: Pd, busybox: str) -> None:
    # a subshell forks until refused; then the container's processes are counted with
    # builtins only (a glob over /proc of its PID namespace: no fork needed)
    script = ("( i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo all-started ); "
              "echo procs /proc/[0-9]*")
    done = pd(*RUN, "--rm", "--pids-limit", "10", busybox, "sh", "-c", script, check=False)
    assert "all-started" not in done.stdout, done.stdout
    procs = re.search(r"^procs (.*)$", done.stdout, re.MULTILINE)
    assert procs, done.stdout + done.stderr
    count = len(procs.group(1).split())
    assert 5 <= count <= 10, procs.group(0)       # forks worked up to the limit, not beyond
    assert re.search(r"can't fork|Resource temporarily unavailable", done.stderr), done.stderr
    # the guest is untouched: the same user forks freely outside the container
    assert subprocess.run(["sh", "-c", "for i in $(seq 20); do true & done; wait"],
                          timeout=120, check=False).returncode == 0


def test_cpus_half_a_cpu(pd: Pd, busybox: str, background: Background) -> None:
    background("--name", "busy", "--cpus", "0.5", busybox, "timeout", "-s", "KILL", "60",
               "sh", "-c", "while :; do :; done")
    pid = wait_running(pd, "busy")["State"]["Pid"]
    cg = cgroup_of(pid)
    assert cg.name.startswith("pdman-") and cg.parent.name == "pdman.slice", cg
    assert (cg / "cpu.max").read_text().split() == ["50000", "100000"]

    def usage() -> tuple[float, int]:
        stat = dict(line.split() for line in (cg / "cpu.stat").read_text().splitlines())
        return time.monotonic(), int(stat["usage_usec"])

    time.sleep(1)
    t0, u0 = usage()
    time.sleep(5)
    t1, u1 = usage()
    share = (u1 - u0) / ((t1 - t0) * 1e6)
    print(f"--cpus 0.5: busy loop used {share:.2f} of one CPU over {t1 - t0:.1f} s")
    assert 0.25 <= share <= 0.65, share   # wide: emulated CPUs are uneven
    pd("rm", "-f", "busy")


def test_stats_shows_the_limits_and_pause_freezes(pd: Pd, busybox: str,
                                                   background: Background) -> None:
    background("--name", "st", "--memory", "64m", "--pids-limit", "20", busybox,
               "sh", "-c", "while :; do :; done")
    doc = wait_running(pd, "st")
    scope = f"pdman-{doc['Id']}.scope"
    props = dict(line.split("=", 1) for line in systemctl_user(
        "show", scope, "-p", "MemoryMax", "-p", "TasksMax", "-p", "Delegate", "-p", "Slice",
        "-p", "ActiveState").stdout.splitlines())
    assert props == {"MemoryMax": str(64 * MiB), "TasksMax": "20", "Delegate": "yes",
                     "Slice": "pdman.slice", "ActiveState": "active"}

    table = pd("stats", "--no-stream", "st").stdout
    print(table)
    header, row = table.splitlines()[:2]
    assert header.split()[:4] == ["ID", "NAME", "CPU", "%"]
    assert " / 67.1MB" in row                      # MEM USAGE / LIMIT: 64 MiB
    data = json.loads(pd("stats", "--no-stream", "--format", "json", "st").stdout)[0]
    assert data["MemLimit"] == 64 * MiB and data["PIDsLimit"] == 20 and data["PIDs"] >= 1
    assert data["CPUPerc"] > 10                     # it is spinning
    assert pd("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "st").stdout.strip() \
        .startswith("st ")

    cg = cgroup_of(doc["State"]["Pid"])

    def cpu_usec() -> int:
        stat = dict(line.split() for line in (cg / "cpu.stat").read_text().splitlines())
        return int(stat["usage_usec"])

    pd("pause", "st")
    assert "frozen 1" in (cg / "cgroup.events").read_text().splitlines()
    assert pd("ps", "--filter", "name=st", "--format", "{{.Status}}").stdout.rstrip() \
        .endswith("(Paused)")
    assert inspect(pd, "st")["State"]["Paused"] is True
    before = cpu_usec()
    time.sleep(2)
    assert cpu_usec() - before < 20_000, "a paused container used CPU"
    pd("unpause", "st")
    assert "frozen 0" in (cg / "cgroup.events").read_text().splitlines()
    before = cpu_usec()
    time.sleep(2)
    assert cpu_usec() - before > 200_000, "an unpaused container did not run again"
    assert inspect(pd, "st")["State"]["Status"] == "running"
    pd("rm", "-f", "st")


def test_cpuset_needs_its_controller_delegated(pd: Pd, busybox: str) -> None:
    # user@.service delegates cpu, memory and pids here, not cpuset: refused, not ignored
    before = pd("ps", "-aq").stdout
    done = pd(*RUN, "--rm", "--cpuset-cpus", "0", busybox, "true", check=False)
    assert done.returncode == 125
    assert "cpuset controller is not delegated" in done.stderr, done.stderr
    assert pd("ps", "-aq").stdout == before        # refused before anything was made


def _service_env(pd_env: dict[str, str]) -> list[str]:
    keep = ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF", "PATH", "HOME")
    return [f"--setenv={k}={pd_env[k]}" for k in keep if k in pd_env]


def _pdman() -> str:
    exe = shutil.which("pdman")
    assert exe
    return exe


def test_inside_a_systemd_service_the_container_stays_in_it(pd: Pd, pd_env: dict[str, str],
                                                             busybox: str) -> None:
    unit = "pdman-vm-svc.service"
    start = subprocess.run(
        ["systemd-run", "--user", f"--unit={unit}", "-p", "TimeoutStopSec=5", "--collect",
         *_service_env(pd_env), _pdman(), *RUN, "--name", "insvc", busybox, "sleep", "300"],
        capture_output=True, text=True, timeout=60, check=False)
    assert start.returncode == 0, start.stderr
    try:
        pid = wait_running(pd, "insvc")["State"]["Pid"]
        assert cgroup_of(pid).name == unit        # no scope of its own: the unit's cgroup
        stop = systemctl_user("stop", unit)
        assert stop.returncode == 0, stop.stderr
        assert not Path(f"/proc/{pid}").exists(), "systemctl stop left the container running"
    finally:
        systemctl_user("stop", unit)


def test_cgroupfs_inside_a_delegated_service_enforces_limits(pd: Pd, pd_env: dict[str, str],
                                                              busybox: str) -> None:
    # no scope from the user manager: pdman writes the unit's delegated subtree itself
    done = subprocess.run(
        ["systemd-run", "--user", "--wait", "--pipe", "--collect", "-p", "Delegate=yes",
         *_service_env(pd_env), _pdman(), *RUN, "--name", "svcoom", "--memory", "64m",
         busybox, *ALLOC_200MB], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=240, check=False)
    assert done.returncode == 137, done.stdout + done.stderr
    state = inspect(pd, "svcoom")["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
