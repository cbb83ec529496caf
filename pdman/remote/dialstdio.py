"""`pdman system dial-stdio`: join this process's stdin/stdout to the API service's
socket. The ssh transport runs it on the remote host (docker's `system dial-stdio`
idea): each HTTP connection of a remote client is one such process behind ssh."""

from __future__ import annotations

import os
import socket
import threading

from pdman.errors import RemoteError, UsageError


def _pump_in(sock: socket.socket) -> None:
    """stdin -> socket; at stdin's end, half-close so the service sees the request end
    while its answer still streams back."""
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


def dial_stdio(uri: str | None) -> int:
    from pdman.remote.transport import local_socket_uri

    uri = uri or local_socket_uri()
    if not uri.startswith("unix://"):
        raise UsageError(f"{uri!r}: dial-stdio joins a unix:// socket",
                         hint="e.g. unix:///run/user/1000/pdman/pdman.sock")
    path = uri[len("unix://"):]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        raise RemoteError(f"cannot connect to the API service at {uri}: {exc.strerror}",
                          hint="start it with `pdman system service`") from None
    threading.Thread(target=_pump_in, args=(sock,), daemon=True).start()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return 0
