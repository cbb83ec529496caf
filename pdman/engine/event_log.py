"""Reading the event log (`events.py` writes it): parse its lines, filter them as
`podman events --filter` and docker's `/events?filters=` do, bound them by `--since`
and `--until`, and follow the log for new events (streaming), across its rotations.

Used by `pdman events` and the API service; not on any hot path.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import time
from collections.abc import Callable, Iterator

from pdman.config import Paths
from pdman.engine import events
from pdman.errors import UsageError

#: how often a streaming reader looks at the log for new lines
POLL_INTERVAL = 0.1


class Event:
    """One event as podman's `events --format` sees it (`{{.Status}}`, `{{.Name}}`)."""

    __slots__ = ("Type", "Status", "TimeNano", "ID", "Name", "Image", "Network",
                 "ContainerExitCode", "Attributes")

    def __init__(self, Type: str, Status: str, TimeNano: int, ID: str = "", Name: str = "",
                 Image: str = "", Network: str = "", ContainerExitCode: "int | None" = None,
                 Attributes: "dict[str, str] | None" = None) -> None:
        self.Type = Type
        self.Status = Status
        self.TimeNano = TimeNano
        self.ID = ID
        self.Name = Name
        self.Image = Image
        self.Network = Network
        self.ContainerExitCode = ContainerExitCode
        self.Attributes = Attributes or {}

    @property
    def Time(self) -> str:
        """Go's time.Time text, as podman's default line shows it."""
        return go_time(self.TimeNano)

    @property
    def Action(self) -> str:
        return self.Status

    @property
    def docker_action(self) -> str:
        """docker's name for this event's status (`die` for `died`, ...)."""
        return _DOCKER_ACTIONS.get((self.Type, self.Status), self.Status)

    @property
    def PodID(self) -> str:
        return self.Attributes.get("pod_id", "")

    @property
    def HealthStatus(self) -> str:
        return self.Attributes.get("health_status", "")

    def podman_json(self) -> "dict[str, object]":
        """`podman events --format json`: podman's field names, RFC 3339 time."""
        out: dict[str, object] = {}
        if self.ID:
            out["ID"] = self.ID
        if self.Image:
            out["Image"] = self.Image
        if self.Name:
            out["Name"] = self.Name
        if self.Network:
            out["Network"] = self.Network
        if self.ContainerExitCode is not None:
            out["ContainerExitCode"] = self.ContainerExitCode
        out["Status"] = self.Status
        out["Time"] = rfc3339_nano(self.TimeNano)
        out["Type"] = self.Type
        out["Attributes"] = self.Attributes or None
        return out

    def human(self, truncate: bool = False) -> str:
        """podman's default line for this event."""
        ident = self.ID[:12] if truncate and len(self.ID) == 64 else self.ID
        head = f"{self.Time} {self.Type} {self.Status}"
        if self.Type in ("container", "pod"):
            attrs = [f"image={self.Image}", f"name={self.Name}"]
            attrs += [f"{k}={v}" for k, v in sorted(self.Attributes.items())]
            return f"{head} {ident} ({', '.join(attrs)})"
        if self.Type == "network":
            if self.Status in ("connect", "disconnect"):
                return f"{head} {ident} (container={ident}, name={self.Network})"
            driver = self.Attributes.get("driver", "bridge")
            return f"{head} {ident} (name={self.Name}, type={driver})"
        if self.Type == "image":
            return f"{head} {ident} {self.Name}"
        return f"{head} {self.Name}" if self.Name else head


def parse_line(text: "str | bytes") -> "Event | None":
    """An event from one log line; None for a line that is not one (a torn line after a
    crash, or junk): readers skip it rather than fail."""
    try:
        d = json.loads(text)
        return Event(str(d["Type"]), str(d["Status"]), int(d["TimeNano"]),
                     ID=str(d.get("ID", "")), Name=str(d.get("Name", "")),
                     Image=str(d.get("Image", "")), Network=str(d.get("Network", "")),
                     ContainerExitCode=d.get("ContainerExitCode"),
                     Attributes={str(k): str(v) for k, v in (d.get("Attributes") or {}).items()})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


# ---------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------

def go_time(ns: int) -> str:
    """Go's `time.Time.String()` in the local zone: `2026-12-03 00:45:00.123456789 +0000
    UTC` (trailing zeros of the fraction dropped, as Go's `.999999999` does)."""
    secs, frac = divmod(ns, 1_000_000_000)
    t = _dt.datetime.fromtimestamp(secs).astimezone()
    fraction = f".{frac:09d}".rstrip("0").rstrip(".")
    zone = t.strftime("%Z") or t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S") + fraction + t.strftime(" %z ") + zone


def rfc3339_nano(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    t = _dt.datetime.fromtimestamp(secs).astimezone()
    fraction = f".{frac:09d}".rstrip("0").rstrip(".")
    offset = t.strftime("%z")
    zone = "Z" if offset == "+0000" else offset[:3] + ":" + offset[3:]
    return t.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> "float | None":
    """A Go duration (`10m`, `1h30s`, `1.5h`, `-5m`) in seconds; None if it is not one."""
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if not body:
        return None
    pos, total = 0, 0.0
    for m in _DURATION.finditer(body):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(body):
        return None
    return sign * total


def parse_time(text: str, since: bool, now: "float | None" = None) -> int:
    """podman's input times, as nanoseconds since the epoch: RFC 3339 (with or without
    fraction and zone: local time then), a date, a Unix time (`1700000000.5`, docker's),
    or a Go duration -- before now for --since, after now for --until, as podman does."""
    now = time.time() if now is None else now
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        whole, _, frac = value.partition(".")
        return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
    dur = parse_duration(value)
    if dur is not None:
        return int((now - dur if since else now + dur) * 1e9)
    iso = value.replace("Z", "+00:00").replace("z", "+00:00")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d)?)?)(?:\.(\d+))?"
                     r"([+-]\d\d:?\d\d)?", iso)
    if m:
        try:
            t = _dt.datetime.fromisoformat(m.group(1) + (m.group(3) or ""))
        except ValueError:
            t = None
        if t is not None:
            if t.tzinfo is None:
                t = t.astimezone()        # a time without a zone is local time
            frac = int(((m.group(2) or "") + "000000000")[:9])
            return int(t.timestamp()) * 1_000_000_000 + frac
    which = "since" if since else "until"
    raise UsageError(f"invalid --{which} value {text!r}",
                     hint="use an RFC 3339 time (2026-12-03T10:00:00Z), a date, a Unix "
                          "time, or a duration such as 10m or 1h30m")


# ---------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------

FILTER_KEYS = ("container", "event", "status", "image", "label", "pod", "volume",
               "network", "type", "since", "until")


class EventFilter:
    """`--filter KEY=VALUE` conditions: values of one key are alternatives (any may
    match), different keys must all match -- docker's rule, and podman's since 4.x.
    `since=`/`until=` filters move into the time bounds."""

    def __init__(self, filters: "list[str] | tuple[str, ...]" = (),
                 since: "str | None" = None, until: "str | None" = None,
                 now: "float | None" = None) -> None:
        self.wanted: dict[str, list[str]] = {}
        for f in filters:
            key, eq, value = f.partition("=")
            key = key.strip().lower()
            if not eq or key not in FILTER_KEYS:
                raise UsageError(f"invalid filter {f!r}",
                                 hint="use KEY=VALUE with KEY one of " + ", ".join(FILTER_KEYS))
            if key == "status":
                key = "event"
            if key in ("since", "until"):
                since, until = (value, until) if key == "since" else (since, value)
                continue
            self.wanted.setdefault(key, []).append(value)
        self.since = parse_time(since, True, now) if since else None
        self.until = parse_time(until, False, now) if until else None

    def in_time(self, ev: Event) -> bool:
        return ((self.since is None or ev.TimeNano >= self.since)
                and (self.until is None or ev.TimeNano <= self.until))

    def __call__(self, ev: Event) -> bool:
        for key, values in self.wanted.items():
            if not any(_match(ev, key, v) for v in values):
                return False
        return self.in_time(ev)


def _id_or_name(ev: Event, value: str) -> bool:
    return bool(value) and (ev.Name == value or ev.ID.startswith(value))


#: docker's names for podman's statuses, which docker's clients filter by
_DOCKER_ACTIONS = {("container", "died"): "die", ("container", "remove"): "destroy",
                   ("image", "remove"): "delete", ("volume", "remove"): "destroy",
                   ("network", "remove"): "destroy", ("container", "exec"): "exec_start",
                   ("container", "exec_died"): "exec_die"}


def _match(ev: Event, key: str, value: str) -> bool:
    if key == "type":
        return ev.Type == value
    if key == "event":
        return ev.Status == value or _DOCKER_ACTIONS.get((ev.Type, ev.Status)) == value
    if key == "container":
        return ev.Type == "container" and _id_or_name(ev, value)
    if key == "image":
        if ev.Type == "image":
            return _id_or_name(ev, value) or _image_name_is(ev.Name, value)
        return ev.Type == "container" and (_image_name_is(ev.Image, value)
                                           or ev.Attributes.get("image_id", "").startswith(value))
    if key == "volume":
        return ev.Type == "volume" and _id_or_name(ev, value)
    if key == "network":
        return ev.Type == "network" and (_id_or_name(ev, value) or ev.Network == value)
    if key == "pod":
        return (ev.Type == "pod" and _id_or_name(ev, value)) or (
            bool(value) and ev.PodID.startswith(value))
    if key == "label":
        k, eq, v = value.partition("=")
        return k in ev.Attributes and (not eq or ev.Attributes[k] == v)
    return False


def _image_name_is(name: str, value: str) -> bool:
    """`busybox` matches `docker.io/library/busybox:latest` as podman's image filter
    does with short names; a full name or a name:tag matches exactly."""
    if not name or not value:
        return False
    if name == value:
        return True
    repo, _, tag = name.rpartition(":")
    if "/" in tag:                      # a port, not a tag
        repo, tag = name, ""
    for candidate in (repo, name):
        if candidate.endswith("/" + value) or candidate.endswith("/library/" + value):
            return True
    return value.endswith(":" + tag) and _image_name_is(repo, value.rsplit(":", 1)[0]) if tag else False


# ---------------------------------------------------------------------------
# reading and following
# ---------------------------------------------------------------------------

def _lines(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            yield from f
    except FileNotFoundError:
        return


def _parsed(path: str) -> Iterator[Event]:
    for raw in _lines(path):
        if raw.endswith(b"\n"):
            ev = parse_line(raw)
            if ev is not None:
                yield ev


def history(paths: Paths) -> Iterator[Event]:
    """Every event in the log, oldest first (the rotated half, then the current one)."""
    if from_journal():
        yield from _journal_stream(EventFilter(), follow=False, replay=True)
        return
    path = events.log_path(paths)
    yield from _parsed(path + ".1")
    yield from _parsed(path)


class Follower:
    """New lines of the log as they are appended, across rotations: it remembers the
    file it read (device, inode) and its offset; when the log's name points to a new
    file, it finishes the old one and starts the new one from its beginning."""

    def __init__(self, paths: Paths, from_start: bool = False) -> None:
        self.path = events.log_path(paths)
        self.fd: "int | None" = None
        self.ident: "tuple[int, int] | None" = None
        self.pending = b""
        if not from_start:
            self._open(at_end=True)

    def _open(self, at_end: bool = False) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        st = os.fstat(fd)
        if at_end:
            os.lseek(fd, st.st_size, os.SEEK_SET)
        self.fd, self.ident, self.pending = fd, (st.st_dev, st.st_ino), b""
        return True

    def _drain(self) -> list[bytes]:
        assert self.fd is not None
        chunks = []
        while True:
            data = os.read(self.fd, 65536)
            if not data:
                break
            chunks.append(data)
        buf = self.pending + b"".join(chunks)
        *done, self.pending = buf.split(b"\n")
        return done

    def poll(self) -> list[Event]:
        """Events appended since the last poll."""
        out: list[bytes] = []
        if self.fd is None:
            if not self._open():
                return []
        out += self._drain()
        try:
            st = os.stat(self.path)
            moved = (st.st_dev, st.st_ino) != self.ident
        except FileNotFoundError:
            moved = False
        if moved:                         # rotated: the rest of the old, then the new
            out += self._drain()
            os.close(self.fd)             # type: ignore[arg-type]
            self.fd = None
            if self._open():
                out += self._drain()
        return [ev for ev in map(parse_line, out) if ev is not None]

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def stream(paths: Paths, flt: EventFilter, follow: bool = True,
           stop: "Callable[[], bool] | None" = None) -> Iterator[Event]:
    """The events `flt` selects: from the log's history when it has a `since` or an
    `until` (or when not following, like `podman events --stream=false`), then, when
    following, new ones as they come until `until` passes or `stop()` says so. The
    current log file is read once, by one reader, so that no event is seen twice or
    missed in between."""
    replay = flt.since is not None or flt.until is not None or not follow
    if from_journal():
        yield from _journal_stream(flt, follow, replay, stop)
        return
    if replay:
        for ev in _parsed(events.log_path(paths) + ".1"):
            if flt(ev):
                yield ev
    follower = Follower(paths, from_start=replay)
    try:
        while True:
            for ev in follower.poll():
                if flt(ev):
                    yield ev
            if not follow:
                return
            if flt.until is not None and time.time_ns() > flt.until:
                return
            if stop is not None and stop():
                return
            time.sleep(POLL_INTERVAL)
    finally:
        follower.close()


# ---------------------------------------------------------------------------
# events_logger = "journald"
# ---------------------------------------------------------------------------

def from_journal() -> bool:
    """Whether events are read from the journal: where they are written to it (the
    writer falls back to the file where journald does not run)."""
    return events.logger() == "journald" and os.path.exists(events.JOURNAL_SOCKET)


def _journal_event(raw: bytes) -> "Event | None":
    try:
        value = json.loads(raw).get("PDMAN_EVENT")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, list):          # journalctl's form of a value that is not UTF-8
        value = bytes(value)
    return parse_line(value) if isinstance(value, (str, bytes)) else None


def _journal_stream(flt: EventFilter, follow: bool, replay: bool,
                    stop: "Callable[[], bool] | None" = None) -> Iterator[Event]:
    """This user's pdman events in the journal (journalctl matches the sender's
    trusted _UID), oldest first when replaying, then new ones when following."""
    import select
    import shutil
    import subprocess

    from pdman.errors import HostSupportError

    exe = shutil.which("journalctl") or shutil.which("journalctl", path="/usr/bin:/bin")
    if exe is None:
        raise HostSupportError("events_logger is journald, but journalctl is not installed",
                               hint='install systemd, or set events_logger = "file" in '
                                    "containers.conf")
    argv = [exe, "--no-pager", "-o", "json", f"_UID={os.getuid()}",
            f"SYSLOG_IDENTIFIER={events.JOURNAL_IDENTIFIER}"]
    # (--follow alone would start from the last 10 entries)
    argv.append("--lines=all" if replay else "--lines=0")
    if follow:
        argv.append("--follow")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    try:
        rest = b""
        while True:
            if not follow or select.select([fd], [], [], POLL_INTERVAL)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return
                *lines, rest = (rest + chunk).split(b"\n")
                for raw in lines:
                    ev = _journal_event(raw)
                    if ev is not None and flt(ev):
                        yield ev
            if follow and flt.until is not None and time.time_ns() > flt.until:
                return
            if follow and stop is not None and stop():
                return
    finally:
        proc.kill()
        proc.wait()
