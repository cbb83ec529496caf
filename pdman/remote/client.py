"""The HTTP side of the remote client: Docker Engine API calls over httpx, and the
mapping of the service's errors to pdman's (so exit codes and messages match a local
run's). Paths carry the `/v1.41` prefix, which pdman's, podman's and dockerd's
services all serve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from pdman import errors
from pdman.remote.transport import Destination, Tunnel, connect

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


class Client:
    """One API service; `close()` ends its connections and its ssh tunnel."""

    def __init__(self, dest: Destination) -> None:
        self.dest = dest
        self.tunnel: Tunnel | None = None
        transport, self.tunnel = connect(dest)
        base = ("http://" + dest.uri[len("tcp://"):]) if dest.uri.startswith("tcp://") \
            else "http://d"
        self.http = httpx.Client(transport=transport, base_url=base, timeout=None)

    def close(self) -> None:
        try:
            self.http.close()
        finally:
            if self.tunnel is not None:
                self.tunnel.close()

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

    def _check(self, resp: httpx.Response, kind: str) -> None:
        if resp.status_code < 400:
            return
        resp.read()
        try:
            body = resp.json()
            message = str(body.get("message") or body.get("cause") or resp.text)
        except ValueError:
            message = resp.text.strip() or f"HTTP {resp.status_code}"
        raise error_for(resp.status_code, message, kind)

    def request(self, method: str, path: str, kind: str = "", params: Any = None,
                body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            resp = self.http.request(method, API_PREFIX + path, params=params,
                                     json=body, headers=headers)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        self._check(resp, kind)
        return resp

    def json(self, method: str, path: str, kind: str = "", params: Any = None,
             body: Any = None) -> Any:
        resp = self.request(method, path, kind, params, body)
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    def stream(self, method: str, path: str, kind: str = "", params: Any = None,
               body: Any = None, headers: dict[str, str] | None = None) -> Iterator[bytes]:
        """The body as it arrives (logs -f, exec output, pull progress)."""
        try:
            with self.http.stream(method, API_PREFIX + path, params=params, json=body,
                                  headers=headers) as resp:
                self._check(resp, kind)
                yield from resp.iter_raw()
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    def json_lines(self, method: str, path: str, kind: str = "", params: Any = None,
                   body: Any = None, headers: dict[str, str] | None = None) -> Iterator[Any]:
        """A stream of JSON documents, one a line (pull progress, events)."""
        buf = b""
        for chunk in self.stream(method, path, kind, params, body, headers):
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
