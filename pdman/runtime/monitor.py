"""Detached containers: start one under its monitor (native/monitor.c, the executable
`pdman-monitor`), and read what the monitor leaves behind (the exit file) or offers
(the attach socket).

Process tree of `pdman run -d` (no Python process stays):

    pdman (CLI) ─fork─▶ A ─fork─▶ B: setsid; spawns the container (the C helper, with
                 │      exits          pipes or a pty as its stdio), writes its ID maps
                 │                     and runs the hooks (network, cgroup);
                 │                     records `running` (on_started); reports
                 │                     the PID (or the error) on the report pipe; execs
                 │                     pdman-monitor ──▶ monitor
                 └─ reads the report and the monitor's ready byte

The double fork leaves B (the monitor) without a parent to reap it; setsid takes it
out of the caller's session and process group. The container stays B's child across
the exec and gets SIGKILL when B dies (its parent death signal). When the container
exits, the monitor writes the exit file and execs the exit command built by
`exit_command()` (`pdman container cleanup ID`).
"""

from __future__ import annotations

import os
import sys

from pdman.runtime import statefiles
from pdman.runtime.fdio import write_all as _write_all
from pdman.errors import PdmanError, RuntimeFailure

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from socket import socket

    from pdman.runtime.idmap import IdMapping
    from pdman.runtime.native import SpawnSpec
else:
    # the C module, not `signal` (which imports enum); pickle only for a failed start's
    # report: together ~4 ms of every detached start
    import _signal as signal

EXIT_FILE = "exit"
#: + the monitor's PID: a command that stopped the container does its cleanup (monitor.c)
CLEANUP_CLAIM = "cleanup-by-"
ATTACH_SOCKET = "attach"
MONITOR_LOG = "monitor.log"
#: PDMAN_MONITOR_READY of native/pdman.h ('R', written on --ready-fd once the monitor
#: listens): here, not read from the native module, whose load (~3 ms: cffi) the
#: caller of a detached start would pay for this byte alone. tests/unit hold them equal.
MONITOR_READY = 82


class MonitorOptions:
    """What the monitor needs besides the spawn spec."""

    __slots__ = ("container_id", "name", "run_dir", "tty", "interactive", "log_driver",
                 "log_path", "log_max_size", "exit_command", "health", "timeout_ms")

    def __init__(self, container_id: str, name: str, run_dir: str, tty: bool, interactive: bool,
                 log_driver: str, log_path: str, log_max_size: int,
                 exit_command: list[str],
                 health: "tuple[int, int, int, list[str]] | None" = None,
                 timeout_ms: int = 0) -> None:
        self.container_id = container_id
        self.name = name
        self.run_dir = run_dir
        self.tty = tty
        self.interactive = interactive
        self.log_driver = log_driver
        self.log_path = log_path
        self.log_max_size = log_max_size
        self.exit_command = exit_command
        # healthcheck schedule: interval, start period and the interval during it (ms),
        # and the command the monitor runs for each probe
        self.health = health
        # --timeout: the monitor kills the container after this long (0: never)
        self.timeout_ms = timeout_ms


class Launched:
    """A container running under its monitor."""

    __slots__ = ("pid", "monitor_pid")

    def __init__(self, pid: int, monitor_pid: int) -> None:
        self.pid = pid
        self.monitor_pid = monitor_pid


def exit_command(root: str, runroot: str, container_id: str) -> list[str]:
    """`pdman container cleanup ID` for this installation: the same interpreter and
    package (or the same PyInstaller binary), the same stores."""
    return pdman_command(root, runroot, ["container", "cleanup", container_id])


def pdman_command(root: str, runroot: str, args: list[str]) -> list[str]:
    """A pdman command line for the monitor to run: this installation, these stores."""
    if getattr(sys, "frozen", False):
        base = [sys.executable]
    else:
        base = [sys.executable, "-m", "pdman"]
    return [*base, "--root", root, "--runroot", runroot, *args]


# ---- starting ----


class _Stdio:
    """The container's stdio and the monitor's ends of it."""

    def __init__(self, tty: bool, interactive: bool) -> None:
        self.container: tuple[int, int, int]
        self.monitor: dict[str, int] = {}
        self._container_fds: list[int] = []
        if tty:
            master, slave = os.openpty()
            self.container = (slave, slave, slave)
            self.monitor = {"--stdout": master, "--tty": -1}
            if interactive:
                self.monitor["--stdin"] = master
            self._container_fds = [slave]
            return
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.monitor = {"--stdout": out_r, "--stderr": err_r}
        if interactive:
            in_r, in_w = os.pipe()
            self.monitor["--stdin"] = in_w
        else:
            in_r = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.container = (in_r, out_w, err_w)
        self._container_fds = [in_r, out_w, err_w]

    def monitor_fds(self) -> list[int]:
        return sorted({fd for k, fd in self.monitor.items() if k != "--tty"})

    def close_container_side(self) -> None:
        for fd in self._container_fds:
            os.close(fd)
        self._container_fds = []

    def close_all(self) -> None:
        self.close_container_side()
        for fd in self.monitor_fds():
            os.close(fd)
        self.monitor = {}


def launch(spec: "SpawnSpec", id_mapping: "IdMapping", options: MonitorOptions,
           before_release: "Callable[[int], None] | None" = None,
           on_started: "Callable[[int, int], None] | None" = None,
           start_early: "Callable[[int], Callable[[], None]] | None" = None) -> Launched:
    """Start the container detached, under a new monitor; returns once the command
    was exec'd and the monitor listens on its attach socket.

    `on_started(pid, monitor_pid)` runs in the process that becomes the monitor, after
    the exec and before the monitor starts: the container is recorded there, by the
    one process that is sure to know it (whatever happens to the caller), and before
    its exit can be reported. It raising stops the container.

    Errors of the start (CommandNotFoundError → 127, ...) are raised here, as by
    `spawn_container`; the container is gone then.
    """
    from pdman.runtime import libexec

    exe = libexec.path("pdman-monitor")  # before anything is started
    statefiles.private_dir(options.run_dir)
    # an earlier run's exit file, and its cleanup claims (engine/lifecycle.claim_cleanup:
    # named by that monitor's PID, which this monitor could get again)
    for stale in os.listdir(options.run_dir):
        if stale in (EXIT_FILE, EXIT_FILE + ".tmp") or stale.startswith(CLEANUP_CLAIM):
            try:
                os.unlink(os.path.join(options.run_dir, stale))
            except FileNotFoundError:
                pass
    stdio = _Stdio(options.tty, options.interactive)
    report_r, report_w = os.pipe()
    try:
        first = os.fork()
        if first == 0:  # A, then B: never returns into the caller's code
            code = 125
            try:
                os.close(report_r)
                os.setsid()
                if os.fork() == 0:
                    _become_monitor(exe, spec, id_mapping, options, start_early,
                                    before_release, on_started, stdio, report_w)
                else:
                    code = 0
            finally:
                os._exit(code)
        os.close(report_w)
        report_w = -1
        stdio.close_all()
        os.waitpid(first, 0)
        return _read_report(report_r, options)
    finally:
        os.close(report_r)
        if report_w >= 0:
            os.close(report_w)
            stdio.close_all()


def _become_monitor(exe: str, spec: "SpawnSpec", id_mapping: "IdMapping",
                    options: MonitorOptions,
                    start_early: "Callable[[int], Callable[[], None]] | None",
                    before_release: "Callable[[int], None] | None",
                    on_started: "Callable[[int, int], None] | None", stdio: _Stdio,
                    report_w: int) -> None:
    """In B: spawn the container, report, exec the monitor. Returns only on failure
    (the container is killed then, by its parent death signal if nothing else)."""
    from pdman.runtime.spawn import spawn_container

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    spec.stdio = stdio.container
    spec.parent_death_signal = int(signal.SIGKILL)
    try:
        pid = spawn_container(spec, id_mapping, start_early=start_early,
                              before_release=before_release)
        if on_started is not None:
            on_started(pid, os.getpid())  # exec keeps our PID: the monitor's
    except BaseException as exc:  # noqa: BLE001 - carried to the caller
        _write_all(report_w, b"E" + _pickle_error(exc))
        return
    stdio.close_container_side()
    _write_all(report_w, b"P%d %d\n" % (pid, os.getpid()))  # exec keeps our PID

    # the monitor's own stdio is never the caller's: `ID=$(pdman run -d ...)` would
    # wait for the container's end otherwise
    null = os.open(os.devnull, os.O_RDWR)
    log = statefiles.open_file(os.path.join(options.run_dir, MONITOR_LOG),
                               os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    argv = [exe, "--pid", str(pid), "--run-dir", options.run_dir,
            "--log-driver", options.log_driver, "--log-path", options.log_path,
            "--log-max-size", str(options.log_max_size), "--ready-fd", str(report_w),
            "--id", options.container_id, "--name", options.name]
    for key, fd in stdio.monitor.items():
        argv += [key, "1" if key == "--tty" else str(fd)]
    if options.timeout_ms:
        argv += ["--timeout", str(options.timeout_ms)]
    if options.health is not None:
        interval, start_period, start_interval, command = options.health
        argv += ["--health-interval", str(interval), "--health-start-period",
                 str(start_period), "--health-start-interval", str(start_interval)]
        for arg in command:
            argv += ["--health-arg", arg]
    for fd in (*stdio.monitor_fds(), report_w):
        os.set_inheritable(fd, True)
    os.execv(exe, [*argv, "--", *options.exit_command])


def _pickle_error(exc: BaseException) -> bytes:
    import pickle

    if not isinstance(exc, PdmanError):
        exc = RuntimeFailure(f"starting the container: {exc!r}")
    try:
        return pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        return pickle.dumps(RuntimeFailure(str(exc)))


def _read_report(fd: int, options: MonitorOptions) -> Launched:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    if data.startswith(b"E"):
        import pickle

        err = pickle.loads(data[1:])
        raise err if isinstance(err, BaseException) else RuntimeFailure(str(err))
    head, nl, rest = data.partition(b"\n")
    if not (head.startswith(b"P") and nl):
        raise RuntimeFailure("the process starting the container exited without a report",
                             hint=f"see {os.path.join(options.run_dir, MONITOR_LOG)}")
    pid, monitor_pid = (int(x) for x in head[1:].split())
    if rest[:1] != bytes([MONITOR_READY]):
        why = rest[1:].decode(errors="replace") if rest[:1] == b"E" else "it exited"
        raise RuntimeFailure(f"the container monitor (pdman-monitor) did not start: {why}",
                             hint=f"see {os.path.join(options.run_dir, MONITOR_LOG)}")
    return Launched(pid, monitor_pid)



# ---- what the monitor leaves behind ----


class ExitRecord:
    """The monitor's exit file (format: native/pdman.h)."""

    __slots__ = ("pid", "exit_code", "signal", "oom_killed", "finished_at")

    def __init__(self, pid: int, exit_code: int, signal: int, oom_killed: bool,
                 finished_at: float) -> None:
        self.pid = pid
        self.exit_code = exit_code
        self.signal = signal
        self.oom_killed = oom_killed
        self.finished_at = finished_at


def parse_exit_file(text: str) -> ExitRecord | None:
    fields = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq:
            fields[key.strip()] = value.strip()
    try:
        return ExitRecord(int(fields["pid"]), int(fields["exit_code"]),
                          int(fields.get("signal", "0")), fields.get("oom_killed") == "1",
                          float(fields["finished_at"]))
    except (KeyError, ValueError):
        return None


def read_exit(run_dir: str) -> ExitRecord | None:
    """The exit file of the container's last run, if its monitor wrote one."""
    try:
        with open(os.path.join(run_dir, EXIT_FILE), encoding="ascii", errors="replace") as f:
            return parse_exit_file(f.read())
    except OSError:
        return None


def connect(run_dir: str) -> "socket":
    """A connection to the monitor's attach socket. A path too long for sun_path (108
    bytes) is reached through the directory's /proc/self/fd link, as podman does."""
    import socket

    path = os.path.join(run_dir, ATTACH_SOCKET)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if len(os.fsencode(path)) < 100:
        sock.connect(path)
        return sock
    dirfd = os.open(run_dir, os.O_PATH | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{dirfd}/{ATTACH_SOCKET}")
    finally:
        os.close(dirfd)
    return sock
