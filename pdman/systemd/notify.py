"""sd_notify(3) for `run --sdnotify`: tell the systemd unit that runs pdman when the
container is up, and who its main process is.

  conmon (default)  pdman sends `MAINPID=<monitor>` and `READY=1` once the container
                    runs: the unit's main process is the container's monitor (conmon's
                    role), which outlives the `pdman run -d` that started it
  container         the container gets a socket of pdman's bind-mounted at
                    /run/notify/notify.sock, with NOTIFY_SOCKET set; `pdman run -d`
                    (still the unit's main process) relays what the container sends to
                    the unit's socket until its `READY=1`, which it forwards with
                    `MAINPID=<monitor>`, then exits. Relayed from pdman's own PID, not the
                    container's: systemd drops a notification whose sender has already
                    exited ("Cannot find unit for notify message"), which a one-shot
                    sender such as `systemd-notify --ready` is. Later messages (STATUS=,
                    WATCHDOG=) are not relayed.
  ignore            nothing is sent and the container gets no socket
  healthy           READY waits for the container's first passing healthcheck (the
                    container must have one): `pdman run -d` (still the unit's main
                    process) sends `MAINPID=<monitor>` once the container runs, then
                    watches its recorded health and sends `READY=1` when it is healthy;
                    it exits non-zero if the container ends first. In the foreground,
                    pdman's own probe schedule sends READY=1 after a passing probe.

Stdlib only; nothing happens when NOTIFY_SOCKET is unset (not run by a unit).
"""

from __future__ import annotations

import os

from pdman.errors import UsageError

MODES = ("conmon", "container", "ignore", "healthy")
CONTAINER_SOCKET = "/run/notify/notify.sock"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"invalid --sdnotify {mode!r}",
                         hint="use conmon (the default), container, healthy or ignore")
    return mode


def check_healthy(mode: str, healthcheck: object) -> None:
    """--sdnotify=healthy waits for a healthcheck: refuse it without one."""
    if mode == "healthy" and not healthcheck:
        raise UsageError("--sdnotify=healthy needs a healthcheck, and the container has none",
                         hint="add --health-cmd (Quadlet: HealthCmd=), or use --sdnotify=conmon")


def socket_path() -> str:
    """The unit's notify socket, if pdman runs under one (`@name`: abstract)."""
    return os.environ.get("NOTIFY_SOCKET", "")


def send(message: str) -> bool:
    """Send one sd_notify datagram; False when there is no socket or it is gone
    (a unit that did not ask is not an error)."""
    path = socket_path()
    if not path:
        return False
    import socket   # here, not at the top: `run` checks --sdnotify on its hot path

    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(message.encode(), address)
    except OSError:
        return False
    return True


def proxy_path(run_dir: str) -> str:
    """Where the relay socket of a detached `--sdnotify=container` container is."""
    return os.path.join(run_dir, "notify", "notify.sock")


class Relay:
    """The socket a `--sdnotify=container` container sends to, and the relay of what
    it says to the unit's socket."""

    def __init__(self, path: str) -> None:
        directory, name = os.path.split(path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.path = path
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        # bound through a directory fd: the runroot path may pass sun_path's 108 bytes
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.sock.bind(f"/proc/self/fd/{dfd}/{name}")
        finally:
            os.close(dfd)
        os.chmod(path, 0o666)   # the container's user may be any of its IDs
        os.chmod(directory, 0o711)

    def relay_until_ready(self, main_pid: int) -> bool:
        """Forward datagrams until one says READY=1 (True), or the monitor is gone
        (False: the container exited first; systemd sees the unit fail)."""
        import select

        try:
            while True:
                readable, _, _ = select.select([self.sock], [], [], 0.5)
                if not readable:
                    try:
                        os.kill(main_pid, 0)
                    except ProcessLookupError:
                        return False
                    continue
                data = self.sock.recv(4096).decode(errors="replace")
                ready = "READY=1" in data.splitlines()
                if ready:
                    data = data.rstrip("\n") + f"\nMAINPID={main_pid}\n"
                send(data)
                if ready:
                    return True
        finally:
            self.close()

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def container_socket() -> str:
    """The host socket to bind into a `--sdnotify=container` container ("" when not
    under a unit, or the socket is abstract and so cannot be bind-mounted)."""
    path = socket_path()
    return path if path.startswith("/") else ""


def after_start(mode: str, main_pid: int, relay: "Relay | None" = None) -> None:
    """Called once the container runs: detached, `main_pid` is its monitor; in the
    foreground, pdman itself (which stays until the container exits, so a container
    there sends to the unit's socket directly)."""
    if mode == "conmon":
        send(f"MAINPID={main_pid}\nREADY=1\n")
    elif mode == "healthy":
        send(f"MAINPID={main_pid}\n")         # READY=1 follows the first passing probe
    elif mode == "container" and relay is not None:
        relay.relay_until_ready(main_pid)


__all__ = ["CONTAINER_SOCKET", "MODES", "Relay", "after_start", "check_healthy", "check_mode",
           "container_socket",
           "proxy_path", "send"]
