"""A pod's own cgroup: the parent of its containers' cgroups, holding the pod's limits
(`pod create --memory/--cpus/...`), so they bound the pod's containers together, as
podman's pod cgroup does.

    resolve(options)                    # at `pod create`: the limits parsed, and refused
                                        # (naming the flag and the fix) where this host
                                        # cannot enforce them
    slice_for(ctx, pod, default_slice)  # systemd: the pod's transient slice, started
                                        # with its limits by the first member to start
    path_for(ctx, pod, parent)          # cgroupfs: the pod's cgroup, made likewise
    remove(ctx, pod_id, state)          # `pod rm`: the slice stopped / cgroup removed

With systemd the pod is the slice `<parent stem>-pod_<ID>.slice` (pdman-pod_<ID>.slice
in the user's pdman.slice by default: systemd nests slices by name), its members'
scopes inside it. With cgroupfs it is `<parent>/pdman-pod-<ID>`, the members'
cgroups its children. The made cgroup is recorded in the pod's config as
`cgroup_state` {"manager", "unit", "path"}, which `pod rm` and `pod inspect` read.
A member's part of its cgroup config is {"id", "limits", "parent"} under "pod".
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.entities.pods import PodCreateOptions


def resolve(options: "PodCreateOptions") -> "dict[str, Any]":
    """The pod's cgroup config {"limits", "parent"}; refuses what cannot be enforced."""
    from pdman.cgroups import limits as limitsmod
    from pdman.cgroups import placement

    config = {"limits": limitsmod.parse(options), "parent": options.cgroup_parent or "",
              "mode": "enabled", "manager": ""}
    if config["limits"] or config["parent"]:
        placement.decide(config, placement.probe(config["parent"], own_cgroup_wanted=True))
    return {"limits": config["limits"], "parent": config["parent"]}


def slice_name(pod_id: str, parent_slice: str) -> str:
    stem = parent_slice[:-len(".slice")] if parent_slice.endswith(".slice") else parent_slice
    return f"{stem}-pod_{pod_id}.slice"


def slice_for(ctx: "EngineContext", pod: "dict[str, Any]", default_slice: str) -> str:
    """The pod's slice, started now (with the pod's limits) unless it runs."""
    from pdman.cgroups import limits as limitsmod
    from pdman.cgroups.systemd import UserManager

    name = slice_name(pod["id"], default_slice)
    with UserManager.connect() as manager:
        if manager.unit_property(name, "org.freedesktop.systemd1.Unit",
                                 "ActiveState") != "active":
            manager.start_slice(name, limitsmod.systemd_properties(pod.get("limits") or {}),
                                f"pdman pod {pod['id'][:12]}")
    from pdman.storage import pod_records

    pod_records.update_config(ctx.catalog, pod["id"], cgroup_state={
        "manager": "systemd", "unit": name, "path": ""})
    return name


def path_for(ctx: "EngineContext", pod: "dict[str, Any]", parent: str,
             member_controllers: "list[str]") -> str:
    """The pod's cgroup under `parent` (made now, with the pod's limits, unless it
    exists), its controllers handed down to the members' cgroups."""
    from pdman.cgroups import cgroupfs
    from pdman.cgroups import limits as limitsmod
    from pdman.errors import HostSupportError, RuntimeFailure

    lim = pod.get("limits") or {}
    wanted = sorted({*limitsmod.controllers_needed(lim), *member_controllers})
    enabled = cgroupfs.enable_controllers(parent, wanted)
    missing = [c for c in wanted if c not in enabled]
    if missing:
        raise HostSupportError(f"the {' '.join(missing)} controller(s) are not available "
                               f"in {cgroupfs.fs_path(parent)}",
                               hint="delegate them to this cgroup, or drop those limits")
    for extra in ("cpu", "memory", "pids", "io"):  # what `stats` reads: best effort
        if extra not in wanted:
            try:
                cgroupfs.enable_controllers(parent, [extra])
            except RuntimeFailure:
                pass
    path = parent.rstrip("/") + f"/pdman-pod-{pod['id']}"
    if not cgroupfs.exists(path):
        cgroupfs.create(path, limitsmod.cgroupfs_files(lim),
                        optional=frozenset() if "memory_swap" in lim else
                        frozenset({"memory.swap.max"}))
    from pdman.storage import pod_records

    pod_records.update_config(ctx.catalog, pod["id"], cgroup_state={
        "manager": "cgroupfs", "unit": "", "path": path})
    return path


def remove(state: "dict[str, Any]") -> None:
    """The pod's cgroup gone (its containers are gone already): best effort, a slice
    or cgroup someone removed meanwhile is fine."""
    from pdman.errors import PdmanError

    try:
        if state.get("manager") == "systemd" and state.get("unit"):
            from pdman.cgroups.systemd import UserManager

            with UserManager.connect() as manager:
                manager.stop_unit(str(state["unit"]))
        elif state.get("manager") == "cgroupfs" and state.get("path"):
            from pdman.cgroups import cgroupfs

            cgroupfs.remove(str(state["path"]))
    except (PdmanError, OSError):
        pass


def inspect_fields(config: "dict[str, Any]") -> "dict[str, Any]":
    """podman's `pod inspect` resource fields (omitted when not set, as podman's
    omitempty), from the pod's limits."""
    from pdman.cgroups import limits as limitsmod

    lim = (config.get("cgroup") or {}).get("limits") or {}
    out: dict[str, Any] = {}
    quota = limitsmod.cpu_quota_us(lim)
    if quota is not None:
        out["CPUPeriod"] = limitsmod.CPU_PERIOD_US
        out["CPUQuota"] = quota
    if "cpu_shares" in lim:
        out["CPUShares"] = int(lim["cpu_shares"])
    if "cpuset_cpus" in lim:
        out["CPUSetCPUs"] = str(lim["cpuset_cpus"])
    if "cpuset_mems" in lim:
        out["CPUSetMems"] = str(lim["cpuset_mems"])
    if "memory" in lim:
        out["MemoryLimit"] = int(lim["memory"])
    if "memory_swap" in lim:
        out["MemorySwap"] = int(lim["memory_swap"])
    return out


__all__ = ["inspect_fields", "path_for", "remove", "resolve", "slice_for", "slice_name"]
