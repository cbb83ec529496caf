"""`stats`: each running container's resource use, read from its own cgroup.

    reports, samples = stats(ctx, StatsOptions(names=[...], all=False), previous)

CPU % is the share of one CPU used between two samples (podman's and docker's
meaning: 50% = half of one CPU, 200% = two CPUs); on the first sample of a container,
which has no earlier one, it is the average since the container started, as podman
shows it. Pass the returned samples back in as `previous` to stream.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from pdman.engine.context import EngineContext
from pdman.errors import HostSupportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.cgroups.stats import CgroupSample
    from pdman.storage.container_records import ContainerRecord


@dataclass(frozen=True)
class StatsOptions:
    names: list[str] = field(default_factory=list)
    all: bool = False            # also containers that are not running (zeros)


@dataclass(frozen=True)
class ContainerStats:
    """One row; field names are podman's template fields."""

    ID: str
    Name: str
    CPUPerc: float           # percent of one CPU
    AvgCPU: float            # percent of one CPU, averaged since start
    CPUNano: int             # CPU time used, ns
    MemUsage: int            # bytes
    MemLimit: int            # bytes; the host's memory when the container has no limit
    MemPerc: float
    NetInput: int
    NetOutput: int
    BlockInput: int
    BlockOutput: int
    PIDs: int
    PIDsLimit: int           # 0: unlimited
    UpTime: float            # seconds
    HasCgroup: bool

    def as_dict(self) -> "dict[str, Any]":
        return asdict(self)


def stats(ctx: EngineContext, options: StatsOptions,
          previous: "dict[str, CgroupSample] | None" = None,
          ) -> "tuple[list[ContainerStats], dict[str, CgroupSample]]":
    from pdman.engine.containers import reconcile
    from pdman.storage import container_records as records

    if options.names:
        recs = [reconcile(ctx, records.find(ctx.catalog, n)) for n in options.names]
    else:
        recs = [reconcile(ctx, r) for r in records.list_all(ctx.catalog)]
        if not options.all:
            recs = [r for r in recs if r.status in ("running", "paused")]
    rows: list[ContainerStats] = []
    samples: dict[str, CgroupSample] = {}
    for rec in recs:
        row, smp = _one(rec, (previous or {}).get(rec.id), named=bool(options.names))
        rows.append(row)
        if smp is not None:
            samples[rec.id] = smp
    return rows, samples


def _one(rec: "ContainerRecord", prev: "CgroupSample | None", named: bool,
         ) -> "tuple[ContainerStats, CgroupSample | None]":
    from pdman.cgroups import cgroupfs, container_cgroup
    from pdman.cgroups.stats import net_bytes, sample

    running = rec.status in ("running", "paused")
    path = container_cgroup(rec) if running else ""
    if running and not (path and cgroupfs.exists(path)):
        if named:
            raise HostSupportError(
                f"container {rec.name} has no cgroup of its own, so its resource use "
                "cannot be read",
                hint="stats needs cgroup v2 delegated to your user (a systemd user session, "
                     "or a delegated cgroup); on such a host, start the container again")
        path = ""
    if not path:
        return ContainerStats(ID=rec.id, Name=rec.name, CPUPerc=0.0, AvgCPU=0.0, CPUNano=0,
                              MemUsage=0, MemLimit=0, MemPerc=0.0, NetInput=0, NetOutput=0,
                              BlockInput=0, BlockOutput=0, PIDs=0, PIDsLimit=0, UpTime=0.0,
                              HasCgroup=False), None
    s = sample(path)
    up = max(time.time() - rec.started_at, 1e-3)
    avg = s.cpu_usec / (up * 1e6) * 100.0
    if prev is not None and s.taken > prev.taken:
        cpu = (s.cpu_usec - prev.cpu_usec) / ((s.taken - prev.taken) * 1e6) * 100.0
    else:
        cpu = avg
    limit = s.mem_limit or _host_memory()
    try:
        with open(f"/proc/{rec.pid}/net/dev") as f:
            rx, tx = net_bytes(f.read())
    except OSError:
        rx = tx = 0
    return ContainerStats(
        ID=rec.id, Name=rec.name, CPUPerc=max(cpu, 0.0), AvgCPU=avg, CPUNano=s.cpu_usec * 1000,
        MemUsage=s.mem_usage, MemLimit=limit,
        MemPerc=(s.mem_usage / limit * 100.0) if limit else 0.0,
        NetInput=rx, NetOutput=tx, BlockInput=s.blk_read, BlockOutput=s.blk_write,
        PIDs=s.pids, PIDsLimit=s.pids_limit, UpTime=up, HasCgroup=True), s


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


__all__ = ["ContainerStats", "StatsOptions", "stats"]
