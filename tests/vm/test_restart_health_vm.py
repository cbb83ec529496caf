"""Restart policies and healthchecks on a real systemd host (issue 16), inside the VM:
a container with limits lives in a transient scope, and a restart by its policy starts
from its previous monitor, which still sits in the previous scope. These runs must each
get a scope that works (limits applied), and the counts must be those of the host tier.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vm.conftest import Pd, cgroup_of, inspect, wait_running

RUN = ("run", "--network", "none")


def wait_settled(pd: Pd, name: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = inspect(pd, name)
        if doc["State"]["Status"] == "exited" and not doc["State"]["Restarting"]:
            return doc
        time.sleep(0.5)
    pytest.fail(f"container {name} did not settle within {timeout:.0f} s", pytrace=False)


def test_on_failure_3_in_a_scope_runs_four_times(pd: Pd, busybox: str) -> None:
    pd(*RUN, "-d", "--name", "rf", "--memory", "64m", "--restart", "on-failure:3",
       busybox, "sh", "-c", "sleep 0.5; exit 1")
    deadline = time.monotonic() + 120
    while (doc := wait_settled(pd, "rf"))["RestartCount"] < 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)                               # a 4th restart would have come by now
    doc = inspect(pd, "rf")
    assert doc["RestartCount"] == 3
    assert (doc["State"]["Status"], doc["State"]["ExitCode"]) == ("exited", 1)
    pd("rm", "rf")


def test_a_restarted_container_keeps_its_limits(pd: Pd, busybox: str) -> None:
    # fails once, then stays up: the restarted process must still be there when its
    # cgroup is read (an emulated guest takes seconds per pdman command)
    pd(*RUN, "-d", "--name", "ra", "--memory", "64m", "--restart", "always",
       busybox, "sh", "-c", "[ -e /restarted ] && exec sleep 600; touch /restarted; sleep 2; exit 3")
    first = wait_running(pd, "ra")["State"]["Pid"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        doc = inspect(pd, "ra")
        if doc["RestartCount"] >= 1 and doc["State"]["Running"] and doc["State"]["Pid"] != first:
            break
        time.sleep(0.3)
    else:
        pytest.fail("not restarted", pytrace=False)
    cg = cgroup_of(doc["State"]["Pid"])
    assert (cg / "memory.max").read_text().strip() == str(64 << 20)
    pd("stop", "-t", "1", "ra")
    doc = wait_settled(pd, "ra")
    time.sleep(3)
    assert not inspect(pd, "ra")["State"]["Running"]
    pd("rm", "ra")


def wait_restarted_by_health(pd: Pd, name: str, env: "dict[str, str] | None" = None,
                             ) -> dict[str, Any]:
    """Until the container runs again under a new PID after going unhealthy."""
    first = wait_running(pd, name)["State"]["Pid"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        doc = json.loads(pd("inspect", name, env=env).stdout)[0]
        if doc["State"]["Running"] and doc["State"]["Pid"] not in (0, first):
            return doc  # type: ignore[no-any-return]
        time.sleep(0.3)
    pytest.fail(f"the unhealthy container {name} was not restarted: State "
                f"{json.dumps(doc['State'])}\nlogs: {pd('logs', name, check=False).stderr}",
                pytrace=False)


def test_unhealthy_container_is_restarted_in_a_scope(pd: Pd, busybox: str) -> None:
    """With the user manager: the container sits in a transient scope of its own."""
    pd(*RUN, "-d", "--name", "hr", "--memory", "64m", "--health-cmd", "false",
       "--health-interval", "1s", "--health-retries", "1", "--health-on-failure", "restart",
       busybox, "sleep", "1000")
    doc = wait_restarted_by_health(pd, "hr")
    cg = cgroup_of(doc["State"]["Pid"])
    assert any(p.endswith(".scope") and p.startswith("pdman-") for p in cg.parts), cg
    assert "pdman.slice" in cg.parts and (cg / "memory.max").read_text().strip() == \
        str(64 << 20)
    assert any(e["ExitCode"] == 1 for e in doc["State"]["Health"]["Log"])   # kept across
    pd("rm", "-f", "hr")


def test_unhealthy_container_is_restarted_without_a_user_manager(
        pd: Pd, pd_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    """No session bus, no runtime dir of the session: pdman cannot reach a user
    manager (no scope, no systemd timer), and the container's monitor still runs the
    probes and the restart."""
    env = {k: v for k, v in pd_env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)          # has no `bus` socket
    pd(*RUN, "-d", "--name", "hn", "--health-cmd", "false", "--health-interval", "1s",
       "--health-retries", "1", "--health-on-failure", "restart", busybox, "sleep", "1000",
       env=env)
    doc = wait_restarted_by_health(pd, "hn", env=env)
    cg = cgroup_of(doc["State"]["Pid"])
    assert not any(p.startswith("pdman-") and p.endswith(".scope") for p in cg.parts), cg
    assert "pdman.slice" not in cg.parts, cg
    assert any(e["ExitCode"] == 1 for e in doc["State"]["Health"]["Log"])
    pd("rm", "-f", "hn", env=env)
