"""Layer extraction in worker processes that are root of the user's user namespace.

Files of a layer belong to container users (root, www-data, ...), which a rootless
store keeps as the user's subordinate IDs: only a process inside a user namespace
mapped onto that range can create them (DESIGN §4). Forking one per layer from a
multi-threaded downloader is unsafe, so one *zygote* is forked (through
`runtime.idmap.run_in_userns`) before the download threads start; it forks a worker
per job. The downloader streams each blob into its worker through a pipe, so a
layer is unpacked while it downloads:

    registry --httpx--> download thread --pipe--> worker: gunzip, sha256, untar
                              |
                              +--> blob file (verified, kept for push)

Jobs travel over a SOCK_SEQPACKET socket with their file descriptors (SCM_RIGHTS):
`unpack` (a data pipe and a result pipe) and `rmtree` (trees owned by subordinate
IDs, which only the namespace can remove). Results come back pickled. If the
pdman process dies, the zygote sees its socket close and exits; workers see their
data pipe close and stop.

As real root (no namespace needed) the zygote is a plain fork.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import socket
import threading
from dataclasses import asdict

from pdman.runtime.fdio import read_all as _read_all, write_all as _write_all
from pdman.errors import PdmanError, StorageError
from pdman.storage.tarstream import Limits
from pdman.storage.unpack import UnpackResult, unpack_layer

PIPE_SIZE = 1 << 20  # the unprivileged maximum (fs.pipe-max-size)




# -- the zygote and its workers (run in the child processes) --------------------------

def _worker(job: dict[str, object], fds: list[int]) -> None:
    outcome: tuple[str, object]
    result_fd = fds[-1]
    try:
        if job["op"] == "unpack":
            from pdman.storage.blobs import syncfs

            with os.fdopen(fds[0], "rb", buffering=0) as source:
                result = unpack_layer(source, str(job["dest"]),
                                      Limits(**job["limits"]))  # type: ignore[arg-type]
            # contents on disk before the layer may become visible (DESIGN §3)
            syncfs(str(job["dest"]))
            outcome = ("ok", result)
        elif job["op"] == "rmtree":
            _rmtree_all(job["paths"])  # type: ignore[arg-type]
            outcome = ("ok", None)
        else:
            outcome = ("err", StorageError(f"extractor: unknown job {job['op']!r}"))
    except BaseException as exc:  # noqa: BLE001 - carried to the parent
        outcome = ("err", exc)
    try:
        payload = pickle.dumps(outcome)
    except Exception as exc:  # noqa: BLE001
        payload = pickle.dumps(("err", StorageError(f"extractor: {outcome[1]!r} ({exc})")))
    _write_all(result_fd, payload)


def _reap(block: bool) -> None:
    """Wait for finished workers (their CPU time then counts as pdman's, in `time`)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _zygote(sock_fd: int, parent_end: int) -> None:
    os.close(parent_end)  # else our own copy would keep the socket open forever
    sock = socket.socket(fileno=sock_fd)
    sock.send(b"ready")
    while True:
        _reap(block=False)
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
        except InterruptedError:
            continue
        if not msg:
            break  # pdman closed its end: done
        job = json.loads(msg)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sock.close()
                _worker(job, fds)
                code = 0
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
    # workers still running stop soon: their data pipes are closed or at their end
    _reap(block=True)


def _run_forked(fn: object, *args: object) -> None:
    """run_in_userns' shape, without the namespace (for real root)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn(*args)  # type: ignore[operator]
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)


# -- the pdman side -------------------------------------------------------------------

class WorkerGone(Exception):
    """The worker stopped reading (it failed): `UnpackJob.finish()` says why."""


class UnpackJob:
    """A layer being streamed into a worker."""

    def __init__(self, data_w: int, result_r: int, dest: str) -> None:
        self.dest = dest
        self._data_w = data_w
        self._result_r = result_r
        self.broken = False

    def write(self, data: bytes) -> None:
        """Feed the worker; WorkerGone when it stopped reading (no use downloading on)."""
        if self.broken or self._data_w < 0:
            raise WorkerGone(self.dest)
        try:
            _write_all(self._data_w, data)
        except BrokenPipeError:
            self.broken = True
            raise WorkerGone(self.dest) from None

    def _close_data(self) -> None:
        if self._data_w >= 0:
            os.close(self._data_w)
            self._data_w = -1

    def finish(self) -> UnpackResult:
        """End of data: wait for the worker's result (its LayerError is raised here)."""
        self._close_data()
        try:
            payload = _read_all(self._result_r)
        finally:
            os.close(self._result_r)
            self._result_r = -1
        if not payload:
            raise StorageError(f"the extraction worker for {self.dest} died without a result",
                               hint="see the kernel log (out of memory?) and pull again")
        kind, value = pickle.loads(payload)
        if kind == "err":
            if isinstance(value, BaseException):
                raise value
            raise StorageError(f"extraction failed: {value!r}")
        assert isinstance(value, UnpackResult)
        return value

    def abort(self) -> None:
        """Stop feeding; wait for the worker to give up (its error is not wanted)."""
        if self._result_r < 0:
            return
        try:
            self.finish()
        except (PdmanError, OSError):
            pass


class Extractor:
    """The zygote; start it before any download thread exists."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self.warning: str | None = None

    def start(self) -> "Extractor":
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        use_userns = os.geteuid() != 0
        if use_userns:
            from pdman.runtime import idmap

            mapping = idmap.mapping_for_current_user()
            self.warning = mapping.warning

        def run() -> None:
            try:
                if use_userns:
                    from pdman.runtime import idmap

                    idmap.run_in_userns(_zygote, child.fileno(), parent.fileno())
                else:
                    _run_forked(_zygote, child.fileno(), parent.fileno())
            except BaseException as exc:  # noqa: BLE001 - reported by start()/submit()
                self._failure = exc
                # wakes up a start() waiting for "ready" (a close() from this thread
                # would not: the main thread's recv() would block on forever)
                try:
                    parent.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self._thread = threading.Thread(target=run, name="pdman-extractor", daemon=True)
        self._thread.start()
        try:
            hello = parent.recv(16)
        except OSError:
            hello = b""
        child.close()
        if hello != b"ready":
            self._thread.join()
            parent.close()
            if self._failure is not None:
                raise self._failure
            raise StorageError("the layer extraction process did not start")
        self._sock = parent
        return self

    def _send(self, job: dict[str, object], fds: list[int]) -> None:
        if self._sock is None:
            raise StorageError("the layer extractor is not running")
        with self._lock:
            socket.send_fds(self._sock, [json.dumps(job).encode()], fds)

    def unpack(self, dest: str, limits: Limits) -> UnpackJob:
        data_r, data_w = os.pipe2(os.O_CLOEXEC)
        result_r, result_w = os.pipe2(os.O_CLOEXEC)
        try:
            try:
                fcntl.fcntl(data_w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass  # a smaller pipe only costs context switches
            self._send({"op": "unpack", "dest": dest, "limits": asdict(limits)},
                       [data_r, result_w])
        except BaseException:
            for fd in (data_w, result_r):
                os.close(fd)
            raise
        finally:
            os.close(data_r)
            os.close(result_w)
        return UnpackJob(data_w, result_r, dest)

    def rmtree(self, paths: list[str]) -> None:
        """Remove trees whose files belong to subordinate IDs; waits for it."""
        if not paths:
            return
        result_r, result_w = os.pipe2(os.O_CLOEXEC)
        try:
            self._send({"op": "rmtree", "paths": paths}, [result_w])
        finally:
            os.close(result_w)
        try:
            _read_all(result_r)
        finally:
            os.close(result_r)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> "Extractor":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def remove_trees(paths: list[str]) -> None:
    """Remove trees that may hold subordinate-ID files, without a running extractor."""
    paths = [p for p in paths if os.path.lexists(p)]
    if not paths:
        return
    if os.geteuid() == 0:
        _rmtree_all(paths)
        return
    from pdman.runtime import idmap

    idmap.run_in_userns(_rmtree_all, paths)


def _rmtree_all(paths: list[str]) -> None:
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


__all__ = ["Extractor", "UnpackJob", "WorkerGone", "remove_trees"]
