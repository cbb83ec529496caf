"""Declarations: resource commands (`stats`, `pause`, `unpause`), read from and acting on
the containers' cgroups (pdman/cgroups)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import CidfileRead, ContainerFilter, Format, Latest, NoTrunc


@handled_by("resources.stats")
def stats(
    containers: Annotated[Optional[list[str]], typer.Argument(
        help="Containers to show (name or ID); default: all running ones.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Show all containers, not only running ones.")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Print one sample and exit.")] = False,
    interval: Annotated[int, typer.Option("--interval", "-i", help="Seconds between samples when streaming.")] = 5,
    format: Format = None,
    no_trunc: NoTrunc = False,
    latest: Latest = False,
    no_reset: Annotated[bool, typer.Option(
        "--no-reset", help="When streaming to a terminal, do not clear the screen between "
                           "samples.")] = False,
) -> None:
    """Show containers' resource use from their cgroups. Columns: ID, NAME, CPU %,
    MEM USAGE / LIMIT, MEM %, NET IO, BLOCK IO, PIDS, CPU TIME, AVG CPU %."""


@handled_by("resources.pause")
def pause(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to pause (name or ID).")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Pause every running container.")] = False,
    cidfile: CidfileRead = None,
    latest: Latest = False,
    filter: ContainerFilter = None,
) -> None:
    """Pause all processes in containers (cgroup v2 freezer)."""


@handled_by("resources.unpause")
def unpause(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to unpause (name or ID).")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Unpause every paused container.")] = False,
    cidfile: CidfileRead = None,
    latest: Latest = False,
    filter: ContainerFilter = None,
) -> None:
    """Unpause all processes in paused containers."""


groups.register(stats, (groups.top, "stats"), (groups.container, "stats"))
groups.register(pause, (groups.top, "pause"), (groups.container, "pause"))
groups.register(unpause, (groups.top, "unpause"), (groups.container, "unpause"))


from pdman.cli import options_create as o  # noqa: E402


@handled_by("resources.update")
def update(
    container: Annotated[str, typer.Argument(help="The container (name or ID).")],
    memory: o.Memory = None, memory_swap: o.MemorySwap = None,
    memory_reservation: o.MemoryReservation = None, cpus: o.Cpus = None,
    cpu_shares: o.CpuShares = None, cpuset_cpus: o.CpusetCpus = None,
    cpuset_mems: o.CpusetMems = None, cpu_period: o.CpuPeriod = None,
    cpu_quota: o.CpuQuota = None,
) -> None:
    """Change a container's resource limits: kept for its next starts, and written into
    its cgroup at once when it runs (needs cgroup v2 delegated, as the limits of `run`).
    Prints its ID."""


groups.register(update, (groups.top, "update"), (groups.container, "update"))
