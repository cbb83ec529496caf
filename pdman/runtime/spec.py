"""Build the spawn spec of a container from its stored configuration: the overlay of
its image layers and writable layer, its mounts, user, environment and capabilities."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from pdman.config import Paths
from pdman.runtime.native import (
    BindMount,
    DirRootfs,
    OverlayRootfs,
    Rlimit,
    SpawnSpec,
    TmpfsMount,
)
from pdman.storage.container_fs import ContainerDirs


#: --personality domains: personality(2)'s PER_LINUX, PER_LINUX32
PERSONALITIES = {"LINUX": 0x0000, "LINUX32": 0x0008}
#: where `--init` puts pdman-init inside the container
INIT_PATH = "/run/pdman-init"


def _tmpfs_options(options: list[str]) -> str:
    opts = [o for o in options if o not in ("rw", "ro", "noexec", "exec", "nosuid", "suid",
                                            "nodev", "dev")]
    if not any(o.startswith("mode=") for o in opts):
        opts.append("mode=1777")
    return ",".join(opts)


def build(paths: Paths, container_id: str, config: dict[str, Any],
          stdio: tuple[int, int, int] = (0, 1, 2)) -> SpawnSpec:
    dirs = ContainerDirs(paths, container_id)
    auto = (config.get("userns") or {}).get("mode") == "auto"
    rootfs = OverlayRootfs(
        mountpoint=dirs.merged,
        lowerdirs=list(config["layers"]),     # short link names, top-most first
        upperdir=dirs.upper,
        workdir=dirs.work,
        linkdir=paths.links,
    )
    given = config.get("rootfs")
    if given and not given.get("overlay") and not config.get("userns"):
        # --rootfs PATH: the directory itself is the root, written in place (podman's)
        rootfs = DirRootfs(given["path"])  # type: ignore[assignment]
    if auto:
        # root's --userns=auto: its root (unmapped from the host's) mounts its one lower
        # layer, the owner-moved copy, by its full path: the links dir is not searchable
        rootfs = rootfs._replace(lowerdirs=[os.path.normpath(p) for p in
                                            layer_paths(paths, list(config["layers"]))],
                                 linkdir=None)
    mounts: list[BindMount] = []
    tmpfs: list[TmpfsMount] = []
    for m in config.get("mounts", []):
        if m["type"] == "tmpfs" or "tmpfs" in m:
            # --tmpfs/--mount type=tmpfs, or a volume made with `-o type=tmpfs`
            opts = m["tmpfs"] if "tmpfs" in m else m.get("options", [])
            tmpfs.append(TmpfsMount(destination=m["destination"], options=_tmpfs_options(opts),
                                    readonly=bool(m.get("readonly")),
                                    noexec="noexec" in opts))
        else:
            mounts.append(BindMount(source=m["host_path"], destination=m["destination"],
                                    readonly=bool(m.get("readonly"))))
    # the generated files, unless the user mounted their own over them; a container
    # sharing another's network (`container:ID`) shares its hosts and resolv.conf too
    net = config["net"]
    net_dirs = ContainerDirs(paths, net["container"]) if net["mode"] == "container" else dirs
    taken = {m.destination for m in mounts}
    for name in ("hostname", "hosts", "resolv.conf"):
        dest = f"/etc/{name}"
        if name == "hosts" and config.get("no_hosts"):
            continue  # --no-hosts: the image's own /etc/hosts
        if dest not in taken:
            source = (net_dirs if name != "hostname" else dirs).userfile(name)
            mounts.append(BindMount(source=source, destination=dest, readonly=False))
    if config.get("user_entries"):
        # --passwd, --hostuser: the image's files with the lines added (engine/runcompat.py)
        for name in ("passwd", "group"):
            source = dirs.userfile(name)
            if f"/etc/{name}" not in taken and os.path.exists(source):
                mounts.append(BindMount(source=source, destination=f"/etc/{name}",
                                        readonly=False))
    for chroot in config.get("chrootdirs") or ():
        # --chrootdirs: the generated files there too, as podman (not the hostname)
        for name in ("hosts", "resolv.conf"):
            if name == "hosts" and config.get("no_hosts"):
                continue
            dest = f"{chroot.rstrip('/')}/etc/{name}"
            if dest not in taken:
                mounts.append(BindMount(source=net_dirs.userfile(name), destination=dest,
                                        readonly=False))
    containerenv = dirs.userfile(".containerenv")
    if "/run/.containerenv" not in taken and os.path.exists(containerenv):
        mounts.append(BindMount(source=containerenv, destination="/run/.containerenv",
                                readonly=True))
    env = {}
    for item in config["env"]:
        k, _, v = item.partition("=")
        env[k] = v
    for secret in config.get("secrets") or []:
        # --secret: a copy made at create (engine/secrets.py), never in the config
        if secret["type"] == "mount":
            mounts.append(BindMount(source=secret["file"], destination=secret["target"],
                                    readonly=True))
        else:
            with open(secret["file"], "rb") as f:
                env[secret["target"]] = f.read().decode(errors="replace")
    env.setdefault("HOSTNAME", config["hostname"])
    if config.get("sdnotify") == "container":
        from pdman.systemd import notify

        # detached: the relay socket `pdman run -d` made (systemd/notify.py); in the
        # foreground, pdman stays the unit's main process: the unit's own socket
        relay = notify.proxy_path(dirs.run)
        host_socket = relay if os.path.exists(relay) else notify.container_socket()
        if host_socket and notify.CONTAINER_SOCKET not in taken:
            mounts.append(BindMount(source=host_socket, destination=notify.CONTAINER_SOCKET,
                                    readonly=False))
            env["NOTIFY_SOCKET"] = notify.CONTAINER_SOCKET
    env.setdefault("HOME", config.get("home") or "/")
    env.setdefault("TERM", "xterm")  # podman's default environment has it, terminal or not
    for name in config.get("unsetenv") or ():
        if not any(item.startswith(name + "=") for item in config["env"]):
            env.pop(name, None)   # --unsetenv of a default (a user's -e still counts)
    if config.get("shm_size"):
        tmpfs.append(TmpfsMount(destination="/dev/shm", noexec=True,
                                options=f"mode=1777,size={config['shm_size']}"))
    for d in config.get("read_only_tmpfs") or ():
        tmpfs.append(TmpfsMount(destination=d, options="mode=1777" if d != "/run" else
                                "mode=755", noexec=False))
    if config.get("tz") and "/etc/localtime" not in taken:
        mounts.append(BindMount(source=config["tz"], destination="/etc/localtime",
                                readonly=True))
    rlimits = [Rlimit(r["type"], r["soft"], r["hard"]) for r in config.get("rlimits", [])]
    from pdman.config import is_root_mode

    join_userns = join_netns = None
    if net["mode"] in ("bridge", "container"):
        # user-defined networks: into the rootless netns' user namespace (started
        # here if needed); container:ID: into that container's namespaces
        from pdman.network import namespaces_to_join

        join_userns, join_netns = namespaces_to_join(paths, container_id, net)
    join_ipcns = join_utsns = None
    if config.get("pod_share"):
        # a pod's member: the infra's user namespace (one ID map for the whole pod, which
        # joining its other namespaces needs) and the IPC/UTS namespaces the pod shares
        ns = _infra_namespaces(paths, config["pod_infra"])
        join_userns = ns + "user"
        if "ipc" in config["pod_share"]:
            join_ipcns = ns + "ipc"
        if "uts" in config["pod_share"]:
            join_utsns = ns + "uts"
    pid = config.get("pid") or {}
    join_pidns = None
    if pid.get("mode") == "container":
        # --pid container:ID: its PID namespace, and the user namespace that owns it
        ns = _running_namespaces(paths, pid["container"], "the --pid container")
        join_pidns = ns + "pid"
        if join_userns is None and not is_root_mode():
            join_userns = ns + "user"
    argv = list(config["argv"])
    if config.get("init"):
        # a reaper as PID 1 (podman mounts catatonit the same way)
        from pdman.runtime import libexec

        mounts.append(BindMount(source=config.get("init_path") or libexec.path("pdman-init"),
                                destination=INIT_PATH, readonly=True))
        argv = [INIT_PATH, "--", *argv]
    from pdman.runtime import seccomp

    caps = [c.removeprefix("CAP_") for c in config.get("caps", [])]

    if join_userns is not None and is_root_mode() and _same_userns(join_userns):
        join_userns = None   # root's containers share the host's: nothing to join
    # pasta's start overlaps the child's mounts (runtime/spawn.py). Rootless, pasta
    # opens /proc/PID/ns/* of the child, which stays dumpable for it until the
    # network is ready: only when alone in a PID namespace of its own. Root's
    # pasta joins a namespace file bound before it starts.
    # Rootless, only with the default map, where the container's root is the user:
    # with keep-id or custom maps (--uidmap/--subuidname) the child's setresuid(0)
    # after sync 2 makes it a subordinate ID, which resets it non-dumpable, and a
    # pasta slower than that gets EACCES on /proc/PID/ns/user (seen under load).
    rootless_late = (config.get("userns") or {}).get("mode") is None and (
        pid.get("mode") != "host" and join_pidns is None)
    network_late = net["mode"] == "pasta" and join_userns is None and (
        is_root_mode() or rootless_late)
    return SpawnSpec(
        argv=argv,
        rootfs=rootfs,
        env=env,
        cwd=config.get("workdir") or "/",
        cwd_must_exist=bool(config.get("workdir_from_user")),
        uid=int(config["uid"]),
        gid=int(config["gid"]),
        additional_gids=list(config.get("additional_gids", [])),
        hostname=config["hostname"],
        mounts=mounts,
        tmpfs=tmpfs,
        caps=caps,
        rlimits=rlimits,
        no_new_privs=bool(config.get("no_new_privs")),
        seccomp_filter=seccomp.filter_for(paths.root, config, caps),
        readonly_rootfs=bool(config.get("read_only")),
        stdio=stdio,
        controlling_tty=bool(config.get("tty")),
        share_net=net["mode"] == "host",
        share_user=join_userns is None and is_root_mode() and not auto,
        share_uts=config.get("uts") == "host",
        umask=config.get("umask"),
        share_ipc=config.get("ipc") == "host",
        share_cgroup=config.get("cgroupns") == "host",
        share_pid=pid.get("mode") == "host",
        join_pidns=join_pidns,
        preserve_fds=int(config.get("preserve_fds") or 0),
        sysctls=[(k, v) for k, v in config.get("sysctls") or ()],
        personality=_personality(config.get("personality")),
        join_userns=join_userns,
        join_netns=join_netns,
        join_ipcns=join_ipcns,
        join_utsns=join_utsns,
        network_late=network_late,
        network_late_dumpable=network_late and not is_root_mode(),
    )


def _personality(domain: "str | None") -> "int | None":
    if not domain:
        return None
    return PERSONALITIES[domain]


def _same_userns(path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.stat("/proc/self/ns/user").st_ino
    except OSError:
        return False


def _infra_namespaces(paths: Paths, infra_id: str) -> str:
    """`/proc/PID/ns/` of a pod's running infra container."""
    return _running_namespaces(paths, infra_id, "the infra container")


def _running_namespaces(paths: Paths, container_id: str, what: str) -> str:
    """`/proc/PID/ns/` of a running container whose namespaces this one joins."""
    from pdman.errors import ConflictError
    from pdman.runtime import procs
    from pdman.storage import container_records
    from pdman.storage.catalog import Catalog

    catalog = Catalog(paths.catalog)
    try:
        rec = container_records.find(catalog, container_id)
    finally:
        catalog.close()
    if rec.status not in ("running", "paused") or not procs.is_running(
            rec.pid, rec.state.get("pid_start", 0)):
        if what == "the infra container":
            raise ConflictError(f"the infra container {rec.name} of this container's pod is "
                                "not running", hint="start the pod (`pdman pod start POD`)")
        raise ConflictError(f"{what} {rec.name} is not running",
                            hint=f"start it first (`pdman start {rec.name}`)")
    return f"/proc/{rec.pid}/ns/"


def layer_paths(paths: Paths, links: list[str]) -> list[str]:
    """Absolute paths of the layer directories behind short link names."""
    return [os.path.join(paths.links, link) for link in links]
