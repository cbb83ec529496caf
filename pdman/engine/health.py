"""Healthchecks: `--health-*` and the image's HEALTHCHECK resolved into the container's
config, and `pdman healthcheck run`, one probe.

Scheduling needs no daemon and no systemd: a detached container's monitor
(native/monitor.c) runs `pdman healthcheck run ID` as its child every interval
(start-interval during the start period), one at a time; this module does the rest. A
probe is an ordinary `exec` in the container (engine/lifecycle.exec_start: the same
namespaces, user, seccomp filter and cgroup as `pdman exec`), its output captured and
cut to podman's 500 characters. The result goes to the record's state as docker's
State.Health (Status, FailingStreak, Log of the last 5 probes with Start, End, ExitCode,
Output), and an unhealthy container gets its --health-on-failure action (kill, stop,
restart: the user's verbs of engine/lifecycle).

Status rules (podman's): a passing probe makes the container healthy and resets the
failing streak; a failing one during the start period changes nothing; after it, it
adds to the streak, and `retries` failures in a row make it unhealthy.

Config form (container config "healthcheck"): {"test": [...], "interval": ns,
"timeout": ns, "start_period": ns, "start_interval": ns (0: the interval), "retries": n}.
"""

from __future__ import annotations

import os
import time

from pdman.errors import ConflictError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions
    from pdman.storage.container_records import ContainerRecord

SECOND = 10**9
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
ON_FAILURE = ("none", "kill", "restart", "stop")
#: podman keeps this many probes in the log, and this much of each one's output
LOG_ENTRIES = 5
OUTPUT_MAX = 500

# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------

_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": SECOND,
          "m": 60 * SECOND, "h": 3600 * SECOND}


def parse_duration(text: str) -> int:
    """A Go duration (`30s`, `1m30s`, `500ms`, `0`) in nanoseconds; ValueError else."""
    import re

    s = text.strip()
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    if s == "0":
        return 0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s)
    if not s or "".join(n + u for n, u in parts) != s:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * int(sum(float(n) * _UNITS[u] for n, u in parts))


def _duration(value: str | None, what: str, default: int) -> int:
    if value is None:
        return default
    if what == "interval" and value.strip() == "disable":
        return 0
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"invalid healthcheck-{what}: {exc}",
                         hint="write a duration such as 30s, 1m30s or 500ms") from None


def parse_command(text: str) -> list[str]:
    """`--health-cmd`: a JSON array (["CMD", ...], ["CMD-SHELL", "..."], or plain
    arguments) or a string run by the shell; `none` disables the image's."""
    import json

    try:
        items = json.loads(text)
        is_array = isinstance(items, list) and all(isinstance(x, str) for x in items)
    except ValueError:
        is_array = False
    if not is_array:
        if text.strip().lower() == "none":
            return ["NONE"]
        items = ["CMD-SHELL", text] if text.strip() else []
    elif items and items[0] not in ("CMD", "CMD-SHELL", "NONE"):
        items = ["CMD", *items] if len(items) > 1 else ["CMD-SHELL", *items]
    if not items or (items[0] in ("CMD", "CMD-SHELL") and not "".join(items[1:]).strip()):
        raise UsageError("must define a healthcheck command for all healthchecks",
                         hint='e.g. --health-cmd "curl -f http://localhost/"')
    return list(items)


def parse_on_failure(value: str | None) -> str:
    action = value or "none"
    if action not in ON_FAILURE:
        raise UsageError(f'invalid on-failure action "{action}" for health check: supported '
                         'actions are none,kill,restart,stop')
    return action


def resolve(options: "CreateOptions", image_hc: "dict[str, Any] | None") -> "dict[str, Any] | None":
    """The container's healthcheck: the options over the image's HEALTHCHECK; None when
    there is none (or --no-healthcheck, or HEALTHCHECK NONE)."""
    if options.no_healthcheck:
        if options.health_cmd is not None:
            raise UsageError("cannot specify both --no-healthcheck and --health-cmd")
        return None
    base = image_hc or {}
    test = parse_command(options.health_cmd) if options.health_cmd is not None \
        else list(base.get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    hc = {
        "test": test,
        "interval": _duration(options.health_interval, "interval",
                              int(base.get("Interval") or DEFAULT_INTERVAL)),
        "timeout": _duration(options.health_timeout, "timeout",
                             int(base.get("Timeout") or DEFAULT_TIMEOUT)),
        "start_period": _duration(options.health_start_period, "start-period",
                                  int(base.get("StartPeriod") or 0)),
        "start_interval": _duration(options.health_start_interval, "start-interval",
                                    int(base.get("StartInterval") or 0)),
        "retries": options.health_retries if options.health_retries is not None
        else int(base.get("Retries") or DEFAULT_RETRIES),
    }
    if hc["interval"] < 0:
        raise UsageError("healthcheck-interval must be at least 1 second",
                         hint="or `disable` for no scheduled checks")
    if hc["timeout"] < SECOND:
        raise UsageError("healthcheck-timeout must be at least 1 second")
    if hc["retries"] < 1:
        raise UsageError("healthcheck-retries must be greater than 0")
    if hc["start_period"] < 0:
        raise UsageError("healthcheck-start-period must be 0 seconds or greater")
    if hc["start_interval"] < 0:
        raise UsageError("healthcheck-start-interval must be 0 seconds or greater")
    return hc


def config_report(hc: "dict[str, Any]") -> "dict[str, Any]":
    """`Config.Healthcheck` as podman shows it (StartPeriod and StartInterval only when
    set)."""
    out: dict[str, Any] = {"Test": hc["test"]}
    if hc.get("start_period"):
        out["StartPeriod"] = hc["start_period"]
    if hc.get("start_interval"):
        out["StartInterval"] = hc["start_interval"]
    out.update(Interval=hc["interval"], Timeout=hc["timeout"], Retries=hc["retries"])
    return out


def schedule(hc: "dict[str, Any] | None") -> "tuple[int, int, int] | None":
    """What the monitor needs to schedule probes, in milliseconds: (interval, start
    period, interval during the start period); None: no scheduled probes."""
    if not hc or hc.get("interval", 0) <= 0:
        return None
    ms = 10**6
    interval = max(hc["interval"] // ms, 1)
    return (interval, hc.get("start_period", 0) // ms,
            max(hc.get("start_interval", 0) // ms, 0) or interval)


def initial_state(rec: "ContainerRecord") -> "dict[str, Any]":
    """State.Health of a container that has just started: starting, the old log kept."""
    old = rec.state.get("health") or {}
    return {"Status": "starting", "FailingStreak": 0, "Log": old.get("Log") or []}


class ForegroundSchedule:
    """For a container that `pdman run` holds in the foreground (it has no monitor): a
    thread of that pdman runs the same probe command a monitor would, at the same
    times, each in a session of its own (a ^C at the terminal is the container's) with
    its output dropped (the terminal is the container's too)."""

    def __init__(self, command: "list[str]", timing: "tuple[int, int, int]",
                 notify_ready: bool = False) -> None:
        import threading

        self.command = command
        self.notify_ready = notify_ready    # --sdnotify=healthy: READY=1 on the first pass
        self.interval, self.start_period, self.start_interval = (t / 1000 for t in timing)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthcheck", daemon=True)

    def start(self) -> "ForegroundSchedule":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _gap(self, since_start: float) -> float:
        return self.start_interval if since_start < self.start_period else self.interval

    def _run(self) -> None:
        import subprocess

        started = time.monotonic()
        while not self._stop.wait(self._gap(time.monotonic() - started)):
            try:
                done = subprocess.run(self.command, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True, check=False)
            except OSError:
                return
            if self.notify_ready and done.returncode == 0:
                from pdman.systemd import notify

                notify.send("READY=1\n")
                self.notify_ready = False


# ---------------------------------------------------------------------------
# one probe
# ---------------------------------------------------------------------------

class HealthReport:
    __slots__ = ("status", "exit_code")

    def __init__(self, status: str, exit_code: int) -> None:
        self.status = status
        self.exit_code = exit_code


def _probe_argv(test: "list[str]") -> "list[str]":
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", test[1]]
    return list(test[1:])


def run_check(ctx: "EngineContext", name: str) -> HealthReport:
    """`healthcheck run`: run the probe once, record it, act on unhealthy."""
    from pdman.engine import containers
    from pdman.errors import ContainerNotFound
    from pdman.storage import container_records as records

    try:
        rec = containers.reconcile(ctx, records.find(ctx.catalog, name))
    except ContainerNotFound as exc:
        raise ContainerNotFound(f"unable to look up {name} to perform a health check: {exc}",
                                hint=exc.hint) from None
    hc = rec.config.get("healthcheck")
    if not hc:
        raise ConflictError(f"container {rec.id} has no defined healthcheck",
                            hint="create it with --health-cmd, or from an image with a "
                                 "HEALTHCHECK")
    if rec.status != "running":
        raise ConflictError(f"container {rec.id} is not running",
                            hint=f"start it first (`pdman start {rec.name}`)")
    started = time.time()
    code, output = _exec_probe(ctx, rec, _probe_argv(hc["test"]), hc["timeout"] / SECOND)
    ended = time.time()
    try:
        now = records.find(ctx.catalog, rec.id)
    except ContainerNotFound:
        return HealthReport("unhealthy", code)
    if now.status != "running" or now.pid != rec.pid:
        # the container ended (or was restarted) while the probe ran: not its result
        return HealthReport(str((now.state.get("health") or {}).get("Status") or "unhealthy"), code)
    health = dict(now.state.get("health") or initial_state(now))
    in_start_period = started - now.started_at < hc.get("start_period", 0) / SECOND
    if code == 0:
        health.update(Status="healthy", FailingStreak=0)
    elif not in_start_period:
        health["FailingStreak"] = int(health.get("FailingStreak", 0)) + 1
        if health["FailingStreak"] >= int(hc["retries"]):
            health["Status"] = "unhealthy"
    health.setdefault("Status", "starting")
    entry = {"Start": _timestamp(started), "End": _timestamp(ended), "ExitCode": code,
             "Output": output}
    health["Log"] = [*(health.get("Log") or []), entry][-LOG_ENTRIES:]
    records.update_state(ctx.catalog, rec.id, state={"health": health})
    from pdman.engine import events

    # podman logs every probe's outcome (`events --filter event=health_status`)
    events.container_event(ctx.paths, "health_status", now, health_status=str(health["Status"]))
    if code != 0 and health["Status"] == "unhealthy":
        _on_failure(ctx, now)
    return HealthReport(str(health["Status"]), code)


def wait_healthy(ctx: "EngineContext", container_id: str, poll: float = 0.2) -> None:
    """For `--sdnotify=healthy`: return once the container's recorded health is
    healthy (its monitor's probes record it); ConflictError if it stops running
    first (a restart by its policy or by --health-on-failure is waited through)."""
    from pdman.engine import containers
    from pdman.errors import ContainerNotFound
    from pdman.storage import container_records as records

    while True:
        try:
            rec = containers.reconcile(ctx, records.find(ctx.catalog, container_id))
        except ContainerNotFound:
            raise ConflictError(f"container {container_id} was removed before its "
                                "healthcheck passed") from None
        if (rec.state.get("health") or {}).get("Status") == "healthy" \
                and rec.status == "running":
            return
        if rec.status != "running" and not rec.state.get("restarting"):
            raise ConflictError(f"container {rec.name} exited before its healthcheck passed "
                                "(--sdnotify=healthy)",
                                hint=f"see `pdman logs {rec.name}` and `pdman inspect "
                                     f"--format '{{{{json .State.Health}}}}' {rec.name}`")
        time.sleep(poll)


def _timestamp(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f000Z")


def _exec_probe(ctx: "EngineContext", rec: "ContainerRecord", argv: "list[str]",
                timeout: float) -> "tuple[int, str]":
    """Run the probe as an exec in the container: (exit code, output); -1 and docker's
    message when it outlives the timeout (then it is killed)."""
    import select
    import signal

    from pdman.engine import lifecycle
    from pdman.errors import PdmanError

    read_fd, write_fd = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        try:
            pid = lifecycle.exec_start(ctx, lifecycle.ExecOptions(name=rec.id, command=argv),
                                       (null, write_fd, write_fd))
        except PdmanError as exc:     # not found (127), not executable (126), ...
            return exc.exit_code, str(exc)[:OUTPUT_MAX]
        finally:
            os.close(write_fd)
            os.close(null)
        out = bytearray()
        deadline = time.monotonic() + timeout
        timed_out = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            data = os.read(read_fd, 65536)
            if not data:
                break
            if len(out) < 4 * OUTPUT_MAX:
                out += data
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = lifecycle.exec_wait(pid)
        if timed_out:
            return -1, f"Health check exceeded timeout ({timeout:g}s)"
        return code, out.decode(errors="replace")[:OUTPUT_MAX]
    finally:
        os.close(read_fd)


def _on_failure(ctx: "EngineContext", rec: "ContainerRecord") -> None:
    """--health-on-failure for an unhealthy container (the user's verbs)."""
    import sys

    from pdman.engine import lifecycle
    from pdman.errors import PdmanError

    action = rec.config.get("health_on_failure", "none")
    try:
        if action == "kill":
            lifecycle.kill(ctx, lifecycle.KillOptions(rec.id, "SIGKILL"))
        elif action == "stop":
            lifecycle.stop(ctx, lifecycle.StopOptions(rec.id))
        elif action == "restart":
            lifecycle.restart(ctx, lifecycle.StopOptions(rec.id))
    except PdmanError as exc:
        print(f"WARN[0000] container {rec.name} is unhealthy; --health-on-failure={action} "
              f"failed: {exc}", file=sys.stderr)


__all__ = ["ForegroundSchedule", "HealthReport", "config_report", "initial_state", "parse_command",
           "parse_duration", "parse_on_failure", "resolve", "run_check", "schedule", "wait_healthy"]
