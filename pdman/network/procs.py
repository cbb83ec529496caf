"""Helper processes of the network (pasta, slirp4netns, the rootless netns holder):
start them the cheap way, know them again by PID and start time, stop them.

A PID alone may be recycled by the time a container is torn down (a reboot, a
crash, days of uptime), so every helper is recorded as (pid, start time) and only
a process whose start time still matches is signalled.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Sequence
else:
    import _signal as signal    # not `signal`: it imports enum (~1.5 ms of every `run`)


SIGKILL = signal.SIGKILL

#: a tool starts in its own session with default signal handling: Python ignores
#: SIGPIPE, an exec'd program inherits that, and pasta (2023-03) even dies of it
#: ("Couldn't install signal handlers": it checks signal()'s old handler as an error)
_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM)


def start_time(pid: int) -> int:
    """Start time of `pid` in clock ticks since boot; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2:].split()
        if fields[0] in (b"Z", b"X"):       # a zombie is gone for our purposes
            return 0
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return 0


def alive(pid: int, start: int) -> bool:
    if pid <= 0:
        return False
    now = start_time(pid)
    return now != 0 and (not start or now == start)


def tool_env() -> dict[str, str]:
    """The environment for system tools: no PyInstaller LD_LIBRARY_PATH (see hostenv)."""
    from pdman.runtime.hostenv import clean_env

    return clean_env()


def run(argv: "Sequence[str]", timeout: float = 30.0) -> tuple[int, str]:
    """Run a tool to completion (posix_spawn: vfork speed); exit code and stderr."""
    return Running(argv).wait(timeout)


class Running:
    """A tool started and not yet waited for: `Running(argv)` returns at once, so the
    caller works on while the tool does (pasta configures the container's network
    while pdman writes its ID maps); `wait()` collects it.

    Its stdout goes to /dev/null. A tool that daemonizes (pasta) counts as done once
    its parent process exits; its daemon keeps no end of our pipe (it reopens its
    stdio on /dev/null), so reading stderr to EOF does not wait for the daemon.
    """

    __slots__ = ("pid", "_stderr", "_result")

    def __init__(self, argv: "Sequence[str]") -> None:
        r, w = os.pipe()
        try:
            self.pid = os.posix_spawn(argv[0], list(argv), tool_env(), file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, w, 2),
            ], setsid=True, setsigmask=(), setsigdef=_DEFAULT_SIGNALS)
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        self._stderr = r
        self._result: tuple[int, str] | None = None

    def wait(self, timeout: float = 30.0) -> tuple[int, str]:
        """Exit code and stderr (once; later calls return the same). Killed after
        `timeout` seconds."""
        if self._result is not None:
            return self._result
        import select

        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    os.kill(self.pid, signal.SIGKILL)
                    chunks.append(f"\n(killed after {timeout:.0f} s)".encode())
                    break
                ready, _, _ = select.select([self._stderr], [], [], left)
                if not ready:
                    continue
                chunk = os.read(self._stderr, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._stderr)
        _, status = os.waitpid(self.pid, 0)
        self._result = (os.waitstatus_to_exitcode(status),
                        b"".join(chunks).decode(errors="replace"))
        return self._result


def spawn_daemon(argv: "Sequence[str]", log_path: str, pass_fds: "Sequence[int]" = ()) -> int:
    """Start a long-lived tool (slirp4netns) in its own session, stdio on /dev/null
    and stderr to `log_path`; its PID. Only `pass_fds` are inherited (posix_spawn
    closes the others: Python's fds are close-on-exec)."""
    _reap_killed()
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, log_path,
         os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600),   # not via a symlink
    ]
    for fd in pass_fds:
        os.set_inheritable(fd, True)
    try:
        return os.posix_spawn(argv[0], list(argv), tool_env(), file_actions=actions,
                              setsid=True, setsigmask=(), setsigdef=_DEFAULT_SIGNALS)
    finally:
        for fd in pass_fds:
            os.set_inheritable(fd, False)


def stop(pid: int, start: int, timeout: float = 2.0, sig: int = signal.SIGTERM) -> None:
    """`sig`, then SIGKILL after `timeout`; reaped when it is our child. A process
    that is gone, or whose PID now names another process, is left alone."""
    if not alive(pid, start):
        _reap(pid)
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid) or not alive(pid, start):
            return
        time.sleep(0.005)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and alive(pid, start) and not _reap(pid):
        time.sleep(0.005)


#: our children killed without waiting for them (a foreground pasta): reaped by a later
#: `kill` or `spawn_daemon`, so that a long-lived pdman (a build's RUN steps, each with
#: its pasta) does not collect zombies
_unreaped: list[int] = []


def kill(pid: int, start: int) -> None:
    """SIGKILL `pid` if it is still the process started at `start`; reaped if it
    is our child and already gone, else left to the kernel (no waiting) and reaped
    later."""
    _reap_killed()
    if alive(pid, start):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if not _settled(pid):
        _unreaped.append(pid)


def _reap_killed() -> None:
    _unreaped[:] = [pid for pid in _unreaped if not _settled(pid)]


def _reap(pid: int) -> bool:
    """Reap `pid` if it is our exited child; True when it was."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:
        return False


def _settled(pid: int) -> bool:
    """True when we owe `pid` no more waiting: reaped now, or not (any longer) our child."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True
