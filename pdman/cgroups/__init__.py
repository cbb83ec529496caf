"""Resource limits, seen from the engine: a few calls.

    config = resolve(options)                    # at create: parse, and refuse limits this
                                                 # host cannot enforce (stored)
    attach(ctx, container_id, config, pid)       # before the container is released: its
                                                 # cgroup (scope) made, limits set, pid in
    join(ctx, container_id, config, pid)         # its monitor, an exec'd process joins it
    oom = release(ctx, container_id, config)     # when the container is gone: OOM kill
                                                 # seen? cgroup removed
    path = container_cgroup(rec)                 # for stats, pause/unpause

Where the cgroup goes is `placement.decide` (a systemd scope over D-Bus, a cgroupfs
child, or none); the limits' two vocabularies are `limits`; the files are `cgroupfs`;
the bus is `systemd`; OOM kills are counted by `oom`.

A limit the user asked for is never silently ignored: without cgroup v2 delegated to the
user (a systemd user manager, or a writable delegated subtree) it fails before anything
starts, saying why and what fixes it. The container's cgroup, once made, is recorded in
its mutable state as {"cgroup": {"manager", "path", "unit"}}.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.cgroups import placement
    from pdman.cgroups.oom import OomWatch
    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions
    from pdman.storage.container_records import ContainerRecord

# containers this process attached: their OOM watch and cgroup (release() needs the
# cgroup even when another pdman removed the container's record meanwhile: `rm -f`)
_attached: "dict[str, tuple[OomWatch, dict[str, str]]]" = {}


def resolve(options: "CreateOptions") -> "dict[str, Any]":
    from pdman.cgroups import limits as limitsmod
    from pdman.cgroups import placement
    from pdman.errors import UsageError

    if options.cgroups not in ("enabled", "disabled", "no-conmon", "split"):
        raise UsageError(f"invalid --cgroups {options.cgroups!r}",
                         hint="use enabled, disabled, no-conmon or split")
    config = {"limits": limitsmod.parse(options), "mode": options.cgroups,
              "parent": options.cgroup_parent, "manager": options.cgroup_manager}
    if config["limits"] or config["parent"] or config["manager"] or config["mode"] == "split":
        placement.decide(config, _probe(config))  # refuse early (the defaults never fail)
    return config


def attach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]", pid: int) -> None:
    """Put the container (waiting at sync 1) into its cgroup, limits set. Without one
    (no limits and nowhere to put it, or inside a systemd unit) it stays in the caller's
    cgroup: inside a unit, the unit's, so `systemctl stop` stops it too."""
    from pdman.cgroups import cgroupfs

    pod = config.get("pod") or {}
    if not cgroupfs.is_v2() and not config.get("limits") and not pod.get("limits"):
        return  # cgroup v1 (create refused any limit): the caller's cgroup, at no cost
    from pdman.cgroups import limits as limitsmod
    from pdman.cgroups import placement
    from pdman.cgroups.oom import OomWatch
    from pdman.storage import container_records as records

    eff = _effective(config)
    plan = placement.decide(eff, _probe(eff))
    if plan.manager == "none":
        return
    lim = config.get("limits") or {}
    unit = ""
    parent = plan.parent
    if pod and plan.manager == "systemd":
        from pdman.cgroups import pods as podcg

        plan = plan._replace(slice=podcg.slice_for(ctx, pod, plan.slice))
    elif pod:
        from pdman.cgroups import pods as podcg

        parent = podcg.path_for(ctx, pod, plan.parent, limitsmod.controllers_needed(lim))
    if plan.manager == "systemd":
        unit = scope_name(container_id)
        if cgroupfs.cgroup_of().rsplit("/", 1)[-1] == unit:
            # a restart by the restart policy starts from the previous run's monitor,
            # still inside the previous scope (which ends when that process exits):
            # this run gets a scope of its own name (recorded in its state)
            import os

            unit = f"pdman-{container_id}-{os.getpid()}.scope"
        _start_scope(unit, plan.slice, pid, limitsmod.systemd_properties(lim),
                     f"pdman container {container_id[:12]}")
        path = cgroupfs.cgroup_of(pid)
        for file, value in limitsmod.conf_files(lim):  # --cgroup-conf: no unit property
            cgroupfs.write(path, file, value)
    else:
        from pdman.errors import RuntimeFailure

        wanted = limitsmod.controllers_needed(lim)
        enabled = cgroupfs.enable_controllers(parent, wanted)
        for extra in ("cpu", "memory", "pids", "io"):  # what `stats` reads: best effort
            if extra not in wanted:
                try:
                    cgroupfs.enable_controllers(parent, [extra])
                except RuntimeFailure:
                    pass
        missing = [c for c in wanted if c not in enabled]
        if missing:
            from pdman.errors import HostSupportError

            raise HostSupportError(f"the {' '.join(missing)} controller(s) are not available "
                                   f"in {cgroupfs.fs_path(parent)}",
                                   hint="delegate them to this cgroup, or drop those limits")
        path = parent.rstrip("/") + f"/pdman-{container_id}"
        cgroupfs.create(path, limitsmod.cgroupfs_files(lim),
                        optional=frozenset() if "memory_swap" in lim else
                        frozenset({"memory.swap.max"}))
        try:
            cgroupfs.move(path, pid)
        except BaseException:
            cgroupfs.remove(path)
            raise
    made = {"manager": plan.manager, "path": path, "unit": unit}
    _attached[container_id] = (OomWatch(path), made)
    records.update_state(ctx.catalog, container_id, oom_killed=0, state={"cgroup": made})


def _effective(config: "dict[str, Any]") -> "dict[str, Any]":
    """What placement decides on: a pod's member goes where its pod's cgroup goes
    (the pod's --cgroup-parent), and needs the controllers of the pod's limits too."""
    pod = config.get("pod") or {}
    if not pod:
        return config
    return {**config, "parent": pod.get("parent") or "",
            "limits": {**(pod.get("limits") or {}), **(config.get("limits") or {})}}


def _probe(config: "dict[str, Any]") -> "placement.Host":
    from pdman.cgroups import placement

    return placement.probe(config.get("parent") or "",
                           own_cgroup_wanted=bool(config.get("limits"))
                           or config.get("mode") == "split")


def scope_name(container_id: str) -> str:
    return f"pdman-{container_id}.scope"


def _start_scope(unit: str, slice_name: str, pid: int, props: "list[tuple[str, str, Any]]",
                 description: str) -> None:
    from pdman.cgroups.systemd import UserManager
    from pdman.errors import RuntimeFailure

    with UserManager.connect() as manager:
        # OOMPolicy=continue: the kernel kills one process, as docker's containers have
        # it; systemd does not stop the whole scope (whose PID 1 ignores SIGTERM)
        try:
            manager.start_scope(unit, slice_name, pid, props, description,
                                extra=[("OOMPolicy", "s", "continue")])
        except RuntimeFailure as e:
            if "OOMPolicy" not in str(e):
                raise
            manager.start_scope(unit, slice_name, pid, props, description)


def join(ctx: "EngineContext", container_id: str, config: "dict[str, Any]", pid: int) -> None:
    """Move process `pid` into the container's cgroup: its monitor, as podman places
    conmon (`--cgroups=enabled`; with `no-conmon` or `split` it stays where it was
    started), and each `exec`'d process, which then counts against the container's
    limits as runc's exec does. Call it once the container is attached (the monitor
    then also keeps the cgroup alive until it has read the exit status and
    memory.events)."""
    from pdman.cgroups import cgroupfs
    from pdman.storage import container_records as records

    if (config.get("mode") or "enabled") != "enabled":
        return
    cg = records.find(ctx.catalog, container_id).state.get("cgroup") or {}
    if cg.get("manager") == "systemd":
        from pdman.cgroups.systemd import UserManager

        # through the user manager: from a login session's scope only systemd may move
        # a process into the user's delegated subtree
        with UserManager.connect() as manager:
            manager.attach_processes(cg["unit"], [pid])
    elif cg.get("manager") == "cgroupfs":
        cgroupfs.move(cg["path"], pid)


def release(ctx: "EngineContext", container_id: str, config: "dict[str, Any]") -> bool:
    """Once the container is gone: whether the kernel OOM-killed a process of it
    (recorded as oom_killed), and the cgroup removed. Nothing to do without one."""
    from pdman.cgroups import cgroupfs
    from pdman.errors import ContainerNotFound
    from pdman.storage import container_records as records

    kills = 0
    if container_id in _attached:
        watch, cg = _attached.pop(container_id)
        kills = watch.stop()
    else:
        try:
            cg = records.find(ctx.catalog, container_id).state.get("cgroup") or {}
        except ContainerNotFound:
            return False
    if not cg:
        return False
    from pdman.cgroups.oom import parse_oom_kills    # threading: not without a cgroup

    path = cg.get("path", "")
    if path and cgroupfs.exists(path):
        kills = max(kills, parse_oom_kills(cgroupfs.read_or(path, "memory.events")))
    # the monitor's cleanup runs inside the cgroup it joined (join): it must not
    # stop the scope around itself; the scope ends when this last process exits
    inside = bool(path) and (cgroupfs.cgroup_of() + "/").startswith(path.rstrip("/") + "/")
    if cg.get("manager") == "systemd":
        from pdman.cgroups.systemd import UserManager

        with UserManager.connect() as manager:
            if manager.unit_result(cg["unit"]) == "oom-kill":
                kills = max(kills, 1)
            if not inside:
                manager.stop_unit(cg["unit"])
    elif cg.get("manager") == "cgroupfs" and path:
        if inside:
            cgroupfs.leave(path)
        cgroupfs.remove(path)
    changes: dict[str, Any] = {"state": {"cgroup": {}}}
    if kills:
        changes["oom_killed"] = 1
    records.update_state(ctx.catalog, container_id, **changes)  # a removed record: no-op
    return kills > 0


def container_cgroup(rec: "ContainerRecord") -> str:
    """The running container's own cgroup path ("" when it has none of its own)."""
    cg = rec.state.get("cgroup") or {}
    return str(cg.get("path") or "")


__all__ = ["attach", "container_cgroup", "join", "release", "resolve", "scope_name"]
