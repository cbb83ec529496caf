"""The HTTP side of the remote client: Docker Engine API calls, and the mapping of the
service's errors to pdman's (so exit codes and messages match a local run's). Paths
carry the `/v1.41` prefix, which pdman's, podman's and dockerd's services all serve.

The standard library's http.client, not httpx: importing httpx (and the rich and click
it pulls in) cost ~4x the whole remote `pdman ps`; these calls need one request at a
time, streaming bodies and a socket of our own making (unix, tcp, an ssh bridge), which
http.client gives. One connection per request: no stale keep-alive to retry, and a
unix connect costs microseconds (over ssh, one multiplexed session)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

import http.client
import json
import os
import socket
import stat
from urllib.parse import urlencode

from pdman import errors
from pdman.remote.transport import Destination, Tunnel

API_PREFIX = "/v1.41"


def error_for(status: int, message: str, kind: str = "") -> errors.PdmanError:
    """The PdmanError a local run would raise for this API answer; `kind` picks the
    NotFound subclass ("container", "image", "volume", "network")."""
    if status == 404:
        cls = {"container": errors.ContainerNotFound, "image": errors.ImageNotFound,
               "volume": errors.VolumeNotFound, "network": errors.NetworkNotFound}.get(
                   kind, errors.NotFoundError)
        return cls(message)
    if status == 409:
        return errors.ConflictError(message)
    if status == 400:
        return errors.UsageError(message)
    return errors.PdmanError(message)


class _Connection(http.client.HTTPConnection):
    """http.client over a socket the client dials itself."""

    def __init__(self, dial: Any) -> None:
        super().__init__("d", timeout=None)
        self._dial = dial

    def connect(self) -> None:
        self.sock = self._dial()


class Client:
    """One API service; `close()` ends its ssh tunnel, if any."""

    def __init__(self, dest: Destination) -> None:
        self.dest = dest
        self.tunnel: Tunnel | None = None
        if dest.uri.startswith("ssh://"):
            self.tunnel = Tunnel(dest.uri, dest.identity)
            try:
                self.tunnel.open()
            except BaseException:  # ^C while ssh logs in: no master left behind
                self.tunnel.close()
                raise
        elif not dest.uri.startswith(("unix://", "tcp://")):
            raise errors.UsageError(f"{dest.uri!r}: unsupported scheme")

    def close(self) -> None:
        if self.tunnel is not None:
            self.tunnel.close()

    def dial(self) -> socket.socket:
        """A new byte stream to the service, whatever the transport."""
        uri = self.dest.uri
        if uri.startswith("unix://"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(uri[len("unix://"):])
            except OSError:
                s.close()
                raise
            return s
        if uri.startswith("tcp://"):
            host, _, port = uri[len("tcp://"):].rpartition(":")
            return socket.create_connection((host.strip("[]"), int(port)))
        assert self.tunnel is not None
        return self.tunnel.dial()

    def _unreachable(self, exc: Exception) -> errors.RemoteError:
        where = self.dest.uri + (f" (connection {self.dest.name!r})" if self.dest.name else "")
        why = str(exc) or type(exc).__name__
        far = self.tunnel.last_error() if self.tunnel is not None else ""
        if far:
            why += f" (remote side: {far})"
        return errors.RemoteError(
            f"cannot connect to the API service at {where}: {why}",
            hint="start it there with `pdman system service` (or podman's/dockerd's), "
                 "or give another --url/--connection")

    def _open(self, method: str, path: str, params: Any, body: Any,
              headers: "dict[str, str] | None", upload: Any = None,
              ) -> "tuple[_Connection, http.client.HTTPResponse]":
        """`body`: a JSON document; `upload`: a file sent as it is (a tar archive),
        with its length when it has one, else chunked."""
        url = API_PREFIX + path + ("?" + urlencode(params, doseq=True) if params else "")
        data = json.dumps(body).encode() if body is not None else upload
        h = {"User-Agent": "pdman", **(headers or {})}
        if upload is not None:
            h.setdefault("Content-Type", "application/x-tar")
            try:
                size = os.fstat(upload.fileno()).st_size - upload.tell()
                if stat.S_ISREG(os.fstat(upload.fileno()).st_mode):
                    h["Content-Length"] = str(size)
            except (OSError, AttributeError, ValueError):
                pass
        elif data is not None:
            h["Content-Type"] = "application/json"
        conn = _Connection(self.dial)
        try:
            conn.request(method, url, body=data, headers=h,
                         encode_chunked=upload is not None and "Content-Length" not in h)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._unreachable(exc) from None

    @staticmethod
    def _check(resp: http.client.HTTPResponse, kind: str) -> None:
        if resp.status < 400:
            return
        raw = resp.read()
        try:
            doc = json.loads(raw)
            message = str(doc.get("message") or doc.get("cause") or raw.decode())
        except (ValueError, AttributeError):
            message = raw.decode(errors="replace").strip() or f"HTTP {resp.status}"
        raise error_for(resp.status, message, kind)

    def request(self, method: str, path: str, kind: str = "", params: Any = None,
                body: Any = None, headers: "dict[str, str] | None" = None,
                upload: Any = None) -> bytes:
        """The whole answer's body (an error status raises)."""
        conn, resp = self._open(method, path, params, body, headers, upload)
        try:
            self._check(resp, kind)
            return resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()

    def json(self, method: str, path: str, kind: str = "", params: Any = None,
             body: Any = None) -> Any:
        data = self.request(method, path, kind, params, body)
        return json.loads(data) if data.strip() else None

    def stream(self, method: str, path: str, kind: str = "", params: Any = None,
               body: Any = None, headers: "dict[str, str] | None" = None,
               upload: Any = None) -> Iterator[bytes]:
        """The body as it arrives (logs -f, exec output, pull progress)."""
        conn, resp = self._open(method, path, params, body, headers, upload)
        try:
            self._check(resp, kind)
            while True:
                try:
                    chunk = resp.read1(65536)
                except (OSError, http.client.HTTPException) as exc:
                    raise self._unreachable(exc) from None
                if not chunk:
                    return
                yield chunk
        finally:
            conn.close()

    def json_lines(self, method: str, path: str, kind: str = "", params: Any = None,
                   body: Any = None, headers: "dict[str, str] | None" = None,
                   upload: Any = None) -> Iterator[Any]:
        """A stream of JSON documents, one a line (pull progress, events)."""
        buf = b""
        for chunk in self.stream(method, path, kind, params, body, headers, upload):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield json.loads(line)
        if buf.strip():
            yield json.loads(buf)


def demux(chunks: Iterator[bytes], out: Any, err: Any, tty: bool) -> None:
    """Write docker's multiplexed stream (8-byte frame headers: stream, 0, 0, 0, size)
    to `out`/`err`; with a tty the stream is raw bytes, all stdout."""
    if tty:
        for chunk in chunks:
            out.write(chunk)
            out.flush()
        return
    buf = b""
    for chunk in chunks:
        buf += chunk
        while len(buf) >= 8:
            size = int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + size:
                break
            target = err if buf[0] == 2 else out
            target.write(buf[8:8 + size])
            target.flush()
            buf = buf[8 + size:]
