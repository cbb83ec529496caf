"""Handlers of `stats`, `pause`, `unpause`: build options, call the engine, print."""

from __future__ import annotations

from typing import Any

from pdman.cli.globalopts import GlobalOptions

COLUMNS = ["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS",
           "CPU TIME", "AVG CPU %"]



def _size(n: int) -> str:
    """podman's stats sizes: decimal units, no space (`49.2kB`)."""
    from pdman.cli.humanize import size

    return size(n).replace(" ", "")


def _duration(ns: int) -> str:
    """CPU TIME as Go prints a duration: 1.234567s, 2m3.5s."""
    secs = ns / 1e9
    if secs < 60:
        return f"{secs:.6g}s"
    minutes, rest = divmod(secs, 60)
    if minutes < 60:
        return f"{int(minutes)}m{rest:.6g}s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h{int(minutes)}m{rest:.6g}s"


def _fields(row: Any, no_trunc: bool) -> dict[str, Any]:
    """Template fields: podman's names (and docker's aliases .Container, .MemUsage)."""
    dash = not row.HasCgroup
    mem = "-- / --" if dash else f"{_size(row.MemUsage)} / {_size(row.MemLimit)}"
    return {
        **row.as_dict(),
        "ID": row.ID if no_trunc else row.ID[:12],
        "ContainerID": row.ID,
        "Container": row.Name,
        "CPUPerc": "--" if dash else f"{row.CPUPerc:.2f}%",
        "AvgCPU": "--" if dash else f"{row.AvgCPU:.2f}%",
        "CPU": "--" if dash else _duration(row.CPUNano),
        "MemUsage": mem,
        "MemUsageBytes": mem,
        "MemPerc": "--" if dash else f"{row.MemPerc:.2f}%",
        "NetIO": "-- / --" if dash else f"{_size(row.NetInput)} / {_size(row.NetOutput)}",
        "BlockIO": "-- / --" if dash else f"{_size(row.BlockInput)} / {_size(row.BlockOutput)}",
        "PIDs": "--" if dash else str(row.PIDs),
        "PIDS": "--" if dash else str(row.PIDs),
    }


def _print(rows: list[Any], format: str | None, no_trunc: bool) -> None:
    from pdman.cli import output

    if format == "json":
        output.print_json([{**r.as_dict(), "ID": r.ID} for r in rows])
        return
    fields = [_fields(r, no_trunc) for r in rows]
    if format:
        output.print_formatted(format, fields)
        return
    output.print_table(COLUMNS, [[f["ID"], f["Name"], f["CPUPerc"], f["MemUsage"], f["MemPerc"],
                                  f["NetIO"], f["BlockIO"], f["PIDs"], f["CPU"], f["AvgCPU"]]
                                 for f in fields])


def stats(g: GlobalOptions, containers: list[str] | None, all: bool, no_stream: bool,
          interval: int, format: str | None, no_trunc: bool, no_reset: bool = False) -> int:
    import sys
    import time

    from pdman.engine.stats import StatsOptions
    from pdman.engine.stats import stats as engine_stats
    from pdman.errors import UsageError

    if interval < 1:
        raise UsageError(f"invalid --interval {interval}", hint="give at least 1 second")
    ctx = g.context()
    opts = StatsOptions(names=list(containers or []), all=all)
    rows, samples = engine_stats(ctx, opts)
    if no_stream:
        _print(rows, format, no_trunc)
        return 0
    clear = sys.stdout.isatty() and format != "json" and not no_reset
    try:
        while True:
            if clear:
                sys.stdout.write("\033[2J\033[H")
            _print(rows, format, no_trunc)
            sys.stdout.flush()
            time.sleep(interval)
            rows, samples = engine_stats(ctx, opts, samples)
    except KeyboardInterrupt:
        return 0


def _each(g: GlobalOptions, containers: list[str], verb: str) -> int:
    """podman's way: act on each, print the IDs that worked, report the others; the
    first error decides the exit code."""
    import sys

    from pdman.engine import pause as engine
    from pdman.errors import PdmanError

    ctx = g.context()
    failed: PdmanError | None = None
    for name in containers:
        try:
            print(getattr(engine, verb)(ctx, name))
        except PdmanError as e:
            if failed is None:
                failed = e
            else:
                print(f"Error: {e}", file=sys.stderr)
    if failed is not None:
        raise failed
    return 0


def _chosen(g: GlobalOptions, containers: list[str] | None, all: bool,
            cidfile: list[str] | None, state: str) -> list[str]:
    from pdman.cli.handlers.common import with_cidfiles
    from pdman.engine import containers as engine
    from pdman.errors import UsageError
    from pdman.storage import container_records

    names = with_cidfiles(containers, cidfile) or []
    if all:
        ctx = g.context()
        recs = [engine.reconcile(ctx, r) for r in container_records.list_all(ctx.catalog)]
        names += [r.id for r in recs if r.status == state]
    elif not names:
        raise UsageError("you must provide at least one container name or ID",
                         hint="or pass --all, --latest or --filter")
    return names


def pause(g: GlobalOptions, containers: list[str] | None, all: bool = False,
          cidfile: list[str] | None = None) -> int:
    return _each(g, _chosen(g, containers, all, cidfile, "running"), "pause")


def unpause(g: GlobalOptions, containers: list[str] | None, all: bool = False,
            cidfile: list[str] | None = None) -> int:
    return _each(g, _chosen(g, containers, all, cidfile, "paused"), "unpause")


def update(g: GlobalOptions, container: str, memory: str | None, memory_swap: str | None,
           memory_reservation: str | None, cpus: float | None, cpu_shares: int | None,
           cpuset_cpus: str | None, cpuset_mems: str | None = None,
           cpu_period: int | None = None, cpu_quota: int | None = None) -> int:
    from pdman.engine import update as engine
    from pdman.entities.create import CreateOptions

    rec = engine.update(g.context(), container, CreateOptions(
        image="", memory=memory, memory_swap=memory_swap,
        memory_reservation=memory_reservation, cpus=cpus, cpu_shares=cpu_shares,
        cpuset_cpus=cpuset_cpus, cpuset_mems=cpuset_mems, cpu_period=cpu_period,
        cpu_quota=cpu_quota))
    print(rec.id)
    return 0
