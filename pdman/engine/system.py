"""System verbs: `info` (what the engine found on this host, in rootless or root mode)."""

from __future__ import annotations

import os
import platform
import pwd
from dataclasses import dataclass
from typing import Any

from pdman import __version__
from pdman.engine.context import EngineContext


@dataclass(frozen=True)
class InfoOptions:
    pass


def _id_mappings() -> dict[str, Any]:
    from pdman.runtime import idmap

    mapping = idmap.mapping_for_current_user()
    return {
        "uidmap": [{"container_id": e.container_id, "host_id": e.host_id, "size": e.size}
                   for e in mapping.uid_map],
        "gidmap": [{"container_id": e.container_id, "host_id": e.host_id, "size": e.size}
                   for e in mapping.gid_map],
        "subordinate_ranges": not mapping.single_id,
        "warning": mapping.warning or "",
    }


def _seccomp_enabled() -> bool:
    """The kernel filters syscalls (CONFIG_SECCOMP_FILTER): it lists its actions."""
    return os.path.exists("/proc/sys/kernel/seccomp/actions_avail")


def security_defaults() -> dict[str, Any]:
    """podman's `host.security` block, plus what else a container gets by default
    (pdman-security(7) says what these promise)."""
    from pdman.engine.runopts import DEFAULT_CAPS
    from pdman.runtime.native import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS
    from pdman.runtime.seccomp import DEFAULT_PROFILE

    from pdman.config import is_root_mode

    root_mode = is_root_mode()
    return {
        "apparmorEnabled": False,
        "capabilities": ",".join(DEFAULT_CAPS),
        "rootless": not root_mode,
        "seccompEnabled": _seccomp_enabled(),
        "seccompProfilePath": DEFAULT_PROFILE,
        "selinuxEnabled": False,
        # pdman's own fields
        "noNewPrivileges": False,
        "sessionKeyring": "new per container",
        "userNamespace": ("none (root mode: the container's IDs are the host's)" if root_mode
                          else "one per container, mapping the user's subordinate IDs"),
        "maskedPaths": list(DEFAULT_MASKED_PATHS),
        "readonlyPaths": list(DEFAULT_READONLY_PATHS),
    }


def info(ctx: EngineContext, options: InfoOptions | None = None) -> dict[str, Any]:
    """Report the host's rootless capabilities and the store; read-only."""
    from pdman.config import is_root_mode
    from pdman.runtime import probe, tools

    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:                    # a UID the user database does not know
        user = str(os.getuid())
    # the paths the network and storage code will use (the same lookup)
    pasta, slirp, fuse_overlayfs = (tools.find(t) for t in ("pasta", "slirp4netns",
                                                             "fuse-overlayfs"))
    tun = probe.device_usable("/dev/net/tun")
    fuse = probe.device_usable("/dev/fuse")
    native_overlay = probe.userns_supported() and probe.native_overlay_supported(ctx.paths.runroot)
    if native_overlay:
        overlay = "native (userxattr)"
    elif fuse_overlayfs and fuse.usable:
        overlay = "fuse-overlayfs"
    else:
        overlay = "unavailable"
    from pdman import network

    net_backend = network.default_backend() if tun.usable else "none"
    cg = probe.cgroup_info()
    counts = {}
    cat = ctx.catalog
    for table in ("images", "containers", "volumes", "networks"):
        counts[table] = cat.query(f"SELECT count(*) FROM {table}")[0][0]
    running = cat.query("SELECT count(*) FROM container_state WHERE status = 'running'")[0][0]
    paused = cat.query("SELECT count(*) FROM container_state WHERE status = 'paused'")[0][0]
    report = {
        "host": {
            "arch": platform.machine(),
            "os": "linux",
            "kernel": os.uname().release,
            "hostname": os.uname().nodename,
            "user": user,
            "uid": os.getuid(),
            "rootless": not is_root_mode(),
            # pdman's own: "root" (its own store, no user namespace by default) or
            # "rootless"; podman says the same through rootless true/false
            "mode": "root" if is_root_mode() else "rootless",
            "userNamespaces": probe.userns_supported(),
            "idMappings": _id_mappings(),
            "overlay": {
                "mode": overlay,
                "native": native_overlay,
                "fuseOverlayfs": fuse_overlayfs or "",
                "devFuseUsable": fuse.usable,
            },
            "network": {
                "backend": net_backend,
                "pasta": pasta or "",
                "slirp4netns": slirp or "",
                "devNetTunUsable": tun.usable,
            },
            "cgroups": cg.as_dict(),
            "security": security_defaults(),
        },
        "store": {
            "graphRoot": str(ctx.paths.root),
            "runRoot": str(ctx.paths.runroot),
            "catalog": str(ctx.paths.catalog),
            "images": counts["images"],
            "containers": counts["containers"],
            "containersRunning": running,
            "volumes": counts["volumes"],
            "networks": counts["networks"],
        },
        "version": {"pdman": __version__, "python": platform.python_version()},
    }
    # podman's field names beside pdman's, so that scripts reading `.Host.Distribution`,
    # `.Host.OCIRuntime`, `.Store.GraphRoot` ... work (templates match keys ignoring case)
    report["host"].update(_podman_host(cg, net_backend))
    report["store"].update({
        "configFile": "", "graphDriverName": "overlay", "graphOptions": {},
        "containerStore": {"number": counts["containers"], "paused": paused, "running": running,
                           "stopped": counts["containers"] - running - paused},
        "imageStore": {"number": counts["images"]},
        "volumePath": ctx.paths.volumes,
    })
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    report["version"].update({
        "APIVersion": __version__, "Version": __version__,
        "GoVersion": "python" + platform.python_version(), "GitCommit": "", "Built": 0,
        "BuiltTime": "", "Os": "linux", "OsArch": f"linux/{arch}"})
    return report


def _podman_host(cg: "Any", net_backend: str) -> dict[str, object]:
    """The `host` fields podman's `info` has that pdman's own did not."""
    import sys

    release: dict[str, str] = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                release[k] = v.strip('"')
    except OSError:
        pass
    mem: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                k, _, v = line.partition(":")
                mem[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/uptime", encoding="ascii") as f:
            up = int(float(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        up = 0
    return {
        "distribution": {"distribution": release.get("ID", ""),
                         "version": release.get("VERSION_ID", ""),
                         "codename": release.get("VERSION_CODENAME", "")},
        # pdman starts containers itself (C helper + monitor): no separate OCI runtime
        "ociRuntime": {"name": "pdman", "package": "pdman " + __version__,
                       "path": sys.argv[0], "version": "pdman version " + __version__},
        "logDriver": "k8s-file",
        "eventLogger": _event_logger(),
        "cgroupManager": cg.manager,
        "cgroupVersion": cg.version,
        "cgroupControllers": list(cg.delegated_controllers),
        "cpus": os.cpu_count() or 0,
        "memTotal": mem.get("MemTotal", 0), "memFree": mem.get("MemAvailable", 0),
        "swapTotal": mem.get("SwapTotal", 0), "swapFree": mem.get("SwapFree", 0),
        "networkBackend": net_backend,
        "uptime": f"{up // 3600}h {up % 3600 // 60}m {up % 60}s",
    }


def _event_logger() -> str:
    """Where events go: containers.conf's events_logger, `file` when it names journald
    and journald does not run here (what events.emit does)."""
    from pdman.engine import events

    chosen = events.logger()
    if chosen == "journald" and not os.path.exists(events.JOURNAL_SOCKET):
        return "file"
    return chosen
