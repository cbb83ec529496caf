"""`pdman attach`: the caller's terminal to a detached container, through its monitor's
attach socket (SOCK_SEQPACKET; packets of native/pdman.h's `enum pdman_attach_packet`).

Output packets go to stdout/stderr as they come; stdin is sent in packets (a
terminal in raw mode when the container has a tty, with window sizes following
SIGWINCH), and the detach keys (default ctrl-p,ctrl-q) end the attachment without
touching the container. The monitor sends the exit status when the container exits.
"""

from __future__ import annotations

import os
import select
import signal
import sys

from pdman.runtime.fdio import write_all as _write_all
from pdman.errors import UsageError

#: a result of `run`: the detach keys were typed
DETACHED = None


def parse_detach_keys(text: str) -> bytes:
    """docker's syntax: `ctrl-p,ctrl-q`, `ctrl-[`, single characters; "" disables."""
    out = bytearray()
    for item in [k.strip() for k in text.split(",") if k.strip()]:
        low = item.lower()
        if low.startswith("ctrl-") and len(item) == 6:
            ch = item[5].upper()
            code = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}.get(ch)
            if code is None and "A" <= ch <= "Z":
                code = ord(ch) - 64
            if code is None:
                raise UsageError(f"invalid detach key {item!r}",
                                 hint="use ctrl-<a-z, @, [, \\, ], ^, _> or single characters")
            out.append(code)
        elif len(item) == 1:
            out += item.encode()
        else:
            raise UsageError(f"invalid detach key {item!r}", hint="e.g. --detach-keys ctrl-p,ctrl-q")
    return bytes(out)


class DetachKeys:
    """Spots the detach sequence in a stream of input; holds back a prefix of it until
    it is clear whether the whole sequence follows."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, detached?)."""
        if not self.keys:
            return data, False
        out = bytearray()
        for byte in data:
            candidate = self._held + bytes([byte])
            if self.keys.startswith(candidate):
                if candidate == self.keys:
                    return bytes(out), True
                self._held = candidate
                continue
            out += self._held
            self._held = b""
            if self.keys.startswith(bytes([byte])):
                self._held = bytes([byte])
            else:
                out.append(byte)
        return bytes(out), False


def _send(sock: "object", kind: int, data: bytes = b"") -> None:
    from pdman.runtime import native

    step = native.ATTACH_PACKET_MAX - 1
    try:
        for i in range(0, max(len(data), 1), step):
            sock.send(bytes([kind]) + data[i:i + step])  # type: ignore[attr-defined]
    except (BrokenPipeError, ConnectionResetError):
        pass    # the container exited meanwhile: what it wrote and its status are still to read


#: for callers that relay a container's stdio elsewhere (the API service)
send_packet = _send


def _winsize() -> bytes | None:
    import fcntl
    import struct
    import termios

    for fd in (0, 1):
        if os.isatty(fd):
            try:
                rows, cols, _, _ = struct.unpack(
                    "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
                return struct.pack("HH", rows, cols)
            except OSError:
                pass
    return None


def run(run_dir: str, *, tty: bool, stdin: bool, detach_keys: bytes, pid: int = 0) -> int | None:
    """Attach until the container exits (its exit status; -1 if the monitor went away
    without one) or the detach keys are typed (DETACHED)."""
    import termios
    import tty as ttymod

    from pdman.runtime import monitor, native

    try:
        sock = monitor.connect(run_dir)
    except OSError as exc:
        from pdman.errors import ConflictError

        raise ConflictError(f"cannot attach: the container's monitor does not answer "
                            f"({exc.strerror})", hint="see `pdman ps -a` for its state") from exc
    saved = None
    keys = DetachKeys(detach_keys)
    old_handlers: dict[int, object] = {}

    def resize(_signum: int = 0, _frame: object = None) -> None:
        size = _winsize()
        if size is not None:
            _send(sock, native.ATTACH_RESIZE, size)

    def forward(signum: int, _frame: object = None) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    try:
        if tty:
            old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, resize)
            resize()
            if stdin and os.isatty(0):
                saved = termios.tcgetattr(0)
                ttymod.setraw(0)
        elif pid:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                        signal.SIGUSR1, signal.SIGUSR2):
                old_handlers[sig] = signal.signal(sig, forward)
        inputs = [sock.fileno()] + ([0] if stdin else [])
        while True:
            try:
                ready, _, _ = select.select(inputs, [], [])
            except InterruptedError:
                continue
            if sock.fileno() in ready:
                try:
                    packet = sock.recv(native.ATTACH_PACKET_MAX)
                except ConnectionResetError:
                    # the monitor closed with our last input unread: a seqpacket
                    # socket reports that once, before the packets still queued
                    # (the output and the exit status), which the next recv returns
                    continue
                if not packet:
                    return -1
                kind, data = packet[0], packet[1:]
                if kind == native.ATTACH_EXIT:
                    return int.from_bytes(data[:4], sys.byteorder, signed=True)
                fd = 2 if kind == native.ATTACH_STDERR else 1
                _write_all(fd, data)
            if 0 in ready:
                data = os.read(0, native.ATTACH_PACKET_MAX - 1)
                if not data:
                    inputs.remove(0)
                    _send(sock, native.ATTACH_STDIN_CLOSE)
                    continue
                data, detached = keys.feed(data)
                if data:
                    _send(sock, native.ATTACH_STDIN, data)
                if detached:
                    return DETACHED
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        for signum, handler in old_handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        sock.close()


