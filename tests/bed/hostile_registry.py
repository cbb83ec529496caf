"""A registry gone bad, for tests/security: it serves whatever a test puts in its
routes (what a real registry would refuse to store), lies in its headers if told to,
and can stream an endless body, counting what it managed to send.

    with HostileRegistry() as reg:
        reg.routes["/v2/evil/manifests/1"] = Route(OCI_INDEX, body)
        env = reg.env(registry_env, tmp_path)   # registries.conf marking it insecure
        run_pdman("manifest", "add", "l", f"{reg.host}/evil:1", env=env)
        reg.sent["/v2/evil/manifests/1"]         # bytes written before the client left
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    """One answer: `body`, or, when `stream` is set, that many chunks of `chunk`
    with no Content-Length (the client must stop reading by itself)."""

    content_type: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)   # e.g. a lying digest
    stream: int = 0
    chunk: bytes = b" " * 65536


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route]
    sent: dict[str, int]
    protocol_version = "HTTP/1.1"

    def _answer(self, with_body: bool) -> None:
        path = self.path.split("?")[0]
        route = Route("application/json", b"{}") if path == "/v2/" else self.routes.get(path)
        if route is None:
            payload = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if with_body:
                self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        headers = {"Docker-Content-Digest": "sha256:" + hashlib.sha256(route.body).hexdigest()}
        headers.update(route.headers)
        for k, v in headers.items():
            self.send_header(k, v)
        if route.stream:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if not with_body:
            return
        if not route.stream:
            self.wfile.write(route.body)
            return
        try:
            for _ in range(route.stream):
                self.wfile.write(route.chunk)
                self.sent[path] = self.sent.get(path, 0) + len(route.chunk)
        except OSError:
            pass  # the client hung up: what it read is counted in `sent`

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, *args: object) -> None:
        pass


class HostileRegistry:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.sent: dict[str, int] = {}
        handler = type("Handler", (_Handler,), {"routes": self.routes, "sent": self.sent})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HostileRegistry":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def env(self, base: dict[str, str], tmp: Path) -> dict[str, str]:
        """`base` plus a registries.conf marking this registry insecure (plain HTTP)."""
        conf = tmp / "hostile-registries.conf"
        conf.write_text(f'[[registry]]\nlocation = "{self.host}"\ninsecure = true\n')
        return dict(base, CONTAINERS_REGISTRIES_CONF=str(conf))

    def blob(self, repo: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Serve `data` as a blob of `repo`; its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.routes[f"/v2/{repo}/blobs/{digest}"] = Route(content_type, data)
        return digest

    def manifest(self, repo: str, tag: str, content_type: str, body: bytes,
                 **headers: str) -> str:
        """Serve `body` as manifest `tag` of `repo`, and by its digest; the digest."""
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        for ref in (tag, digest):
            self.routes[f"/v2/{repo}/manifests/{ref}"] = Route(content_type, body, dict(headers))
        return digest


def hostile_registry() -> Iterator[HostileRegistry]:
    """For a fixture: `yield from hostile_registry()`."""
    with HostileRegistry() as reg:
        yield reg


__all__ = ["HostileRegistry", "Route", "hostile_registry"]
