"""Event emission: one JSON line per event, appended to a bounded file log.

Every verb that changes a container, image, volume or network calls `emit()` (the
container exit, `died`, is written by whoever records the exit: `reconcile` for a
detached container -- the monitor's exit command or any command that finds it dead --
and the foreground `run` for its own container). Readers (`pdman events`, the API
service's `/events`) are in `event_log.py`.

The log follows containers.conf's `[engine]` keys: `events_logger` (`file`, the
default; `none` disables events; `journald`: each event is a journal entry, sent over
journald's native protocol with SYSLOG_IDENTIFIER=pdman-events, the event's JSON line in
PDMAN_EVENT and PDMAN_EVENT_TYPE/_STATUS/PDMAN_ID/PDMAN_NAME to match on; where journald
does not run, the file), `events_logfile_path` (default
RUNROOT/events/events.log, beside podman's own in the runtime dir) and
`events_logfile_max_size` (default 1 MB). When the log passes half its cap it is renamed
to `events.log.1` (replacing the older half) and a new one begins, so both together stay
under the cap.

Concurrency: a line is written with O_APPEND in one write(2), so lines of concurrent
writers never interleave (a regular file's appends are atomic with respect to each
other). The rename takes an flock on the log and re-checks it is still the oversized
file, so two writers that both see it full rotate it once.

Hot path (`run`, `rm`, `stop`, ...): stdlib `os` and `time` only; no json (lines are
built by hand), no tomllib (containers.conf is scanned for the three keys).
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from pdman.config import Paths

#: podman's default `events_logfile_max_size` (1 MB)
DEFAULT_MAX_SIZE = 1_000_000

_conf_cache: "dict[str, str] | None" = None


# ---------------------------------------------------------------------------
# configuration: containers.conf [engine] events_*
# ---------------------------------------------------------------------------

def conf_files() -> list[str]:
    """containers.conf files in podman's order (later wins): CONTAINERS_CONF alone when
    set; else the vendor's, the admin's and the user's, each with its `.d` drop-ins."""
    env = os.environ.get("CONTAINERS_CONF")
    if env:
        return [env]
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.environ.get("HOME") or os.path.expanduser("~"), ".config")
    files: list[str] = []
    for base in ("/usr/share/containers/containers.conf", "/etc/containers/containers.conf",
                 os.path.join(home, "containers/containers.conf")):
        files.append(base)
        try:
            files.extend(os.path.join(base + ".d", n) for n in sorted(os.listdir(base + ".d"))
                         if n.endswith(".conf"))
        except OSError:
            pass
    return files


def scan_engine_keys(text: str, keys: "tuple[str, ...]") -> dict[str, str]:
    """The values of `keys` in the `[engine]` table of a TOML text: enough TOML for
    `key = "string"` and `key = 123` lines, which is all these keys take."""
    found: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            section = line.strip("[] \t")
            continue
        if section != "engine":
            continue
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq or key not in keys:
            continue
        value = value.strip()
        if value[:1] in ('"', "'"):
            end = value.find(value[0], 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split("#", 1)[0].strip()
        found[key] = value
    return found


def _set_somewhere(text: bytes, word: bytes) -> bool:
    """Whether `word` occurs on a line that is not a comment: the vendor's
    containers.conf (24 KB) names every key in comments only, and is skipped at the cost
    of a few `find`s instead of a parse on every command."""
    at = text.find(word)
    while at >= 0:
        start = text.rfind(b"\n", 0, at) + 1
        if not text[start:at].lstrip().startswith(b"#"):
            return True
        end = text.find(b"\n", at)
        if end < 0:
            return False
        at = text.find(word, end)
    return False


def settings() -> dict[str, str]:
    """events_logger, events_logfile_path and events_logfile_max_size as configured
    (absent keys absent); read once per process."""
    global _conf_cache
    if _conf_cache is None:
        merged: dict[str, str] = {}
        for path in conf_files():
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if _set_somewhere(data, b"events_"):
                text = data.decode("utf-8", "replace")
                merged.update(scan_engine_keys(text, (
                    "events_logger", "events_logfile_path", "events_logfile_max_size")))
        _conf_cache = merged
    return _conf_cache


def parse_size(value: str) -> int:
    """`1000000`, `1m`, `512k`, `1MB`, `2g` (decimal, as podman's units) -> bytes; 0 is
    no limit."""
    text = value.strip().lower().rstrip("b").rstrip("i")
    units = {"k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4}
    mult = 1
    if text and text[-1] in units:
        mult = units[text[-1]]
        text = text[:-1]
    try:
        return int(float(text) * mult)
    except ValueError:
        return DEFAULT_MAX_SIZE


#: what `--events-backend` sets; inherited by the monitor's exit command through it
BACKEND_ENV = "PDMAN_EVENTS_BACKEND"


def choose_logger(value: str) -> None:
    """`--events-backend VALUE` for this process and the processes it starts."""
    if value not in ("file", "journald", "none"):
        from pdman.errors import UsageError

        raise UsageError(f"invalid events backend {value!r}",
                         hint="use file, journald or none")
    os.environ[BACKEND_ENV] = value


def logger() -> str:
    return os.environ.get(BACKEND_ENV) or settings().get("events_logger", "file")


def log_path(paths: "Paths") -> str:
    return settings().get("events_logfile_path") or os.path.join(paths.runroot, "events",
                                                                  "events.log")


def max_size() -> int:
    value = settings().get("events_logfile_max_size")
    return DEFAULT_MAX_SIZE if value is None else parse_size(value)


# ---------------------------------------------------------------------------
# the line
# ---------------------------------------------------------------------------

def _quote(text: str) -> str:
    """A JSON string literal, built without importing json."""
    if text.isprintable() and '"' not in text and "\\" not in text and text.isascii():
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f" or not ch.isascii():
            code = ord(ch)
            if code > 0xFFFF:              # a surrogate pair, as JSON wants it
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04x" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def line(type: str, status: str, id: str = "", name: str = "", image: str = "",
         attributes: "Mapping[str, str] | None" = None, exit_code: "int | None" = None,
         network: str = "", time_ns: "int | None" = None) -> bytes:
    """One event as a JSON line (podman's field names; the time as nanoseconds)."""
    parts = ['{"Type":', _quote(type), ',"Status":', _quote(status),
             ',"TimeNano":', str(time.time_ns() if time_ns is None else time_ns)]
    if id:
        parts += [',"ID":', _quote(id)]
    if name:
        parts += [',"Name":', _quote(name)]
    if image:
        parts += [',"Image":', _quote(image)]
    if network:
        parts += [',"Network":', _quote(network)]
    if exit_code is not None:
        parts += [',"ContainerExitCode":', str(int(exit_code))]
    if attributes:
        parts.append(',"Attributes":{')
        parts.append(",".join(_quote(str(k)) + ":" + _quote(str(v))
                              for k, v in attributes.items()))
        parts.append("}")
    parts.append("}\n")
    return "".join(parts).encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------

def emit(paths: "Paths", type: str, status: str, id: str = "", name: str = "",
         image: str = "", attributes: "Mapping[str, str] | None" = None,
         exit_code: "int | None" = None, network: str = "") -> None:
    """Append one event. Never fails the verb that emits it: an event log that cannot be
    written (full disk, unwritable path) loses the event, not the container."""
    chosen = logger()
    if chosen == "none":
        return
    data = line(type, status, id, name, image, attributes, exit_code, network)
    if chosen == "journald" and journal_send(data, type, status, id, name):
        return
    path = log_path(paths)
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            cap = max_size()
            if cap and os.fstat(fd).st_size > cap // 2:
                _rotate(fd, path, cap)
        finally:
            os.close(fd)
    except OSError:
        pass


JOURNAL_SOCKET = "/run/systemd/journal/socket"
JOURNAL_IDENTIFIER = "pdman-events"


def _journal_field(key: str, value: str) -> bytes:
    """One field of journald's native protocol, in the binary (length-prefixed) form
    when the value has a newline."""
    raw = value.encode("utf-8", "surrogateescape")
    if b"\n" not in raw:
        return key.encode() + b"=" + raw + b"\n"
    return key.encode() + b"\n" + len(raw).to_bytes(8, "little") + raw + b"\n"


def journal_send(data: bytes, type: str, status: str, id: str, name: str) -> bool:
    """The event as one journal entry; False when journald is not there to take it."""
    import socket

    text = data.rstrip(b"\n").decode("utf-8", "surrogateescape")
    message = f"{type} {status} {name or id}".rstrip()
    entry = b"".join([
        _journal_field("MESSAGE", message), _journal_field("PRIORITY", "6"),
        _journal_field("SYSLOG_IDENTIFIER", JOURNAL_IDENTIFIER),
        _journal_field("PDMAN_EVENT_TYPE", type), _journal_field("PDMAN_EVENT_STATUS", status),
        _journal_field("PDMAN_ID", id), _journal_field("PDMAN_NAME", name),
        _journal_field("PDMAN_EVENT", text)])
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto(entry, JOURNAL_SOCKET)
    except OSError:
        return False
    return True


def container_event(paths: "Paths", status: str, rec: "object",
                    exit_code: "int | None" = None, **extra: str) -> None:
    """A container event with podman's attributes: image and name, and its labels."""
    config = getattr(rec, "config", None) or {}
    attrs = dict(config.get("labels") or {})
    attrs.update(extra)
    emit(paths, "container", status, id=getattr(rec, "id"), name=getattr(rec, "name"),
         image=getattr(rec, "image_name", "") or "", attributes=attrs, exit_code=exit_code)


def _rotate(fd: int, path: str, cap: int) -> None:
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        st = os.fstat(fd)
        try:
            current = os.stat(path)
        except FileNotFoundError:
            return
        if (current.st_ino, current.st_dev) != (st.st_ino, st.st_dev) or st.st_size <= cap // 2:
            return                          # another writer rotated it meanwhile
        os.replace(path, path + ".1")
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
