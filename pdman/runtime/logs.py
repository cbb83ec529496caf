"""Container logs in the k8s-file format that the monitor writes (native/monitor.c):

    2024-01-02T03:04:05.123456789Z stdout F a whole line
    2024-01-02T03:04:05.123456789Z stderr P the start of a line that a read
    2024-01-02T03:04:05.223456789Z stderr F  ended in the middle of

`P` parts are joined with the next `F` of the same stream into one entry. At
`--log-opt max-size` the monitor moves the log to FILE.1 and starts a new FILE; the
reader reads FILE.1 first. `--since`/`--until` take docker's forms: RFC 3339 times,
Unix timestamps and durations back from now (`10m`, `1h30m`).

Pure functions plus a file reader; stdlib only (on the hot path of `logs`).
"""

from __future__ import annotations

import os

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

LOG_NAME = "ctr.log"


class LogEntry:
    """One line of output (or, at the very end, a last part without its newline)."""

    __slots__ = ("timestamp", "stream", "data")

    def __init__(self, timestamp: str, stream: str, data: bytes) -> None:
        self.timestamp = timestamp  # as written: RFC 3339 with nanoseconds
        self.stream = stream        # "stdout" | "stderr"
        self.data = data            # with its b"\n" unless the output ended mid-line

    @property
    def time(self) -> float:
        return parse_timestamp(self.timestamp)

    def __repr__(self) -> str:
        return f"LogEntry({self.timestamp!r}, {self.stream!r}, {self.data!r})"


def log_path(container_dir: str, log_opts: "dict[str, str]") -> str:
    """`--log-opt path=FILE`, else `<root>/containers/<id>/userdata/ctr.log` (podman's)."""
    return log_opts.get("path") or os.path.join(container_dir, "userdata", LOG_NAME)


# ---- writing (a container in the foreground: the monitor writes the others) ----


def _timestamp_now() -> bytes:
    """RFC 3339 in UTC with nanoseconds, as the monitor's timestamp()."""
    import time

    ns = time.time_ns()
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9))
            + f".{ns % 10**9:09d}Z").encode()


class LogWriter:
    """The k8s-file log of a container that runs in the foreground of pdman, which
    copies its output to the terminal and here: the same lines as the monitor's
    log_chunk() (native/monitor.c) writes, and the same rotation at `max_size`
    (FILE -> FILE.1), checked per read rather than per line."""

    __slots__ = ("path", "max_size", "fd", "size")

    def __init__(self, path: str, max_size: int = 0) -> None:
        self.path = path
        self.max_size = max_size
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self.fd = -1
        self._open()

    def _open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                          | os.O_NOFOLLOW, 0o600)
        self.size = os.fstat(self.fd).st_size

    def chunk(self, stream: str, data: bytes) -> None:
        """One read's worth of output: whole lines (F), and a partial last one (P)."""
        head = _timestamp_now() + b" " + stream.encode()
        lines = data.split(b"\n")
        last = lines.pop()                    # after the last newline: b"" or a part
        out = b"".join(b"%s F %s\n" % (head, line) for line in lines)
        if last:
            out += b"%s P %s\n" % (head, last)
        if self.fd < 0:
            return
        from pdman.runtime.fdio import write_all

        try:
            if self.max_size > 0 and self.size > 0 and self.size + len(out) > self.max_size:
                self._rotate()
            write_all(self.fd, out)
        except OSError as exc:
            # a full disk must not stop the container's output on the terminal: as
            # the monitor does, say so and go on without the log
            import sys

            print(f"WARN[0000] writing the log {self.path}: {exc.strerror}; the rest of "
                  "the output is not logged", file=sys.stderr)
            self.close()
            return
        self.size += len(out)

    def _rotate(self) -> None:
        os.replace(self.path, self.path + ".1")
        os.close(self.fd)
        self.fd = -1
        self._open()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class JournalWriter:
    """`--log-driver journald` for a container in the foreground: each line a journal
    entry, sent over journald's native protocol with the fields the monitor's
    log_line_journald() sends (native/monitor.c), so that `logs` finds both alike."""

    __slots__ = ("sock", "head", "head_err")

    def __init__(self, container_id: str, name: str) -> None:
        import socket

        self.sock: "socket.socket | None" = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.connect(JOURNAL_SOCKET)
        except OSError:
            self.sock.close()
            raise
        common = (f"SYSLOG_IDENTIFIER={name}\nCONTAINER_ID={container_id[:12]}\n"
                  f"CONTAINER_ID_FULL={container_id}\nCONTAINER_NAME={name}\n")
        self.head = f"PRIORITY=6\n{common}PDMAN_STREAM=stdout\nMESSAGE\n".encode()
        self.head_err = f"PRIORITY=3\n{common}PDMAN_STREAM=stderr\nMESSAGE\n".encode()

    def chunk(self, stream: str, data: bytes) -> None:
        """One entry per line (a partial last one too); MESSAGE in the binary form
        (length-prefixed), so that any byte may be in it."""
        if self.sock is None:
            return
        head = self.head if stream == "stdout" else self.head_err
        lines = data.split(b"\n")
        if not lines[-1]:
            lines.pop()
        try:
            for line in lines:
                self.sock.send(head + len(line).to_bytes(8, "little") + line + b"\n")
        except OSError as exc:
            import sys

            print(f"WARN[0000] sending the log to journald: {exc.strerror}; the rest of the "
                  "output is not logged", file=sys.stderr)
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


# ---- parsing ----


def parse_line(line: bytes) -> "tuple[str, str, bool, bytes] | None":
    """(timestamp, stream, partial, text) of one log line without its newline; None
    for a line that is not in the format (a torn write, another program's file)."""
    parts = line.split(b" ", 3)
    if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr"):
        return None
    text = parts[3] if len(parts) == 4 else b""
    return parts[0].decode("ascii", "replace"), parts[1].decode(), parts[2].startswith(b"P"), text


class Assembler:
    """Joins `P` parts with the `F` that ends them, per stream."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[str, list[bytes]]] = {}

    def feed(self, line: bytes) -> LogEntry | None:
        parsed = parse_line(line)
        if parsed is None:
            return None
        ts, stream, partial, text = parsed
        first_ts, parts = self._parts.pop(stream, (ts, []))
        parts.append(text)
        if partial:
            self._parts[stream] = (first_ts, parts)
            return None
        return LogEntry(first_ts, stream, b"".join(parts) + b"\n")

    def flush(self) -> list[LogEntry]:
        """What is left when the output ended in the middle of a line."""
        out = [LogEntry(ts, stream, b"".join(parts)) for stream, (ts, parts) in self._parts.items()]
        self._parts.clear()
        return sorted(out, key=lambda e: e.timestamp)


# ---- times ----

# patterns compiled (and `re` imported) on first use: `inspect` and `run` import this
# module for the log writer and path, and never parse a time
_TS = (r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?"
       r"\s*(Z|[+-]\d\d:?\d\d)?$")


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds, `Z` or an offset; a
    date alone is midnight UTC)."""
    import calendar
    import re

    m = re.match(_TS, text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    epoch = float(calendar.timegm((int(year), int(month), int(day), int(hour or 0),
                                   int(minute or 0), int(second or 0), 0, 0, 0)))
    if frac:
        epoch += int(frac[:9].ljust(9, "0")) / 1e9
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "+" else 1
        digits = zone[1:].replace(":", "")
        epoch += sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float | None:
    """A Go duration (`10m`, `1h30m`, `1.5s`) in seconds; None if it is not one."""
    import re

    part = re.compile(_DURATION_PART)
    pos, total = 0, 0.0
    while pos < len(text):
        m = part.match(text, pos)
        if not m:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total if text else None


def parse_time_option(value: str, now: float, option: str = "--since") -> float:
    """`--since`/`--until`: an RFC 3339 time, a Unix timestamp, or a duration before now."""
    import re

    value = value.strip()
    duration = parse_duration(value)
    if duration is not None:
        return now - duration
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        return parse_timestamp(value)
    except ValueError:
        raise UsageError(f"invalid {option} value {value!r}",
                         hint="use an RFC 3339 time (2024-01-02T15:04:05Z), a Unix timestamp, "
                              "or a duration such as 10m") from None


# ---- reading ----


class LogReader:
    """Reads a container's log as it grows: FILE.1 (if any) then FILE, following FILE
    across a rotation."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: "int | None" = None
        self._inode = 0
        self._rest = b""
        self._assembler = Assembler()
        self._started = False

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    def _lines(self, data: bytes) -> list[LogEntry]:
        data = self._rest + data
        lines = data.split(b"\n")
        self._rest = lines.pop()
        out = []
        for line in lines:
            entry = self._assembler.feed(line)
            if entry is not None:
                out.append(entry)
        return out

    def _drain(self) -> list[LogEntry]:
        out: list[LogEntry] = []
        if self._file is None:
            return out
        while chunk := os.read(self._file, 1 << 16):
            out += self._lines(chunk)
        return out

    def _open_current(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        self._file, self._inode = fd, os.fstat(fd).st_ino
        return True

    def hold(self) -> None:
        """Open the log now, created empty when missing (the monitor appends to it:
        O_APPEND, never O_TRUNC). O_NOFOLLOW as the monitor's own open."""
        if self._file is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
        except OSError:
            return          # unreadable or its directory is gone: read() says nothing
        self._file, self._inode = fd, os.fstat(fd).st_ino

    def read(self) -> list[LogEntry]:
        """Every entry written since the last call."""
        out: list[LogEntry] = []
        if not self._started:
            self._started = True
            try:
                with open(self.path + ".1", "rb") as f:
                    out += self._lines(f.read())
                self._rest = b""
            except FileNotFoundError:
                pass
        if self._file is None and not self._open_current():
            return out
        out += self._drain()
        try:
            rotated = os.stat(self.path).st_ino != self._inode
        except FileNotFoundError:
            rotated = False  # between the monitor's rename and its open
        if rotated:
            out += self._drain()
            self.close()
            self._rest = b""
            if self._open_current():
                out += self._drain()
        return out

    def finish(self) -> list[LogEntry]:
        """The last entries: with them, the output's last part if it never ended its
        line. (The monitor writes whole log lines; a line without its newline is one
        being written right now, and is left out.)"""
        out = self.read()
        out += self._assembler.flush()
        self.close()
        return out


def select_entries(entries: list[LogEntry], since: float | None, until: float | None,
                   tail: int) -> list[LogEntry]:
    if since is not None or until is not None:
        entries = [e for e in entries if (since is None or e.time >= since)
                   and (until is None or e.time <= until)]
    if tail >= 0:
        entries = entries[len(entries) - tail:] if tail else []
    return entries


def entries(path: str, *, follow: bool = False, done: "Callable[[], bool] | None" = None,
            since: float | None = None, until: float | None = None, tail: int = -1,
            interval: float = 0.1, hold: bool = False) -> "Iterator[LogEntry]":
    """The log's entries; with `follow`, keep reading until `done()` says the writer
    has finished (then read what it wrote last) or an `until` time has passed.

    `hold`: open the log now, creating it empty if the container has not run yet, not
    at the first read. A reader that holds the file reads all of it even after a `--rm`
    container was removed with its log (an attach before `start`, as `docker run`)."""
    reader = LogReader(path)
    if hold:
        reader.hold()
    return _Entries(reader, _entries(reader, follow, done, since, until, tail, interval))


class _Entries:
    """entries()' iterator; `close` lets go of the log even if it was never read (a
    generator's own close skips its `finally` when it never started)."""

    def __init__(self, reader: LogReader, gen: "Generator[LogEntry, None, None]") -> None:
        self._reader, self._gen = reader, gen

    def __iter__(self) -> "_Entries":
        return self

    def __next__(self) -> LogEntry:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()
        self._reader.close()


def _entries(reader: LogReader, follow: bool, done: "Callable[[], bool] | None",
             since: float | None, until: float | None, tail: int,
             interval: float) -> "Generator[LogEntry, None, None]":
    import time

    try:
        if not follow:
            yield from select_entries(reader.finish(), since, until, tail)
            return
        yield from select_entries(reader.read(), since, until, tail)
        while True:
            finished = done() if done is not None else False
            batch = reader.finish() if finished else reader.read()
            yield from select_entries(batch, since, until, -1)
            if finished or (until is not None and time.time() > until):
                return
            if not batch:
                time.sleep(interval)
    finally:
        reader.close()


# ---- journald (`--log-driver journald`) ----

JOURNAL_SOCKET = "/run/systemd/journal/socket"


def _rfc3339_ns(epoch_us: int) -> str:
    import time

    secs, us = divmod(epoch_us, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{us:06d}000Z"


def _journal_entry(line: bytes) -> LogEntry | None:
    import json

    try:
        fields = json.loads(line)
        message = fields.get("MESSAGE", "")
        # journalctl gives a message that is not valid UTF-8 as a list of byte values
        data = bytes(message) if isinstance(message, list) else str(message).encode()
        return LogEntry(_rfc3339_ns(int(fields["__REALTIME_TIMESTAMP"])),
                        fields.get("PDMAN_STREAM", "stdout"), data + b"\n")
    except (ValueError, KeyError, TypeError):
        return None


def journal_entries(container_id: str, *, follow: bool = False,
                    done: "Callable[[], bool] | None" = None, since: float | None = None,
                    until: float | None = None, tail: int = -1) -> "Iterator[LogEntry]":
    """What the monitor sent to journald for the container, read with journalctl."""
    import select
    import shutil
    import subprocess

    from pdman.errors import HostSupportError

    exe = shutil.which("journalctl") or shutil.which("journalctl", path="/usr/bin:/bin")
    if exe is None or not os.path.exists(JOURNAL_SOCKET):
        raise HostSupportError("this container logs to journald, which does not run here",
                               hint="use --log-driver k8s-file on hosts without systemd")
    argv = [exe, "--no-pager", "-o", "json", f"CONTAINER_ID_FULL={container_id}"]
    if since is not None:
        argv.append(f"--since=@{since:.6f}")
    if until is not None:
        argv.append(f"--until=@{until:.6f}")
    if tail >= 0:
        argv.append(f"--lines={tail}")
    if follow:
        argv.append("--follow")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        rest = b""
        while True:
            ready = select.select([proc.stdout], [], [], 0.1)[0] if follow else [proc.stdout]
            if ready:
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    return
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    entry = _journal_entry(line)
                    if entry is not None:
                        yield entry
            elif done is not None and done():
                return  # nothing came for 0.1 s after the container ended
    finally:
        proc.kill()
        proc.wait()
