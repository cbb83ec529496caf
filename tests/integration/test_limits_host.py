"""Resource limits on a host that cannot enforce them (this development host and CI:
no systemd as PID 1, cgroup v1/hybrid): a limit fails before anything starts, with an
error that says why and what fixes it; a container without limits runs normally.
Enforcement itself is proven in the VM tier (tests/vm), on a real systemd host."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

if Path("/sys/fs/cgroup/cgroup.controllers").exists():
    pytest.skip("this host has cgroup v2: limits may be enforceable here, so the refusal "
                "tested in this module does not apply (tests/vm covers enforcement)",
                allow_module_level=True)


@pytest.fixture
def busybox(testbed: Any, registry_env: dict[str, str]) -> str:
    ref = testbed.image("busybox")
    run_pdman("pull", "-q", ref, env=registry_env)
    return ref


@pytest.mark.parametrize(("flags", "named"), [
    (["--memory", "64m"], "--memory"),
    (["--pids-limit", "10", "--cpus", "0.5"], "--cpus, --pids-limit"),
    (["--memory-reservation", "32m"], "--memory-reservation"),
    (["--cpu-shares", "512"], "--cpu-shares"),
    (["--cpu-quota", "50000", "--cpu-period", "100000"], "--cpu-period, --cpu-quota"),
    (["--cpuset-mems", "0"], "--cpuset-mems"),
    (["--cgroup-conf", "memory.high=33554432"], "--cgroup-conf"),
])
def test_a_limit_fails_before_anything_starts(busybox: str, registry_env: dict[str, str],
                                              flags: list[str], named: str) -> None:
    done = run_pdman("run", "--rm", *flags, busybox, "echo", "ran", env=registry_env, check=False)
    assert done.returncode == 125
    assert done.stdout == ""                             # the command never ran
    assert f"cannot enforce {named} on this host" in done.stderr
    assert "cgroup v2" in done.stderr                    # why
    assert "enable-linger" in done.stderr                # what fixes it
    # nothing was created either
    assert run_pdman("ps", "-aq", env=registry_env).stdout == ""
    done = run_pdman("create", *flags, busybox, env=registry_env, check=False)
    assert done.returncode == 125 and "cannot enforce" in done.stderr
    assert run_pdman("ps", "-aq", env=registry_env).stdout == ""


def test_runs_normally_without_limits(busybox: str, registry_env: dict[str, str]) -> None:
    done = run_pdman("run", "--rm", busybox, "sh", "-c", "echo ok; cat /proc/self/status | "
                     "grep -c ^Pid", env=registry_env)
    assert done.stdout.split() == ["ok", "1"]
    # zero/negative --pids-limit means "unlimited", as in podman: nothing to enforce
    assert run_pdman("run", "--rm", "--pids-limit", "-1", busybox, "true",
                     env=registry_env).returncode == 0
    assert run_pdman("run", "--rm", "--cgroups", "disabled", busybox, "true",
                     env=registry_env).returncode == 0


@pytest.mark.parametrize(("flags", "message"), [
    (["--cgroups", "disabled", "--memory", "64m"], "--cgroups=disabled"),
    (["--cgroups", "sometimes"], "invalid --cgroups"),
    (["--memory-swap", "1g"], "--memory-swap needs --memory"),
    (["--cpus", "0"], "invalid --cpus"),
    (["--cpus", "1", "--cpu-quota", "50000"], "--cpu-quota and --cpus cannot be set together"),
    (["--cpu-period", "10"], "invalid --cpu-period 10"),
    (["--cgroup-conf", "nokey"], "invalid --cgroup-conf 'nokey'"),
    (["--cgroup-parent", "my.slice"], "cannot use --cgroup-parent my.slice on this host"),
])
def test_bad_resource_options_are_usage_errors(busybox: str, registry_env: dict[str, str],
                                               flags: list[str], message: str) -> None:
    done = run_pdman("run", "--rm", *flags, busybox, "true", env=registry_env, check=False)
    assert done.returncode == 125
    assert message in done.stderr


def test_stats_and_pause_say_why_without_a_cgroup(busybox: str,
                                                  registry_env: dict[str, str]) -> None:
    out = run_pdman("stats", "--no-stream", env=registry_env).stdout
    assert out.split()[:4] == ["ID", "NAME", "CPU", "%"]    # header, no rows
    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe
    proc = subprocess.Popen([exe, "run", "--name", "sleeper", busybox, "sleep", "60"],
                            env=registry_env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            docs = json.loads(run_pdman("inspect", "sleeper", env=registry_env,
                                        check=False).stdout or "[]")
            if docs and docs[0]["State"]["Running"]:
                break
            assert proc.poll() is None, "the container did not start"
            time.sleep(0.1)
        done = run_pdman("stats", "--no-stream", "sleeper", env=registry_env, check=False)
        assert done.returncode == 125
        assert "sleeper has no cgroup of its own" in done.stderr
        assert "cgroup v2" in done.stderr
        # listing all running containers shows it, without numbers it cannot have
        row = run_pdman("stats", "--no-stream", env=registry_env).stdout.splitlines()[1]
        assert "sleeper" in row and "--" in row
        done = run_pdman("pause", "sleeper", env=registry_env, check=False)
        assert done.returncode == 125 and "no cgroup of its own" in done.stderr
        assert "freezer" in done.stderr
        done = run_pdman("unpause", "sleeper", env=registry_env, check=False)
        assert done.returncode == 125 and "is running, not paused" in done.stderr
    finally:
        run_pdman("rm", "-f", "sleeper", env=registry_env, check=False)
        proc.wait(30)


def test_update_and_clone_refuse_cpu_quota_here(busybox: str,
                                                registry_env: dict[str, str]) -> None:
    """update and container clone take --cpu-period/--cpu-quota/--cpuset-mems as run
    does: on this host they are refused, and the container keeps what it had."""
    run_pdman("create", "--name", "c", busybox, "true", env=registry_env)
    for flags in (["--cpu-quota", "50000"], ["--cpu-period", "50000"], ["--cpuset-mems", "0"]):
        done = run_pdman("update", *flags, "c", env=registry_env, check=False)
        assert done.returncode == 125, done
        assert f"cannot enforce {flags[0]} on this host" in done.stderr
        done = run_pdman("container", "clone", *flags, "c", env=registry_env, check=False)
        assert done.returncode == 125 and f"cannot enforce {flags[0]}" in done.stderr
    assert run_pdman("ps", "-a", "--format", "{{.Names}}", env=registry_env).stdout == "c\n"
    host = json.loads(run_pdman("inspect", "c", env=registry_env).stdout)[0]["HostConfig"]
    assert (host["CpuQuota"], host["CpuPeriod"], host["CpusetMems"]) == (0, 0, "")
