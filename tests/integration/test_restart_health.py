"""Restart policies and healthchecks without a daemon, as the unprivileged user: the
container's monitor restarts it (`--restart`) and schedules its healthcheck; `stop`,
`kill` and `rm` by the user are respected; `ps` and `inspect` show what podman shows.

Runs are counted by the container itself, appending to a file in a bind-mounted
directory; a container is made to exit when the test creates a file there. Intervals
are 1 s to keep the tests short.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman, wait_for

NONE = ("--network", "none")
#: appends a line per run, then waits for /data/exit (removed, then exit 3)
COUNTING = ("sh", "-c", "echo run >> /data/runs; while [ ! -e /data/exit ]; do sleep 0.1; "
            "done; rm -f /data/exit; exit 3")


def pd(env: dict[str, str], *args: object, check: bool = True,
       timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check, timeout=timeout)


def inspect(env: dict[str, str], name: str) -> dict[str, Any]:
    return json.loads(pd(env, "container", "inspect", name).stdout)[0]  # type: ignore[no-any-return]


def runs(data: Path) -> int:
    try:
        return len((data / "runs").read_text().splitlines())
    except FileNotFoundError:
        return 0


def ps_status(env: dict[str, str], name: str) -> str:
    out = pd(env, "ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Status}}").stdout
    return out.strip()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def settled(env: dict[str, str], name: str) -> dict[str, Any] | None:
    """The inspect of a container that has exited and waits for no restart."""
    info = inspect(env, name)
    st = info["State"]
    return info if st["Status"] == "exited" and not st["Restarting"] else None


# ---------------------------------------------------------------------------
# restart policies
# ---------------------------------------------------------------------------

def test_on_failure_3_runs_exactly_four_times(busybox: str, registry_env: dict[str, str],
                                              data: Path) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "fails", "--restart", "on-failure:3",
       "-v", f"{data}:/data", busybox, "sh", "-c", "echo run >> /data/runs; exit 1")
    info = wait_for(lambda: (i := settled(env, "fails")) and i["RestartCount"] == 3 and i,
                    timeout=60)
    # the back-off after a 4th run would be 0.8 s: give a restart that should not come
    # more than that before counting
    time.sleep(2)
    assert runs(data) == 4
    info = inspect(env, "fails")
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 1
    assert info["RestartCount"] == 3
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert ps_status(env, "fails").startswith("Exited (1)")


def test_on_failure_does_not_restart_a_clean_exit(busybox: str, registry_env: dict[str, str],
                                                  data: Path) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "clean", "--restart", "on-failure",
       "-v", f"{data}:/data", busybox, "sh", "-c", "echo run >> /data/runs")
    wait_for(lambda: settled(env, "clean"), timeout=30)
    time.sleep(1)
    assert runs(data) == 1 and inspect(env, "clean")["RestartCount"] == 0


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_restarts_after_exit_and_a_stop_is_respected(policy: str, busybox: str,
                                                     registry_env: dict[str, str],
                                                     data: Path) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "rs", "--restart", policy, "-v", f"{data}:/data",
       busybox, *COUNTING)
    wait_for(lambda: runs(data) == 1)
    (data / "exit").touch()                 # the process exits 3: the policy restarts it
    wait_for(lambda: runs(data) == 2, timeout=30)
    info = wait_for(lambda: (i := inspect(env, "rs"))["State"]["Running"] and i)
    assert info["RestartCount"] == 1
    assert info["HostConfig"]["RestartPolicy"]["Name"] == policy
    assert ps_status(env, "rs").startswith("Up ")

    pd(env, "stop", "-t", "1", "rs")          # a user's stop: no restart after it
    time.sleep(2)                             # (the next back-off would be 0.2 s)
    info = inspect(env, "rs")
    assert info["State"]["Status"] == "exited" and runs(data) == 2

    # a user's start clears the stop and the count; a kill is a user's stop too
    pd(env, "start", "rs")
    wait_for(lambda: runs(data) == 3)
    assert inspect(env, "rs")["RestartCount"] == 0
    pd(env, "kill", "rs")
    wait_for(lambda: settled(env, "rs"))
    time.sleep(2)
    assert runs(data) == 3 and inspect(env, "rs")["State"]["Status"] == "exited"


def test_rm_force_of_an_always_container_leaves_nothing_running(
        busybox: str, registry_env: dict[str, str], data: Path) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "gone", "--restart", "always",
       "-v", f"{data}:/data", busybox, "sh", "-c", "echo run >> /data/runs; exit 1")
    wait_for(lambda: runs(data) >= 3, timeout=30)   # restarting, with a growing back-off
    pd(env, "rm", "-f", "gone")
    seen = runs(data)
    time.sleep(2)
    assert runs(data) == seen
    assert pd(env, "ps", "-aq").stdout.strip() == ""


def test_restart_policy_filter_and_start_all(busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "create", *NONE, "--name", "a1", "--restart", "always", busybox, "sleep", "100")
    pd(env, "create", *NONE, "--name", "n1", busybox, "sleep", "100")
    names = pd(env, "ps", "-a", "--filter", "restart-policy=always",
               "--format", "{{.Names}}").stdout.split()
    assert names == ["a1"]
    pd(env, "start", "--all", "--filter", "restart-policy=always")
    assert inspect(env, "a1")["State"]["Running"]
    assert not inspect(env, "n1")["State"]["Running"]
    pd(env, "rm", "-f", "-t", "0", "a1", "n1")


# ---------------------------------------------------------------------------
# healthchecks
# ---------------------------------------------------------------------------

def test_health_transitions_in_ps_inspect_and_healthcheck_run(
        busybox: str, registry_env: dict[str, str], data: Path) -> None:
    env = registry_env
    (data / "ok").write_text("fine\n")
    pd(env, "run", "-d", *NONE, "--name", "hc", "-v", f"{data}:/data",
       "--health-cmd", "cat /data/ok", "--health-interval", "1s", "--health-retries", "2",
       busybox, "sleep", "1000")
    wait_for(lambda: ps_status(env, "hc").endswith("(healthy)"), timeout=30)
    health = inspect(env, "hc")["State"]["Health"]
    assert health["Status"] == "healthy" and health["FailingStreak"] == 0
    last = health["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "fine\n"
    assert set(last) == {"Start", "End", "ExitCode", "Output"}
    config = inspect(env, "hc")["Config"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "cat /data/ok"],
                                     "Interval": 10**9, "Timeout": 30 * 10**9, "Retries": 2}
    assert config["HealthcheckOnFailureAction"] == "none"
    assert pd(env, "healthcheck", "run", "hc").returncode == 0

    (data / "ok").unlink()
    wait_for(lambda: ps_status(env, "hc").endswith("(unhealthy)"), timeout=30)
    health = inspect(env, "hc")["State"]["Health"]
    assert health["Status"] == "unhealthy" and health["FailingStreak"] >= 2
    assert health["Log"][-1]["ExitCode"] == 1 and "No such file" in health["Log"][-1]["Output"]
    done = pd(env, "healthcheck", "run", "hc", check=False)
    assert (done.returncode, done.stdout) == (1, "unhealthy\n")
    names = pd(env, "ps", "--filter", "health=unhealthy", "--format", "{{.Names}}").stdout.split()
    assert names == ["hc"]

    (data / "ok").write_text("back\n")
    assert pd(env, "healthcheck", "run", "hc").returncode == 0
    health = inspect(env, "hc")["State"]["Health"]
    assert health["Status"] == "healthy" and health["FailingStreak"] == 0
    assert len(health["Log"]) <= 5                  # podman keeps the last five
    assert inspect(env, "hc")["State"]["Running"]   # on-failure none: left running


def test_start_period_keeps_it_starting(busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "slow", "--health-cmd", "false",
       "--health-interval", "disable", "--health-start-period", "5m", busybox, "sleep", "1000")
    assert ps_status(env, "slow").endswith("(starting)")
    done = pd(env, "healthcheck", "run", "slow", check=False)
    assert (done.returncode, done.stdout) == (1, "starting\n")
    health = inspect(env, "slow")["State"]["Health"]
    assert health["Status"] == "starting" and health["FailingStreak"] == 0
    assert health["Log"][-1]["ExitCode"] == 1


def test_health_timeout_fails_the_probe(busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "hang", "--health-cmd", "sleep 30",
       "--health-interval", "disable", "--health-timeout", "1s", "--health-retries", "1",
       busybox, "sleep", "1000")
    done = pd(env, "healthcheck", "run", "hang", check=False)
    assert (done.returncode, done.stdout) == (1, "unhealthy\n")
    last = inspect(env, "hang")["State"]["Health"]["Log"][-1]
    assert last["ExitCode"] == -1 and "timeout" in last["Output"]


def test_health_on_failure_restart(busybox: str, registry_env: dict[str, str],
                                   data: Path) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "hr", "-v", f"{data}:/data",
       "--health-cmd", "test -e /data/ok", "--health-interval", "1s", "--health-retries", "1",
       "--health-on-failure", "restart",
       busybox, "sh", "-c", "echo run >> /data/runs; sleep 1000")
    wait_for(lambda: runs(data) >= 2, timeout=60)    # unhealthy: restarted
    (data / "ok").touch()
    wait_for(lambda: ps_status(env, "hr").endswith("(healthy)"), timeout=30)
    info = inspect(env, "hr")
    assert info["State"]["Running"] and info["Config"]["HealthcheckOnFailureAction"] == "restart"


@pytest.mark.parametrize("action,code", [("kill", 137), ("stop", 143)])
def test_health_on_failure_kill_and_stop(action: str, code: int, busybox: str,
                                         registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "run", "-d", *NONE, "--name", "hk", "--health-cmd", "false",
       "--health-interval", "1s", "--health-retries", "1", "--health-on-failure", action,
       "--stop-timeout", "2", busybox, "sh", "-c", "trap 'exit 143' TERM; sleep 1000 & wait")
    info = wait_for(lambda: settled(env, "hk"), timeout=60)
    assert info["State"]["ExitCode"] == code
    assert info["State"]["Health"]["Status"] == "unhealthy"


def test_image_healthcheck_is_honoured_and_no_healthcheck_disables_it(
        busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    env = registry_env
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(
        f"FROM {busybox}\nHEALTHCHECK --interval=1s --retries=1 CMD [\"true\"]\n")
    pd(env, "build", "-q", "-t", "withhc", str(ctx))
    pd(env, "run", "-d", *NONE, "--name", "img", "withhc", "sleep", "1000")
    assert inspect(env, "img")["Config"]["Healthcheck"]["Test"] == ["CMD", "true"]
    wait_for(lambda: ps_status(env, "img").endswith("(healthy)"), timeout=30)

    pd(env, "run", "-d", *NONE, "--name", "nohc", "--no-healthcheck", "withhc", "sleep", "1000")
    info = inspect(env, "nohc")
    assert info["Config"]["Healthcheck"] is None
    assert info["State"]["Health"] == {"Status": "", "FailingStreak": 0, "Log": None}
    assert "(" not in ps_status(env, "nohc")
    done = pd(env, "healthcheck", "run", "nohc", check=False)
    assert done.returncode == 125 and "has no defined healthcheck" in done.stderr


def test_healthcheck_run_on_stopped_and_missing_containers(
        busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    pd(env, "create", *NONE, "--name", "idle", "--health-cmd", "true", busybox, "true")
    done = pd(env, "healthcheck", "run", "idle", check=False)
    assert done.returncode == 125 and "is not running" in done.stderr
    done = pd(env, "healthcheck", "run", "nope", check=False)
    assert done.returncode == 125 and "unable to look up nope" in done.stderr


@pytest.mark.parametrize("args,message", [
    (["--restart", "bogus"], '"bogus" is not a valid restart policy'),
    (["--restart", "always:3"], "retries can only be specified with on-failure"),
    (["--restart", "on-failure:x"], "retry count"),
    (["--restart", "on-failure:-1"], "greater than 0"),
    (["--rm", "--restart", "always"], "the --rm option conflicts with --restart"),
    (["--health-cmd", "true", "--health-interval", "bogus"],
     'invalid healthcheck-interval: time: invalid duration "bogus"'),
    (["--health-cmd", "true", "--health-timeout", "0s"], "at least 1 second"),
    (["--health-cmd", "true", "--health-retries", "0"], "greater than 0"),
    (["--health-cmd", "true", "--health-start-period", "-1s"], "0 seconds or greater"),
    (["--health-cmd", "true", "--health-on-failure", "bogus"],
     'invalid on-failure action "bogus" for health check'),
    (["--health-cmd", "true", "--no-healthcheck"], "cannot specify both"),
    (["--health-cmd", "[]"], "must define a healthcheck command"),
])
def test_bad_values_are_refused(args: list[str], message: str, busybox: str,
                                registry_env: dict[str, str]) -> None:
    done = pd(registry_env, "create", *NONE, *args, busybox, "true", check=False)
    assert done.returncode == 125, done
    assert message in done.stderr
    assert pd(registry_env, "ps", "-aq").stdout.strip() == ""


# ---------------------------------------------------------------------------
# containers run in the foreground (no monitor)
# ---------------------------------------------------------------------------

def test_foreground_run_is_restarted_by_its_policy(busybox: str, registry_env: dict[str, str],
                                                   data: Path) -> None:
    env = registry_env
    done = pd(env, "run", *NONE, "--name", "fgr", "--restart", "on-failure:2",
              "-v", f"{data}:/data", busybox, "sh", "-c", "echo run >> /data/runs; exit 2",
              check=False)
    assert done.returncode == 2             # the first run's exit code, as podman's
    wait_for(lambda: (i := settled(env, "fgr")) and i["RestartCount"] == 2, timeout=60)
    time.sleep(1.5)
    assert runs(data) == 3


def test_foreground_container_gets_its_healthchecks(busybox: str,
                                                    registry_env: dict[str, str]) -> None:
    import shutil

    env = registry_env
    exe = shutil.which("pdman", path=env["PATH"])
    assert exe is not None
    holder = subprocess.Popen([exe, "run", *NONE, "--name", "fgh", "--health-cmd", "true",
                               "--health-interval", "1s", busybox, "sleep", "1000"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for(lambda: ps_status(env, "fgh").endswith("(healthy)"), timeout=30)
        pd(env, "stop", "-t", "1", "fgh")
        out, _ = holder.communicate(timeout=30)
        assert out == ""                    # the probes print nothing on its terminal
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
