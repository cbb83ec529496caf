"""`pause` / `unpause`: freeze and thaw every process of a container through the cgroup
v2 freezer (cgroup.freeze), as podman does; the container is `paused` meanwhile."""

from __future__ import annotations

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, HostSupportError


def pause(ctx: EngineContext, name: str) -> str:
    """Freeze a running container; its ID."""
    return _set(ctx, name, frozen=True)


def unpause(ctx: EngineContext, name: str) -> str:
    """Thaw a paused container; its ID."""
    return _set(ctx, name, frozen=False)


def _set(ctx: EngineContext, name: str, frozen: bool) -> str:
    from pdman.cgroups import cgroupfs, container_cgroup
    from pdman.engine.containers import reconcile
    from pdman.storage import container_records as records

    rec = reconcile(ctx, records.find(ctx.catalog, name))
    want_from, verb = ("running", "pause") if frozen else ("paused", "unpause")
    if rec.status != want_from:
        raise ConflictError(f"container {rec.name} is {rec.status}, not {want_from}",
                            hint=f"only a {want_from} container can be {verb}d")
    path = container_cgroup(rec)
    if not (path and cgroupfs.exists(path)):
        raise HostSupportError(
            f"cannot {verb} container {rec.name}: it has no cgroup of its own",
            hint="pause needs the cgroup v2 freezer, delegated to your user (a systemd user "
                 "session, or a delegated cgroup)")
    cgroupfs.freeze(path, frozen)
    records.update_state(ctx.catalog, rec.id, status="paused" if frozen else "running")
    from pdman.engine import events

    events.container_event(ctx.paths, verb, rec)
    return rec.id


__all__ = ["pause", "unpause"]
