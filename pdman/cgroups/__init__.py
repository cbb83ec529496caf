"""Resource limits, seen from the engine: three calls.

    config = resolve(options)                    # at create: parse, and refuse limits this
                                                 # host cannot enforce (stored)
    attach(ctx, container_id, config, pid)       # before the container is released
    release(ctx, container_id, config)           # when the container is gone

A limit the user asked for is never silently ignored: without cgroup v2 delegated to the
user (a systemd user manager, or a writable delegated subtree) it fails before anything
starts, saying why and what fixes it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions


def resolve(options: "CreateOptions") -> "dict[str, Any]":
    from pdman.engine.runopts import memory_bytes
    from pdman.errors import HostSupportError, UsageError

    limits: dict[str, Any] = {}
    if options.memory:
        limits["memory"] = memory_bytes(options.memory)
    if options.memory_swap:
        limits["memory_swap"] = -1 if options.memory_swap == "-1" else memory_bytes(options.memory_swap)
    if options.memory_reservation:
        limits["memory_reservation"] = memory_bytes(options.memory_reservation)
    if options.cpus is not None:
        if options.cpus <= 0:
            raise UsageError(f"invalid --cpus {options.cpus}", hint="give a positive number, e.g. 0.5")
        limits["cpus"] = options.cpus
    if options.cpu_shares is not None:
        limits["cpu_shares"] = options.cpu_shares
    if options.cpu_weight is not None:
        limits["cpu_weight"] = options.cpu_weight
    if options.cpuset_cpus:
        limits["cpuset_cpus"] = options.cpuset_cpus
    if options.pids_limit is not None and options.pids_limit > 0:
        limits["pids_limit"] = options.pids_limit
    if options.cgroups not in ("enabled", "disabled", "no-conmon", "split"):
        raise UsageError(f"invalid --cgroups {options.cgroups!r}",
                         hint="use enabled, disabled, no-conmon or split")
    if limits:
        if options.cgroups == "disabled":
            raise UsageError("resource limits need cgroups, but --cgroups=disabled was given",
                             hint="drop the limits or the --cgroups=disabled")
        from pdman.runtime.probe import cgroup_info

        info = cgroup_info()
        if not info.limits_enforceable:
            asked = ", ".join("--" + k.replace("_", "-") for k in limits)
            raise HostSupportError(
                f"cannot enforce {asked} on this host: {info.reason}",
                hint="run pdman where cgroup v2 is delegated to your user: a systemd user "
                     "session (log in through systemd-logind, or `loginctl enable-linger "
                     "$USER`) on a host booted with the unified cgroup hierarchy")
    return {"limits": limits, "mode": options.cgroups, "parent": options.cgroup_parent,
            "manager": options.cgroup_manager}


def attach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]", pid: int) -> None:
    """Without limits the container stays in the caller's cgroup (inside a systemd
    unit, the unit's: `systemctl stop` then stops it too)."""


def release(ctx: "EngineContext", container_id: str, config: "dict[str, Any]") -> None:
    """Nothing to remove when no cgroup was made."""
