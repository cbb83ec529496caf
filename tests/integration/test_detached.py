"""Detached containers under their monitor, as an unprivileged user, against the real
registry: `run -d`, `start`, `stop`, `kill`, `restart`, `wait`, `ps`/`inspect` state,
and what happens when the monitor or the container is killed, or the runroot wiped.

Most containers here use `--network none`: these tests are about the container's
life, not its network (one test keeps the default network).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.bed.runner import run_pdman, wait_for

NONE = ("--network", "none")


def pd(env: dict[str, str], *args: object, check: bool = True,
       timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check, timeout=timeout)


def state(env: dict[str, str], name: str) -> dict[str, Any]:
    out = pd(env, "container", "inspect", name).stdout
    return json.loads(out)[0]["State"]  # type: ignore[no-any-return]


def monitors_of(env: dict[str, str]) -> list[int]:
    """PIDs of pdman-monitor processes working for this test's runroot."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"pdman-monitor") and \
                env["PDMAN_RUNROOT"].encode() in b" ".join(argv):
            found.append(int(entry.name))
    return found


def test_run_d_prints_the_id_and_outlives_the_callers_process_group(
        busybox: str, registry_env: dict[str, str]) -> None:
    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe is not None
    # `ID=$(pdman run -d ...)` must return: nothing may hold the caller's stdout open
    caller = subprocess.Popen([exe, "run", "-d", *NONE, "--name", "bg", busybox, "sleep", "1000"],
                              env=registry_env, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    out, _ = caller.communicate(timeout=60)
    assert caller.returncode == 0
    cid = out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), out
    try:
        os.killpg(caller.pid, signal.SIGKILL)  # the caller's whole process group
    except ProcessLookupError:
        pass  # nothing of it is left: the monitor has its own session
    time.sleep(0.3)
    st = state(registry_env, "bg")
    assert st["Status"] == "running" and st["Running"] is True and st["Pid"] > 0
    # a session of its own (whose leader exited at once: it can never get a terminal)
    assert os.getsid(st["ConmonPid"]) not in (caller.pid, os.getsid(0))
    assert os.getpgid(st["ConmonPid"]) != caller.pid
    ps = pd(registry_env, "ps", "--no-trunc").stdout
    assert cid in ps and re.search(r"Up (Less than a second|\d+ seconds?)", ps)
    # no Python process stays: the monitor is the C program, and small
    monitor = st["ConmonPid"]
    assert Path(f"/proc/{monitor}/exe").resolve().name == "pdman-monitor"
    rss_kb = int(re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{monitor}/status").read_text())[1])
    assert rss_kb <= 2048, f"monitor RSS {rss_kb} kB"


def test_state_in_ps_and_inspect_through_stop(busybox: str, registry_env: dict[str, str]) -> None:
    cid = pd(registry_env, "run", "-d", *NONE, "--name", "s1", busybox, "sleep", "1000").stdout.strip()
    st = state(registry_env, "s1")
    assert st["Status"] == "running" and st["Running"] and st["ExitCode"] == 0
    assert st["StartedAt"] != "0001-01-01T00:00:00Z"
    assert st["FinishedAt"] == "0001-01-01T00:00:00Z"
    assert Path(f"/proc/{st['Pid']}").exists()
    # sleep as PID 1 has no SIGTERM handler: the kernel drops the signal, SIGKILL follows
    assert pd(registry_env, "stop", "-t", "1", "s1").stdout == "s1\n"
    st = state(registry_env, cid[:12])
    assert (st["Status"], st["Running"], st["Pid"], st["ExitCode"], st["OOMKilled"]) == \
        ("exited", False, 0, 137, False)
    assert st["FinishedAt"] >= st["StartedAt"]
    assert re.search(r"Exited \(137\) (Less than a second|\d+ seconds?) ago",
                     pd(registry_env, "ps", "-a").stdout)
    # stopping a stopped container is fine, as in podman
    assert pd(registry_env, "stop", "s1").returncode == 0


def test_stop_timeout_trapped_versus_ignored_term(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "traps", busybox, "sh", "-c",
       "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    pd(registry_env, "run", "-d", *NONE, "--name", "ignores", busybox, "sleep", "1000")
    t0 = time.monotonic()
    pd(registry_env, "stop", "-t", "5", "traps")
    assert time.monotonic() - t0 < 3
    assert state(registry_env, "traps")["ExitCode"] == 0
    t0 = time.monotonic()
    pd(registry_env, "stop", "-t", "1", "ignores")
    took = time.monotonic() - t0
    assert 0.9 <= took < 4, took
    assert state(registry_env, "ignores")["ExitCode"] == 137


def test_stop_sends_the_configured_stop_signal(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "usr1", "--stop-signal", "SIGUSR1", busybox,
       "sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.1; done")
    wait_for(lambda: "ready" in pd(registry_env, "logs", "usr1").stdout)
    pd(registry_env, "stop", "-t", "10", "usr1")
    assert state(registry_env, "usr1")["ExitCode"] == 5
    assert pd(registry_env, "logs", "usr1").stdout == "ready\ngot-usr1\n"


def test_stop_honours_nginx_stopsignal_sigquit(testbed: Any, registry_env: dict[str, str]) -> None:
    ref = testbed.image("nginx")
    pd(registry_env, "pull", "-q", ref)
    assert json.loads(pd(registry_env, "container", "inspect", pd(
        registry_env, "create", *NONE, "--name", "probe", ref).stdout.strip()).stdout)[0][
        "Config"]["StopSignal"] == "SIGQUIT"
    pd(registry_env, "run", "-d", *NONE, "--name", "web", ref,
       "nginx", "-g", "daemon off; error_log stderr notice;")
    wait_for(lambda: "start worker process" in pd(registry_env, "logs", "web").stderr)
    t0 = time.monotonic()
    pd(registry_env, "stop", "web")
    assert time.monotonic() - t0 < 8  # a graceful stop, not the 10 s timeout
    assert state(registry_env, "web")["ExitCode"] == 0
    err = pd(registry_env, "logs", "web").stderr
    assert "signal 3 (SIGQUIT) received" in err, err


def test_kill_sends_a_signal(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "k", busybox, "sh", "-c",
       "trap 'echo hup' HUP; echo ready; while :; do sleep 0.1; done")
    wait_for(lambda: "ready" in pd(registry_env, "logs", "k").stdout)
    assert pd(registry_env, "kill", "-s", "HUP", "k").stdout == "k\n"
    wait_for(lambda: "hup" in pd(registry_env, "logs", "k").stdout)
    assert state(registry_env, "k")["Running"]
    pd(registry_env, "kill", "k")  # SIGKILL by default
    wait_for(lambda: state(registry_env, "k")["Status"] == "exited")
    assert state(registry_env, "k")["ExitCode"] == 137
    again = pd(registry_env, "kill", "k", check=False)
    assert again.returncode == 125 and "state improper" in again.stderr
    bad = pd(registry_env, "kill", "-s", "NOSUCH", "k", check=False)
    assert bad.returncode == 125 and "invalid signal" in bad.stderr


def test_killing_the_monitor_leaves_a_truthful_state_and_rm_works(
        busybox: str, registry_env: dict[str, str]) -> None:
    cid = pd(registry_env, "run", "-d", *NONE, "--name", "orphan", busybox, "sleep", "1000").stdout.strip()
    st = state(registry_env, "orphan")
    os.kill(st["ConmonPid"], signal.SIGKILL)
    # the container dies with its monitor (its parent death signal): nothing runs unwatched
    wait_for(lambda: not Path(f"/proc/{st['Pid']}/status").exists() or
             "State:\tZ" in Path(f"/proc/{st['Pid']}/status").read_text())
    ps = pd(registry_env, "ps", "-a").stdout
    assert "Exited (?)" in ps and "Up" not in ps, ps
    after = state(registry_env, "orphan")
    assert after["Status"] == "exited" and after["ExitCode"] == -1
    assert "unknown" in after["Error"]
    assert pd(registry_env, "rm", "orphan").stdout.strip() == cid
    assert pd(registry_env, "ps", "-aq").stdout == ""
    assert not (Path(registry_env["PDMAN_RUNROOT"]) / "containers" / cid).exists()
    assert not (Path(registry_env["PDMAN_ROOT"]) / "containers" / cid).exists()


def test_killing_the_container_records_137(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "victim", busybox, "sleep", "1000")
    st = state(registry_env, "victim")
    os.kill(st["Pid"], signal.SIGKILL)
    wait_for(lambda: "Exited (137)" in pd(registry_env, "ps", "-a").stdout)
    assert state(registry_env, "victim")["ExitCode"] == 137
    wait_for(lambda: not monitors_of(registry_env))  # its cleanup ran, the monitor is gone


def _events_of(env: dict[str, str], name: str) -> list[str]:
    out = pd(env, "events", "--no-stream", "--filter", f"container={name}",
             "--format", "json").stdout
    return [json.loads(line)["Status"] for line in out.splitlines()]


def test_a_claimed_cleanup_is_left_to_the_claimer(busybox: str,
                                                   registry_env: dict[str, str]) -> None:
    """`stop` and `rm -f` claim the cleanup (`cleanup-by-MONITORPID` in the run dir) and
    do it themselves instead of waiting for the monitor's `pdman container cleanup`.
    The monitor honours the claim; a claim whose claimer died is recovered by the next
    command that looks at the container; an unclaimed exit is cleaned up by the
    monitor's exit command alone."""
    env = registry_env
    run = Path(env["PDMAN_RUNROOT"]) / "containers"
    # unclaimed: the monitor's exit command records the exit, no other command needed
    cid = pd(env, "run", "-d", *NONE, "--name", "unclaimed", busybox, "sleep", "1000").stdout.strip()
    st = state(env, "unclaimed")
    os.kill(st["Pid"], signal.SIGKILL)
    wait_for(lambda: "cleanup" in _events_of(env, "unclaimed"))
    assert "died" in _events_of(env, "unclaimed")
    # claimed, and the claimer "died" before its cleanup: the monitor leaves it undone...
    cid = pd(env, "run", "-d", *NONE, "--name", "claimed", busybox, "sleep", "1000").stdout.strip()
    st = state(env, "claimed")
    (run / cid / f"cleanup-by-{st['ConmonPid']}").touch()
    os.kill(st["Pid"], signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{st['ConmonPid']}").exists())
    time.sleep(0.5)     # time a cleanup process would have had to start
    assert "died" not in _events_of(env, "claimed") and \
        "cleanup" not in _events_of(env, "claimed")
    # ...and the next command that looks finds the exit in the monitor's exit file and
    # tears the run down
    assert "Exited (137)" in pd(env, "ps", "-a", "--filter", "name=claimed").stdout
    assert ["died", "cleanup"] == [e for e in _events_of(env, "claimed")
                                   if e in ("died", "cleanup")]
    # `stop` and `rm -f` end with the cleanup done and nothing of the claim left
    pd(env, "start", "claimed")
    pd(env, "stop", "-t", "0", "claimed")
    assert state(env, "claimed")["ExitCode"] == 137
    assert [e for e in _events_of(env, "claimed") if e == "cleanup"] == ["cleanup"] * 2
    assert not list((run / cid).glob("cleanup-by-*")) and not monitors_of(env)
    rm_cid = pd(env, "run", "-d", "--rm", *NONE, "--name", "rmd", busybox, "sleep", "1000").stdout.strip()
    pd(env, "rm", "-f", "rmd")
    assert pd(env, "ps", "-aq", "--filter", "name=rmd").stdout == ""
    assert not (run / rm_cid).exists() and not monitors_of(env)
    pd(env, "rm", "unclaimed", "claimed")


def test_runroot_wiped(busybox: str, registry_env: dict[str, str]) -> None:
    runroot = Path(registry_env["PDMAN_RUNROOT"])
    # wiped while it runs: the monitor makes its directory again for the exit file
    pd(registry_env, "run", "-d", *NONE, "--name", "a", busybox, "sleep", "1000")
    shutil.rmtree(runroot / "containers")
    os.kill(state(registry_env, "a")["Pid"], signal.SIGKILL)
    wait_for(lambda: "Exited (137)" in pd(registry_env, "ps", "-a").stdout)
    # a reboot: monitor and container gone, and the runroot with them
    pd(registry_env, "run", "-d", *NONE, "--name", "b", busybox, "sleep", "1000")
    st = state(registry_env, "b")
    os.kill(st["ConmonPid"], signal.SIGKILL)
    shutil.rmtree(runroot / "containers")
    wait_for(lambda: "Exited (?)" in pd(registry_env, "ps", "-a", "--filter", "name=b").stdout)
    pd(registry_env, "rm", "a", "b")
    assert pd(registry_env, "ps", "-aq").stdout == ""


def test_rm_d_removes_the_container_after_its_exit(busybox: str, registry_env: dict[str, str]) -> None:
    cid = pd(registry_env, "run", "-d", "--rm", *NONE, busybox, "sh", "-c",
             "echo bye; sleep 0.5; exit 3").stdout.strip()
    wait_for(lambda: pd(registry_env, "ps", "-aq").stdout == "")
    # the record goes first, then the files
    wait_for(lambda: not (Path(registry_env["PDMAN_ROOT"]) / "containers" / cid).exists())
    wait_for(lambda: not (Path(registry_env["PDMAN_RUNROOT"]) / "containers" / cid).exists())
    wait_for(lambda: not monitors_of(registry_env))


def test_rm_f_of_a_running_container(busybox: str, registry_env: dict[str, str]) -> None:
    cid = pd(registry_env, "run", "-d", *NONE, busybox, "sleep", "1000").stdout.strip()
    pid = state(registry_env, cid)["Pid"]
    refused = pd(registry_env, "rm", cid, check=False)
    assert refused.returncode == 125 and "without force" in refused.stderr
    assert pd(registry_env, "rm", "-f", cid).stdout.strip() == cid
    assert pd(registry_env, "ps", "-aq").stdout == ""
    assert not Path(f"/proc/{pid}/cmdline").exists() or \
        Path(f"/proc/{pid}/cmdline").read_bytes() == b""
    assert not monitors_of(registry_env)


def test_start_restart_and_wait(busybox: str, registry_env: dict[str, str]) -> None:
    cid = pd(registry_env, "create", *NONE, "--name", "job", busybox, "sh", "-c",
             "echo started; sleep 1000").stdout.strip()
    assert pd(registry_env, "start", "job").stdout == "job\n"
    first = state(registry_env, "job")
    assert first["Running"]
    assert pd(registry_env, "start", "job").returncode == 0  # running already: fine
    assert pd(registry_env, "restart", "-t", "0", "job").stdout == "job\n"
    second = state(registry_env, "job")
    assert second["Running"] and second["Pid"] != first["Pid"]
    wait_for(lambda: pd(registry_env, "logs", "job").stdout == "started\nstarted\n")
    assert pd(registry_env, "wait", "--condition", "running", "job").stdout == "0\n"
    pd(registry_env, "stop", "-t", "0", cid)
    pd(registry_env, "start", cid[:12])
    assert state(registry_env, "job")["Running"]
    pd(registry_env, "rm", "-f", "job")
    pd(registry_env, "run", "-d", *NONE, "--name", "quick", busybox, "sh", "-c", "sleep 0.5; exit 4")
    assert pd(registry_env, "wait", "quick").stdout == "4\n"


def test_container_prune_removes_what_is_not_running(busybox: str,
                                                    registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "up", busybox, "sleep", "1000")
    created = pd(registry_env, "create", *NONE, busybox, "true").stdout.strip()
    pd(registry_env, "run", *NONE, "--name", "done", busybox, "true")
    exited = json.loads(pd(registry_env, "container", "inspect", "done").stdout)[0]["Id"]
    assert sorted(pd(registry_env, "container", "prune", "-f").stdout.split()) == \
        sorted([created, exited])
    assert pd(registry_env, "ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == "up running\n"
    assert not (Path(registry_env["PDMAN_ROOT"]) / "containers" / exited).exists()
    assert pd(registry_env, "container", "prune", "-f").stdout == ""


def test_start_of_a_missing_command_fails_like_run(busybox: str, registry_env: dict[str, str]) -> None:
    missing = pd(registry_env, "run", "-d", *NONE, "--name", "nf", busybox, "no-such-command",
                 check=False)
    assert missing.returncode == 127 and "no-such-command" in missing.stderr
    assert missing.stdout == ""
    noexec = pd(registry_env, "run", "-d", *NONE, "--rm", busybox, "/etc/passwd", check=False)
    assert noexec.returncode == 126
    assert pd(registry_env, "ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == "nf created\n"
    assert not monitors_of(registry_env)


def test_default_network(busybox: str, registry_env: dict[str, str]) -> None:
    # the network hooks run in the process that becomes the monitor
    pd(registry_env, "run", "-d", "--name", "net", busybox, "sleep", "1000")
    assert state(registry_env, "net")["Running"]
    assert "lo" in pd(registry_env, "exec", "net", "ip", "-o", "link").stdout
    pd(registry_env, "rm", "-f", "net")


def test_fifty_detached_containers(busybox: str, registry_env: dict[str, str]) -> None:
    ids = [pd(registry_env, "run", "-d", *NONE, busybox, "sleep", "1000").stdout.strip()
           for _ in range(50)]
    assert len(set(ids)) == 50
    listed = pd(registry_env, "ps", "-q", "--no-trunc").stdout.split()
    assert sorted(listed) == sorted(ids)
    assert pd(registry_env, "ps", "--format", "{{.Status}}").stdout.count("Up ") == 50
    assert len(monitors_of(registry_env)) == 50
    removed = pd(registry_env, "rm", "-fa", timeout=300).stdout.split()
    assert sorted(removed) == sorted(ids)
    assert pd(registry_env, "ps", "-aq").stdout == ""
    wait_for(lambda: not monitors_of(registry_env))


# What the API's attach does for `docker run --rm` (api/attach.py): it opens the log
# before answering the hijack, the client then starts the container. Here the reader
# reads only after the container was removed, log and all: the race that lost the
# output of `docker run --rm IMAGE cat FILE` on a loaded machine, made certain.
_ATTACH_AHEAD = """
import sys, time
from pdman.engine import lifecycle
from pdman.engine.context import EngineContext

ctx = EngineContext.create()
opts = lifecycle.LogsOptions([sys.argv[1]], follow=True, next_exit=True, interval=0.02,
                             since=f"{time.time():.9f}")
sources = lifecycle.open_logs(ctx, opts)
print("opened", flush=True)
sys.stdin.readline()            # the test started it and saw it removed
lifecycle.write_logs(sources, opts, sys.stdout.buffer, sys.stderr.buffer)
"""


def test_output_of_a_rm_container_removed_before_the_first_read_is_kept(
        busybox: str, registry_env: dict[str, str]) -> None:
    import sys

    cid = pd(registry_env, "create", "--rm", *NONE, busybox,
             "sh", "-c", "echo kept; echo err >&2").stdout.strip()
    reader = subprocess.Popen([sys.executable, "-c", _ATTACH_AHEAD, cid], env=registry_env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline() == b"opened\n"
        pd(registry_env, "start", cid)
        wait_for(lambda: pd(registry_env, "container", "exists", cid, check=False
                            ).returncode == 1, timeout=60)
        out, err = reader.communicate(b"go\n", timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert (out, err) == (b"kept\n", b"err\n")
    assert reader.returncode == 0
