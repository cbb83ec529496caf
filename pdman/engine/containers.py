"""Container verbs. The `run` flow reads top-down in `run()` below, stage by stage, as
the seed tells it: resolve image → pull if missing → prepare rootfs → namespaces and
network → cgroup → start → record → wait or detach.
"""

from __future__ import annotations

import time

from pdman.engine.context import EngineContext
from pdman.entities.containers import ContainerSummary, ListContainersOptions
from pdman.storage import container_records as records


def status_text(rec: records.ContainerRecord, now: float | None = None) -> str:
    """podman's STATUS column: `Up 3 seconds`, `Exited (0) 2 seconds ago`, `Created`."""
    from pdman.cli.humanize import ago, duration

    now = now or time.time()
    if rec.status == "running":
        return "Up " + duration(now - rec.started_at)
    if rec.status == "paused":
        return "Up " + duration(now - rec.started_at) + " (Paused)"
    if rec.status == "exited":
        code = "?" if rec.exit_code is None else str(rec.exit_code)
        return f"Exited ({code}) " + ago(rec.finished_at or rec.created, now)
    if rec.status == "unknown":
        return "Unknown (monitor lost)"
    return rec.status.capitalize()


def summarize(rec: records.ContainerRecord) -> ContainerSummary:
    return ContainerSummary(
        ID=rec.id, Names=[rec.name], Image=rec.image_name, ImageID=rec.image_id,
        Command=rec.command, Created=rec.created, State=rec.status, Status=status_text(rec),
        ExitCode=rec.exit_code, Pid=rec.pid, Ports=rec.config.get("ports", []),
        Labels=rec.config.get("labels", {}), StartedAt=rec.started_at,
        ExitedAt=rec.finished_at,
    )


def list_containers(ctx: EngineContext, options: ListContainersOptions) -> list[ContainerSummary]:
    rows = records.list_all(ctx.catalog, include_stopped=options.all or options.last >= 0)
    summaries = filter_containers([summarize(r) for r in rows], options.filters)
    if options.last >= 0:
        summaries = summaries[: options.last]
    return summaries


def _matches(s: ContainerSummary, key: str, value: str) -> bool:
    import re

    if key == "id":
        return s.ID.startswith(value)
    if key == "name":
        return any(re.search(value, n) for n in s.Names)
    if key == "status":
        return s.State == value
    if key == "exited":
        return s.State == "exited" and str(s.ExitCode) == value
    if key == "ancestor":
        return value in (s.Image, s.ImageID) or s.ImageID.startswith(value) or \
            s.Image.split("/")[-1] == value or s.Image.split("/")[-1].split(":")[0] == value
    if key == "label":
        k, eq, v = value.partition("=")
        return k in s.Labels and (not eq or s.Labels[k] == v)
    from pdman.errors import UsageError

    raise UsageError(f"invalid filter {key!r}",
                     hint="supported: id, name, status, exited, ancestor, label")


def filter_containers(rows: list[ContainerSummary], filters: tuple[str, ...]) -> list[ContainerSummary]:
    """docker semantics: the same key given twice is OR, different keys are AND."""
    from pdman.errors import UsageError

    by_key: dict[str, list[str]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE, e.g. status=running")
        by_key.setdefault(key, []).append(value)
    return [s for s in rows
            if all(any(_matches(s, k, v) for v in vs) for k, vs in by_key.items())]
