"""HTTP/1.1 on one accepted connection: just what the Docker Engine API needs.

Why our own small parser rather than `http.server`: socket activation puts the
service's start-up into the first request's latency, and `import http.server` costs
~45 ms here (it pulls in email, html, mimetypes...) against ~6 ms for what this module
imports. The API also needs two things `http.server` does not give: reading chunked
request bodies (the Go client streams `docker cp` and `docker load` bodies that way)
and taking the raw connection over after a `101 UPGRADED` (attach, exec start).

One `Connection` serves the requests of one client connection in order (keep-alive);
a response is either whole (`send`), a chunked stream (`stream`), or the end of HTTP
on that connection (`hijack`).
"""

from __future__ import annotations

import socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

REASONS = {
    101: "UPGRADED", 200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
    413: "Payload Too Large", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway",
}

#: request line and headers together; docker's client sends well under 8 KiB
MAX_HEAD = 64 * 1024
#: a JSON request body (create, exec): anything larger is a stream read in pieces
MAX_JSON_BODY = 16 * 1024 * 1024

SERVER_HEADERS = "Api-Version: 1.44\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: pdman\r\n"


class BadRequest(Exception):
    """The bytes on the wire are not a request we can answer (closes the connection)."""


class Request:
    __slots__ = ("method", "target", "path", "query", "headers", "version", "_conn",
                 "_remaining", "_chunked", "_done", "api_version")

    def __init__(self, conn: "Connection", method: str, target: str, version: str,
                 headers: "dict[str, str]") -> None:
        self.method = method
        self.target = target
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        if path.startswith("http://") or path.startswith("https://") or "%" in path or query:
            # the full parser only when needed: a socket-activated service's first
            # `/_ping` does not import urllib.parse (and ipaddress)
            from urllib.parse import parse_qs, unquote, urlsplit

            parts = urlsplit(target)
            path = unquote(parts.path)
            self.query = parse_qs(parts.query, keep_blank_values=True)
        else:
            self.query = {}
        self.path = path
        self.headers = headers
        self.version = version
        self.api_version = "1.44"
        self._conn = conn
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        try:
            self._remaining = int(length) if length is not None else 0
        except ValueError:
            raise BadRequest(f"bad Content-Length {length!r}") from None
        self._done = not self._chunked and self._remaining == 0

    # -- query ---------------------------------------------------------------
    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        """docker's booleans: 1/true/True; absent: the default; "" (present): true."""
        values = self.query.get(name)
        if not values:
            return default
        return values[-1].lower() not in ("0", "false", "no")

    def int_arg(self, name: str, default: int) -> int:
        from pdman.errors import UsageError

        text = self.arg(name)
        if text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"invalid value {text!r} for parameter {name}") from None

    # -- body ----------------------------------------------------------------
    def chunks(self) -> "Iterator[bytes]":
        """The body, piece by piece (Content-Length or chunked)."""
        rfile = self._conn.rfile
        while not self._done:
            if self._chunked:
                line = rfile.readline(1024)
                if not line:
                    raise BadRequest("connection closed inside a chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass            # trailers
                    self._done = True
                    return
                left = size
                while left:
                    data = rfile.read(min(left, 1 << 16))
                    if not data:
                        raise BadRequest("connection closed inside a chunk")
                    left -= len(data)
                    yield data
                rfile.readline(16)      # the chunk's CRLF
            else:
                data = rfile.read(min(self._remaining, 1 << 16))
                if not data:
                    raise BadRequest("connection closed inside the body")
                self._remaining -= len(data)
                self._done = self._remaining == 0
                yield data

    def body(self, limit: int = MAX_JSON_BODY) -> bytes:
        out = bytearray()
        for data in self.chunks():
            out += data
            if len(out) > limit:
                raise BadRequest("request body too large")
        return bytes(out)

    def json(self) -> "Any":
        from pdman.errors import UsageError

        data = self.body()
        if not data.strip():
            return {}
        try:
            import json

            return json.loads(data)
        except ValueError as exc:
            raise UsageError(f"invalid JSON in the request body: {exc}") from None

    def drain(self) -> None:
        for _ in self.chunks():
            pass


class Connection:
    """One client connection: read requests, write responses."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        # buffered: read1() hands over what came behind a request head (hijacking)
        self.rfile: "Any" = sock.makefile("rb", buffering=1 << 16)
        self.keep_alive = True
        self.hijacked = False
        self.responded = False

    def next_request(self) -> Request | None:
        """The next request, or None at a clean end of the connection."""
        line = self.rfile.readline(MAX_HEAD)
        while line in (b"\r\n", b"\n"):           # tolerated between requests
            line = self.rfile.readline(MAX_HEAD)
        if not line:
            return None
        try:
            method, target, version = line.decode("latin-1").split()
        except ValueError:
            raise BadRequest(f"bad request line {line[:80]!r}") from None
        headers: dict[str, str] = {}
        total = len(line)
        while True:
            h = self.rfile.readline(MAX_HEAD)
            total += len(h)
            if total > MAX_HEAD:
                raise BadRequest("request head too large")
            if h in (b"\r\n", b"\n", b""):
                break
            name, sep, value = h.decode("latin-1").partition(":")
            if not sep:
                raise BadRequest(f"bad header line {h[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        self.responded = False
        conn_hdr = headers.get("connection", "").lower()
        self.keep_alive = (version == "HTTP/1.1" and "close" not in conn_hdr) or \
            "keep-alive" in conn_hdr
        return Request(self, method.upper(), target, version, headers)

    # -- responses -----------------------------------------------------------
    def _head(self, status: int, headers: "dict[str, str]") -> bytes:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n", SERVER_HEADERS]
        lines += [f"{k}: {v}\r\n" for k, v in headers.items()]
        if not self.keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def send(self, status: int, body: bytes = b"", content_type: str = "application/json",
             headers: "dict[str, str] | None" = None, head_only: bool = False) -> None:
        h = dict(headers or {})
        if status not in (204, 304):
            h.setdefault("Content-Type", content_type)
            h["Content-Length"] = str(len(body))
        self.responded = True
        self.sock.sendall(self._head(status, h) + (b"" if head_only or status in (204, 304) else body))

    def send_json(self, status: int, value: "Any", headers: "dict[str, str] | None" = None) -> None:
        import json

        self.send(status, json.dumps(value).encode() + b"\n", headers=headers)

    def stream(self, status: int = 200, content_type: str = "application/json",
               headers: "dict[str, str] | None" = None) -> "ChunkedWriter":
        h = dict(headers or {})
        h.update({"Content-Type": content_type, "Transfer-Encoding": "chunked"})
        self.responded = True
        self.sock.sendall(self._head(status, h))
        return ChunkedWriter(self.sock)

    def hijack(self, request: Request, content_type: str) -> socket.socket:
        """End HTTP on this connection and hand over the raw socket: `101 UPGRADED`
        when the client asked to upgrade (docker's clients do), else a 200 whose body
        is the raw stream until the connection closes (docker's older behaviour)."""
        self.responded = True
        self.hijacked = True
        self.keep_alive = False
        if "upgrade" in request.headers.get("connection", "").lower():
            head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {content_type}\r\n"
                    "Connection: Upgrade\r\nUpgrade: tcp\r\n" + SERVER_HEADERS + "\r\n")
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n" + SERVER_HEADERS + "\r\n"
        self.sock.sendall(head.encode("latin-1"))
        return self.sock

    def client_gone(self) -> bool:
        """Whether the client closed its end (for a stream that is mostly silent)."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def close(self) -> None:
        if self.hijacked:
            # a thread may still be blocked reading the client's input through rfile,
            # whose close would wait for it: end the socket first, which ends that read
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self.rfile.close()
        finally:
            self.sock.close()


class ChunkedWriter:
    """A chunked response body; `write` sends at once (a stream is read live)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def write(self, data: bytes) -> None:
        if data:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def write_json(self, value: "Any") -> None:
        import json

        self.write(json.dumps(value).encode() + b"\n")

    def end(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.sendall(b"0\r\n\r\n")


def frame(stream: int, data: bytes) -> bytes:
    """docker's multiplexed stream format (no tty): an 8-byte header per frame, the
    stream (0 stdin, 1 stdout, 2 stderr), three zero bytes and the big-endian size."""
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data
