"""Where a container's cgroup goes, decided once from the options and what the host
offers (`Host`), the same way at `create` (to refuse early) and at `start` (to act).

  --cgroups=disabled                  no cgroup of its own (limits refused)
  inside a systemd service            stays in the service's cgroup (so `systemctl stop`
    (INVOCATION_ID, own cgroup is       stops it); with limits or --cgroups=split, a child
     a .service), no --cgroup-parent    cgroup of the service's (needs Delegate=yes)
  --cgroups=split                     a child of the caller's own cgroup (delegated)
  a systemd user manager              a transient scope pdman-<id>.scope in pdman.slice
    (or --cgroup-manager=systemd)       (or --cgroup-parent SLICE), over D-Bus
  a delegated writable cgroup v2      a child cgroup pdman-<id> written directly
    (or --cgroup-manager=cgroupfs)      (in --cgroup-parent PATH, else the caller's own)
  none of these                       the caller's cgroup; limits refused with the fix

As root (root mode) the same rules, with the system manager (system bus) in place of
the user manager, machine.slice as the default slice, and a unit's cgroup delegated
only when the system manager says Delegate=yes (root could write any cgroup).

Pure logic over `Host`, so every branch is unit-tested without a host that has it.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from pdman.namedtuple import NamedTuple

from pdman.cgroups import limits as limitsmod
from pdman.errors import HostSupportError, PdmanError, UsageError

DEFAULT_SLICE = "pdman.slice"
#: root mode's (rootful podman's)
ROOT_SLICE = "machine.slice"
V1_REASON = ("cgroup v2 is not mounted on /sys/fs/cgroup (v1 or hybrid): rootless limits "
             "need the unified hierarchy (systemd.unified_cgroup_hierarchy=1)")

_SESSION_HINT = ("run pdman where cgroup v2 is delegated to your user: a systemd user "
                 "session (log in through systemd-logind, or `loginctl enable-linger "
                 "$USER`) on a host booted with the unified cgroup hierarchy")


class Host(NamedTuple):
    """What the cgroup setup offers this process (see `probe()`)."""

    v2: bool
    v1_reason: str = ""
    systemd: bool = False                    # a user manager on a reachable session bus
    systemd_controllers: tuple[str, ...] = ()  # delegated to user@UID.service
    own: str = ""                            # our cgroup ("/user.slice/...")
    own_writable: bool = False               # delegated to us
    own_controllers: tuple[str, ...] = ()
    unit: str = ""                           # the systemd service we run in, if any
    unit_delegated: bool = False
    writable_paths: dict[str, tuple[str, ...]] = {}   # read only: shared by default
    # ^ for --cgroup-parent PATH with cgroupfs: PATH -> its controllers, when writable
    #: where scopes go by default: pdman.slice for a user, machine.slice for root
    default_slice: str = "pdman.slice"


class Plan(NamedTuple):
    manager: str          # "systemd", "cgroupfs" or "none"
    slice: str = ""       # systemd: the slice the scope goes in
    parent: str = ""      # cgroupfs: the cgroup the container's goes under
    why: str = ""         # "none": why the container stays where it is


def decide(cfg: "dict[str, Any]", host: Host) -> Plan:
    """The plan for a container's resolved cgroup config (`limits`, `mode`, `parent`,
    `manager`); raises when a limit or an explicit choice cannot be honoured."""
    limits: dict[str, Any] = cfg.get("limits") or {}
    mode = cfg.get("mode") or "enabled"
    parent = cfg.get("parent") or ""
    manager = cfg.get("manager") or ""
    if manager not in ("", "systemd", "cgroupfs"):
        raise UsageError(f"invalid --cgroup-manager {manager!r}", hint="use systemd or cgroupfs")
    if mode == "disabled":
        if limits:
            raise UsageError("resource limits need cgroups, but --cgroups=disabled was given",
                             hint="drop the limits or the --cgroups=disabled")
        return Plan("none", why="--cgroups=disabled")
    if not host.v2:
        _refuse(limits, host.v1_reason)
        if parent or manager:
            what = f"--cgroup-parent {parent}" if parent else f"--cgroup-manager {manager}"
            raise HostSupportError(f"cannot use {what} on this host: {host.v1_reason}",
                                   hint=_SESSION_HINT)
        return Plan("none", why=host.v1_reason)
    if host.unit and not parent and not manager:
        if not limits and mode != "split":
            return Plan("none", why=f"inside the systemd unit {host.unit}: the container "
                                    "stays in its cgroup")
        if not host.unit_delegated:
            raise HostSupportError(
                f"cannot give the container its own cgroup inside the systemd unit "
                f"{host.unit}: the unit's cgroup is not delegated",
                hint=f"add Delegate=yes to {host.unit}, or pass --cgroup-parent="
                     f"{host.default_slice} to run the container in a scope of its own, "
                     "outside the unit")
        _check_controllers(limits, host.own_controllers, f"the unit {host.unit}")
        return Plan("cgroupfs", parent=host.own)
    if mode == "split":
        if not host.own_writable:
            raise HostSupportError(
                f"--cgroups=split needs the current cgroup {host.own or '?'} delegated to you",
                hint="run pdman in a unit with Delegate=yes, or use --cgroups=enabled")
        _check_controllers(limits, host.own_controllers, f"the cgroup {host.own}")
        return Plan("cgroupfs", parent=host.own)
    if manager == "systemd" or (not manager and host.systemd):
        if not host.systemd:
            raise HostSupportError(
                "--cgroup-manager=systemd needs a systemd user manager on the session bus, "
                "and none is reachable",
                hint=_SESSION_HINT + "; or use --cgroup-manager=cgroupfs")
        slice_name = parent or host.default_slice
        if not slice_name.endswith(".slice") or "/" in slice_name:
            raise UsageError(f"--cgroup-parent {parent!r} is not a systemd slice",
                             hint="with the systemd cgroup manager give a slice name such as "
                                  "pdman.slice (or --cgroup-manager=cgroupfs for a path)")
        _check_controllers(limits, host.systemd_controllers, "your systemd user manager")
        return Plan("systemd", slice=slice_name)
    if parent:
        if not parent.startswith("/"):
            raise UsageError(f"--cgroup-parent {parent!r} is not a cgroup path",
                             hint="with the cgroupfs manager give a path such as "
                                  "/user.slice/user-1000.slice/user@1000.service/mine")
        if parent not in host.writable_paths:
            raise HostSupportError(f"the cgroup {parent} is not delegated to you",
                                   hint="give a --cgroup-parent inside a cgroup you own")
        _check_controllers(limits, host.writable_paths[parent], f"the cgroup {parent}")
        return Plan("cgroupfs", parent=parent)
    if host.own_writable:
        _check_controllers(limits, host.own_controllers, f"the cgroup {host.own}")
        return Plan("cgroupfs", parent=host.own)
    reason = ("no systemd user manager is reachable and the current cgroup is not delegated "
              "to you")
    _refuse(limits, reason)
    if manager == "cgroupfs":
        raise HostSupportError(f"--cgroup-manager=cgroupfs: the current cgroup {host.own} is "
                               "not delegated to you", hint=_SESSION_HINT)
    return Plan("none", why=reason)


def _refuse(limits: "dict[str, Any]", reason: str) -> None:
    if limits:
        asked = ", ".join(limitsmod.flag(k) for k in limits)
        raise HostSupportError(f"cannot enforce {asked} on this host: {reason}",
                               hint=_SESSION_HINT)


def _check_controllers(limits: "dict[str, Any]", have: "tuple[str, ...]", where: str) -> None:
    for flag, ctl in limitsmod.needs(limits):
        if ctl not in have:
            raise HostSupportError(
                f"cannot enforce {flag}: the {ctl} controller is not "
                f"delegated to {where} (delegated: {' '.join(have) or 'none'})",
                hint=f"delegate it, e.g. a drop-in for user@.service with "
                     f"`Delegate={' '.join(sorted({*have, ctl}))}`, or drop "
                     f"{flag}")


def probe(parent: str = "", own_cgroup_wanted: bool = False) -> Host:
    """Look at this host (reads only). `own_cgroup_wanted` (limits or split asked for):
    inside a systemd unit, find out whether the unit is delegated (the user manager is
    asked over D-Bus: its units' cgroups are the user's whether delegated or not)."""
    from pdman.cgroups import cgroupfs
    from pdman.cgroups.systemd import bus_address
    from pdman.config import is_root_mode

    if not cgroupfs.is_v2():
        return Host(v2=False, v1_reason=V1_REASON)
    own = cgroupfs.cgroup_of()
    leaf = own.rsplit("/", 1)[-1]
    unit = leaf if os.environ.get("INVOCATION_ID") and leaf.endswith(".service") else ""
    if is_root_mode():
        return _probe_root(parent, own_cgroup_wanted, own, unit)
    uid = os.getuid()
    manager_cg = f"/user.slice/user-{uid}.slice/user@{uid}.service"
    systemd = bus_address() is not None and (
        cgroupfs.exists(manager_cg) or bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")))
    sd_controllers = cgroupfs.controllers(manager_cg) if cgroupfs.exists(manager_cg) \
        else cgroupfs.controllers(own)
    own_writable = bool(own) and own != "/" and cgroupfs.writable(own)
    writable_paths: dict[str, tuple[str, ...]] = {}
    if parent.startswith("/") and cgroupfs.exists(parent) and cgroupfs.writable(parent):
        writable_paths[parent] = tuple(cgroupfs.controllers(parent))
    return Host(v2=True, systemd=systemd, systemd_controllers=tuple(sd_controllers), own=own,
                own_writable=own_writable, own_controllers=tuple(cgroupfs.controllers(own)),
                unit=unit, unit_delegated=bool(unit and own_cgroup_wanted and own_writable)
                and _delegated(own, unit, manager_cg),
                writable_paths=writable_paths)


def _probe_root(parent: str, own_cgroup_wanted: bool, own: str, unit: str) -> Host:
    """Root may write every cgroup, so writable says nothing: the system manager owns
    them all, and root's own cgroup counts as delegated only inside a system unit with
    Delegate=yes (asked over the system bus). Scopes go in machine.slice."""
    from pdman.cgroups import cgroupfs
    from pdman.cgroups.systemd import bus_address

    systemd = bus_address() is not None
    delegated = bool(unit and own_cgroup_wanted and systemd) and _unit_delegates(unit)
    writable_paths: dict[str, tuple[str, ...]] = {}
    if parent.startswith("/") and cgroupfs.exists(parent):
        writable_paths[parent] = tuple(cgroupfs.controllers(parent))
    return Host(v2=True, systemd=systemd, systemd_controllers=tuple(cgroupfs.controllers("/")),
                own=own, own_writable=delegated, own_controllers=tuple(cgroupfs.controllers(own)),
                unit=unit, unit_delegated=delegated, writable_paths=writable_paths,
                default_slice=ROOT_SLICE)


def _unit_delegates(unit: str) -> bool:
    from pdman.cgroups.systemd import UserManager

    try:
        with UserManager.connect() as manager:
            return bool(manager.unit_property(unit, "org.freedesktop.systemd1.Service",
                                              "Delegate"))
    except (PdmanError, OSError, ValueError):  # no answer: not proven delegated
        return False


def _delegated(rel: str, unit: str, manager_cg: str) -> bool:
    """Is the unit we run in delegated (Delegate=yes)? A user manager's unit: ask it (all
    its cgroups belong to the user, delegated or not). A system unit's cgroup is the
    user's only when delegated to the user, so writable says it."""
    if not rel.startswith(manager_cg + "/"):
        return True
    from pdman.cgroups.systemd import UserManager

    try:
        with UserManager.connect() as manager:
            value = manager.unit_property(unit, "org.freedesktop.systemd1.Service", "Delegate")
    except (PdmanError, OSError, ValueError):  # no answer: not proven delegated
        return False
    return bool(value)


__all__ = ["DEFAULT_SLICE", "ROOT_SLICE", "Host", "Plan", "decide", "probe"]
