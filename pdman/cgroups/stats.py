"""Usage numbers of one cgroup v2 (what `pdman stats` shows), read from its interface
files. The parsers are pure; `sample()` reads a live cgroup."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pdman.cgroups import cgroupfs


@dataclass(frozen=True)
class CgroupSample:
    taken: float          # time.monotonic() when read
    cpu_usec: int         # cpu.stat usage_usec: CPU time used since the cgroup began
    mem_usage: int        # memory.current less inactive file cache (docker's "usage")
    mem_limit: int        # memory.max; 0 when unlimited
    pids: int             # pids.current
    pids_limit: int       # pids.max; 0 when unlimited
    blk_read: int         # io.stat rbytes, all devices
    blk_write: int        # io.stat wbytes, all devices


def flat_keyed(text: str) -> dict[str, int]:
    """`key value` lines (cpu.stat, memory.stat, memory.events) as a dict."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def single(text: str) -> int:
    """A one-value file: a number, or 0 for "max" (unlimited) and unreadable."""
    text = text.strip()
    if not text or text == "max":
        return 0
    try:
        return int(text.split()[0])
    except ValueError:
        return 0


def io_bytes(text: str) -> tuple[int, int]:
    """io.stat (`MAJ:MIN rbytes=N wbytes=N ...` per device): total read and written."""
    read = written = 0
    for line in text.splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if key == "rbytes":
                read += int(value)
            elif key == "wbytes":
                written += int(value)
    return read, written


def sample(rel: str) -> CgroupSample:
    cpu = flat_keyed(cgroupfs.read_or(rel, "cpu.stat")).get("usage_usec", 0)
    current = single(cgroupfs.read_or(rel, "memory.current"))
    inactive = flat_keyed(cgroupfs.read_or(rel, "memory.stat")).get("inactive_file", 0)
    usage = current - inactive if inactive < current else current
    r, w = io_bytes(cgroupfs.read_or(rel, "io.stat"))
    return CgroupSample(
        taken=time.monotonic(), cpu_usec=cpu, mem_usage=usage,
        mem_limit=single(cgroupfs.read_or(rel, "memory.max")),
        pids=single(cgroupfs.read_or(rel, "pids.current")),
        pids_limit=single(cgroupfs.read_or(rel, "pids.max")),
        blk_read=r, blk_write=w)


def net_bytes(dev_text: str) -> tuple[int, int]:
    """/proc/PID/net/dev of the container's network namespace: bytes received and sent
    on its interfaces other than loopback."""
    rx = tx = 0
    for line in dev_text.splitlines()[2:]:
        name, _, data = line.partition(":")
        if name.strip() == "lo":
            continue
        fields = data.split()
        if len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


__all__ = ["CgroupSample", "flat_keyed", "io_bytes", "net_bytes", "sample", "single"]
