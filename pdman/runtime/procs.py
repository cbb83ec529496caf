"""Processes seen from the host through /proc: is a recorded PID still the process we
started (its start time tells it from a recycled PID), signalling and waiting for a
process that is not our child (pidfds), and the process table of one container (`top`).

Stdlib only; on the hot path of `ps` (liveness) and `stop`.
"""

from __future__ import annotations

import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


def _stat(pid: int) -> tuple[bytes, int]:
    """(state letter, start time in clock ticks since boot); (b"", 0) if no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2:].split()
        return fields[0], int(fields[19])
    except (OSError, ValueError, IndexError):
        return b"", 0


def start_time(pid: int) -> int:
    """The process' start time in clock ticks since boot; 0 if there is no such process."""
    return _stat(pid)[1]


def is_running(pid: int, started: int = 0) -> bool:
    """`pid` exists, has not exited, and, when `started` is known, is the same process
    (not a reused PID). A zombie has exited: its parent has only not collected it yet
    (an orphan's new parent, the host's init, may take its time)."""
    if pid <= 0:
        return False
    state, got = _stat(pid)
    return got != 0 and state not in (b"Z", b"X") and (not started or got == started)


def open_process(pid: int, started: int = 0) -> int | None:
    """A pidfd for `pid` if it is still the process that started at `started`: signals
    sent through it cannot reach a process that reused the PID. None if it is gone."""
    if pid <= 0:
        return None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    # checked after opening: from here on the fd pins this very process
    if not is_running(pid, started):
        os.close(fd)
        return None
    return fd


def signal_process(pidfd: int, signum: int) -> bool:
    """Send `signum` through a pidfd; False if the process has exited."""
    import signal

    try:
        signal.pidfd_send_signal(pidfd, signum)
    except ProcessLookupError:
        return False
    return True


def wait_exit(pidfd: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for the process to exit (any process, not only a
    child: a pidfd becomes readable at exit). True if it has."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0, int(timeout * 1000))))


def wait_gone(pid: int, started: int, timeout: float) -> bool:
    """Wait for `pid` (started at `started`) to exit; True if it is gone."""
    fd = open_process(pid, started)
    if fd is None:
        return True
    try:
        return wait_exit(fd, timeout)
    finally:
        os.close(fd)


# ---- the processes of one container (`top`) ----


def ns_inode(pid: int, ns: str = "pid") -> int:
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


class ProcessInfo:
    """One process of a container, as `top` shows it."""

    __slots__ = ("host_pid", "pid", "host_ppid", "ppid", "host_uid", "uid", "host_gid", "gid",
                 "tty", "start_ticks", "cpu_ticks", "comm", "args", "pgid")

    def __init__(self) -> None:
        self.host_pid = self.pid = self.host_ppid = self.ppid = 0
        self.host_uid = self.uid = self.host_gid = self.gid = 0
        self.tty = self.start_ticks = self.cpu_ticks = self.pgid = 0
        self.comm = ""
        self.args: list[str] = []


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _id_map(pid: int, kind: str) -> list[tuple[int, int, int]]:
    """uid_map/gid_map of `pid`, seen from our namespace: (inside, outside, count)."""
    out = []
    for line in _read(f"/proc/{pid}/{kind}").decode().splitlines():
        parts = line.split()
        if len(parts) == 3:
            out.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return out


def _to_inside(ranges: list[tuple[int, int, int]], host_id: int) -> int:
    for inside, outside, count in ranges:
        if outside <= host_id < outside + count:
            return inside + host_id - outside
    return 65534  # the overflow ID, as the kernel shows unmapped IDs


def _process(pid: int) -> ProcessInfo:
    p = ProcessInfo()
    p.host_pid = pid
    stat = _read(f"/proc/{pid}/stat")
    close = stat.rindex(b")")
    p.comm = stat[stat.index(b"(") + 1:close].decode(errors="replace")
    fields = stat[close + 2:].split()
    p.host_ppid, p.pgid, p.tty = int(fields[1]), int(fields[2]), int(fields[4])
    p.cpu_ticks = int(fields[11]) + int(fields[12])
    p.start_ticks = int(fields[19])
    for line in _read(f"/proc/{pid}/status").decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key == "Uid":
            p.host_uid = int(value.split()[0])
        elif key == "Gid":
            p.host_gid = int(value.split()[0])
        elif key == "NSpid":
            p.pid = int(value.split()[-1])
    raw = _read(f"/proc/{pid}/cmdline")
    p.args = [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]] or [f"[{p.comm}]"]
    return p


def _pids() -> "Iterator[int]":
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def container_processes(init_pid: int) -> list[ProcessInfo]:
    """Every process in the PID namespace of `init_pid` (a container's PID 1), with
    PIDs, parent PIDs and IDs as the container sees them."""
    want = ns_inode(init_pid)
    uid_map = _id_map(init_pid, "uid_map")
    gid_map = _id_map(init_pid, "gid_map")
    found: list[ProcessInfo] = []
    for pid in _pids():
        try:
            if ns_inode(pid) != want:
                continue
            found.append(_process(pid))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to look at
    inside = {p.host_pid: p.pid for p in found}
    for p in found:
        p.ppid = inside.get(p.host_ppid, 0)
        p.uid = _to_inside(uid_map, p.host_uid)
        p.gid = _to_inside(gid_map, p.host_gid)
    found.sort(key=lambda p: p.pid)
    return found


def boot_time() -> float:
    for line in _read("/proc/stat").decode().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def tty_name(tty_nr: int) -> str:
    """`pts/3` for a pseudo-terminal, `?` for none (as ps prints them)."""
    if tty_nr == 0:
        return "?"
    major = (tty_nr >> 8) & 0xFFF
    minor = (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00)
    if 136 <= major <= 143:
        return f"pts/{minor + (major - 136) * 256}"
    if major == 4:
        return f"tty{minor}"
    return f"{major}:{minor}"
