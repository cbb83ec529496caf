"""`pdman system service`: listen, check who connects, serve each connection in a
thread, and exit when idle.

The HTTP layer is our own (api/http.py) on plain sockets and one thread per
connection, rather than asyncio or a framework:
- start-up: socket activation puts the service's start into the first request's
  latency. This module and http.py import only the stdlib's socket, threading, json,
  urllib.parse (a few ms); `http.server` alone costs ~45 ms, aiohttp/uvicorn far more;
- the engine verbs are blocking code (SQLite, fork/exec of the C helper, waits on
  containers): a thread per connection runs them as they are, and a long stream (logs
  -f, attach, events, stats) holds only its own thread, never the others;
- hijacking (attach, exec: `101 UPGRADED`, then raw bytes both ways) is just keeping
  the socket: no framework to wrestle the connection back from.

Security: a Unix socket is created 0600 (umask during bind) in a 0700 directory, and
every accepted connection's peer uid (SO_PEERCRED) must be ours, else it is closed
unanswered. TCP is offered on request only, with a warning: it has no authentication.

Idle: the service exits after `timeout` seconds with no open connection (0: never),
as podman's does; systemd socket activation starts it again on the next connection.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.config import Paths
    from pdman.storage.catalog import Catalog, CatalogPool

#: podman's default idle timeout
DEFAULT_TIMEOUT = 5
SOCKET_NAME = "pdman.sock"
#: systemd's first passed file descriptor (sd_listen_fds)
SD_LISTEN_FDS_START = 3


class ServiceOptions:
    __slots__ = ("uri", "timeout")

    def __init__(self, uri: str = "", timeout: float = DEFAULT_TIMEOUT) -> None:
        self.uri = uri          # "": unix://<runroot>/pdman.sock (or socket activation)
        self.timeout = timeout  # seconds without a connection before exiting; 0: never


def default_uri(paths: "Paths") -> str:
    return "unix://" + os.path.join(paths.runroot, SOCKET_NAME)


def parse_uri(uri: str) -> "tuple[str, str | tuple[str, int]]":
    """("unix", PATH) or ("tcp", (HOST, PORT)); a bare absolute path is unix."""
    from pdman.errors import UsageError

    if uri.startswith("/"):
        return "unix", uri
    scheme, sep, rest = uri.partition("://")
    if sep and scheme == "unix" and rest.startswith("/"):
        return "unix", rest
    if sep and scheme == "tcp":
        host, colon, port = rest.rstrip("/").rpartition(":")
        if colon and port.isdigit() and 0 < int(port) < 65536:
            return "tcp", (host.strip("[]") or "127.0.0.1", int(port))
    raise UsageError(f"invalid service URI {uri!r}",
                     hint="use unix:///PATH/TO/SOCKET or tcp://127.0.0.1:PORT")


def activation_socket() -> socket.socket | None:
    """The listening socket systemd passed (LISTEN_PID is us, LISTEN_FDS >= 1)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    try:
        count = int(os.environ.get("LISTEN_FDS", "0"))
    except ValueError:
        return None
    for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(var, None)     # not for our children
    if count < 1:
        return None
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    os.set_inheritable(sock.fileno(), False)
    for extra in range(SD_LISTEN_FDS_START + 1, SD_LISTEN_FDS_START + count):
        os.close(extra)               # one socket is served; podman does the same
    return sock


def listen_unix(path: str) -> socket.socket:
    """A socket only its owner may connect to: 0600, in a directory that is 0700 if
    we made it (an existing directory must not be writable by others)."""
    from pdman.errors import UsageError

    parent = os.path.dirname(path)
    os.makedirs(parent, mode=0o700, exist_ok=True)
    st = os.stat(parent)
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise UsageError(f"the socket's directory {parent} is not private to this user",
                         hint="choose a directory that only you own and can write")
    try:
        if not os.path.exists(path) or _stale(path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        else:
            from pdman.errors import ConflictError

            raise ConflictError(f"another service is listening on {path}",
                                hint="stop it, or give another URI")
    except OSError as exc:
        raise UsageError(f"cannot use {path}: {exc.strerror}") from exc
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(128)
    return sock


def _stale(path: str) -> bool:
    """A socket file nobody listens on any more (a service that was killed)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


def listen_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def peer_allowed(conn: socket.socket, owner: int | None = None) -> bool:
    """Only the user who runs the service (and owns the socket) may use it."""
    if conn.family != socket.AF_UNIX:
        return True                   # tcp: the user chose it, with the warning
    uid = peer_uid(conn)
    return uid is not None and uid == (os.getuid() if owner is None else owner)


class _LazyPool:
    """The service's CatalogPool, made on the first request that needs the catalog (with
    the fork gate: threads use SQLite while a start forks). A socket-activated service
    answers its first `/_ping` without SQLite's import."""

    __slots__ = ("_path", "_pool", "_lock")

    def __init__(self, path: str) -> None:
        self._path = path
        self._pool: "CatalogPool | None" = None
        self._lock = threading.Lock()

    def _get(self) -> "CatalogPool":
        with self._lock:
            if self._pool is None:
                from pdman.storage.catalog import CatalogPool, enable_fork_gate

                enable_fork_gate()
                self._pool = CatalogPool(self._path)
            return self._pool

    def take(self) -> "Catalog":
        return self._get().take()

    def give(self, catalog: "Catalog") -> None:
        self._get().give(catalog)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


class Service:
    """The accept loop and the idle clock."""

    def __init__(self, listener: socket.socket, paths: "Paths", timeout: float) -> None:
        self.listener = listener
        self.paths = paths
        # catalog connections kept between requests: no open per request, and their
        # parsed container list is reused until the catalog changes (docker ps)
        self.catalogs = _LazyPool(paths.catalog)
        self.timeout = timeout
        self.lock = threading.Lock()
        self.active = 0
        self.last_activity = time.monotonic()

    def _enter(self) -> None:
        with self.lock:
            self.active += 1

    def _leave(self) -> None:
        with self.lock:
            self.active -= 1
            self.last_activity = time.monotonic()

    def idle_for(self) -> float:
        with self.lock:
            return 0.0 if self.active else time.monotonic() - self.last_activity

    def run(self) -> None:
        import select

        # A signal (systemd's SIGTERM) may land on a connection's thread: the main
        # thread's select() would then sleep on, and the Python handler that ends the
        # service never run. The wakeup fd makes every signal end that select().
        wake = -1
        if threading.current_thread() is threading.main_thread():
            import signal

            wake, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        watched = [self.listener] + ([wake] if wake >= 0 else [])
        while True:
            wait = None
            if self.timeout > 0:
                idle = self.idle_for()
                if idle >= self.timeout:
                    return
                wait = self.timeout - idle if idle else self.timeout
            ready, _, _ = select.select(watched, [], [], wait)
            if wake in ready:
                try:
                    os.read(wake, 512)    # the handlers ran on the way out of select()
                except BlockingIOError:
                    pass
            if self.listener not in ready:
                continue
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            if not peer_allowed(conn):
                conn.close()          # another user: no answer at all
                continue
            self._enter()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        from pdman.api import router
        from pdman.api.http import BadRequest, Connection
        from pdman.engine.context import EngineContext

        conn = Connection(sock)
        try:
            while conn.keep_alive and not conn.hijacked:
                try:
                    req = conn.next_request()
                except BadRequest as exc:
                    conn.keep_alive = False
                    conn.send_json(400, {"message": str(exc)})
                    break
                if req is None:
                    break
                self.last_activity = time.monotonic()
                ctx = EngineContext(self.paths, self.catalogs)
                try:
                    router.dispatch(ctx, req, conn)
                finally:
                    ctx.close()
                if not conn.hijacked and conn.keep_alive:
                    try:
                        req.drain()   # a body the handler did not read
                    except BadRequest:
                        break
        except (OSError, ValueError):
            pass                      # the client went away
        finally:
            conn.close()              # a hijacking handler returns when its stream ends
            self._leave()


def serve(paths: "Paths", options: ServiceOptions) -> None:
    """Run the service until idle (or forever with timeout 0)."""
    from pdman.api import router

    router.load_first()               # before the first connection: _ping, version, info
    # a service unit's notify socket is the service's: containers it starts must not
    # tell systemd that their monitor is the service's main process (`run --sdnotify`)
    os.environ.pop("NOTIFY_SOCKET", None)
    listener = activation_socket()
    path_to_remove = ""
    if listener is None:
        _kind, where = parse_uri(options.uri or default_uri(paths))
        if isinstance(where, tuple):  # tcp
            host, port = where
            print(f"WARN[0000] the API on tcp://{host}:{port} has no authentication: "
                  "anyone who can connect to it controls your containers "
                  "(prefer the default unix socket)", file=sys.stderr)
            listener = listen_tcp(host, port)
        else:
            paths.ensure()
            listener = listen_unix(str(where))
            path_to_remove = str(where)
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))   # systemd's stop: clean up
    service = Service(listener, paths, options.timeout)
    try:
        service.run()
    except KeyboardInterrupt:
        pass
    finally:
        service.catalogs.close()
        listener.close()
        if path_to_remove:
            try:
                os.unlink(path_to_remove)
            except FileNotFoundError:
                pass
