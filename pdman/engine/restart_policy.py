"""Restart policies (`--restart=no|on-failure[:N]|always|unless-stopped`) without a
daemon.

Who restarts: the container's previous monitor. When the container exits, the monitor
(native/monitor.c) writes the exit file and execs `pdman container cleanup ID` in its
own place; that cleanup records the exit, undoes network and cgroup, and then -- when
the policy says so -- waits out docker's back-off and starts the container again under
a new monitor (engine/lifecycle.start_detached), then exits. So no process stays beyond
the one a running container already has, nothing polls, and the restart is the same
code path as `pdman start` (one engine). The C monitor stays ignorant of policies: it
only needs to run its exit command, as before.

Back-off, docker's: 100 ms before the first restart, doubled for each restart that
follows a run shorter than 10 s, at most one minute; a run of 10 s or more resets it.

A user's `stop`, `kill` or `rm` is respected: they set `stopped_by_user` before they
signal the container (so the cleanup that follows does not restart it) and cancel a
restart that is waiting out its back-off (SIGTERM to the waiting cleanup process, which
is still recorded as the container's monitor). A start by the user clears the flag and
the restart count (podman's RestartCount counts the policy's restarts since then).

Mutable state kept in the record's `state` JSON: restart_count, restart_delay,
restarting (waiting out the back-off), stopped_by_user.
"""

from __future__ import annotations

import os
import time

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.storage.container_records import ContainerRecord

POLICIES = ("no", "on-failure", "always", "unless-stopped")
FIRST_DELAY = 0.1
MAX_DELAY = 60.0
#: a run at least this long resets the back-off (docker's)
RESET_AFTER = 10.0


def parse(value: "str | None") -> "dict[str, Any]":
    """`--restart` -> {"name": ..., "max_retries": N}, with podman's errors. "" (the
    default) stays "" as podman shows it; it means no."""
    text = (value or "").strip()
    name, colon, count = text.partition(":")
    if name not in ("", *POLICIES):
        raise UsageError(f'"{text}" is not a valid restart policy',
                         hint="use no, on-failure[:N], always or unless-stopped")
    retries = 0
    if colon:
        if name != "on-failure":
            raise UsageError("restart policy retries can only be specified with on-failure "
                             "restart policy", hint="write on-failure:N")
        try:
            retries = int(count)
        except ValueError:
            raise UsageError(f"parsing restart policy retry count: {count!r} is not a "
                             "number", hint="write on-failure:N, e.g. on-failure:3") from None
        if retries < 0:
            raise UsageError("must specify restart policy retry count as a number greater "
                             "than 0", hint="write on-failure:N, e.g. on-failure:3")
    return {"name": name, "max_retries": retries}


def check_with_remove(policy: "dict[str, Any]", remove: bool) -> None:
    if remove and policy["name"] not in ("", "no"):
        raise UsageError('the --rm option conflicts with --restart, when the restartPolicy '
                         'is not "" and "no"', hint="drop --rm, or --restart")


def report(config: "dict[str, Any]") -> "dict[str, Any]":
    """`HostConfig.RestartPolicy` as podman shows it."""
    policy = config.get("restart_policy") or {}
    return {"Name": policy.get("name", ""), "MaximumRetryCount": policy.get("max_retries", 0)}


def should_restart(rec: "ContainerRecord") -> bool:
    """Whether the policy restarts the container after the exit just recorded."""
    policy = rec.config.get("restart_policy") or {}
    name = policy.get("name", "")
    if name in ("", "no") or rec.state.get("stopped_by_user") or rec.status != "exited":
        return False
    if rec.exit_code is None:          # its monitor died: nobody knows what happened
        return False
    if name == "on-failure":
        if rec.exit_code == 0:
            return False
        retries = int(policy.get("max_retries", 0))
        if retries and int(rec.state.get("restart_count", 0)) >= retries:
            return False
    return True


def next_delay(previous: float, ran_for: float) -> float:
    """docker's back-off: the delay before the next restart."""
    if ran_for >= RESET_AFTER or previous <= 0:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


class _Cancelled(Exception):
    pass


def restart_after_exit(ctx: "EngineContext", rec: "ContainerRecord") -> None:
    """In the cleanup of an exited container (its monitor's process) or in the `pdman
    run` that held it in the foreground: wait out the back-off, then start it again
    under a new monitor, unless a user stopped or removed it meanwhile. Errors of the
    start are recorded in State.Error and told on stderr (the monitor's log)."""
    import signal
    import sys

    from pdman.engine import lifecycle
    from pdman.errors import ContainerNotFound, PdmanError
    from pdman.storage import container_records as records

    if not should_restart(rec):
        return
    delay = next_delay(float(rec.state.get("restart_delay", 0)),
                       (rec.finished_at or time.time()) - rec.started_at)
    records.update_state(ctx.catalog, rec.id, state={"restarting": True, "restart_delay": delay})
    sleeping = True

    def on_term(signo: int, frame: object) -> None:
        # a stop/kill/rm while the back-off runs: no restart. Once the start has begun
        # it is let finish (the canceller waits for us, then stops the new run)
        if sleeping:
            raise _Cancelled

    old = signal.signal(signal.SIGTERM, on_term)
    started = False
    try:
        time.sleep(delay)
        sleeping = False
        started = lifecycle.start_detached(ctx, records.find(ctx.catalog, rec.id),
                                           by_policy=True)
    except (_Cancelled, ContainerNotFound):
        pass
    except PdmanError as exc:
        print(f"pdman: restarting container {rec.name}: {exc}", file=sys.stderr)
        records.update_state(ctx.catalog, rec.id, state={"error": f"restart policy: {exc}"})
    finally:
        signal.signal(signal.SIGTERM, old)
    if not started:     # (a started run cleared it itself; on a removed record: no-op)
        records.update_state(ctx.catalog, rec.id, state={"restarting": False})


def stopped_by_user(ctx: "EngineContext", rec: "ContainerRecord") -> None:
    """A user's stop, kill or rm: no restart by the policy after this exit, and a
    restart waiting out its back-off is cancelled (its process is waited for: once it
    has begun the start, the caller then finds the container running again)."""
    from pdman.storage import container_records as records

    if (rec.config.get("restart_policy") or {}).get("name", "") in ("", "no"):
        return      # nothing would restart it (and the policy never changes after create)
    records.update_state(ctx.catalog, rec.id, state={"stopped_by_user": True})
    rec.state["stopped_by_user"] = True
    if not rec.state.get("restarting") or rec.status in ("running", "paused") \
            or not rec.monitor_pid or rec.monitor_pid == os.getpid():
        return
    import signal

    from pdman.engine.lifecycle import MONITOR_GRACE
    from pdman.runtime import procs

    start = rec.state.get("monitor_start", 0)
    pidfd = procs.open_process(rec.monitor_pid, start)
    if pidfd is None:
        return
    try:
        procs.signal_process(pidfd, signal.SIGTERM)
    finally:
        os.close(pidfd)
    procs.wait_gone(rec.monitor_pid, start, MONITOR_GRACE)


__all__ = ["POLICIES", "check_with_remove", "next_delay", "parse", "report",
           "restart_after_exit", "should_restart", "stopped_by_user"]
