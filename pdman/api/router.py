"""Routes of the Docker Engine API, the `/vX.Y` prefix, and the one place where an
error becomes an HTTP status and docker's `{"message": ...}` body.

A handler is `handler(ctx, req, conn, **path_params)`; it either answers on `conn`
(`send_json`, `stream`, `hijack`) or returns a value sent as JSON with status 200.
Handler modules register routes at import; `load()` imports them all.
"""

from __future__ import annotations

import re
import sys

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

_VERSION_PREFIX = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")
_ROUTES: "list[tuple[str, re.Pattern[str], Callable[..., Any]]]" = []


class NotModified(Exception):
    """docker's 304: start of a started container, stop of a stopped one."""


class Unsupported(PdmanError):
    """A request pdman understands but cannot carry out (docker's 501)."""

    reference = "not-implemented"
    http_status = 501


def route(method: str, pattern: str) -> "Callable[[Callable[..., Any]], Callable[..., Any]]":
    """`{name}`: one path segment; `{name:path}`: the rest, slashes and all (image
    names such as `127.0.0.1:5000/busybox:latest` come unescaped)."""
    regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", pattern)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    compiled = re.compile("^" + regex + "$")

    def register(handler: "Callable[..., Any]") -> "Callable[..., Any]":
        for m in method.split("|"):
            _ROUTES.append((m, compiled, handler))
        return handler

    return register


def load() -> None:
    """Import every handler module (they register their routes)."""
    from pdman.api import (attach, containers, exec, images, networks, system,  # noqa: F401
                           volumes)


def _version_tuple(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def split_version(path: str) -> tuple[str, str]:
    """('/v1.41/containers/json') -> ('1.41', '/containers/json'); no prefix: the
    newest version. Versions outside [MIN, API] are refused as docker does."""
    from pdman.errors import UsageError

    m = _VERSION_PREFIX.match(path)
    if not m:
        return API_VERSION, path
    version = f"{int(m.group(1))}.{int(m.group(2))}"
    if _version_tuple(version) > _version_tuple(API_VERSION):
        raise UsageError(f"client version {version} is too new. Maximum supported API "
                         f"version is {API_VERSION}")
    if _version_tuple(version) < _version_tuple(MIN_API_VERSION):
        raise UsageError(f"client version {version} is too old. Minimum supported API "
                         f"version is {MIN_API_VERSION}, please upgrade your client to a "
                         "newer version")
    return version, m.group(3)


def error_body(exc: BaseException) -> "tuple[int, dict[str, str]]":
    """THE mapping of an exception to docker's status and body (errors.py's statuses;
    anything that is not a PdmanError is a bug: 500, with its text)."""
    if isinstance(exc, PdmanError):
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return http_status_for(exc), {"message": text}
    if isinstance(exc, BadRequest):
        return 400, {"message": str(exc)}
    return 500, {"message": f"internal error: {type(exc).__name__}: {exc}"}


def dispatch(ctx: "EngineContext", req: Request, conn: Connection) -> None:
    """Answer one request on `conn`; whatever happens, the client gets an answer
    (unless the connection was already taken over by a stream or a hijack)."""
    try:
        req.api_version, path = split_version(req.path)
        allowed = False
        for wanted in ((req.method, "GET") if req.method == "HEAD" else (req.method,)):
            for m, pattern, handler in _ROUTES:
                match = pattern.match(path)
                if match is None:
                    continue
                allowed = True
                if m != wanted:
                    continue
                result = handler(ctx, req, conn, **match.groupdict())
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
