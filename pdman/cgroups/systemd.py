"""The systemd user manager over D-Bus: one transient scope per container (as root,
the system manager on the system bus, as rootful podman's in machine.slice).

    with UserManager.connect() as manager:
        manager.start_scope("pdman-<id>.scope", "pdman.slice", pid, properties)
        manager.unit_result("pdman-<id>.scope")      # "oom-kill", "success", ...
        manager.stop_unit("pdman-<id>.scope")

`start_scope` is what `systemd-run --user --scope` does: StartTransientUnit with the
limits as unit properties, `Delegate=yes` (the container may manage its own subtree)
and `PIDs=[pid]`, then wait for the job to finish, so that the container is in its
cgroup, limits applied, before it is released to exec.

jeepney (pure Python) speaks the protocol; it is imported only here, on the path of
containers that get a scope.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pdman.errors import HostSupportError, RuntimeFailure

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
JOB_TIMEOUT = 30.0


#: the system bus (root mode: the system manager makes scopes, as for rootful podman)
SYSTEM_BUS = "/run/dbus/system_bus_socket"


def bus_address() -> str | None:
    """The user's session bus (dbus-user-session: $XDG_RUNTIME_DIR/bus), if any; in root
    mode the system bus, when systemd is the init system."""
    from pdman.config import is_root_mode

    if is_root_mode():
        if not os.path.isdir("/run/systemd/system"):
            return None                      # not booted with systemd
        addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
        if addr:
            return addr
        return f"unix:path={SYSTEM_BUS}" if os.path.exists(SYSTEM_BUS) else None
    addr = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if addr:
        return addr
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    path = os.path.join(runtime, "bus")
    return f"unix:path={path}" if os.path.exists(path) else None


class UserManager:
    """A connection to the user's systemd (org.freedesktop.systemd1 on the session bus)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    def connect(cls) -> "UserManager":
        from pdman.config import is_root_mode

        addr = bus_address()
        if addr is None and is_root_mode():
            raise HostSupportError(
                f"no D-Bus system bus for the systemd system manager ({SYSTEM_BUS})",
                hint="run pdman on a host booted with systemd (and dbus), or use "
                     "--cgroup-manager=cgroupfs with --cgroup-parent")
        if addr is None:
            raise HostSupportError(
                "no D-Bus session bus for the systemd user manager "
                "($DBUS_SESSION_BUS_ADDRESS unset and no $XDG_RUNTIME_DIR/bus)",
                hint="run pdman in a systemd login session (with dbus-user-session), or use "
                     "--cgroup-manager=cgroupfs in a delegated cgroup")
        from jeepney.io.blocking import open_dbus_connection

        try:
            # jeepney's default of 1 s fails under load (seen in the VM tier, a busy
            # dbus-daemon answers the auth handshake late); a stuck bus is still an error
            conn = open_dbus_connection(bus=addr, auth_timeout=10.0)
        except (OSError, ValueError) as e:
            raise HostSupportError(f"cannot connect to the D-Bus bus at {addr}: {e}",
                                   hint="is the user's dbus running? (`systemctl --user "
                                        "status dbus.socket`)") from e
        return cls(conn)

    def __enter__(self) -> "UserManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    # -- plumbing -------------------------------------------------------------
    def _call(self, path: str, iface: str, method: str, signature: str = "",
              body: tuple[Any, ...] = (), timeout: float = JOB_TIMEOUT) -> tuple[Any, ...]:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        msg = new_method_call(DBusAddress(path, bus_name=SYSTEMD, interface=iface),
                              method, signature, body)
        reply = self.conn.send_and_get_reply(msg, timeout=timeout)
        return tuple(unwrap_msg(reply))

    def _manager(self, method: str, signature: str = "", body: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        return self._call(MANAGER_PATH, MANAGER_IFACE, method, signature, body)

    # -- units ----------------------------------------------------------------
    def start_scope(self, name: str, slice_name: str, pid: int,
                    limits: list[tuple[str, str, Any]], description: str,
                    extra: list[tuple[str, str, Any]] | None = None) -> None:
        """Start the transient scope `name` in `slice_name` holding `pid`; return when
        its start job is done (the process is then in the scope's cgroup)."""
        props: list[tuple[str, tuple[str, Any]]] = [
            ("Description", ("s", description)),
            ("Slice", ("s", slice_name)),
            ("Delegate", ("b", True)),
            ("PIDs", ("au", [pid])),
            # a scope whose container failed (e.g. oom-kill) is still collected
            ("CollectMode", ("s", "inactive-or-failed")),
        ]
        props += [(k, (sig, v)) for k, sig, v in [*limits, *(extra or [])]]
        self._start_transient(name, props, "scope", "the container")

    def start_slice(self, name: str, limits: list[tuple[str, str, Any]],
                    description: str) -> bool:
        """Start the transient slice `name` (a pod's: its members' scopes go in it) with
        the limits as its properties; False when it is already there (another member
        started it first), its limits unchanged."""
        props: list[tuple[str, tuple[str, Any]]] = [("Description", ("s", description))]
        props += [(k, (sig, v)) for k, sig, v in limits]
        try:
            self._start_transient(name, props, "slice", "the pod")
        except RuntimeFailure as e:
            if isinstance(e.__cause__, Exception) and \
                    getattr(e.__cause__, "name", "") == "org.freedesktop.systemd1.UnitExists":
                return False
            raise
        return True

    def _start_transient(self, name: str, props: "list[tuple[str, tuple[str, Any]]]",
                         kind: str, what: str) -> None:
        """StartTransientUnit, then wait for its start job to finish."""
        from jeepney import MatchRule, message_bus
        from jeepney.wrappers import DBusErrorResponse

        # JobRemoved tells when the start job is done; subscribe before starting it
        bus_rule = MatchRule(type="signal", sender=SYSTEMD, interface=MANAGER_IFACE,
                             member="JobRemoved", path=MANAGER_PATH)
        local_rule = MatchRule(type="signal", interface=MANAGER_IFACE, member="JobRemoved",
                               path=MANAGER_PATH)
        from jeepney.wrappers import unwrap_msg

        unwrap_msg(self.conn.send_and_get_reply(message_bus.AddMatch(bus_rule), timeout=5))
        try:
            self._manager("Subscribe")
        except DBusErrorResponse:
            pass  # already subscribed by this connection: fine
        with self.conn.filter(local_rule, bufsize=64) as queue:
            try:
                (job,) = self._manager("StartTransientUnit", "ssa(sv)a(sa(sv))",
                                       (name, "fail", props, []))
            except DBusErrorResponse as e:
                raise RuntimeFailure(
                    f"systemd refused the {kind} {name} for {what}: {_text(e)}",
                    hint="see `journalctl --user -xe`; the limits are unit properties "
                         "(MemoryMax, CPUQuotaPerSecUSec, TasksMax, ...)") from e
            deadline = time.monotonic() + JOB_TIMEOUT
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeFailure(f"systemd did not start the {kind} {name} within "
                                         f"{JOB_TIMEOUT:.0f} s",
                                         hint="see `systemctl --user status " + name + "`")
                msg = self.conn.recv_until_filtered(queue, timeout=left)
                _id, path, unit, result = msg.body
                if path == job:
                    if result != "done":
                        raise RuntimeFailure(
                            f"systemd could not start the {kind} {unit} for {what}: "
                            f"job {result}",
                            hint=f"see `journalctl --user -u {unit}`")
                    return

    def attach_processes(self, unit: str, pids: list[int]) -> None:
        """Move more processes (the container's monitor) into the unit's cgroup."""
        from jeepney.wrappers import DBusErrorResponse

        try:
            self._manager("AttachProcessesToUnit", "ssau", (unit, "/", pids))
        except DBusErrorResponse as e:
            raise RuntimeFailure(f"cannot move processes {pids} into {unit}: {_text(e)}",
                                 hint="is the scope still running?") from e

    def _unit_path(self, name: str) -> str | None:
        from jeepney.wrappers import DBusErrorResponse

        try:
            (path,) = self._manager("GetUnit", "s", (name,))
        except DBusErrorResponse:
            return None  # not loaded: already gone (scopes are collected when empty)
        return str(path)

    def unit_property(self, name: str, iface: str, prop: str) -> Any:
        """A property of a loaded unit, or None when the unit is gone."""
        from jeepney.wrappers import DBusErrorResponse

        path = self._unit_path(name)
        if path is None:
            return None
        try:
            (value,) = self._call(path, "org.freedesktop.DBus.Properties", "Get", "ss",
                                  (iface, prop))
        except DBusErrorResponse:
            return None
        return value[1]  # (signature, value)

    def unit_result(self, name: str) -> str | None:
        """The scope's Result ("success", "oom-kill", ...), or None when it is gone."""
        value = self.unit_property(name, "org.freedesktop.systemd1.Scope", "Result")
        return None if value is None else str(value)

    def stop_unit(self, name: str) -> None:
        """Stop the unit (killing what is left in it) and forget a failed state; a unit
        that is already gone is fine."""
        from jeepney.wrappers import DBusErrorResponse

        try:
            self._manager("StopUnit", "ss", (name, "replace"))
        except DBusErrorResponse as e:
            if e.name != "org.freedesktop.systemd1.NoSuchUnit":
                raise RuntimeFailure(f"cannot stop {name}: {_text(e)}",
                                     hint=f"stop it by hand: `systemctl --user stop {name}`") from e
        try:
            self._manager("ResetFailedUnit", "s", (name,))
        except DBusErrorResponse:
            pass


def _text(e: Exception) -> str:
    data = getattr(e, "data", None)
    if isinstance(data, tuple) and data:
        return str(data[0])
    return str(e)


__all__ = ["UserManager", "bus_address"]
