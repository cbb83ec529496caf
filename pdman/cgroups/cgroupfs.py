"""cgroup v2 files, for the cases where pdman manages the cgroup itself (a delegated,
writable subtree and no systemd user manager, `--cgroup-manager=cgroupfs`, or a
container inside a systemd unit with `Delegate=yes`) and for reading and freezing
any container's cgroup, whoever made it.

Paths are given relative to the unified hierarchy's mount, as /proc/PID/cgroup says
them ("/user.slice/user-1000.slice/..."). Nothing here writes where the user has no
write access: the kernel would refuse anyway, and pdman refuses first, with a hint.
"""

from __future__ import annotations

import errno
import os
import time

from pdman.errors import HostSupportError, RuntimeFailure

MOUNT = "/sys/fs/cgroup"
SUPERVISOR = "pdman-supervisor"  # where the caller's processes move so the parent may
                                 # enable controllers (cgroup v2: no internal processes)


def is_v2() -> bool:
    return os.path.exists(os.path.join(MOUNT, "cgroup.controllers"))


def cgroup_of(pid: int | str = "self") -> str:
    """The process' cgroup v2 path ("/user.slice/..."), "" when it has none."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return ""


def fs_path(rel: str) -> str:
    return os.path.join(MOUNT, rel.lstrip("/"))


def exists(rel: str) -> bool:
    return bool(rel) and os.path.isdir(fs_path(rel))


def read(rel: str, name: str) -> str:
    with open(os.path.join(fs_path(rel), name)) as f:
        return f.read()


def read_or(rel: str, name: str, default: str = "") -> str:
    try:
        return read(rel, name)
    except OSError:
        return default


def write(rel: str, name: str, value: str) -> None:
    path = os.path.join(fs_path(rel), name)
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise RuntimeFailure(f"cannot write {value!r} to {path}: {e.strerror}",
                             hint="is this cgroup delegated to you, with that controller "
                                  "enabled?") from e


def controllers(rel: str) -> list[str]:
    return read_or(rel, "cgroup.controllers").split()


def writable(rel: str) -> bool:
    """Delegated to us: we may create children and move processes in."""
    path = fs_path(rel)
    return (os.access(path, os.W_OK)
            and os.access(os.path.join(path, "cgroup.procs"), os.W_OK)
            and os.access(os.path.join(path, "cgroup.subtree_control"), os.W_OK))


def enable_controllers(parent: str, wanted: list[str]) -> list[str]:
    """Enable `wanted` (those available) for the children of `parent`; the enabled list.

    cgroup v2 lets a cgroup hand controllers to its children only while it holds no
    processes itself; where it does (the caller's own cgroup, a unit's cgroup), those
    processes move into the child `pdman-supervisor` first, as podman's split mode does.
    """
    available = controllers(parent)
    want = [c for c in wanted if c in available]
    have = read_or(parent, "cgroup.subtree_control").split()
    missing = [c for c in want if c not in have]
    if not missing:
        return want
    if parent.strip("/") and read_or(parent, "cgroup.procs").strip():
        # evacuate first, not only on EBUSY: the kernel lets THREADED controllers (cpu,
        # pids) be enabled in a cgroup that holds processes -- which makes it a thread
        # root, its new children invalid domains, and moving a container into one fails
        # with EOPNOTSUPP (seen in a Quadlet unit's cgroup with --cgroups=split)
        _evacuate(parent)
    line = " ".join("+" + c for c in missing)
    path = os.path.join(fs_path(parent), "cgroup.subtree_control")
    for attempt in range(2):
        try:
            with open(path, "w") as f:
                f.write(line)
            return want
        except OSError as e:
            if e.errno != errno.EBUSY or attempt:
                raise RuntimeFailure(f"cannot enable the {', '.join(missing)} controller(s) "
                                     f"in {fs_path(parent)}: {e.strerror}",
                                     hint="the cgroup must be delegated to you (systemd: "
                                          "Delegate=yes)") from e
            _evacuate(parent)
    return want


def _evacuate(parent: str) -> None:
    """Move every process of `parent` into its `pdman-supervisor` child."""
    sup = os.path.join(parent, SUPERVISOR)
    os.makedirs(fs_path(sup), exist_ok=True)
    for _ in range(10):  # processes may fork while we move them
        pids = read_or(parent, "cgroup.procs").split()
        if not pids:
            return
        for pid in pids:
            try:
                write(sup, "cgroup.procs", pid)
            except RuntimeFailure:
                pass  # it exited meanwhile
    raise RuntimeFailure(f"cannot empty {fs_path(parent)} to enable controllers",
                         hint="processes keep appearing there; use --cgroup-parent")


def create(rel: str, files: list[tuple[str, str]], optional: frozenset[str] = frozenset()) -> None:
    """Make the cgroup `rel` and write its limit files; on failure nothing is left."""
    path = fs_path(rel)
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    except OSError as e:
        raise RuntimeFailure(f"cannot create the cgroup {path}: {e.strerror}",
                             hint="is its parent delegated to you?") from e
    try:
        for name, value in files:
            if name in optional and not os.path.exists(os.path.join(path, name)):
                continue  # e.g. memory.swap.max without swap accounting, not asked for
            write(rel, name, value)
    except BaseException:
        remove(rel)
        raise


def move(rel: str, pid: int) -> None:
    write(rel, "cgroup.procs", str(pid))


def leave(rel: str) -> None:
    """Move this process out of `rel` (into its parent's `pdman-supervisor`, since the
    parent hands controllers down and so may hold no processes), so `rel` can go."""
    parent = rel.rstrip("/").rsplit("/", 1)[0] or "/"
    sup = os.path.join(parent, SUPERVISOR)
    os.makedirs(fs_path(sup), exist_ok=True)
    move(sup, os.getpid())


def remove(rel: str, timeout: float = 5.0) -> None:
    """Kill what is left in the cgroup and remove it (children first)."""
    path = fs_path(rel)
    if not os.path.isdir(path):
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            remove(os.path.join(rel, entry.name), timeout)
    if os.path.exists(os.path.join(path, "cgroup.kill")):
        try:
            write(rel, "cgroup.kill", "1")
        except RuntimeFailure:
            pass
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise RuntimeFailure(f"cannot remove the cgroup {path}: {e.strerror}",
                                     hint="processes are still in it") from e
            time.sleep(0.02)


def freeze(rel: str, frozen: bool, timeout: float = 10.0) -> None:
    """cgroup.freeze, then wait for cgroup.events to say the state was reached."""
    if not os.path.exists(os.path.join(fs_path(rel), "cgroup.freeze")):
        raise HostSupportError(f"the cgroup {fs_path(rel)} has no freezer",
                               hint="pause needs cgroup v2 on kernel 5.2 or later")
    write(rel, "cgroup.freeze", "1" if frozen else "0")
    want = f"frozen {1 if frozen else 0}"
    deadline = time.monotonic() + timeout
    while want not in read_or(rel, "cgroup.events").splitlines():
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"the cgroup {fs_path(rel)} did not "
                                 f"{'freeze' if frozen else 'thaw'} within {timeout:.0f} s",
                                 hint="see its cgroup.events")
        time.sleep(0.01)


def event_count(rel: str, name: str, key: str) -> int:
    """One counter of a flat-keyed file such as memory.events ("oom_kill 1")."""
    for line in read_or(rel, name).splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            try:
                return int(v)
            except ValueError:
                return 0
    return 0


__all__ = ["MOUNT", "cgroup_of", "controllers", "create", "enable_controllers", "event_count",
           "exists", "freeze", "fs_path", "is_v2", "leave", "move", "read", "read_or",
           "remove", "writable", "write"]
