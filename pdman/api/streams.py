"""Byte streams between the engine's file-descriptor verbs (export, cp, save, load)
and HTTP bodies: a pipe, and a thread on one end."""

from __future__ import annotations

import os
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pdman.api.http import Connection, Request


def stream_from_fd(conn: "Connection", content_type: str, produce: "Callable[[int], Any]",
                   headers: "dict[str, str] | None" = None) -> None:
    """Run `produce(write_fd)` in a thread and send what it writes as a chunked body.
    An error before its first byte is an ordinary error answer."""
    r, w = os.pipe()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            produce(w)
        except BaseException as exc:  # noqa: BLE001 - handed to the request's thread
            failure.append(exc)
        finally:
            os.close(w)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    out = None
    try:
        while True:
            data = os.read(r, 1 << 16)
            if not data:
                break
            if out is None:
                out = conn.stream(200, content_type, headers)
            out.write(data)
        worker.join()
        if failure:
            if out is None:
                raise failure[0]
            conn.keep_alive = False    # the body is cut short: the client sees it broken
            return
        if out is None:
            out = conn.stream(200, content_type, headers)
        out.end()
    finally:
        os.close(r)


def body_to_fd(req: "Request", consume: "Callable[[int], Any]", spool_dir: str) -> "Any":
    """Spool the request body to an unlinked file, then `consume(fd)` it from the start.
    A file rather than a pipe: the engine verb may fork (a user namespace to unpack
    in), and a forked copy of a pipe's write end would keep the reader from its EOF."""
    import tempfile

    os.makedirs(spool_dir, mode=0o700, exist_ok=True)
    with tempfile.TemporaryFile(dir=spool_dir) as f:
        for data in req.chunks():
            f.write(data)
        f.flush()
        f.seek(0)
        return consume(f.fileno())


def body_to_path(req: "Request", consume: "Callable[[str], Any]", spool_dir: str) -> "Any":
    """`body_to_fd` for the verbs that read a path (import, load): the unlinked
    file's /proc/self/fd path. Unlinked, the file cannot be taken for garbage by the
    sweep of the store's tmp/ (storage/layers.py) that an ingest starts."""
    return body_to_fd(req, lambda fd: consume(f"/proc/self/fd/{fd}"), spool_dir)
