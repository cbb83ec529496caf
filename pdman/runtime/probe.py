"""Probes of what this host lets an unprivileged user do (for `pdman info` and for
choosing between native overlay and fuse-overlayfs, pasta and slirp4netns).

Probes that cost a fork are cached in the runroot, keyed by kernel release, since the
answer only changes with the kernel or its sysctls (a reboot wipes the runroot).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000


def userns_supported() -> bool:
    try:
        if int(Path("/proc/sys/user/max_user_namespaces").read_text()) == 0:
            return False
    except (OSError, ValueError):
        return False
    setting = Path("/proc/sys/kernel/unprivileged_userns_clone")
    if setting.exists() and setting.read_text().strip() == "0" and os.getuid() != 0:
        return False
    return True


def _overlay_child(workdir: str) -> int:
    """Runs in a forked child: new user+mount namespace, try a userxattr overlay."""
    from pdman.runtime import native

    uid, gid = os.getuid(), os.getgid()
    native.unshare(CLONE_NEWUSER | CLONE_NEWNS)
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")
    for d in ("lower", "upper", "work", "merged"):
        os.mkdir(os.path.join(workdir, d))
    opts = f"lowerdir={workdir}/lower,upperdir={workdir}/upper,workdir={workdir}/work,userxattr"
    native.mount("overlay", f"{workdir}/merged", "overlay", 0, opts)
    return 0


def native_overlay_supported(cache_dir: "str | Path") -> bool:
    """Can this user mount overlayfs inside a user namespace (kernel >= 5.11)?"""
    release = os.uname().release
    cache_dir = Path(cache_dir)
    cache = cache_dir / "probe-overlay.json"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("kernel") == release:
            return bool(cached["native"])
    except (OSError, ValueError, KeyError):
        pass
    with tempfile.TemporaryDirectory(prefix="pdman-probe-") as tmp:
        pid = os.fork()
        if pid == 0:  # child: never return into the caller's code
            code = 1
            try:
                code = _overlay_child(tmp)
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        ok = os.waitstatus_to_exitcode(status) == 0
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        from pdman.runtime import statefiles

        statefiles.write_atomic(str(cache), json.dumps({"kernel": release, "native": ok}))
    except OSError:
        pass  # a read-only runroot only costs a re-probe
    return ok


@dataclass(frozen=True)
class DeviceAccess:
    path: str
    usable: bool


def device_usable(path: str) -> DeviceAccess:
    return DeviceAccess(path, os.access(path, os.R_OK | os.W_OK))


@dataclass(frozen=True)
class CgroupInfo:
    version: str                 # "v2" or "v1"
    manager: str                 # "systemd", "cgroupfs" or "none"
    limits_enforceable: bool
    delegated_controllers: list[str]
    reason: str                  # why limits cannot be enforced, if so

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def cgroup_info() -> CgroupInfo:
    """What the cgroup setup lets this user do; never writes anything."""
    try:
        is_v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    except OSError:
        is_v2 = False
    if not is_v2:
        return CgroupInfo("v1", "none", False, [],
                          "cgroup v2 is not mounted on /sys/fs/cgroup (v1 or hybrid): rootless "
                          "limits need the unified hierarchy (systemd.unified_cgroup_hierarchy=1)")
    own = ""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            own = line[3:]
    base = Path("/sys/fs/cgroup") / own.lstrip("/")
    controllers: list[str] = []
    try:
        controllers = (base / "cgroup.controllers").read_text().split()
    except OSError:
        pass
    runtime = os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{os.getuid()}")
    has_manager = Path(runtime, "systemd/private").exists() or Path(runtime, "bus").exists()
    writable = os.access(base, os.W_OK)
    uid = os.getuid()
    manager_cg = Path(f"/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service")
    if has_manager and manager_cg.is_dir():
        # what the user manager was delegated is what its scopes can limit
        try:
            controllers = (manager_cg / "cgroup.controllers").read_text().split()
        except OSError:
            pass
    if has_manager:
        return CgroupInfo("v2", "systemd", bool(controllers), controllers,
                          "" if controllers else "no controllers are delegated to the user manager")
    if writable and controllers:
        return CgroupInfo("v2", "cgroupfs", True, controllers, "")
    return CgroupInfo("v2", "none", False, controllers,
                      "no systemd user manager is reachable and the current cgroup is not "
                      "delegated to you: log in through a systemd session or enable lingering "
                      "(loginctl enable-linger)")
