"""Verbs of a container's life after `create`: start in the background under a monitor,
stop, kill, restart, attach, logs, exec, top, and `cleanup`, the exit command the
monitor runs when a container exits.

A detached container has a monitor (native/monitor.c, started by runtime/monitor.py)
and no Python process. The catalog records `running` with the container's PID and the
monitor's (each with its start time, so a recycled PID is never mistaken for them).
What happens at the exit is recorded twice over, so that no path loses it: the monitor
writes the exit file, then execs `pdman container cleanup ID`, which records the exit,
runs the teardown hooks and removes a `--rm` container; and any command that finds a
dead container still recorded as running (`reconcile` in engine/containers.py) records
the exit from that file -- or, when the monitor died without one, an unknown exit code.

Ordering rule: the monitor's process lives until its cleanup is done, and a container
is only started again once its previous monitor is gone, so a late cleanup can never
tear down the network of the next run.

Hot path (`stop`, `logs`, `exec`, `start`): heavy imports stay inside the verbs.
"""

from __future__ import annotations

import os
import time

from pdman.engine import containers, events
from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, ContainerNotFound, PdmanError, UsageError
from pdman.storage import container_records as records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from pdman.runtime.logs import LogEntry

#: how long a verb waits for a monitor to record the exit after the container died
MONITOR_GRACE = 10.0


# ---------------------------------------------------------------------------
# start in the background
# ---------------------------------------------------------------------------

def start(ctx: EngineContext, name: str) -> bool:
    """`start` of one container in the background: False when it runs already (podman
    says nothing then; the API answers docker's 304)."""
    rec = containers.reconcile(ctx, records.find(ctx.catalog, name))
    if rec.state.get("restarting"):
        # waiting out the restart policy's back-off: the user's start comes first (the
        # waiting process would hold it up as the "previous monitor" otherwise)
        from pdman.engine import restart_policy

        restart_policy.stopped_by_user(ctx, rec)
        rec = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
    if rec.status in ("running", "paused"):
        return False
    start_detached(ctx, rec)
    return True


def start_detached(ctx: EngineContext, rec: records.ContainerRecord,
                   by_policy: bool = False) -> bool:
    """Stages 4-6 for a detached container: namespaces and exec under a new monitor
    (which holds its stdio and writes its log), network and cgroup, record `running`.
    Two `start`s of one container at once: the second finds it running.

    `by_policy`: a restart by the restart policy (engine/restart_policy.py), which
    does nothing (False) when a user stopped the container meanwhile; a user's start
    clears that mark and the restart count."""
    import fcntl

    from pdman.storage.container_fs import ContainerDirs

    from pdman.runtime import statefiles

    if rec.config.get("requires"):
        from pdman.engine import runextra

        runextra.start_requirements(ctx, rec.config)   # --requires: theirs first
    run_dir = statefiles.private_dir(ContainerDirs(ctx.paths, rec.id).run)
    mode = rec.config.get("sdnotify") or "conmon"
    relay = None
    if os.environ.get("NOTIFY_SOCKET") and mode == "container":  # before the spec is built
        from pdman.systemd import notify

        relay = notify.Relay(notify.proxy_path(run_dir))
    lock = statefiles.open_file(os.path.join(run_dir, "start.lock"))
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rec = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
        if by_policy:
            if rec.state.get("stopped_by_user") or rec.status in ("running", "paused"):
                if relay is not None:
                    relay.close()
                return False
            count = int(rec.state.get("restart_count", 0)) + 1
            changes = {"restart_count": count, "restarting": False}
        else:
            changes = {"restart_count": 0, "restart_delay": 0, "restarting": False,
                       "stopped_by_user": False}
        records.update_state(ctx.catalog, rec.id, state=changes)
        rec.state.update(changes)
        _start_locked(ctx, rec)
    except BaseException:
        if relay is not None:
            relay.close()
        raise
    finally:
        os.close(lock)
    if os.environ.get("NOTIFY_SOCKET"):                         # run by a systemd unit
        from pdman.systemd import notify

        started = records.find(ctx.catalog, rec.id)
        notify.after_start(mode, started.monitor_pid, relay)
        if mode == "healthy" and not by_policy:
            from pdman.engine import health

            health.wait_healthy(ctx, rec.id)
            notify.send("READY=1\n")
    return True


def _start_locked(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    from pdman import cgroups, network
    from pdman.runtime import monitor
    from pdman.runtime import spec as specmod
    from pdman.storage.container_fs import ContainerDirs

    containers._check_startable(rec)
    if rec.config.get("pod_infra"):                 # a pod's member: its infra first
        from pdman.engine import pods

        pods.ensure_infra(ctx, rec)
    _wait_for_previous_monitor(rec)
    config = rec.config
    if config.get("log_driver") == "passthrough":
        raise UsageError("the passthrough log driver needs a terminal to pass through to: "
                         "it cannot be used with a detached container",
                         hint="use --log-driver k8s-file, or run it in the foreground")
    mapping = containers.container_mapping(config)
    containers._warn_single_id(ctx, mapping)
    dirs = ContainerDirs(ctx.paths, rec.id)
    spec = specmod.build(ctx.paths, rec.id, config)
    if spec.network_late:   # the command starts once it sees its network configured; with
        # published ports the start returns once pasta is ready (bound), as without watching
        spec.network_watch = network.watch_families(config["net"], detached=True)
    paths = ctx.paths

    # both hooks run in the forked process that becomes the monitor, with a catalog
    # connection of its own (one must not cross a fork): opened there, on first use
    child_ctx = EngineContext(paths)

    def start_network(pid: int) -> "Callable[[], None]":         # 5: network, while the
        return network.begin_attach(child_ctx, rec.id, config["net"], pid,  # maps are written
                                    watch=bool(spec.network_watch))

    def before_release(pid: int) -> None:                       # 5: cgroup
        cgroups.attach(child_ctx, rec.id, config["cgroup"], pid)
        if "oom_score_adj" in config:
            from pdman.engine import runextra

            runextra.before_release(config, pid)

    def on_started(pid: int, monitor_pid: int) -> None:         # 6: record
        from pdman.runtime.procs import start_time

        if "pidfile" in config:
            from pdman.engine import runextra

            runextra.after_start(config, pid)

        state = {"pid_start": start_time(pid), "monitor_start": start_time(monitor_pid),
                 "error": ""}
        if config.get("healthcheck"):
            from pdman.engine import health

            state["health"] = health.initial_state(rec)
        records.update_state(child_ctx.catalog, rec.id, status="running", pid=pid,
                             monitor_pid=monitor_pid, started_at=time.time(), finished_at=0,
                             exit_code=None, oom_killed=0, state=state)
        # the monitor joins the container's cgroup, as podman places conmon: it then
        # holds the scope until it has read the exit status and memory.events
        _join_cgroup(child_ctx, rec, monitor_pid, "its monitor")
        events.container_event(paths, "start", rec)

    options = monitor.MonitorOptions(
        container_id=rec.id, name=rec.name, run_dir=dirs.run, tty=bool(config.get("tty")),
        interactive=bool(config.get("interactive")), log_driver=config.get("log_driver", "k8s-file"),
        log_path=containers.log_path(ctx, rec), log_max_size=containers.log_max_size(config),
        exit_command=monitor.exit_command(ctx.paths.root, ctx.paths.runroot, rec.id),
        health=_health_schedule(ctx, rec), timeout_ms=int(config.get("timeout") or 0) * 1000)
    events.container_event(ctx.paths, "init", rec)
    try:
        monitor.launch(spec, mapping, options, before_release, on_started,  # 4: namespaces, exec
                       start_early=start_network)
    except BaseException:
        containers._teardown(ctx, rec)
        raise


def _health_schedule(ctx: EngineContext,
                     rec: records.ContainerRecord) -> "tuple[int, int, int, list[str]] | None":
    """The monitor schedules the healthcheck (engine/health.py): its timing and the
    command it runs each time (`pdman healthcheck run ID`)."""
    if not rec.config.get("healthcheck"):
        return None
    from pdman.engine import health
    from pdman.runtime import monitor

    timing = health.schedule(rec.config["healthcheck"])
    if timing is None:
        return None
    return (*timing, monitor.pdman_command(ctx.paths.root, ctx.paths.runroot,
                                           ["healthcheck", "run", rec.id]))


def _join_cgroup(ctx: EngineContext, rec: records.ContainerRecord, pid: int, who: str) -> None:
    """Move `pid` into the container's cgroup; a failure is a warning, not the end of
    the container (or of the exec)."""
    from pdman import cgroups

    try:
        cgroups.join(ctx, rec.id, rec.config["cgroup"], pid)
    except PdmanError as exc:
        import sys

        print(f"WARN[0000] container {rec.name}: {who} stays outside the container's "
              f"cgroup: {exc}", file=sys.stderr)


def _wait_for_previous_monitor(rec: records.ContainerRecord) -> None:
    from pdman.runtime import procs

    if rec.monitor_pid == os.getpid():
        return  # the restart policy restarts from the previous monitor's own cleanup
    if rec.monitor_pid and not procs.wait_gone(rec.monitor_pid, rec.state.get("monitor_start", 0),
                                               MONITOR_GRACE):
        raise ConflictError(f"container {rec.name} is still being cleaned up after its last run",
                            hint="try again in a moment")


# ---------------------------------------------------------------------------
# stop, kill, restart
# ---------------------------------------------------------------------------

_SIGNAL_ALIASES = {"IOT": "ABRT", "CLD": "CHLD", "POLL": "IO"}


def parse_signal(value: "str | int") -> int:
    """`SIGTERM`, `TERM`, `term`, `15`, `SIGRTMIN+3` -> the number."""
    import signal

    text = str(value).strip().upper()
    if text.isdigit():
        number = int(text)
        if 0 < number < signal.NSIG:
            return number
    else:
        name = text.removeprefix("SIG")
        name = _SIGNAL_ALIASES.get(name, name)
        if name.startswith(("RTMIN", "RTMAX")):
            base = signal.SIGRTMIN if name.startswith("RTMIN") else signal.SIGRTMAX
            offset = name[5:]
            try:
                number = base + int(offset) if offset else base
            except ValueError:
                number = 0
            if signal.SIGRTMIN <= number <= signal.SIGRTMAX:
                return int(number)
        else:
            sig = getattr(signal, "SIG" + name, None)
            if isinstance(sig, int) and not name.startswith("_"):
                return int(sig)
    raise UsageError(f"invalid signal {value!r}", hint="use a name such as SIGTERM or a number")


class StopOptions:
    __slots__ = ("name", "timeout")

    def __init__(self, name: str, timeout: int | None = None) -> None:
        self.name = name
        self.timeout = timeout   # None: the container's --stop-timeout (default 10)


def stop(ctx: EngineContext, options: StopOptions) -> records.ContainerRecord:
    """`stop`: the container's stop signal (the image's StopSignal, e.g. nginx's
    SIGQUIT, else SIGTERM), SIGKILL after the timeout; returns once the exit is
    recorded. A container that is not running is left as it is."""
    import signal

    from pdman.engine import restart_policy
    from pdman.runtime import procs

    rec = containers.reconcile(ctx, records.find(ctx.catalog, options.name))
    # before the signal: no restart after it (also of an exited one whose cleanup is
    # about to restart it)
    restart_policy.stopped_by_user(ctx, rec)
    if rec.state.get("restarting"):             # cancelled; its start may have begun
        rec = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
    if rec.status not in ("running", "paused"):
        return rec
    timeout = rec.config.get("stop_timeout", 10) if options.timeout is None else options.timeout
    sig = parse_signal(rec.config.get("stop_signal") or "SIGTERM")
    claim = claim_cleanup(ctx, rec)
    pidfd = procs.open_process(rec.pid, rec.state.get("pid_start", 0))
    if pidfd is not None:
        try:
            if procs.signal_process(pidfd, sig) and not procs.wait_exit(pidfd, max(timeout, 0)):
                procs.signal_process(pidfd, signal.SIGKILL)
                procs.wait_exit(pidfd, MONITOR_GRACE)
        finally:
            os.close(pidfd)
    rec = _await_exit_record(ctx, rec)
    events.container_event(ctx.paths, "stop", rec)
    if not rec.monitor_pid:
        return rec
    await_cleanup(ctx, rec, claim)
    try:
        return containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
    except ContainerNotFound:           # --rm: its cleanup removed it
        return rec


def claim_cleanup(ctx: EngineContext, rec: records.ContainerRecord) -> str:
    """Before `stop` or `rm -f` makes a detached container exit: tell its monitor not to
    exec its exit command (`pdman container cleanup`: a second interpreter, whose start
    was most of what `stop` waited for), because this command runs the same cleanup
    itself once the monitor is gone. The claim is `cleanup-by-MONITORPID` in the run
    directory (native/monitor.c), so an old run's claim never silences a new monitor.

    Returns its path; "" when there is no monitor or the file could not be made (the
    monitor's cleanup runs then, as before). A claimer killed before its cleanup leaves
    it to the next command that looks at the container: reconcile tears down the run
    of a container whose monitor is gone."""
    if not rec.monitor_pid:
        return ""
    from pdman.runtime.monitor import CLEANUP_CLAIM
    from pdman.storage.container_fs import ContainerDirs

    path = os.path.join(ContainerDirs(ctx.paths, rec.id).run,
                        f"{CLEANUP_CLAIM}{rec.monitor_pid}")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600))
    except OSError:
        return ""
    return path


def await_cleanup(ctx: EngineContext, rec: records.ContainerRecord, claim: str) -> None:
    """Once the exit is recorded, the monitor ends -- or becomes `pdman container
    cleanup` (its exit command, same PID) when the cleanup was not claimed or the
    container exited before the claim: wait for it, then run the claimed cleanup here.
    When `stop` returns, the container's network helpers are gone and its published
    ports free again (a `run -p` of the same port right after works), as after `rm -f`."""
    from pdman.runtime import procs

    procs.wait_gone(rec.monitor_pid, rec.state.get("monitor_start", 0), MONITOR_GRACE)
    if claim:
        cleanup(ctx, rec.id)    # idempotent: a no-op when the monitor's own ran first
        try:
            os.unlink(claim)
        except OSError:
            pass                # a --rm container's run directory went with it


def _await_exit_record(ctx: EngineContext, rec: records.ContainerRecord) -> records.ContainerRecord:
    """After the container process is gone: wait for whoever records its exit (the
    monitor's exit file, or the `pdman run` holding a foreground container)."""
    from pdman.runtime import monitor, procs
    from pdman.storage.container_fs import ContainerDirs

    run_dir = ContainerDirs(ctx.paths, rec.id).run
    deadline = time.monotonic() + MONITOR_GRACE
    while time.monotonic() < deadline:
        if rec.monitor_pid:
            exit_rec = monitor.read_exit(run_dir)
            if (exit_rec is not None and exit_rec.pid == rec.pid) or not procs.is_running(
                    rec.monitor_pid, rec.state.get("monitor_start", 0)):
                break
        else:
            try:
                now = records.find(ctx.catalog, rec.id)
            except ContainerNotFound:  # removed meanwhile (`run --rm` in the foreground)
                return rec
            if now.status not in ("running", "paused") or now.pid != rec.pid:
                return now
        time.sleep(0.01)
    return containers.reconcile(ctx, records.find(ctx.catalog, rec.id))


class KillOptions:
    __slots__ = ("name", "signal")

    def __init__(self, name: str, signal: str = "SIGKILL") -> None:
        self.name = name
        self.signal = signal


def kill(ctx: EngineContext, options: KillOptions) -> records.ContainerRecord:
    """`kill`: send a signal to the container's PID 1; does not wait."""
    from pdman.engine import restart_policy
    from pdman.runtime import procs

    sig = parse_signal(options.signal)
    rec = containers.reconcile(ctx, records.find(ctx.catalog, options.name))
    if rec.status not in ("running", "paused"):
        if rec.state.get("restarting"):     # waiting out its back-off: no restart then
            restart_policy.stopped_by_user(ctx, rec)
            return rec
        raise ConflictError(f"can only kill running containers. {rec.id} is in state "
                            f"{rec.status}: container state improper",
                            hint=f"start it first (`pdman start {rec.name}`)")
    restart_policy.stopped_by_user(ctx, rec)    # podman: a kill is the user's stop
    pidfd = procs.open_process(rec.pid, rec.state.get("pid_start", 0))
    if pidfd is not None:
        try:
            procs.signal_process(pidfd, sig)
        finally:
            os.close(pidfd)
    events.container_event(ctx.paths, "kill", rec, signal=str(sig))
    return rec


def restart(ctx: EngineContext, options: StopOptions) -> records.ContainerRecord:
    """`restart`: stop (if running), then start in the background."""
    rec = stop(ctx, options)
    rec = records.find(ctx.catalog, rec.id)   # `--rm` containers are gone after a stop
    start_detached(ctx, rec)
    events.container_event(ctx.paths, "restart", rec)
    return rec


def kill_for_removal(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """`rm -f` of a running container: SIGKILL, then wait until its monitor is gone.
    The cleanup is claimed (`claim_cleanup`): the removal that follows tears the run
    down itself (reconcile of a container whose monitor is gone); when the claim came
    too late, the monitor's own cleanup ran (and removed a `--rm` container)."""
    import signal

    from pdman.engine import restart_policy
    from pdman.runtime import procs

    restart_policy.stopped_by_user(ctx, rec)
    claim_cleanup(ctx, rec)
    pidfd = procs.open_process(rec.pid, rec.state.get("pid_start", 0))
    if pidfd is not None:
        try:
            procs.signal_process(pidfd, signal.SIGKILL)
            procs.wait_exit(pidfd, MONITOR_GRACE)
        finally:
            os.close(pidfd)
    if rec.monitor_pid:
        procs.wait_gone(rec.monitor_pid, rec.state.get("monitor_start", 0), MONITOR_GRACE)


# ---------------------------------------------------------------------------
# cleanup: the monitor's exit command
# ---------------------------------------------------------------------------

def cleanup(ctx: EngineContext, name: str) -> None:
    """Run by the monitor (as its last act, in its place) when the container exited:
    record the exit, undo network and cgroup, remove a `--rm` container. Idempotent,
    and quiet about a container that is gone already (`rm -f` raced it)."""
    try:
        rec = records.find(ctx.catalog, name)
    except ContainerNotFound:
        return
    rec = containers.reconcile(ctx, rec, monitor_exiting=True)
    if rec.status in ("running", "paused"):
        return  # a newer run (a start that did not wait for us): not ours to touch
    containers.teardown_once(ctx, rec)
    if rec.config.get("remove"):
        try:
            containers.remove(ctx, containers.RemoveOptions(name=rec.id, force=True, volumes=True))
        except ContainerNotFound:
            pass
    elif (rec.config.get("restart_policy") or {}).get("name") not in (None, "", "no"):
        from pdman.engine import restart_policy

        restart_policy.restart_after_exit(ctx, rec)
        return
    if rec.config.get("pod_infra"):
        from pdman.engine import pods

        pods.member_exited(ctx, rec)


# ---------------------------------------------------------------------------
# attach, logs
# ---------------------------------------------------------------------------

class AttachOptions:
    __slots__ = ("name", "no_stdin", "detach_keys", "sig_proxy")

    def __init__(self, name: str, no_stdin: bool = False, detach_keys: str | None = None,
                 sig_proxy: bool = True) -> None:
        self.name = name
        self.no_stdin = no_stdin
        self.detach_keys = detach_keys
        self.sig_proxy = sig_proxy


def attach(ctx: EngineContext, options: AttachOptions) -> int:
    """`attach`: the terminal to a running detached container, through its monitor;
    the container's exit status when it exits, 0 after the detach keys."""
    from pdman.runtime import attach as attach_session
    from pdman.storage.container_fs import ContainerDirs

    rec = containers.reconcile(ctx, records.find(ctx.catalog, options.name))
    if rec.status != "running":
        raise ConflictError(f"you can only attach to running containers: {rec.name} is {rec.status}",
                            hint=f"start it with `pdman start -a {rec.name}`")
    if not rec.monitor_pid:
        raise ConflictError(f"container {rec.name} runs in the foreground of another pdman "
                            "process: it has no monitor to attach to",
                            hint="attach works with containers started with -d or `pdman start`")
    keys = attach_session.parse_detach_keys(options.detach_keys or "ctrl-p,ctrl-q")
    events.container_event(ctx.paths, "attach", rec)
    code = attach_session.run(ContainerDirs(ctx.paths, rec.id).run, tty=bool(rec.config.get("tty")),
                              stdin=bool(rec.config.get("interactive")) and not options.no_stdin,
                              detach_keys=keys, pid=rec.pid if options.sig_proxy else 0)
    if code is None:   # detached
        return 0
    final = _await_exit_record(ctx, rec)
    return final.exit_code if final.exit_code is not None else code


class LogsOptions:
    """`next_exit`: follow until the container's next exit after this call, even if it
    has not started yet (the API's attach before start, as `docker run` does it)."""

    __slots__ = ("names", "follow", "since", "until", "tail", "timestamps", "next_exit",
                 "interval", "use_names", "color")

    def __init__(self, names: list[str], follow: bool = False, since: str | None = None,
                 until: str | None = None, tail: int = -1, timestamps: bool = False,
                 next_exit: bool = False, interval: float = 0.1, use_names: bool = False,
                 color: bool = False) -> None:
        self.names = names
        self.use_names = use_names    # --names: several containers' lines by name, not ID
        self.color = color            # --color: each container's lines in its own colour
        self.follow = follow
        self.since = since
        self.until = until
        self.tail = tail
        self.timestamps = timestamps
        self.next_exit = next_exit
        self.interval = interval      # how often a follower looks for more output


def logs(ctx: EngineContext, options: LogsOptions, out: "BinaryIO", err: "BinaryIO") -> None:
    """`logs`: a container's output from its log, stdout to `out` and stderr to `err`;
    with `follow`, until the container exits."""
    write_logs(open_logs(ctx, options), options, out, err)


def open_logs(ctx: EngineContext, options: LogsOptions) -> "list[Any]":
    """The first half of `logs`: find the containers and open their logs (each source:
    its entries, the line prefix, the colour). With `next_exit` the log file is opened
    (created if missing) here and now, so a caller that does this before the container
    can start (the API's attach, then `docker run` starts it) reads all its output even
    if `--rm` removes it, log and all, before the first read."""
    from pdman.runtime import logs as logmod

    now = time.time()
    since = logmod.parse_time_option(options.since, now, "--since") if options.since else None
    until = logmod.parse_time_option(options.until, now, "--until") if options.until else None
    recs = [records.find(ctx.catalog, n) for n in options.names]
    for rec in recs:
        if rec.config.get("log_driver") in ("none", "passthrough"):
            raise UsageError(f"container {rec.name} uses the `{rec.config['log_driver']}` log "
                             "driver: it has no logs",
                             hint="create it with --log-driver k8s-file to keep its output")
    sources = []
    for i, rec in enumerate(recs):
        prefix = b""
        if len(recs) > 1:   # podman marks lines by container only when there are several
            prefix = ((rec.name if options.use_names else rec.id[:12]) + " ").encode()
        color = _LOG_COLORS[i % len(_LOG_COLORS)] if options.color else b""

        def done(rec: records.ContainerRecord = rec) -> bool:
            try:
                now_rec = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
            except ContainerNotFound:  # removed (`--rm`): its log went with it
                return True
            if options.next_exit:
                return now_rec.finished_at >= now and now_rec.status not in ("running", "paused")
            return now_rec.status not in ("running", "paused")

        follow = options.follow and (options.next_exit or
                                     rec.status in ("running", "paused", "created"))
        if rec.config.get("log_driver") == "journald":
            found = logmod.journal_entries(rec.id, follow=follow, done=done, since=since,
                                           until=until, tail=options.tail)
        else:
            found = logmod.entries(containers.log_path(ctx, rec), follow=follow, done=done,
                                   since=since, until=until, tail=options.tail,
                                   interval=options.interval, hold=options.next_exit)
        sources.append((found, prefix, color))
    return sources


def close_logs(sources: "list[Any]") -> None:
    """Let go of what open_logs opened, unread (the attach went another way)."""
    for found, _prefix, _color in sources:
        found.close()


def write_logs(sources: "list[Any]", options: LogsOptions, out: "BinaryIO",
               err: "BinaryIO") -> None:
    """The second half of `logs`: the entries of open_logs' sources to `out`/`err`."""
    if not options.follow or len(sources) == 1:
        for found, prefix, color in sources:
            for entry in found:
                _write_entry(entry, out, err, prefix, options.timestamps, color)
        return
    # `logs -f C1 C2`: follow all at once (one after the other would wait for C1 to exit
    # before showing anything of C2), each line whole under a lock
    import threading

    lock = threading.Lock()

    def pump(found: "Any", prefix: bytes, color: bytes) -> None:
        for entry in found:
            with lock:
                _write_entry(entry, out, err, prefix, options.timestamps, color)

    threads = [threading.Thread(target=pump, args=src, daemon=True) for src in sources]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)  # a timed join: ^C still reaches the main thread


#: `logs --color`: the colour of the Nth container's lines, in podman 4.3's order
_LOG_COLORS = (b"\033[37m", b"\033[31m", b"\033[33m", b"\033[34m", b"\033[35m",
               b"\033[36m", b"\033[32m")


def _write_entry(entry: "LogEntry", out: "BinaryIO", err: "BinaryIO", prefix: bytes,
                 timestamps: bool, color: bytes = b"") -> None:
    stream = out if entry.stream == "stdout" else err
    head = prefix + (entry.timestamp.encode() + b" " if timestamps else b"")
    data = entry.data
    if color:   # the whole line coloured, the reset before its newline (as podman)
        end = b"\n" if data.endswith(b"\n") else b""
        data = color + head + data[:len(data) - len(end)] + b"\033[0m" + end
        head = b""
    stream.write(head + data)
    stream.flush()


# ---------------------------------------------------------------------------
# exec, top
# ---------------------------------------------------------------------------

class ExecOptions:
    __slots__ = ("name", "command", "interactive", "tty", "env", "env_files", "user",
                 "workdir", "detach", "privileged", "preserve_fds")

    def __init__(self, name: str, command: list[str], interactive: bool = False,
                 tty: bool = False, env: "list[str] | None" = None,
                 env_files: "list[str] | None" = None, user: str | None = None,
                 workdir: str | None = None, detach: bool = False,
                 privileged: bool = False, preserve_fds: int = 0) -> None:
        self.name = name
        self.command = command
        self.interactive = interactive
        self.tty = tty
        self.env = env or []
        self.env_files = env_files or []
        self.user = user
        self.workdir = workdir
        self.detach = detach
        self.privileged = privileged
        self.preserve_fds = preserve_fds       # fds 3..3+N-1 of the caller passed on


def exec_in(ctx: EngineContext, options: ExecOptions) -> int:
    """`exec`: run a command in a running container; its exit status (0 with -d)."""
    if options.detach:
        exec_start(ctx, options, (-1, -1, -1))
        return 0
    from pdman.runtime.foreground import ForegroundSession

    with ForegroundSession(tty=options.tty, interactive=options.interactive) as session:
        pid = exec_start(ctx, options, session.stdio())
        session.started(pid)
        code = session.wait()
    try:
        rec = records.find(ctx.catalog, options.name)
    except ContainerNotFound:
        return code
    events.container_event(ctx.paths, "exec_died", rec, exit_code=code)
    return code


def exec_start(ctx: EngineContext, options: ExecOptions, stdio: "tuple[int, int, int]") -> int:
    """Start an exec'd process with the given stdio fds (-1: none); its PID, a child of
    the caller, to be reaped with `exec_wait` (unless detached)."""
    from pdman.engine import runopts
    from pdman.runtime import exec as execmod
    from pdman.runtime.spec import layer_paths
    from pdman.storage.container_fs import ContainerDirs

    if not options.command:
        raise UsageError("exec needs a command to run", hint="pdman exec CONTAINER COMMAND [ARG...]")
    rec = containers.reconcile(ctx, records.find(ctx.catalog, options.name))
    if rec.status != "running":
        raise ConflictError(f"can only create exec sessions on running containers: container "
                            f"{rec.name} is {rec.status}: container state improper",
                            hint=f"start it first (`pdman start {rec.name}`)")
    layer_dirs = [ContainerDirs(ctx.paths, rec.id).upper,
                  *layer_paths(ctx.paths, rec.config.get("layers", []))]
    spec = execmod.process_spec(rec.config, layer_dirs, options.command, user=options.user,
                                workdir=options.workdir,
                                env=runopts.env_list(options.env, options.env_files),
                                tty=options.tty and not options.detach,
                                privileged=options.privileged)
    from pdman.runtime import seccomp      # the container's filter applies to exec'd processes

    spec.seccomp_filter = seccomp.filter_for(ctx.paths.root, rec.config, rec.config.get("caps", []))

    def join_cgroup(joiner: int) -> None:
        # the exec'd process counts against the container's limits: the process that
        # forks it joins the container's cgroup first, as runc's exec does
        _join_cgroup(ctx, rec, joiner, "the exec'd process")

    spec.stdio = stdio
    spec.preserve_fds = options.preserve_fds
    pid = execmod.start(rec.pid, spec, before_fork=join_cgroup)
    events.container_event(ctx.paths, "exec", rec)
    return pid


def exec_wait(pid: int) -> int:
    """The exit status of an exec'd process (128+N after signal N)."""
    from pdman.runtime.spawn import exit_status

    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return 125
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return exit_status(status)


class MonitorAttachment:
    """A connection to a running container's monitor, for a caller that relays the
    container's stdio elsewhere (the API's attach): the packets of runtime/attach.py,
    behind plain methods."""

    def __init__(self, sock: "Any") -> None:
        self.sock = sock

    def send_stdin(self, data: bytes) -> None:
        from pdman.runtime import attach as attach_session, native

        attach_session.send_packet(self.sock, native.ATTACH_STDIN, data)

    def close_stdin(self) -> None:
        from pdman.runtime import attach as attach_session, native

        attach_session.send_packet(self.sock, native.ATTACH_STDIN_CLOSE)

    def resize(self, rows: int, cols: int) -> None:
        import struct

        from pdman.runtime import attach as attach_session, native

        attach_session.send_packet(self.sock, native.ATTACH_RESIZE, struct.pack("HH", rows, cols))

    def read(self) -> "tuple[str, bytes]":
        """The next output: ("stdout"|"stderr", bytes), ("exit", status), or ("eof", b"")."""
        from pdman.runtime import native

        while True:
            try:
                packet = self.sock.recv(native.ATTACH_PACKET_MAX)
            except ConnectionResetError:
                continue    # our unread input was dropped; the queued output follows
            if not packet:
                return "eof", b""
            kind, data = packet[0], packet[1:]
            if kind == native.ATTACH_EXIT:
                return "exit", data[:4]
            return ("stderr" if kind == native.ATTACH_STDERR else "stdout"), data

    def close(self) -> None:
        self.sock.close()

    @staticmethod
    def exit_status(data: bytes) -> int:
        import sys

        return int.from_bytes(data[:4], sys.byteorder, signed=True)


def attach_socket(ctx: EngineContext, name: str) -> MonitorAttachment:
    """Connect to a running container's monitor (see MonitorAttachment)."""
    from pdman.runtime import monitor
    from pdman.storage.container_fs import ContainerDirs

    rec = containers.reconcile(ctx, records.find(ctx.catalog, name))
    if rec.status != "running" or not rec.monitor_pid:
        raise ConflictError(f"you can only attach to running containers: {rec.name} is {rec.status}",
                            hint=f"start it with `pdman start {rec.name}`")
    try:
        return MonitorAttachment(monitor.connect(ContainerDirs(ctx.paths, rec.id).run))
    except OSError as exc:
        raise ConflictError(f"cannot attach: the container's monitor does not answer "
                            f"({exc.strerror})", hint="see `pdman ps -a` for its state") from exc


def resize(ctx: EngineContext, name: str, rows: int, cols: int) -> None:
    """Set the terminal size of a running container that has a tty (through its
    monitor, which holds the pty)."""
    if rows <= 0 or cols <= 0:
        raise UsageError(f"invalid terminal size {rows}x{cols}", hint="give h and w above 0")
    attachment = attach_socket(ctx, name)
    try:
        attachment.resize(rows, cols)
    finally:
        attachment.close()


#: `top` descriptors (podman's AIX-format names) -> column header
TOP_COLUMNS = {
    "user": "USER", "ruser": "RUSER", "group": "GROUP", "rgroup": "RGROUP",
    "uid": "UID", "gid": "GID", "pid": "PID", "ppid": "PPID", "pgid": "PGID",
    "pcpu": "%CPU", "etime": "ELAPSED", "tty": "TTY", "time": "TIME", "args": "COMMAND",
    "comm": "COMMAND", "hpid": "HPID", "huser": "HUSER", "hgroup": "HGROUP",
}
TOP_DEFAULT = ("user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args")


def top(ctx: EngineContext, name: str, descriptors: "list[str]") -> "tuple[list[str], list[list[str]]]":
    """`top`: the container's processes, found through /proc by its PID namespace;
    (header, rows) with podman's columns."""
    from pdman.runtime import procs
    from pdman.runtime.spec import layer_paths
    from pdman.runtime.users import _read as read_db
    from pdman.storage.container_fs import ContainerDirs

    rec = containers.reconcile(ctx, records.find(ctx.catalog, name))
    if rec.status != "running":
        raise ConflictError(f"top can only be used on running containers: {rec.name} is {rec.status}",
                            hint=f"start it first (`pdman start {rec.name}`)")
    wanted = [d.strip() for item in descriptors for d in item.split(",") if d.strip()] \
        or list(TOP_DEFAULT)
    unknown = [d for d in wanted if d not in TOP_COLUMNS]
    if unknown:
        raise UsageError(f"unsupported top descriptor(s): {', '.join(unknown)}",
                         hint="supported: " + ", ".join(TOP_COLUMNS))
    layer_dirs = [ContainerDirs(ctx.paths, rec.id).upper,
                  *layer_paths(ctx.paths, rec.config.get("layers", []))]
    users = {e[2]: e[0] for e in read_db(layer_dirs, "etc/passwd") if len(e) > 2}
    groups = {e[2]: e[0] for e in read_db(layer_dirs, "etc/group") if len(e) > 2}
    try:
        found = procs.container_processes(rec.pid)
    except OSError as exc:
        raise ConflictError(f"container {rec.name} is not running any more: {exc.strerror}") from exc
    ticks, boot, now = procs.clock_ticks(), procs.boot_time(), time.time()

    def cell(p: procs.ProcessInfo, d: str) -> str:
        import pwd

        elapsed = max(now - (boot + p.start_ticks / ticks), 0.0)
        if d in ("user", "ruser"):
            return users.get(str(p.uid), str(p.uid))
        if d in ("group", "rgroup"):
            return groups.get(str(p.gid), str(p.gid))
        if d == "huser":
            try:
                return pwd.getpwuid(p.host_uid).pw_name
            except KeyError:
                return str(p.host_uid)
        values = {
            "uid": p.uid, "gid": p.gid, "pid": p.pid, "ppid": p.ppid, "pgid": p.pgid,
            "hpid": p.host_pid, "hgroup": p.host_gid,
            "pcpu": f"{(p.cpu_ticks / ticks) / elapsed * 100 if elapsed else 0.0:.3f}",
            "etime": _go_duration(elapsed), "tty": procs.tty_name(p.tty),
            "time": _go_duration(p.cpu_ticks / ticks, whole=True),
            "args": " ".join(p.args), "comm": p.comm,
        }
        return str(values[d])

    return [TOP_COLUMNS[d] for d in wanted], [[cell(p, d) for d in wanted] for p in found]


def _go_duration(seconds: float, whole: bool = False) -> str:
    """Go's time.Duration text, which podman prints: `8.517627786s`, `2m3s`, `1h0m5s`."""
    if whole:
        seconds = float(int(seconds))
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text
