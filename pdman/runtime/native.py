"""Typed bridge to `pdman._native`, the C helper (native/, cffi API mode).

The helper's API, structs and sync protocol are defined once, in
native/pdman.h; this module only converts `SpawnSpec` into those structs and
the helper's errors into the `PdmanError` hierarchy. The extension is
imported on first use (about 1 ms), so importing this module costs nothing.

    child = spawn(spec)        # clone; the child waits at sync 1
    ... write ID maps, network, cgroup for child.pid ...
    release(child)             # sync 2; returns once the command exec'd

or, with spec.network_late (pasta still starting once the maps are written):

    release_early(child)       # sync 2: the child builds its root meanwhile
    ... wait for the network ...
    network_ready(child)       # sync 9; returns once the command exec'd

`pdman.runtime.spawn.spawn_container` does exactly that.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple, NoReturn
else:
    from pdman.namedtuple import NamedTuple

from pdman.errors import (
    CommandNotExecutableError,
    CommandNotFoundError,
    HostSupportError,
    RuntimeFailure,
    UsageError,
)
from pdman.record import Record

#: podman's default capabilities (containers.conf `default_capabilities`)
DEFAULT_CAPS: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
)

#: podman's masked paths: a directory gets a read-only empty tmpfs, a file /dev/null
DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block",
    "/sys/devices/virtual/powercap",
)

DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
    "/proc/sysrq-trigger",
)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: capability numbers of linux/capability.h
CAPABILITIES: dict[str, int] = {
    name: number for number, name in enumerate((
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
        "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
        "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
        "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
        "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
        "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
        "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
    ))
}

# mount(2) flags of linux/mount.h, for `mount()` below
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

RLIM_INFINITY = 2**64 - 1


# ---- the spec ----
# Value types are NamedTuples and SpawnSpec a `Record` (pdman/record.py): this
# module is on `run`'s hot path, and a frozen dataclass costs ~0.6 ms to create at
# import on this machine kind (a NamedTuple ~0.15 ms), on top of importing dataclasses.


class OverlayRootfs(NamedTuple):
    """An overlay of image layers; `lowerdirs` top-most first. With
    `linkdir`, lowerdirs are short names relative to it (containers/storage's
    `l/` links), so that 128+ layers fit the one page mount(2) reads."""

    mountpoint: str
    lowerdirs: Sequence[str]
    upperdir: str
    workdir: str
    linkdir: str | None = None
    userxattr: bool = True


class DirRootfs(NamedTuple):
    """A plain directory, bind-mounted as the root (tests, `--rootfs`)."""

    path: str


class BindMount(NamedTuple):
    source: str
    destination: str
    readonly: bool = False
    recursive: bool = True
    nosuid: bool = False
    nodev: bool = False
    noexec: bool = False


class TmpfsMount(NamedTuple):
    destination: str
    #: mount data, e.g. "size=64m,mode=1777"
    options: str = "mode=1777"
    readonly: bool = False
    nosuid: bool = True
    nodev: bool = True
    noexec: bool = False


class Rlimit(NamedTuple):
    #: "nofile", "RLIMIT_NOFILE" or the number; -1 for unlimited
    resource: str | int
    soft: int
    hard: int


class SpawnSpec(Record):
    """Everything the helper needs to start one container process."""

    _required = ("argv", "rootfs")

    argv: Sequence[str]
    rootfs: OverlayRootfs | DirRootfs
    env: Mapping[str, str] = {"PATH": DEFAULT_PATH}   # read, never changed
    cwd: str = "/"
    cwd_must_exist: bool = False   # a user's --workdir: not created when missing
    uid: int = 0
    gid: int = 0
    additional_gids: Sequence[int] = ()
    hostname: str | None = None
    mounts: Sequence[BindMount] = ()
    tmpfs: Sequence[TmpfsMount] = ()
    masked_paths: Sequence[str] = DEFAULT_MASKED_PATHS
    readonly_paths: Sequence[str] = DEFAULT_READONLY_PATHS
    #: the bounding, effective, permitted, inheritable and ambient sets
    caps: Sequence[str] = DEFAULT_CAPS
    rlimits: Sequence[Rlimit] = ()
    no_new_privs: bool = False
    #: the compiled seccomp filter (runtime/seccomp.filter_for), loaded last; None: none
    seccomp_filter: bytes | None = None
    readonly_rootfs: bool = False
    #: fds that become the container's 0, 1, 2 (-1: /dev/null)
    stdio: tuple[int, int, int] = (0, 1, 2)
    #: fds 3..3+preserve_fds-1 are passed on (podman's --preserve-fds)
    preserve_fds: int = 0
    #: fd 0 (a pty slave; `run -t`) becomes the controlling terminal of the new
    #: session every container and exec'd process gets
    controlling_tty: bool = False
    share_net: bool = False
    #: root mode: no user namespace of its own (the host's IDs; no maps to write)
    share_user: bool = False
    #: join these namespaces (paths such as /proc/PID/ns/user) instead of
    #: creating new ones: `container:ID` and user-defined networks
    join_userns: str | None = None
    join_netns: str | None = None
    #: a pod's shared IPC and UTS namespaces (with join_userns: their owner)
    join_ipcns: str | None = None
    join_utsns: str | None = None
    share_ipc: bool = False
    share_uts: bool = False
    share_cgroup: bool = False
    #: --pid=host: no PID namespace of its own (the host's /proc bound)
    share_pid: bool = False
    #: --pid=container:ID: that container's PID namespace (with join_userns: its owner)
    join_pidns: str | None = None
    #: signal the container gets when the spawning thread dies (0: none)
    parent_death_signal: int = 0
    #: seconds the child may take to reach each sync point
    timeout: float = 30.0
    #: --umask of the process (None: inherited)
    umask: int | None = None
    #: --sysctl: (key, value) pairs written in the container's namespaces
    sysctls: Sequence[tuple[str, str]] = ()
    #: --personality: personality(2)'s domain (None: inherited)
    personality: int | None = None
    #: the network's helper (pasta) is still starting when the child is released:
    #: `release_early`, then `network_ready` once it is; the command waits for that
    network_late: bool = False
    #: with network_late: the child stays dumpable until `network_ready` (the helper
    #: opens /proc/PID/ns/*); only for a child alone in a PID namespace of its own
    network_late_dumpable: bool = False
    #: with network_late: the default-route families (1 IPv4, 2 IPv6) whose routes in
    #: its network namespace tell the child the network is configured -- it goes on by
    #: itself then, and the caller waits with `wait_exec` (or `network_seen`)
    network_watch: int = 0


class SpawnedChild:
    """A child between `spawn` and `release`: waiting at sync 1."""

    __slots__ = ("_keepalive", "_result", "pid")

    def __init__(self, pid: int, result: Any, keepalive: list[Any]) -> None:
        self.pid = pid
        self._result = result  # struct pdman_spawn_result
        self._keepalive = keepalive  # the spec's buffers, until release

    def __repr__(self) -> str:
        return f"SpawnedChild(pid={self.pid})"


# ---- the extension, on first use ----


def _installed_extension() -> Any:
    """pdman._native from another `pdman` on sys.path: in a source checkout
    put first on sys.path (pytest run from the repo, `python -m`), the
    package has no compiled helper, but the installed copy of it has."""
    import glob
    import importlib.util
    import sys

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for entry in sys.path:
        pkg = os.path.join(os.path.abspath(entry or "."), "pdman")
        if os.path.abspath(pkg) == here:
            continue
        for path in sorted(glob.glob(os.path.join(pkg, "_native.*so"))):
            spec = importlib.util.spec_from_file_location("pdman._native", path)
            if spec is None or spec.loader is None:
                continue
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            sys.modules["pdman._native"] = mod
            return mod
    return None


def _native() -> tuple[Any, Any]:
    """The compiled helper's (ffi, lib), loaded once (a plain memo: functools is not on
    `run`'s path)."""
    global _LOADED
    if _LOADED is None:
        _LOADED = _load_native()
    return _LOADED


_LOADED: "tuple[Any, Any] | None" = None


def _load_native() -> tuple[Any, Any]:
    try:
        from pdman import _native as mod  # type: ignore[attr-defined]
    except ImportError as exc:
        mod = _installed_extension()
        if mod is None:
            raise HostSupportError(
                f"the native helper pdman._native is not built: {exc}",
                hint="reinstall pdman (`pip install .` compiles native/; "
                "`python native/build_native.py` builds it in place)",
            ) from exc
    return mod.ffi, mod.lib


def __getattr__(name: str) -> int:
    """PDMAN_* constants of pdman.h without the prefix, e.g. UNSHARE_USER."""
    if name.isupper():
        _, lib = _native()
        value = getattr(lib, "PDMAN_" + name, None)
        if isinstance(value, int):
            return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fail(ffi: Any, err: Any, *, namespaces: bool = True) -> NoReturn:
    """Raise the PdmanError for a helper error (`namespaces`: the call made
    namespaces, so EPERM in the caller means the host forbids it)."""
    _, lib = _native()
    message = ffi.string(err.msg).decode(errors="replace")
    kind, errnum = err.kind, err.errnum
    if kind == lib.PDMAN_ERR_EXEC and errnum == errno.ENOENT:
        raise CommandNotFoundError(message, hint="check the command and the image's PATH")
    if kind == lib.PDMAN_ERR_EXEC and errnum == errno.EACCES:
        raise CommandNotExecutableError(message, hint="the file is not executable")
    if namespaces and kind == lib.PDMAN_ERR_HOST and errnum in (
            errno.EPERM, errno.ENOSPC, errno.EUSERS):
        raise HostSupportError(
            message,
            hint="unprivileged user namespaces may be disabled or exhausted "
            "(/proc/sys/user/max_user_namespaces, kernel.unprivileged_userns_clone)",
        )
    if kind == lib.PDMAN_ERR_TIMEOUT:
        raise RuntimeFailure(f"{message} (the container process did not answer)")
    if message.startswith("workdir ") and errnum == errno.ENOENT:
        # podman: a missing --workdir is "cannot invoke", 126
        raise CommandNotExecutableError(message, hint="create it in the image, or give "
                                        "an existing --workdir")
    if "setrlimit" in message and errnum == errno.EPERM:
        raise RuntimeFailure(message, hint="a container cannot go above the hard limit of the "
                             "process that starts it (`ulimit -H -a`; root too, without "
                             "CAP_SYS_RESOURCE): lower the --ulimit")
    raise RuntimeFailure(message)


# ---- converting the spec ----


def cap_mask(names: Sequence[str]) -> int:
    mask = 0
    for name in names:
        key = name.upper().removeprefix("CAP_")
        if key == "ALL":
            return (1 << len(CAPABILITIES)) - 1
        if key not in CAPABILITIES:
            raise UsageError(f"unknown capability `{name}`")
        mask |= 1 << CAPABILITIES[key]
    return mask


def _rlimit_resource(resource: str | int) -> int:
    if isinstance(resource, int):
        return resource
    import resource as rlim  # stdlib, cheap; only needed with rlimits

    name = resource.upper()
    if not name.startswith("RLIMIT_"):
        name = "RLIMIT_" + name
    value = getattr(rlim, name, None)
    if not isinstance(value, int):
        raise UsageError(f"unknown rlimit `{resource}`")
    return value


def _limit(value: int) -> int:
    return RLIM_INFINITY if value < 0 else value


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


class _Builder:
    """Allocates cffi buffers and keeps every one alive with the struct."""

    def __init__(self, ffi: Any) -> None:
        self.ffi = ffi
        self.keep: list[Any] = []
        #: fds the caller closes once the helper used them
        self.fds: list[int] = []

    def new(self, ctype: str, init: Any = None) -> Any:
        obj = self.ffi.new(ctype, init)
        self.keep.append(obj)
        return obj

    def cstr(self, value: str | None) -> Any:
        if value is None:
            return self.ffi.NULL
        return self.new("char[]", os.fsencode(value))

    def strv(self, values: Sequence[str]) -> Any:
        return self.new("char *[]", [self.cstr(v) for v in values] + [self.ffi.NULL])


def _check_overlay_path(path: str) -> None:
    if any(c in path for c in ",:\n"):
        raise RuntimeFailure(f"overlay path `{path}` contains `,` or `:`, which mount "
                             "options cannot carry")


def _fill_rootfs(b: _Builder, c: Any, rootfs: OverlayRootfs | DirRootfs) -> None:
    if isinstance(rootfs, DirRootfs):
        c.rootfs = b.cstr(os.path.abspath(rootfs.path))
        return
    for path in (*rootfs.lowerdirs, rootfs.upperdir, rootfs.workdir):
        _check_overlay_path(path)
    if not rootfs.lowerdirs:
        raise RuntimeFailure("overlay rootfs without lower layers")
    c.rootfs = b.cstr(os.path.abspath(rootfs.mountpoint))
    c.lowerdirs = b.strv(rootfs.lowerdirs)
    c.n_lowerdirs = len(rootfs.lowerdirs)
    c.upperdir = b.cstr(os.path.abspath(rootfs.upperdir))
    c.workdir = b.cstr(os.path.abspath(rootfs.workdir))
    c.linkdir = b.cstr(rootfs.linkdir)
    c.overlay_userxattr = int(rootfs.userxattr)


def _fill_mounts(b: _Builder, c: Any, spec: SpawnSpec) -> None:
    _, lib = _native()
    entries: list[tuple[str, str | None, str | None, str | None, int]] = []
    for m in spec.mounts:
        flags = lib.PDMAN_MOUNT_BIND
        flags |= lib.PDMAN_MOUNT_RECURSIVE if m.recursive else 0
        flags |= lib.PDMAN_MOUNT_READONLY if m.readonly else 0
        flags |= lib.PDMAN_MOUNT_NOSUID if m.nosuid else 0
        flags |= lib.PDMAN_MOUNT_NODEV if m.nodev else 0
        flags |= lib.PDMAN_MOUNT_NOEXEC if m.noexec else 0
        entries.append((m.destination, os.path.abspath(m.source), None, None, flags))
    for t in spec.tmpfs:
        flags = lib.PDMAN_MOUNT_READONLY if t.readonly else 0
        flags |= lib.PDMAN_MOUNT_NOSUID if t.nosuid else 0
        flags |= lib.PDMAN_MOUNT_NODEV if t.nodev else 0
        flags |= lib.PDMAN_MOUNT_NOEXEC if t.noexec else 0
        entries.append((t.destination, "tmpfs", "tmpfs", t.options or None, flags))
    # a parent before anything mounted below it
    entries.sort(key=lambda e: _depth(e[0]))
    array = b.new("struct pdman_mount[]", max(len(entries), 1))
    for i, (dest, source, fstype, data, flags) in enumerate(entries):
        if not dest.startswith("/"):
            raise RuntimeFailure(f"mount destination `{dest}` is not an absolute path")
        array[i].destination = b.cstr(dest)
        array[i].source = b.cstr(source)
        array[i].fstype = b.cstr(fstype)
        array[i].data = b.cstr(data)
        array[i].flags = flags
    c.mounts = array
    c.n_mounts = len(entries)


def _to_c(spec: SpawnSpec, b: _Builder | None = None) -> tuple[Any, list[Any]]:
    ffi, lib = _native()
    if not spec.argv:
        raise RuntimeFailure("no command given")
    b = b or _Builder(ffi)
    c = b.new("struct pdman_spawn_spec *")
    c.argv = b.strv(spec.argv)
    c.envp = b.strv([f"{k}={v}" for k, v in spec.env.items()])
    c.cwd = b.cstr(spec.cwd)
    c.cwd_must_exist = int(spec.cwd_must_exist)
    c.uid, c.gid = spec.uid, spec.gid
    c.additional_gids = b.new("uint32_t[]", list(spec.additional_gids) or [0])
    c.n_additional_gids = len(spec.additional_gids)
    c.hostname = b.cstr(spec.hostname)
    _fill_rootfs(b, c, spec.rootfs)
    c.readonly_rootfs = int(spec.readonly_rootfs)
    _fill_mounts(b, c, spec)
    c.masked_paths = b.strv(spec.masked_paths)
    c.n_masked_paths = len(spec.masked_paths)
    c.readonly_paths = b.strv(spec.readonly_paths)
    c.n_readonly_paths = len(spec.readonly_paths)
    caps = cap_mask(spec.caps)
    # podman's sets (OCI's defaults since CVE-2022-27651): root in the container gets the
    # set as effective and permitted; another user gets none, and nothing is inheritable
    # or ambient, so a non-root process cannot act as root inside the container (write
    # root's files, chown ...). The bounding set caps what setuid programs can regain.
    c.cap_bounding = caps
    c.cap_effective = c.cap_permitted = caps if spec.uid == 0 else 0
    c.cap_inheritable = c.cap_ambient = 0
    limits = b.new("struct pdman_rlimit[]", max(len(spec.rlimits), 1))
    for i, r in enumerate(spec.rlimits):
        limits[i].resource = _rlimit_resource(r.resource)
        limits[i].soft, limits[i].hard = _limit(r.soft), _limit(r.hard)
    c.rlimits, c.n_rlimits = limits, len(spec.rlimits)
    c.no_new_privs = int(spec.no_new_privs)
    if spec.umask is not None:
        c.set_umask = 1
        c.umask = spec.umask
    if spec.sysctls:
        c.sysctl_keys = b.strv([k for k, _ in spec.sysctls])
        c.sysctl_values = b.strv([v for _, v in spec.sysctls])
        c.n_sysctls = len(spec.sysctls)
    if spec.personality is not None:
        c.set_personality = 1
        c.personality = spec.personality
    if spec.seccomp_filter:
        buf = b.ffi.from_buffer("uint8_t[]", spec.seccomp_filter)
        b.keep += [spec.seccomp_filter, buf]
        c.seccomp_filter = buf
        c.seccomp_filter_len = len(spec.seccomp_filter)
    c.stdio = list(spec.stdio)
    c.preserve_fds = spec.preserve_fds
    c.controlling_tty = int(spec.controlling_tty)
    c.share = ((lib.PDMAN_SHARE_NET if spec.share_net else 0)
               | (lib.PDMAN_SHARE_USER if spec.share_user else 0)
               | (lib.PDMAN_SHARE_IPC if spec.share_ipc else 0)
               | (lib.PDMAN_SHARE_UTS if spec.share_uts else 0)
               | (lib.PDMAN_SHARE_CGROUP if spec.share_cgroup else 0)
               | (lib.PDMAN_SHARE_PID if spec.share_pid else 0))
    _fill_join(b, c, spec)
    c.parent_death_signal = spec.parent_death_signal
    c.network_late = int(spec.network_late)
    c.network_late_dumpable = int(spec.network_late and spec.network_late_dumpable)
    c.network_watch = int(spec.network_watch) if spec.network_late else 0
    c.timeout_ms = max(1, int(spec.timeout * 1000))
    return c, b.keep


def _open_namespace(b: _Builder, path: str) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeFailure(f"opening the namespace to join {path}: {exc.strerror}") from exc
    b.fds.append(fd)
    return fd


def _fill_join(b: _Builder, c: Any, spec: SpawnSpec) -> None:
    _, lib = _native()
    c.join = 0
    if (spec.join_netns or spec.join_ipcns or spec.join_utsns or spec.join_pidns) \
            and not spec.join_userns:
        raise RuntimeFailure("joining a namespace needs the user namespace that owns it")
    if spec.join_userns:
        c.join |= lib.PDMAN_JOIN_USER
        c.join_userns_fd = _open_namespace(b, spec.join_userns)
    if spec.join_netns:
        c.join |= lib.PDMAN_JOIN_NET
        c.join_netns_fd = _open_namespace(b, spec.join_netns)
    if spec.join_ipcns:
        c.join |= lib.PDMAN_JOIN_IPC
        c.join_ipcns_fd = _open_namespace(b, spec.join_ipcns)
    if spec.join_utsns:
        c.join |= lib.PDMAN_JOIN_UTS
        c.join_utsns_fd = _open_namespace(b, spec.join_utsns)
    if spec.join_pidns:
        c.join |= lib.PDMAN_JOIN_PID
        c.join_pidns_fd = _open_namespace(b, spec.join_pidns)


# ---- the calls ----


def spawn(spec: SpawnSpec) -> SpawnedChild:
    """Clone the container process; it waits (sync 1) for `release`."""
    ffi, lib = _native()
    b = _Builder(ffi)
    try:
        c, keep = _to_c(spec, b)
        res = ffi.new("struct pdman_spawn_result *")
        err = ffi.new("struct pdman_error *")
        ret = lib.pdman_spawn(c, res, err)
    finally:
        for fd in b.fds:
            os.close(fd)
    if ret < 0:
        _fail(ffi, err)
    return SpawnedChild(res.pid, res, [c, *keep])


def _until_exec(child: SpawnedChild, function: str, timeout: float) -> None:
    """Call the helper's `function` that returns once the child exec'd (or failed:
    raised here, the child reaped)."""
    ffi, lib = _native()
    err = ffi.new("struct pdman_error *")
    ret = getattr(lib, function)(child._result, max(1, int(timeout * 1000)), err)
    child._keepalive.clear()
    if ret < 0:
        _fail(ffi, err)


def release(child: SpawnedChild, timeout: float = 30.0) -> None:
    """Let the child go on (sync 2) and return once its command exec'd.

    Raises CommandNotFoundError (127), CommandNotExecutableError (126) or
    RuntimeFailure with the child's own message; the child is reaped then.
    """
    _until_exec(child, "pdman_release", timeout)


def release_early(child: SpawnedChild) -> None:
    """With `network_late`: let the child build its root (sync 2) while its network
    is still being set up; it then waits for `network_ready`. Raises RuntimeFailure
    only when the sync socket fails (the child is reaped then); a child that died
    meanwhile is reported by `network_ready`."""
    ffi, lib = _native()
    err = ffi.new("struct pdman_error *")
    if lib.pdman_release_early(child._result, err) < 0:
        child._keepalive.clear()
        _fail(ffi, err)


def network_ready(child: SpawnedChild, timeout: float = 30.0) -> None:
    """After `release_early`: the network is configured (sync 9); returns once the
    command exec'd, raising as `release` does."""
    _until_exec(child, "pdman_network_ready", timeout)


def wait_exec(child: SpawnedChild, timeout: float = 30.0) -> None:
    """With `network_watch`, after `release_early`, once the child went on by itself
    (its sync socket became readable): returns once the command exec'd, raising as
    `release` does."""
    _until_exec(child, "pdman_wait_exec", timeout)


def network_seen(child: SpawnedChild, timeout: float = 30.0) -> None:
    """With `network_watch`: the helper is ready before the child saw it (sync 9,
    which a child gone on by itself no longer reads); then as `wait_exec`."""
    _until_exec(child, "pdman_network_seen", timeout)


def sync_fd(child: SpawnedChild) -> int:
    """The parent's end of the child's sync socket (readable at its execve or error)."""
    return int(child._result.sync_fd)


def abort(child: SpawnedChild) -> None:
    """Kill and reap a child that will not be released."""
    _, lib = _native()
    lib.pdman_abort(child._result)
    child._keepalive.clear()


def unshare(flags: int) -> None:
    """unshare(2) the calling process; flags UNSHARE_USER | UNSHARE_MOUNT
    (the kernel's CLONE_NEWUSER and CLONE_NEWNS)."""
    ffi, lib = _native()
    err = ffi.new("struct pdman_error *")
    if lib.pdman_unshare(flags, err) < 0:
        _fail(ffi, err)


def join_namespace(path: str, nstype: int = 0) -> None:
    """setns(2) of the calling process into the namespace at `path` (e.g.
    /proc/PID/ns/net); nstype UNSHARE_USER, UNSHARE_NET, ... or 0 for any.
    Joining a user namespace needs a single-threaded process: a forked helper."""
    ffi, lib = _native()
    err = ffi.new("struct pdman_error *")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise RuntimeFailure(f"opening the namespace {path}: {exc.strerror}") from exc
    try:
        if lib.pdman_join_namespace(fd, nstype, err) < 0:
            ffi_msg = ffi.string(err.msg).decode(errors="replace")
            raise RuntimeFailure(f"joining the namespace {path}: {ffi_msg}")
    finally:
        os.close(fd)


def keep_caps(names: Sequence[str]) -> None:
    """Keep only the capabilities `names` (bounding, permitted, effective; ambient and
    inheritable cleared) and set no_new_privs: for pdman's own helper processes."""
    ffi, lib = _native()
    err = ffi.new("struct pdman_error *")
    if lib.pdman_keep_caps(cap_mask(names), err) < 0:
        _fail(ffi, err, namespaces=False)


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None) -> None:
    """mount(2), raising RuntimeFailure that names source and target."""
    ffi, lib = _native()
    b = _Builder(ffi)
    err = ffi.new("struct pdman_error *")
    if lib.pdman_mount(b.cstr(source), b.cstr(target), b.cstr(fstype), flags,
                       b.cstr(data), err) < 0:
        _fail(ffi, err, namespaces=False)


def umount(target: str, flags: int = 0) -> None:
    """umount2(2), raising RuntimeFailure that names the target."""
    ffi, lib = _native()
    b = _Builder(ffi)
    err = ffi.new("struct pdman_error *")
    if lib.pdman_umount(b.cstr(target), flags, err) < 0:
        _fail(ffi, err, namespaces=False)
