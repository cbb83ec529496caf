"""Containers that depend on others, and `rm` as a user asks for it: podman refuses to
remove a container that others depend on -- those that `--requires` it, that share one of
its namespaces (`--network/--pid/--ipc/--uts container:X`), or, for a pod's infra
container, the pod's members -- unless `rm --depend` removes them first.

Internal removals (a `--rm` cleanup, `pod rm`, `rmi -f`) call `containers.remove`
directly: they order their removals themselves.
"""

from __future__ import annotations

from pdman.engine import containers
from pdman.engine.context import EngineContext
from pdman.errors import ConflictError
from pdman.storage import container_records as records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _needs(config: "dict[str, Any]") -> set[str]:
    """The IDs of the containers a container's config depends on."""
    out = set(config.get("requires") or ())
    for value in config.values():
        if isinstance(value, dict) and value.get("mode") == "container" and value.get("container"):
            out.add(str(value["container"]))
    return out


def dependents_of(all_recs: "list[records.ContainerRecord]",
                  rec: "records.ContainerRecord") -> "list[records.ContainerRecord]":
    """The containers that depend on `rec` directly."""
    pod = rec.config.get("pod") if rec.config.get("infra") else None
    return [r for r in all_recs if r.id != rec.id
            and (rec.id in _needs(r.config) or (pod and r.config.get("pod") == pod))]


def removal_order(ctx: EngineContext, rec: "records.ContainerRecord") -> list[str]:
    """`rec` and everything that depends on it, transitively: dependents first."""
    all_recs = records.list_all(ctx.catalog)
    order: list[str] = []

    def visit(r: "records.ContainerRecord", path: "tuple[str, ...]") -> None:
        if r.id in order or r.id in path:
            return
        for d in dependents_of(all_recs, r):
            visit(d, (*path, r.id))
        order.append(r.id)

    visit(rec, ())
    return order


def remove(ctx: EngineContext, options: "containers.RemoveOptions", depend: bool = False) -> list[str]:
    """`rm NAME` (CLI and API): the IDs removed. Without `depend`, a container that
    others depend on is refused with podman's words; with it, they go first."""
    rec = records.find(ctx.catalog, options.name)
    if not depend:
        users = dependents_of(records.list_all(ctx.catalog), rec)
        if users and not rec.config.get("infra"):   # an infra's refusal names its pod
            raise ConflictError(
                f"container {rec.id} has dependent containers which must be removed before "
                f"it: {','.join(u.id for u in users)}: container already exists",
                hint=f"remove them first, or use `pdman rm --depend {options.name}`")
        return [containers.remove(ctx, options)]
    order = removal_order(ctx, rec)
    pod = rec.config.get("pod") if rec.config.get("infra") else None
    removed = []
    for cid in order:
        other = records.find(ctx.catalog, cid)
        if pod and other.config.get("pod") == pod:
            continue                # the pod's own containers go with the pod, below
        sub = containers.RemoveOptions(name=cid, force=options.force, volumes=options.volumes)
        removed.append(containers.remove(ctx, sub))
    if pod:
        # podman: an infra container's dependents are its pod's members, and with them
        # the pod itself goes (members first, then the infra container)
        from pdman.engine import pods

        members = [cid for cid in order if cid not in removed]
        pods.remove(ctx, str(pod), force=options.force)
        removed += members
    return removed


def sort_for_removal(ctx: EngineContext, ids: list[str]) -> list[str]:
    """`rm --all`: the containers in an order where dependents go before what they need."""
    all_recs = records.list_all(ctx.catalog)
    by_id = {r.id: r for r in all_recs}
    wanted = [i for i in ids if i in by_id]
    out: list[str] = []

    def visit(cid: str, path: "tuple[str, ...]") -> None:
        if cid in out or cid in path:
            return
        for d in dependents_of(all_recs, by_id[cid]):
            if d.id in wanted:
                visit(d.id, (*path, cid))
        out.append(cid)

    for cid in wanted:
        visit(cid, ())
    return out + [i for i in ids if i not in by_id]
