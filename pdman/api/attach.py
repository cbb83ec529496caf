"""Streams of a container's output: `logs` (chunked) and `attach` (hijacked).

docker's stream formats: without a tty, every piece of output is a frame (8-byte
header naming stdout or stderr, api/http.py `frame`); with a tty, the bytes as they
are. A detached container's stdio is held by its monitor, so:

- attach without stdin (what `docker run` does before `start`) reads the container's
  log from the moment of the attach until the container's next exit: complete output
  even for a container that prints and exits before any socket could connect;
- attach with stdin (`docker run -i`, `docker attach`) waits for the container to run
  and relays through its monitor's attach socket, both ways. (Output written between
  the start and the connection is in the log, not on this stream.)
"""

from __future__ import annotations

import socket
import time

from pdman.api.http import frame
from pdman.api.router import route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.engine.context import EngineContext
    from pdman.engine.lifecycle import MonitorAttachment

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"


class _Sink:
    """A file-like `write` for engine.lifecycle.logs: frames (no tty) or raw bytes."""

    def __init__(self, send: "Any", stream: int, tty: bool) -> None:
        self.send, self.stream, self.tty = send, stream, tty

    def write(self, data: bytes) -> int:
        if data:
            self.send(data if self.tty else frame(self.stream, data))
        return len(data)

    def flush(self) -> None:
        pass


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _log_options(req: "Request", cid: str) -> "Any":
    from pdman.engine.lifecycle import LogsOptions

    since = req.arg("since")
    until = req.arg("until")
    tail = req.arg("tail", "all")
    try:
        tail_n = -1 if tail in ("", "all") else int(tail)
    except ValueError:
        from pdman.errors import UsageError

        raise UsageError(f"invalid tail {tail!r}", hint="a number or all") from None
    return LogsOptions([cid], follow=req.flag("follow"),
                       since=since if since not in ("", "0") else None,
                       until=until if until not in ("", "0") else None,
                       tail=tail_n, timestamps=req.flag("timestamps"))


@route("GET", "/containers/{name}/logs")
def logs(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers, lifecycle

    rec = containers.lookup(ctx, name)
    options = _log_options(req, rec.id)
    if not (req.flag("stdout") or req.flag("stderr")):
        from pdman.errors import UsageError

        raise UsageError("you must choose at least one stream", hint="stdout=1 and/or stderr=1")
    tty = bool(rec.config.get("tty"))
    out = conn.stream(200, RAW if tty else MULTIPLEXED)
    sink_out = _Sink(out.write, 1, tty) if req.flag("stdout") else _Null()
    sink_err = _Sink(out.write, 2, tty) if req.flag("stderr") else _Null()
    lifecycle.logs(ctx, options, sink_out, sink_err)  # type: ignore[arg-type]
    out.end()


@route("POST", "/containers/{name}/attach")
def attach(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers

    rec = containers.lookup(ctx, name)              # 404 before the hijack
    tty = bool(rec.config.get("tty"))
    want_stdin = req.flag("stdin") and bool(rec.config.get("interactive"))
    # The output to come is opened before the hijack answers: `docker run` starts the
    # container on that answer, and a `--rm` one that prints and exits at once is
    # removed with its log, perhaps before this thread's first read.
    ahead = _open_ahead(ctx, rec.id, time.time()) if req.flag("stream", True) else None
    try:
        sock = conn.hijack(req, RAW if tty else MULTIPLEXED)
    except BaseException:
        _close(ahead)
        raise
    try:
        if req.flag("logs"):
            _replay(ctx, rec.id, sock, tty, req)
        if not req.flag("stream", True):
            return
        mon = _connect_monitor(ctx, rec.id) if want_stdin and _wait_running(ctx, rec.id) else None
        if mon is not None:
            _close(ahead)
            ahead = None
            _relay(mon, sock, conn, tty)
        elif ahead is not None:  # no stdin, or it ran and exited before a connection:
            _write_ahead(ahead, sock, tty, req)     # its log has it
            ahead = None
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        _close(ahead)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _sinks(sock: socket.socket, tty: bool, req: "Request") -> "tuple[Any, Any]":
    out = _Sink(sock.sendall, 1, tty) if req.flag("stdout", True) else _Null()
    err = _Sink(sock.sendall, 2, tty) if req.flag("stderr", True) else _Null()
    return out, err


def _replay(ctx: "EngineContext", cid: str, sock: socket.socket, tty: bool,
            req: "Request") -> None:
    """`logs=1`: what the container wrote before the attach."""
    from pdman.engine import lifecycle
    from pdman.errors import ContainerNotFound

    try:
        lifecycle.logs(ctx, lifecycle.LogsOptions([cid]), *_sinks(sock, tty, req))
    except ContainerNotFound:
        pass                                    # removed (--rm) meanwhile


def _open_ahead(ctx: "EngineContext", cid: str, since: float) -> "tuple[Any, Any] | None":
    """The container's log from `since` to its next exit, opened now (lifecycle.open_logs
    with next_exit); None when it is gone already or keeps no log (`--log-driver none`:
    only a stdin attach, through the monitor, sees its output)."""
    from pdman.engine import lifecycle
    from pdman.errors import ContainerNotFound, UsageError

    # a short interval: `docker run` waits on this stream for the container's output
    options = lifecycle.LogsOptions([cid], follow=True, next_exit=True, interval=0.02,
                                    since=f"{since:.9f}")
    try:
        return lifecycle.open_logs(ctx, options), options
    except (ContainerNotFound, UsageError):
        return None


def _write_ahead(ahead: "tuple[Any, Any]", sock: socket.socket, tty: bool,
                 req: "Request") -> None:
    from pdman.engine import lifecycle

    sources, options = ahead
    try:
        lifecycle.write_logs(sources, options, *_sinks(sock, tty, req))
    finally:
        lifecycle.close_logs(sources)


def _close(ahead: "tuple[Any, Any] | None") -> None:
    if ahead is not None:
        from pdman.engine import lifecycle

        lifecycle.close_logs(ahead[0])


def _wait_running(ctx: "EngineContext", cid: str, limit: float = 600.0) -> bool:
    """Until the container runs (True) or has run and exited meanwhile (False)."""
    from pdman.engine import containers
    from pdman.errors import ContainerNotFound

    since = time.time()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            rec = containers.lookup(ctx, cid)
        except ContainerNotFound:
            return False
        if rec.status == "running" and rec.monitor_pid:
            return True
        if rec.status == "exited" and rec.finished_at >= since:
            return False
        time.sleep(0.01)
    return False


def _relay(mon: "MonitorAttachment", client: socket.socket, conn: "Connection",
           tty: bool) -> None:
    """Both ways between the client and the container's monitor, until it exits.
    The client's input is read through the connection's buffered reader (bytes sent
    right behind the request head may sit there already), in a thread of its own."""
    import threading

    def pump_stdin() -> None:
        try:
            while True:
                data = conn.rfile.read1(1 << 13)
                if not data:
                    mon.close_stdin()
                    return
                mon.send_stdin(data)
        except (OSError, ValueError):
            pass

    threading.Thread(target=pump_stdin, daemon=True).start()
    try:
        while True:
            kind, data = mon.read()
            if kind in ("exit", "eof"):
                return
            client.sendall(data if tty else frame(2 if kind == "stderr" else 1, data))
    finally:
        mon.close()


def _connect_monitor(ctx: "EngineContext", cid: str,
                     limit: float = 10.0) -> "MonitorAttachment | None":
    """The monitor's attach socket; None when the container stopped meanwhile. A
    container is recorded running just before its monitor binds that socket (the
    recording process then becomes the monitor): wait for it rather than fail."""
    from pdman.engine import containers, lifecycle
    from pdman.errors import ConflictError, ContainerNotFound

    deadline = time.monotonic() + limit
    while True:
        try:
            return lifecycle.attach_socket(ctx, cid)
        except ConflictError:
            try:
                if containers.lookup(ctx, cid).status != "running":
                    return None
            except ContainerNotFound:
                return None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def resize_container(ctx: "EngineContext", name: str, rows: int, cols: int) -> None:
    from pdman.engine import lifecycle

    lifecycle.resize(ctx, name, rows, cols)


