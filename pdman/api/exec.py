"""Exec endpoints: create (remember the request), start (hijacked: a pty or pipes
between the client and the process that engine.lifecycle.exec_start starts),
inspect, resize.

Sessions are handles for one client's `docker exec`, kept as dockerd keeps them:
until their container is removed, so that ExecInspect answers (the exit code) after
the exec ended. Kept in memory and in the runroot (storage/exec_sessions.py): a
socket-activated service that idled out and was started again, or a second service
on the same store, still knows them.
"""

from __future__ import annotations

import os
import threading

from pdman.api.http import frame
from pdman.api.router import route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.config import Paths
    from pdman.engine.context import EngineContext


class ExecSession:
    def __init__(self, container_id: str, body: "dict[str, Any]", exec_id: str = "") -> None:
        self.id = exec_id or os.urandom(32).hex()
        self.container_id = container_id
        self.body = body
        self.running = False
        self.exit_code: int | None = None
        self.pid = 0
        self.pid_start = 0            # tells the process from a reused PID
        self.master = -1              # the pty, while it runs with one
        self.paths: "Paths | None" = None

    def doc(self) -> "dict[str, Any]":
        return {"id": self.id, "container_id": self.container_id, "body": self.body,
                "running": self.running, "exit_code": self.exit_code, "pid": self.pid,
                "pid_start": self.pid_start}

    @classmethod
    def from_doc(cls, doc: "dict[str, Any]") -> "ExecSession":
        from pdman.runtime.procs import is_running

        s = cls(str(doc["container_id"]), dict(doc.get("body") or {}), str(doc["id"]))
        s.exit_code, s.pid = doc.get("exit_code"), int(doc.get("pid") or 0)
        s.pid_start = int(doc.get("pid_start") or 0)
        # recorded as running by a service that is gone: running only if it still is
        s.running = bool(doc.get("running")) and is_running(s.pid, s.pid_start)
        return s

    def save(self) -> None:
        """Written at each change (create, start, exit)."""
        from pdman.storage import exec_sessions

        if self.paths is not None:
            with _LOCK:
                exec_sessions.save(self.paths, self.doc())

    def started(self, pid: int) -> None:
        from pdman.runtime.procs import start_time

        self.pid, self.pid_start, self.running = pid, start_time(pid), True
        self.save()

    def ended(self, code: "int | None") -> None:
        self.exit_code, self.running = code, False
        self.save()


_SESSIONS: "dict[str, ExecSession]" = {}
_LOCK = threading.Lock()


def _session(exec_id: str, paths: "Paths | None" = None) -> ExecSession:
    from pdman.errors import NotFoundError

    with _LOCK:
        found = _SESSIONS.get(exec_id)
    if found is None and paths is not None:
        from pdman.storage import exec_sessions

        try:
            doc = exec_sessions.load(paths, exec_id)
        except ValueError:
            doc = None
        if doc is not None:
            found = ExecSession.from_doc(doc)
            found.paths = paths
            with _LOCK:
                found = _SESSIONS.setdefault(exec_id, found)
    if found is None:
        raise NotFoundError(f"No such exec instance: {exec_id}")
    return found


def _prune(ctx: "EngineContext") -> None:
    """Sessions of removed containers go (dockerd drops them with the container)."""
    from pdman.storage import container_records, exec_sessions

    live = {r.id for r in container_records.list_all_shared(ctx.catalog)}
    exec_sessions.prune(ctx.paths, live)
    with _LOCK:
        for key in [k for k, s in _SESSIONS.items() if s.container_id not in live]:
            del _SESSIONS[key]


@route("POST", "/containers/{name}/exec")
def create(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers
    from pdman.errors import ConflictError, UsageError

    body = req.json()
    if not body.get("Cmd"):
        raise UsageError("exec needs a command (Cmd)")
    rec = containers.lookup(ctx, name)
    if rec.status != "running":
        raise ConflictError(f"container {rec.id} is not running")
    _prune(ctx)
    session = ExecSession(rec.id, body)
    session.paths = ctx.paths
    with _LOCK:
        _SESSIONS[session.id] = session
    session.save()
    conn.send_json(201, {"Id": session.id})


def _options(session: ExecSession, detach: bool) -> "Any":
    from pdman.engine.lifecycle import ExecOptions

    b = session.body
    return ExecOptions(session.container_id, list(b.get("Cmd") or []),
                       interactive=bool(b.get("AttachStdin")), tty=bool(b.get("Tty")),
                       env=list(b.get("Env") or []), user=b.get("User") or None,
                       workdir=b.get("WorkingDir") or None, detach=detach,
                       privileged=bool(b.get("Privileged")))


@route("POST", "/exec/{exec_id}/start")
def start(ctx: "EngineContext", req: "Request", conn: "Connection", exec_id: str) -> None:
    from pdman.engine import lifecycle
    from pdman.errors import ConflictError

    session = _session(exec_id, ctx.paths)
    body = req.json()
    with _LOCK:
        if session.running or session.exit_code is not None or session.pid:
            raise ConflictError(f"exec {exec_id} has already run")
        session.running = True
    detached = False
    try:
        if body.get("Detach"):
            session.started(lifecycle.exec_start(ctx, _options(session, True), (-1, -1, -1)))
            threading.Thread(target=_reap, args=(session,), daemon=True).start()
            detached = True
            return None
        tty = bool(session.body.get("Tty"))
        if tty:
            _run_tty(ctx, req, conn, session, body.get("ConsoleSize"))
        else:
            _run_pipes(ctx, req, conn, session)
    finally:
        if not detached:      # a detached one runs on: its reaper records the end
            code = session.exit_code
            if code is None and session.pid == 0:
                code = 126    # not started, and no error said why
            session.ended(code)


def _reap(session: ExecSession) -> None:
    from pdman.engine import lifecycle

    session.ended(lifecycle.exec_wait(session.pid))


def _set_size(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _pump_stdin(conn: "Connection", fd: int, close: bool) -> None:
    """The client's input into `fd` (the pty, or the stdin pipe) until it ends."""
    try:
        while True:
            data = conn.rfile.read1(1 << 16)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
    except (OSError, ValueError):
        pass
    finally:
        if close:
            os.close(fd)


def _start_or_report(ctx: "EngineContext", session: ExecSession, stdio: "tuple[int, int, int]",
                     sock: "Any", tty: bool) -> bool:
    """Start the process once the connection is hijacked (clients that read the raw
    socket after the 101 would miss output that came with it); an error to start it
    goes to the stream and to the exit code (126, 127, ...), as dockerd does."""
    from pdman.engine import lifecycle
    from pdman.errors import PdmanError

    try:
        session.started(lifecycle.exec_start(ctx, _options(session, False), stdio))
        return True
    except PdmanError as exc:
        text = (exc.render() + "\n").encode()
        try:
            sock.sendall(text if tty else frame(2, text))
        except OSError:
            pass
        session.exit_code = exc.exit_code
        return False


def _run_tty(ctx: "EngineContext", req: "Request", conn: "Connection", session: ExecSession,
             size: "Any") -> None:
    from pdman.engine import lifecycle

    master, slave = os.openpty()
    try:
        if size and len(size) == 2 and size[0] and size[1]:
            _set_size(master, int(size[0]), int(size[1]))
        sock = conn.hijack(req, "application/vnd.docker.raw-stream")
        started = _start_or_report(ctx, session, (slave, slave, slave), sock, True)
    finally:
        os.close(slave)
    if not started:
        os.close(master)
        return
    session.master = master
    if session.body.get("AttachStdin"):
        threading.Thread(target=_pump_stdin, args=(conn, master, False), daemon=True).start()
    try:
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:       # EIO: every holder of the pty's other end is gone
                break
            if not data:
                break
            try:
                sock.sendall(data)
            except OSError:
                break
    finally:
        session.exit_code = lifecycle.exec_wait(session.pid)
        session.master = -1
        os.close(master)


def _run_pipes(ctx: "EngineContext", req: "Request", conn: "Connection",
               session: ExecSession) -> None:
    import select

    from pdman.engine import lifecycle

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    attach_stdin = bool(session.body.get("AttachStdin"))
    in_r, in_w = os.pipe() if attach_stdin else (os.open(os.devnull, os.O_RDONLY), -1)
    try:
        sock = conn.hijack(req, "application/vnd.docker.multiplexed-stream")
        started = _start_or_report(ctx, session, (in_r, out_w, err_w), sock, False)
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    if not started:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
        return
    if attach_stdin:
        threading.Thread(target=_pump_stdin, args=(conn, in_w, True), daemon=True).start()
    open_fds = {out_r: 1, err_r: 2}
    try:
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [])
            for fd in ready:
                data = os.read(fd, 1 << 16)
                if not data:
                    del open_fds[fd]
                    os.close(fd)
                    continue
                try:
                    sock.sendall(frame(open_fds[fd], data))
                except OSError:
                    pass
    finally:
        for fd in open_fds:
            os.close(fd)
        session.exit_code = lifecycle.exec_wait(session.pid)


@route("GET", "/exec/{exec_id}/json")
def inspect(ctx: "EngineContext", req: "Request", conn: "Connection", exec_id: str) -> "dict[str, Any]":
    s = _session(exec_id, ctx.paths)
    b = s.body
    cmd = list(b.get("Cmd") or [])
    return {
        "ID": s.id, "Running": s.running, "ExitCode": s.exit_code, "ContainerID": s.container_id,
        "Pid": s.pid, "OpenStdin": bool(b.get("AttachStdin")),
        "OpenStdout": bool(b.get("AttachStdout")), "OpenStderr": bool(b.get("AttachStderr")),
        "CanRemove": False, "DetachKeys": b.get("DetachKeys", ""),
        "ProcessConfig": {"tty": bool(b.get("Tty")), "entrypoint": cmd[0] if cmd else "",
                          "arguments": cmd[1:], "privileged": bool(b.get("Privileged")),
                          "user": b.get("User", "")},
    }


@route("POST", "/exec/{exec_id}/resize")
def resize(ctx: "EngineContext", req: "Request", conn: "Connection", exec_id: str) -> None:
    from pdman.errors import ConflictError

    s = _session(exec_id)
    if s.master < 0:
        raise ConflictError(f"exec {exec_id} has no terminal to resize")
    _set_size(s.master, req.int_arg("h", 24), req.int_arg("w", 80))
