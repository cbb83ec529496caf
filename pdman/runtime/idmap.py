"""User and group ID mappings of rootless containers.

A rootless container's user namespace maps container root to the user's own
ID and container IDs 1..N to the user's subordinate range from /etc/subuid and
/etc/subgid (written by the setuid helpers newuidmap/newgidmap). Without a
range, or without the helpers, the engine still runs with a single-ID mapping
(only container root exists); `IdMapping.warning` then says why, and the
caller prints it once.

`run_in_userns(fn, *args)` runs a Python function as root of such a user
namespace (layer extraction uses it to chown files to container IDs).
"""

from __future__ import annotations

import os
import pwd

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence   # (collections: ~1 ms)
    from typing import Any, NamedTuple, TypeVar

    T = TypeVar("T")
else:
    from pdman.namedtuple import NamedTuple

from pdman.runtime import tools
from pdman.runtime.fdio import read_all as _read_all, write_all as _write_all
from pdman.errors import HostSupportError, RuntimeFailure

SUBUID_FILE = "/etc/subuid"
SUBGID_FILE = "/etc/subgid"

#: uid_map/gid_map hold at most 340 lines (Linux >= 4.15)
MAX_EXTENTS = 340

class IdRange(NamedTuple):
    """One line of uid_map/gid_map: `size` IDs from container_id → host_id."""

    container_id: int
    host_id: int
    size: int


class SubIdRange(NamedTuple):
    """One entry of /etc/subuid or /etc/subgid for a user."""

    start: int
    size: int


class IdMapping(NamedTuple):
    uid_map: tuple[IdRange, ...]
    gid_map: tuple[IdRange, ...]
    single_id: bool = False
    #: why the single-ID fallback is in use; the caller prints it once
    warning: str | None = None
    #: root mode's default (podman's rootful `--userns=host`): no user namespace at all,
    #: container IDs are the host's; the maps shown are the host's identity map
    host: bool = False

    @property
    def size(self) -> int:
        """How many container UIDs exist (container root included)."""
        return sum(r.size for r in self.uid_map)

    def host_uid(self, container_uid: int) -> int | None:
        return _to_host(self.uid_map, container_uid)

    def host_gid(self, container_gid: int) -> int | None:
        return _to_host(self.gid_map, container_gid)


def _to_host(ranges: Iterable[IdRange], container_id: int) -> int | None:
    for r in ranges:
        if r.container_id <= container_id < r.container_id + r.size:
            return r.host_id + (container_id - r.container_id)
    return None


# ---- /etc/subuid, /etc/subgid ----


def parse_subid(text: str, user: str, uid: int) -> list[SubIdRange]:
    """The ranges of `user` (given by name or by numeric ID), in file order.

    Lines are `owner:start:count`; comments, blank and malformed lines and
    empty ranges are skipped, as shadow's tools do.
    """
    owners = {user, str(uid)}
    ranges: list[SubIdRange] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 3 or fields[0] not in owners:
            continue
        try:
            start, count = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if start < 0 or count <= 0:
            continue
        ranges.append(SubIdRange(start, count))
    return ranges


def _full_map(own_id: int, subids: Sequence[SubIdRange]) -> tuple[IdRange, ...]:
    """0 → own ID, then the subordinate ranges one after the other from 1."""
    extents = [IdRange(0, own_id, 1)]
    next_id = 1
    for sub in subids[: MAX_EXTENTS - 1]:
        extents.append(IdRange(next_id, sub.start, sub.size))
        next_id += sub.size
    return tuple(extents)


#: the identity map of the initial user namespace (uid_map "0 0 4294967295")
HOST_MAPPING = IdMapping((IdRange(0, 0, 4294967295),), (IdRange(0, 0, 4294967295),), host=True)


def single_id_mapping(uid: int, gid: int, warning: str | None = None) -> IdMapping:
    return IdMapping((IdRange(0, uid, 1),), (IdRange(0, gid, 1),), True, warning)


def build_mapping(
    user: str,
    uid: int,
    gid: int,
    subuids: Sequence[SubIdRange],
    subgids: Sequence[SubIdRange],
    *,
    helpers_found: bool = True,
) -> IdMapping:
    """The mapping for a user: full when there are ranges and helpers."""
    reason = None
    if not subuids:
        reason = f"no subordinate UID range for `{user}` in {SUBUID_FILE}"
    elif not subgids:
        reason = f"no subordinate GID range for `{user}` in {SUBGID_FILE}"
    elif not helpers_found:
        reason = "newuidmap/newgidmap not found (package `uidmap`)"
    if reason is not None:
        return single_id_mapping(
            uid,
            gid,
            f"{reason}: running with a single-ID mapping, where only root exists "
            f"in the container and files of other owners cannot be created. Fix: "
            f"add `{user}:100000:65536` to {SUBUID_FILE} and {SUBGID_FILE}",
        )
    return IdMapping(_full_map(uid, subuids), _full_map(gid, subgids))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def mapping_for_user(
    user: str,
    uid: int,
    gid: int,
    subuid_file: str = SUBUID_FILE,
    subgid_file: str = SUBGID_FILE,
) -> IdMapping:
    found = tools.find("newuidmap") is not None and tools.find("newgidmap") is not None
    return build_mapping(
        user,
        uid,
        gid,
        parse_subid(_read(subuid_file), user, uid),
        parse_subid(_read(subgid_file), user, uid),
        helpers_found=found,
    )


def mapping_for_current_user() -> IdMapping:
    """A user's subordinate-ID mapping; in root mode the host's own IDs (no user
    namespace: the container's root is the host's root, as rootful podman's). Read once
    per process (a plain memo: functools is not on `run`'s path)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = _mapping_for_current_user()
    return _CURRENT


_CURRENT: "IdMapping | None" = None


def _mapping_for_current_user() -> IdMapping:
    from pdman.config import is_root_mode

    if is_root_mode():
        return HOST_MAPPING
    uid, gid = os.getuid(), os.getgid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return mapping_for_user(user, uid, gid)


# ---- writing the maps of a process ----


def _tool_env() -> dict[str, str]:
    """The environment for setuid helpers: without a PyInstaller bundle's
    LD_LIBRARY_PATH (see hostenv)."""
    from pdman.runtime.hostenv import clean_env

    return clean_env()


def _map_args(ranges: Iterable[IdRange]) -> list[str]:
    return [str(n) for r in ranges for n in (r.container_id, r.host_id, r.size)]


def _start_tool(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    """posix_spawn (vfork speed, unlike subprocess' fork): pid, stderr fd."""
    r, w = os.pipe()
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, w, 2),
            ],
        )
    except BaseException:
        os.close(r)
        raise
    finally:
        os.close(w)
    return pid, r


def _finish_tool(pid: int, stderr_fd: int) -> tuple[int, str]:
    try:
        err = _read_all(stderr_fd)
    finally:
        os.close(stderr_fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err.decode(errors="replace").strip()


def _write_single(pid: int, mapping: IdMapping) -> None:
    # an unprivileged process may map its own IDs itself, once setgroups is
    # denied (a rule of user_namespaces(7))
    proc = f"/proc/{pid}"
    try:
        with open(f"{proc}/setgroups", "w") as f:
            f.write("deny")
        with open(f"{proc}/gid_map", "w") as f:
            f.write("".join(f"{r.container_id} {r.host_id} {r.size}\n" for r in mapping.gid_map))
        with open(f"{proc}/uid_map", "w") as f:
            f.write("".join(f"{r.container_id} {r.host_id} {r.size}\n" for r in mapping.uid_map))
    except OSError as exc:
        raise HostSupportError(
            f"writing the ID maps of process {pid}: {exc.strerror}",
            hint="check that unprivileged user namespaces are enabled",
        ) from exc


def _write_direct(pid: int, mapping: IdMapping) -> None:
    try:
        for name, ranges in (("gid_map", mapping.gid_map), ("uid_map", mapping.uid_map)):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write("".join(f"{r.container_id} {r.host_id} {r.size}\n" for r in ranges))
    except OSError as exc:
        raise HostSupportError(f"writing the ID maps of process {pid}: {exc.strerror}",
                               hint="check that user namespaces are enabled") from exc


def write_maps(pid: int, mapping: IdMapping) -> None:
    """Write uid_map and gid_map of `pid` (a child in a new user namespace)."""
    if mapping.host:
        return  # no user namespace was made: nothing to map
    if mapping.single_id:
        _write_single(pid, mapping)
        return
    from pdman.config import is_root_mode

    if is_root_mode():
        # root (--userns=auto's ranges are the `containers` entry's, not root's own:
        # newuidmap would refuse them) writes any map itself, setgroups left allowed
        _write_direct(pid, mapping)
        return
    env = _tool_env()
    started = []
    for tool, ranges in (("newuidmap", mapping.uid_map), ("newgidmap", mapping.gid_map)):
        path = tools.find(tool)
        if path is None:
            raise HostSupportError(f"{tool} not found", hint="install the `uidmap` package")
        argv = [path, str(pid), *_map_args(ranges)]
        started.append((argv, _start_tool(argv, env)))
    failures = []
    for argv, (tool_pid, err_fd) in started:  # both run at once: wait for both
        code, stderr = _finish_tool(tool_pid, err_fd)
        if code != 0:
            failures.append(f"`{' '.join(argv)}` exited with {code}: {stderr}")
    if failures:
        raise HostSupportError(
            "writing the ID maps failed: " + "; ".join(failures),
            hint=f"check the user's ranges in {SUBUID_FILE} and {SUBGID_FILE}, and that "
            "newuidmap/newgidmap are setuid root (or have file capabilities)",
        )


# ---- running Python code as root of a user namespace ----




def _userns_child(fn: Callable[..., Any], args: tuple[Any, ...], ready_w: int, go_r: int,
                  result_w: int, host: bool = False) -> None:
    """In the forked child: unshare, let the parent map us, become root, run."""
    import pickle

    from pdman.runtime import native

    outcome: tuple[str, Any]
    try:
        try:
            # root mode: the host's IDs already, a mount namespace of its own is enough
            native.unshare(native.UNSHARE_MOUNT if host else
                           native.UNSHARE_USER | native.UNSHARE_MOUNT)
        except BaseException:
            os.write(ready_w, b"0")  # nothing to map: the error follows
            raise
        os.write(ready_w, b"1")
        if os.read(go_r, 1) != b"1":
            os._exit(1)  # the parent gave up
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        # nothing fn mounts may reach the caller's mount namespace
        native.mount(None, "/", None, native.MS_REC | native.MS_PRIVATE, None)
        outcome = ("ok", fn(*args))
    except BaseException as exc:  # noqa: BLE001 - carried to the parent
        outcome = ("err", exc)
    try:
        payload = pickle.dumps(outcome)
    except Exception as exc:  # noqa: BLE001
        payload = pickle.dumps(("err", RuntimeFailure(
            f"run_in_userns: the outcome of {getattr(fn, '__name__', fn)!s} "
            f"cannot be pickled: {exc}")))
    _write_all(result_w, payload)


def run_in_userns(fn: Callable[..., T], *args: Any, mapping: IdMapping | None = None) -> T:
    """Run fn(*args) in a forked child that is root of a new user (and mount)
    namespace mapped with `mapping` (default: the current user's full range; in root
    mode the host's IDs, and only a mount namespace is new).

    Returns fn's (picklable) result; an exception raised by fn is raised here.
    The caller should be single-threaded or at least hold no locks the child
    needs: this is os.fork.
    """
    import pickle

    if mapping is None:
        mapping = mapping_for_current_user()
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into the caller's code
        code = 1
        try:
            os.close(ready_r)
            os.close(go_w)
            os.close(result_r)
            _userns_child(fn, args, ready_w, go_r, result_w, mapping.host)
            code = 0
        finally:
            os._exit(code)

    os.close(ready_w)
    os.close(go_r)
    os.close(result_w)
    try:
        if os.read(ready_r, 1) == b"1":
            try:
                write_maps(pid, mapping)
            except BaseException:
                os.close(go_w)  # the child sees EOF and exits
                go_w = -1
                raise
            os.write(go_w, b"1")
        payload = _read_all(result_r)
    finally:
        for fd in (ready_r, go_w, result_r):
            if fd >= 0:
                os.close(fd)
        _, status = os.waitpid(pid, 0)
    if not payload:
        raise RuntimeFailure(
            f"run_in_userns: child process exited without a result "
            f"(status {os.waitstatus_to_exitcode(status)})")
    kind, value = pickle.loads(payload)
    if kind == "err":
        if isinstance(value, BaseException):
            raise value
        raise RuntimeFailure(f"run_in_userns: {value!r}")
    return value  # type: ignore[no-any-return]


__all__ = [
    "HOST_MAPPING",
    "IdMapping",
    "IdRange",
    "SubIdRange",
    "build_mapping",
    "mapping_for_current_user",
    "mapping_for_user",
    "parse_subid",
    "run_in_userns",
    "single_id_mapping",
    "write_maps",
]
