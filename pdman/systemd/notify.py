"""sd_notify(3) for `run --sdnotify`: tell the systemd unit that runs pdman when the
container is up, and who its main process is.

  conmon (default)  pdman sends `MAINPID=<monitor>` and `READY=1` once the container
                    runs: the unit's main process is the container's monitor (conmon's
                    role), which outlives the `pdman run -d` that started it
  container         pdman sends only `MAINPID=<monitor>`; the container gets the unit's
                    socket bind-mounted at /run/notify/notify.sock with NOTIFY_SOCKET
                    set, and its own `READY=1` reaches systemd (NotifyAccess=all: the
                    container runs in the unit's cgroup, so systemd takes it)
  ignore            nothing is sent and the container gets no socket
  healthy           (READY after the first passing healthcheck) not built yet

Stdlib only; nothing happens when NOTIFY_SOCKET is unset (not run by a unit).
"""

from __future__ import annotations

import os
import socket

from pdman.errors import UsageError

MODES = ("conmon", "container", "ignore", "healthy")
CONTAINER_SOCKET = "/run/notify/notify.sock"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"invalid --sdnotify {mode!r}",
                         hint="use conmon (the default), container, healthy or ignore")
    if mode == "healthy":
        raise UsageError("--sdnotify=healthy is not supported by pdman yet",
                         hint="use --sdnotify=conmon (READY once the container runs) or "
                              "container (the container sends READY=1 itself)")
    return mode


def socket_path() -> str:
    """The unit's notify socket, if pdman runs under one (`@name`: abstract)."""
    return os.environ.get("NOTIFY_SOCKET", "")


def send(message: str) -> bool:
    """Send one sd_notify datagram; False when there is no socket or it is gone
    (a unit that did not ask is not an error)."""
    path = socket_path()
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(message.encode(), address)
    except OSError:
        return False
    return True


def container_socket() -> str:
    """The host socket to bind into a `--sdnotify=container` container ("" when not
    under a unit, or the socket is abstract and so cannot be bind-mounted)."""
    path = socket_path()
    return path if path.startswith("/") else ""


def after_start(mode: str, main_pid: int, foreground: bool = False) -> None:
    """Called once the container runs: detached, `main_pid` is its monitor; in the
    foreground, pdman itself (which stays until the container exits)."""
    if mode == "conmon":
        send(f"MAINPID={main_pid}\nREADY=1\n")
    elif mode == "container" and not foreground:
        send(f"MAINPID={main_pid}\n")


__all__ = ["CONTAINER_SOCKET", "MODES", "after_start", "check_mode", "container_socket", "send"]
