"""Interactive sessions of the remote client (`run -i/-it`, `exec -i/-it`): a raw
connection taken over after docker's `101 UPGRADED` (connection hijacking), the user's
terminal in raw mode with its size sent to the service, stdin pumped one way and the
container's output (multiplexed without a tty) the other."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

import json
import os
import socket
import sys
import threading
from urllib.parse import urlencode

from pdman.errors import RemoteError
from pdman.remote.client import API_PREFIX, Client, error_for


def raw_socket(c: Client) -> socket.socket:
    """A new byte stream to the service, whatever the transport."""
    try:
        return c.dial()
    except OSError as exc:
        raise c._unreachable(exc) from None


def hijack(c: Client, path: str, params: "dict[str, str] | None" = None,
           body: Any = None, kind: str = "container") -> "tuple[socket.socket, bytes]":
    """POST with `Upgrade: tcp`; the raw socket and the bytes that came with the head."""
    sock = raw_socket(c)
    data = json.dumps(body).encode() if body is not None else b""
    target = API_PREFIX + path + ("?" + urlencode(params) if params else "")
    head = (f"POST {target} HTTP/1.1\r\nHost: d\r\nUser-Agent: pdman\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n").encode()
    sock.sendall(head + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            sock.close()
            raise RemoteError(f"the API service closed the connection on {path}")
        buf += chunk
    head_bytes, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    if status >= 400:
        lowered = head_bytes.lower()
        length = 0
        for line in lowered.split(b"\r\n"):
            if line.startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        sock.close()
        try:
            message = str(json.loads(rest).get("message", ""))
        except ValueError:
            message = rest.decode(errors="replace").strip()
        raise error_for(status, message or f"HTTP {status}", kind)
    return sock, rest


def _term_size() -> "tuple[int, int] | None":
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.lines, size.columns


def session(c: Client, sock: socket.socket, early: bytes, tty: bool, stdin: bool,
            resize_path: str) -> None:
    """Pump until the container's side ends; the terminal restored at the end."""
    import termios
    import tty as ttymod

    from pdman.remote.client import demux

    saved = None
    if tty and stdin and os.isatty(0):
        saved = termios.tcgetattr(0)
        # TCSANOW, not setraw's default TCSAFLUSH: what was typed before the session
        # came up is the container's input, not to be thrown away
        ttymod.setraw(0, termios.TCSANOW)
    try:
        if tty:
            size = _term_size()
            if size:
                try:
                    c.request("POST", resize_path, params={"h": str(size[0]), "w": str(size[1])})
                except Exception:  # noqa: BLE001 - a size the service refuses is cosmetic
                    pass
        if stdin:
            def pump() -> None:
                try:
                    while True:
                        data = os.read(0, 65536)
                        if not data:
                            break
                        sock.sendall(data)
                except OSError:
                    pass
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

            threading.Thread(target=pump, daemon=True).start()

        def chunks() -> Any:
            if early:
                yield early
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                yield data

        demux(chunks(), sys.stdout.buffer, sys.stderr.buffer, tty)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        sock.close()
