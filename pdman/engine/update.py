"""`update CONTAINER`: change a container's resource limits (podman 4.3's): recorded
for its next starts, and written into its cgroup at once when it runs. As at create,
a limit this host cannot enforce (no cgroup v2 delegated to the user) is refused,
never ignored."""

from __future__ import annotations

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.entities.create import CreateOptions
    from pdman.storage.container_records import ContainerRecord


def update(ctx: EngineContext, name: str, asked: "CreateOptions") -> "ContainerRecord":
    """`asked`: the resource options given (the others None)."""
    from pdman import cgroups
    from pdman.cgroups import cgroupfs
    from pdman.cgroups import limits as limitsmod
    from pdman.engine import containers
    from pdman.storage import container_records

    rec = containers.reconcile(ctx, container_records.find(ctx.catalog, name))
    new = limitsmod.parse(asked)
    if not new:
        raise UsageError("no resource limits to update",
                         hint="give one, e.g. --memory 256m, --cpus 1.5, --pids-limit 100")
    cgroup = dict(rec.config.get("cgroup") or {})
    cgroups.resolve(asked.replace(cgroups=cgroup.get("mode") or "enabled",
                                  cgroup_parent=cgroup.get("parent"),
                                  cgroup_manager=cgroup.get("manager")))  # refuses early
    merged = limitsmod.merge(cgroup.get("limits") or {}, new)
    if "memory" in new and "memory_swap" not in new:
        merged.pop("memory_swap", None)   # as at create: swap follows the new memory
    if rec.status in ("running", "paused"):
        path = cgroups.container_cgroup(rec)
        if not path:
            raise ConflictError(f"container {rec.name} runs without a cgroup of its own",
                                hint="stop it, update, and start it again")
        for file, value in limitsmod.cgroupfs_files(merged):
            cgroupfs.write(path, file, value)
    config = dict(rec.config)
    config["cgroup"] = {**cgroup, "limits": merged}
    container_records.update_config(ctx.catalog, rec.id, config)
    return rec


__all__ = ["update"]
