"""Routes of the Docker Engine API, the `/vX.Y` prefix, and the one place where an
error becomes an HTTP status and docker's `{"message": ...}` body.

A handler is `handler(ctx, req, conn, **path_params)`; it either answers on `conn`
(`send_json`, `stream`, `hijack`) or returns a value sent as JSON with status 200.
Handler modules register routes at import. The service imports `system` (`_ping`,
`version`, `info`) before its first connection and the others on the first request that
is not one of those: a socket-activated service answers docker's first `/_ping` without
paying for every handler module (and `re`: routes are matched segment by segment).
"""

from __future__ import annotations

import sys
import threading

from pdman.api.http import BadRequest, Connection, Request
from pdman.errors import PdmanError, http_status_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pdman.engine.context import EngineContext

#: what this service speaks: docker's API versions, advertised and accepted
API_VERSION = "1.44"
MIN_API_VERSION = "1.24"

#: (method, segments, index of the `{name:path}` segment or -1, handler); a segment is a
#: literal, or `{name}` (one non-empty segment), or `{name:path}` (one or more, slashes
#: and all: image names such as `127.0.0.1:5000/busybox:latest` come unescaped)
_ROUTES: "list[tuple[str, list[str], int, Callable[..., Any]]]" = []
_loaded = False
_load_lock = threading.Lock()


class NotModified(Exception):
    """docker's 304: start of a started container, stop of a stopped one."""


class Unsupported(PdmanError):
    """A request pdman understands but cannot carry out (docker's 501)."""

    reference = "not-implemented"
    http_status = 501


def route(method: str, pattern: str) -> "Callable[[Callable[..., Any]], Callable[..., Any]]":
    """`{name}`: one path segment; `{name:path}`: the rest, slashes and all."""
    segments = pattern.split("/")
    rest = next((i for i, seg in enumerate(segments) if seg.endswith(":path}")), -1)
    if rest >= 0:
        segments[rest] = segments[rest][1:-len(":path}")]

    def register(handler: "Callable[..., Any]") -> "Callable[..., Any]":
        for m in method.split("|"):
            _ROUTES.append((m, segments, rest, handler))
        return handler

    return register


def _match_segments(pattern: "list[str]", parts: "list[str]",
                     params: "dict[str, str]") -> bool:
    for want, got in zip(pattern, parts):
        if want.startswith("{"):
            if not got:
                return False
            params[want[1:-1]] = got
        elif want != got:
            return False
    return True


def match(segments: "list[str]", rest: int, path: str) -> "dict[str, str] | None":
    """The path parameters when `path` fits the route, else None."""
    parts = path.split("/")
    params: dict[str, str] = {}
    if rest < 0:
        if len(parts) != len(segments) or not _match_segments(segments, parts, params):
            return None
        return params
    tail = len(segments) - rest - 1
    if len(parts) < len(segments):
        return None
    if not _match_segments(segments[:rest], parts[:rest], params):
        return None
    if tail and not _match_segments(segments[rest + 1:], parts[-tail:], params):
        return None
    value = "/".join(parts[rest:len(parts) - tail])
    if not value:
        return None
    params[segments[rest]] = value
    return params


def load_first() -> None:
    """What a service imports before its first connection: `_ping`, `version`, `info`."""
    from pdman.api import system  # noqa: F401


def load() -> None:
    """Import every handler module (they register their routes); once."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if not _loaded:
            from pdman.api import (attach, containers, exec, images,  # noqa: F401
                                   networks, system, volumes)
            _loaded = True


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def split_version(path: str) -> tuple[str, str]:
    """('/v1.41/containers/json') -> ('1.41', '/containers/json'); no prefix: the
    newest version. Versions outside [MIN, API] are refused as docker does."""
    from pdman.errors import UsageError

    head, sep, rest = path[2:].partition("/")
    major, dot, minor = head.partition(".")
    if not (path.startswith("/v") and sep and dot and major.isdigit() and minor.isdigit()):
        return API_VERSION, path
    version = f"{int(major)}.{int(minor)}"
    if _version_tuple(version) > _version_tuple(API_VERSION):
        raise UsageError(f"client version {version} is too new. Maximum supported API "
                         f"version is {API_VERSION}")
    if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
        raise UsageError(f"client version {version} is too old. Minimum supported API "
                         f"version is {MIN_API_VERSION}, please upgrade your client to a "
                         "newer version")
    return version, "/" + rest


def error_body(exc: BaseException) -> "tuple[int, dict[str, str]]":
    """THE mapping of an exception to docker's status and body (errors.py's statuses;
    anything that is not a PdmanError is a bug: 500, with its text)."""
    if isinstance(exc, PdmanError):
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return http_status_for(exc), {"message": text}
    if isinstance(exc, BadRequest):
        return 400, {"message": str(exc)}
    return 500, {"message": f"internal error: {type(exc).__name__}: {exc}"}


#: the paths `load_first` serves (its module's routes): anything else loads the rest first
_FIRST_PATHS = frozenset(("/_ping", "/version", "/info"))


def dispatch(ctx: "EngineContext", req: Request, conn: Connection) -> None:
    """Answer one request on `conn`; whatever happens, the client gets an answer
    (unless the connection was already taken over by a stream or a hijack)."""
    try:
        req.api_version, path = split_version(req.path)
        if not _loaded and path not in _FIRST_PATHS:
            load()
        allowed = False
        for wanted in ((req.method, "GET") if req.method == "HEAD" else (req.method,)):
            for m, segments, rest, handler in _ROUTES:
                params = match(segments, rest, path)
                if params is None:
                    continue
                allowed = True
                if m != wanted:
                    continue
                result = handler(ctx, req, conn, **params)
                if not conn.responded:
                    if result is None:
                        conn.send(204)
                    else:
                        conn.send_json(200, result)
                return
        if allowed:
            conn.send_json(405, {"message": f"method {req.method} not allowed on {path}"})
        else:
            conn.send_json(404, {"message": f"page not found: {req.method} {path}"})
    except NotModified:
        if not conn.responded:
            conn.send(304)
    except (BrokenPipeError, ConnectionResetError):
        conn.keep_alive = False
    except BaseException as exc:  # noqa: BLE001 - every error becomes an answer
        status, body = error_body(exc)
        if status == 500 and not isinstance(exc, PdmanError):
            import traceback

            traceback.print_exc(file=sys.stderr)
        if conn.responded:
            conn.keep_alive = False   # a stream broke in the middle: end the connection
            return
        try:
            req.drain()
        except Exception:  # noqa: BLE001
            conn.keep_alive = False
        conn.send_json(status, body)
