"""A container in the foreground of the calling terminal: its stdio, its pty, and the
signals the caller receives.

`pdman run` without `-t` gives the container pipes for stdout and stderr and copies
what comes out to its own stdout/stderr and to the container's log (k8s-file, as the
monitor writes it for a detached container; or journald), so `pdman logs` shows a
foreground run too; stdin is the caller's with `-i`, else /dev/null. With
`--log-driver passthrough` (or none) the container gets pdman's own stdout/stderr
instead: no copying, and no log. Without `-t`, though, the caller's terminal is never
handed over (issue #12): a stdin, stdout or stderr that is a terminal becomes a pipe
this process copies, so nothing in the container holds the terminal (to type into it
with TIOCSTI, or to read the user's keys after `exec` returned, from a process it left
behind). With `-t` the container gets a new pty;
this process puts its terminal in raw mode and copies both ways (logging the output),
and passes on window size changes (SIGWINCH). Either way SIGINT, SIGTERM,
SIGHUP, SIGQUIT, SIGUSR1/2 are forwarded to the container's PID 1, and the exit status
is the container's (128+N when a signal N ended it) — what a systemd unit needs.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import sys

from pdman.runtime.fdio import write_all as _write_all

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from types import FrameType
else:
    # the C module: `signal` wraps it to hand back enums, and importing enum costs every
    # attached `run` ~1.5 ms; the handlers here need plain numbers only
    import _signal as signal

    from pdman.runtime.logs import JournalWriter, LogWriter

#: the stdout pipe of a logged foreground container
_PIPE_SIZE = 1 << 20

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2)


class ForegroundSession:
    """Context manager: set up stdio, then `wait(pid)` forwards signals until exit."""

    def __init__(self, tty: bool, interactive: bool,
                 log: "LogWriter | JournalWriter | None" = None,
                 attach: "tuple[str, ...] | None" = None, sig_proxy: bool = True) -> None:
        self.tty = tty
        #: --sig-proxy=false: no forwarding; a signal acts on pdman as on any program
        self.sig_proxy = sig_proxy
        #: --attach: the output streams copied to ours (None: both); the others are
        #: only logged (or, without a log, dropped)
        self.attach = attach
        self.interactive = interactive
        self.log = log
        self.master = -1
        self.slave = -1
        self.devnull = -1
        #: with a log and no tty: the read and write ends of the stdout/stderr pipes
        self.pipes: list[int] = []
        #: without -t, our stdout/stderr being a terminal: pipes in its place (r, w)
        self.out_pipes: dict[int, list[int]] = {}
        #: `-i` without -t, our stdin being a terminal: a pipe in its place (r, w)
        self.in_pipe: list[int] = []
        self.pid = 0
        self._saved_term: list[object] | None = None
        self._old_handlers: dict[int, object] = {}
        self._pending: list[int] = []

    # -- stdio --------------------------------------------------------------
    def __enter__(self) -> "ForegroundSession":
        # handlers go in before the container exists: a signal that arrives while it
        # starts is kept and delivered once it runs, never lost and never fatal to us
        for sig in FORWARDED if self.sig_proxy else ():
            self._old_handlers[sig] = signal.signal(sig, self._forward)
        if self.tty:
            self.master, self.slave = os.openpty()
            self._copy_winsize()
        else:
            if not self.interactive:
                self.devnull = os.open(os.devnull, os.O_RDONLY)
            elif _isatty(0):
                self.in_pipe = list(os.pipe())
            if self.log is not None:
                self.pipes = [*os.pipe(), *os.pipe()]   # out_r, out_w, err_r, err_w
                try:                    # fewer, larger reads
                    fcntl.fcntl(self.pipes[0], fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
                except OSError:
                    pass                # above /proc/sys/fs/pipe-max-size: the default
            else:
                self.out_pipes = {fd: list(os.pipe()) for fd in (1, 2) if _isatty(fd)}
        return self

    def stdio(self) -> tuple[int, int, int]:
        if self.tty:
            return (self.slave, self.slave, self.slave)
        stdin = self.in_pipe[0] if self.in_pipe else 0 if self.interactive else self.devnull
        if self.pipes:
            return (stdin, self.pipes[1], self.pipes[3])
        out = {fd: pipe[1] for fd, pipe in self.out_pipes.items()}
        stdout, stderr = out.get(1, 1), out.get(2, 2)
        if self.attach is not None:
            if self.devnull < 0 or not self.attach:
                self.devnull = os.open(os.devnull, os.O_RDWR)
            stdout = stdout if "stdout" in self.attach else self.devnull
            stderr = stderr if "stderr" in self.attach else self.devnull
        return (stdin, stdout, stderr)

    def __exit__(self, *exc: object) -> None:
        self._restore_terminal()
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        for fd in (self.master, self.slave, self.devnull, *self.pipes, *self.in_pipe,
                   *(fd for pipe in self.out_pipes.values() for fd in pipe)):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = self.devnull = -1
        self.pipes = []
        self.in_pipe = []
        self.out_pipes = {}
        if self.log is not None:
            self.log.close()

    # -- signals ------------------------------------------------------------
    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        if not self.pid:
            self._pending.append(signum)
            return
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def _on_winch(self, _signum: int, _frame: FrameType | None) -> None:
        self._copy_winsize()

    def _copy_winsize(self) -> None:
        if self.master < 0 or not os.isatty(sys.stdin.fileno()):
            return
        try:
            import termios

            size = fcntl.ioctl(sys.stdin.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
        except OSError:
            pass

    def started(self, pid: int) -> None:
        """The container runs as `pid`: forward signals to it from now on."""
        self.pid = pid
        for signum in self._pending:
            self._forward(signum, None)
        self._pending.clear()
        if self.pipes:          # the container holds the write ends now: EOF at its end
            for i in (1, 3):
                os.close(self.pipes[i])
                self.pipes[i] = -1
        for pipe in self.out_pipes.values():
            os.close(pipe[1])
            pipe[1] = -1
        if self.in_pipe:        # and the read end of its stdin; a thread feeds it
            import threading

            os.close(self.in_pipe[0])
            self.in_pipe[0] = -1
            write_end, self.in_pipe[1] = self.in_pipe[1], -1     # the thread's from now on
            threading.Thread(target=_feed_stdin, args=(write_end,), daemon=True).start()
        if self.tty:
            self._old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, self._on_winch)
            os.close(self.slave)  # the container holds it now; EOF/EIO on exit
            self.slave = -1
            if os.isatty(sys.stdin.fileno()):
                import termios      # here: only `run -t` needs the terminal modules
                import tty as ttymod

                self._saved_term = termios.tcgetattr(sys.stdin.fileno())
                ttymod.setraw(sys.stdin.fileno())

    def _restore_terminal(self) -> None:
        if self._saved_term is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_term)
            self._saved_term = None

    # -- waiting ------------------------------------------------------------
    def wait(self) -> int:
        from pdman.runtime.spawn import exit_status

        if self.tty:
            self._pump()
        elif self.pipes:
            self._copy_logged()
        elif self.out_pipes:
            self._copy_terminal()
        while True:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                return 125
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                return exit_status(status)

    def _pump(self) -> None:
        """Copy stdin → pty and pty → stdout until the container closes the pty."""
        out = sys.stdout.fileno()
        inputs = [self.master]
        if self.interactive:
            inputs.append(sys.stdin.fileno())
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [])
            except InterruptedError:
                continue
            if self.master in ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError as exc:
                    if exc.errno == errno.EIO:  # every holder of the pty's slave side is gone
                        return
                    raise
                if not data:
                    return
                _write_all(out, data)
                if self.log is not None:
                    self.log.chunk("stdout", data)
            if sys.stdin.fileno() in ready:
                data = os.read(sys.stdin.fileno(), 65536)
                if not data:
                    inputs.remove(sys.stdin.fileno())
                    # end of input: send the pty its EOF character, as a terminal would
                    _write_all(self.master, b"\x04")
                else:
                    _write_all(self.master, data)


    def _copy_terminal(self) -> None:
        """Without a log: copy the pipes that stand in for our terminal's output (see the
        module docstring) until the process exited and its output is read. Not until
        EOF: an exec'd process may leave children holding the pipe."""
        outs = {pipe[0]: fd for fd, pipe in self.out_pipes.items()}
        pidfd = os.pidfd_open(self.pid)
        try:
            exited = False
            while not exited:
                try:
                    ready, _, _ = select.select([pidfd, *outs], [], [])
                except InterruptedError:
                    continue
                exited = pidfd in ready
                for fd in [r for r in ready if r in outs]:
                    if not self._copy_out(fd, outs):
                        del outs[fd]
            for fd in list(outs):               # what it wrote before it exited
                os.set_blocking(fd, False)
                try:
                    while self._copy_out(fd, outs):
                        pass
                except BlockingIOError:
                    pass
        finally:
            os.close(pidfd)

    @staticmethod
    def _copy_out(fd: int, outs: "dict[int, int]") -> bool:
        """One read from `fd` to ours; False at EOF."""
        data = os.read(fd, 65536)
        if not data:
            return False
        try:
            _write_all(outs[fd], data)
        except BrokenPipeError:
            pass
        return True

    def _copy_logged(self) -> None:
        """Copy the container's stdout and stderr to ours and to its log until both
        reach EOF (its PID namespace is gone with its PID 1). A closed stdout of
        ours (`| head`) stops the copying there, not the logging."""
        assert self.log is not None
        stream = {self.pipes[0]: "stdout", self.pipes[2]: "stderr"}
        out = {self.pipes[0]: 1, self.pipes[2]: 2}        # -1: ours is closed
        if self.attach is not None:                        # --attach: the others logged only
            out = {fd: (o if stream[fd] in self.attach else -1) for fd, o in out.items()}
        open_fds = list(stream)
        while open_fds:
            try:
                ready, _, _ = select.select(open_fds, [], [])
            except InterruptedError:
                continue
            for fd in ready:
                data = os.read(fd, _PIPE_SIZE)
                if not data:
                    open_fds.remove(fd)
                    continue
                if out[fd] >= 0:
                    try:
                        _write_all(out[fd], data)
                    except BrokenPipeError:
                        out[fd] = -1
                self.log.chunk(stream[fd], data)


def _feed_stdin(write_end: int) -> None:
    """Our stdin (a terminal) into the container's stdin pipe, until either end is
    done; in a thread, since a container that reads nothing must not block us."""
    try:
        while data := os.read(0, 65536):
            _write_all(write_end, data)
    except OSError:
        pass                    # BrokenPipeError: it closed its stdin
    finally:
        os.close(write_end)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def winsize_bytes(rows: int, cols: int) -> bytes:
    return struct.pack("HHHH", rows, cols, 0, 0)
