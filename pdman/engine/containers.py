"""Container verbs. The `run` flow reads top-down in `run()` below, stage by stage, as
the seed tells it: resolve image → pull if missing → prepare the rootfs (writable layer
over the image layers) → namespaces and network → cgroup → start → record → wait or
detach. Each stage is one function; a failing stage undoes what earlier ones made.

This module is on the hot path of `ps`: heavy imports stay inside the verbs that use them.
"""

from __future__ import annotations

import os
import time

from pdman.engine import events
from pdman.engine.context import EngineContext
from pdman.entities.containers import ContainerSummary, ListContainersOptions
from pdman.errors import ConflictError, PdmanError, UsageError
from pdman.storage import container_records as records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pdman.entities.create import CreateOptions, StartIO
    from pdman.runtime.logs import JournalWriter, LogWriter
    from pdman.storage.image_records import ImageRecord


# ---------------------------------------------------------------------------
# run: the seed's flow, top-down
# ---------------------------------------------------------------------------

class RunReport:
    """What `run` did: the container, and its exit status (None when detached)."""

    __slots__ = ("id", "exit_code")

    def __init__(self, id: str, exit_code: int | None) -> None:
        self.id = id
        self.exit_code = exit_code


def run(ctx: EngineContext, options: "CreateOptions", io: "StartIO",
        on_created: "Callable[[str], None] | None" = None) -> RunReport:
    """`pdman run`: create, then start attached and wait for the exit status -- or, with
    `-d`, start under a monitor (engine/lifecycle.py) and return at once. `on_created`
    gets the ID before the start (`--cidfile`)."""
    rec = create(ctx, options)                                  # stages 1-3
    if on_created is not None:
        try:
            on_created(rec.id)
        except BaseException:
            remove(ctx, RemoveOptions(name=rec.id, force=True, volumes=True))
            raise
    if options.detach:
        from pdman.engine import lifecycle

        try:
            lifecycle.start_detached(ctx, rec)                  # stages 4-6; the monitor does 7
        except BaseException:
            if options.remove:
                remove(ctx, RemoveOptions(name=rec.id, force=True, volumes=True))
            raise
        return RunReport(rec.id, None)
    try:
        code = start_attached(ctx, rec, io)                     # stages 4-7
    finally:
        if options.remove:
            remove(ctx, RemoveOptions(name=rec.id, force=True, volumes=True))
    if (rec.config.get("restart_policy") or {}).get("name") not in (None, "", "no"):
        # as podman's `run --restart` in the foreground: this run ends with the
        # container's exit code, and the policy brings it back in the background
        from pdman.engine import restart_policy

        restart_policy.restart_after_exit(ctx, records.find(ctx.catalog, rec.id))
    return RunReport(rec.id, code)


def create(ctx: EngineContext, options: "CreateOptions") -> records.ContainerRecord:
    """Stages 1-3: resolve (and pull) the image, resolve the configuration against it,
    allocate the container's writable layer, and record it as `created`."""
    pod_fields = None
    if options.init_ctr is not None:
        if not options.pod:
            raise UsageError("must specify pod value with init-ctr",
                             hint="create it in a pod: --pod NAME")
        if options.init_ctr not in ("always", "once"):
            raise UsageError("init-ctr value must be 'always' or 'once'")
    if options.pod:                     # joins a pod: its network, hostname, namespaces
        from pdman.engine import pods

        pod_fields = pods.member_fields(ctx, options)
    if options.rootfs:                  # --rootfs PATH[:O]: a directory, no image
        from pdman.engine import runextra

        image = runextra.rootfs_image(options.image)
    else:
        image = image_for(ctx, options)                         # 1-2: image, pulled if missing
    config = resolve_config(ctx, options, image)
    if pod_fields:
        # the pod's cgroup (its limits, its --cgroup-parent) holds the container's
        config["cgroup"] = {**config["cgroup"], "pod": pod_fields.pop("pod_cgroup")}
        config.update(pod_fields)
    return create_from_config(ctx, config, image.id or None, options.name or _free_name(ctx),
                              options.dns_search, options.dns_options)


def create_from_config(ctx: EngineContext, config: "dict[str, Any]", image_id: "str | None",
                       name: str,
                       dns_search: "list[str]", dns_options: "list[str]",
                       ) -> records.ContainerRecord:
    """Stage 3 of `create` (and of `container clone`): the writable layer, the generated
    files, the rootfs copy of --userns, secrets and volumes; then the record."""
    from pdman.storage import container_fs

    cid = _new_id()
    config["hostname"] = config["hostname"] or cid[:12]       # podman: the short ID
    container_fs.prepare(ctx.paths, cid, config["hostname"],     # 3: writable layer, /etc files
                         hosts_extra=container_fs.add_host_lines(config["net"]["add_hosts"]),
                         dns=config["net"]["dns"],
                         dns_search=dns_search, dns_options=dns_options,
                         container_env=container_fs.containerenv(
                             name, cid, config["image_name"], image_id or ""))
    rec = records.ContainerRecord(
        id=cid, name=name, image_id=image_id, image_name=config["image_name"],
        command=config["argv"], created=time.time(), config=config, status="created")
    auto_lock = None
    try:
        if config.get("user_entries"):                          # --passwd, --hostuser
            from pdman.engine import runcompat

            runcompat.write_user_files(ctx.paths, cid, config)
        if (config.get("userns") or {}).get("mode") == "auto":  # root's: a range of its own
            from pdman.engine import userns_auto
            from pdman.runtime.spec import layer_paths

            auto_lock = userns_auto.locked(ctx).__enter__()     # held until the insert
            userns_auto.settle(ctx, config["userns"], layer_paths(ctx.paths, config["layers"]))
        if config.get("userns"):                                # keep-id, nomap: owners moved
            from pdman.engine import userns_rootfs

            entry = None
            if config["userns"]["mode"] == "keep-id":
                passwd, group, _ = userns_rootfs.entry_lines(config["uid"], config["gid"])
                entry = (passwd, group)
            config["layers"] = userns_rootfs.prepare(ctx, cid, config["layers"],
                                                     config["userns"], entry)
            if auto_lock is not None:
                userns_auto.give_dirs(ctx, cid, config["userns"])
        if config.get("secrets"):
            _secrets().give_to_container(ctx, cid, config["secrets"], container_mapping(config))
        _prepare_volumes(ctx, cid, config)
        records.insert(ctx.catalog, rec)
    except BaseException:
        container_fs.remove(ctx.paths, cid)
        raise
    finally:
        if auto_lock is not None:
            auto_lock.__exit__()
    events.container_event(ctx.paths, "create", rec)
    return rec


def start_attached(ctx: EngineContext, rec: records.ContainerRecord, io: "StartIO") -> int:
    """Stages 4-7 for a foreground container: namespaces + exec through the C helper,
    record `running`, forward signals while waiting, record the exit."""
    from pdman.runtime import spec as specmod
    from pdman.runtime.foreground import ForegroundSession
    from pdman import cgroups, network
    from pdman.runtime.spawn import spawn_container

    _check_startable(rec)
    if rec.config.get("pod_infra"):                             # a pod's: its infra first
        from pdman.engine import pods

        pods.ensure_infra(ctx, rec)
    if rec.config.get("requires"):
        from pdman.engine import runextra

        runextra.start_requirements(ctx, rec.config)           # --requires: theirs first
    if rec.monitor_pid:                                         # its last run was detached
        from pdman.engine.lifecycle import _wait_for_previous_monitor

        _wait_for_previous_monitor(rec)
    mapping = container_mapping(rec.config)
    _warn_single_id(ctx, mapping)
    log = _foreground_log(ctx, rec)       # None: pdman's own stdio goes to the container
    attach = rec.config.get("attach")                           # --attach: some streams
    with ForegroundSession(tty=io.tty, interactive=io.interactive, log=log,
                           attach=tuple(attach) if attach is not None else None,
                           sig_proxy=io.sig_proxy) as session:
        spec = specmod.build(ctx.paths, rec.id, rec.config, stdio=session.stdio())
        if spec.network_late:       # the command starts once it sees its network configured
            spec.network_watch = network.watch_families(rec.config["net"])

        def start_network(pid: int) -> "Callable[[], None]":     # 5: network, while the
            return network.begin_attach(ctx, rec.id, rec.config["net"], pid,  # maps are written
                                        watch=bool(spec.network_watch))

        def before_release(pid: int) -> None:                   # 5: cgroup
            cgroups.attach(ctx, rec.id, rec.config["cgroup"], pid)
            if "oom_score_adj" in rec.config:
                from pdman.engine import runextra

                runextra.before_release(rec.config, pid)

        events.container_event(ctx.paths, "init", rec)
        try:
            pid = spawn_container(spec, mapping, start_early=start_network,  # 4: namespaces, exec
                                  before_release=before_release)
        except BaseException:
            _teardown(ctx, rec)
            raise
        session.started(pid)
        if "pidfile" in rec.config:
            from pdman.engine import runextra

            runextra.after_start(rec.config, pid)
        state: "dict[str, Any]" = {"pid_start": _start_time(pid), "error": ""}
        schedule = None
        if rec.config.get("healthcheck"):
            from pdman.engine import health

            state["health"] = health.initial_state(rec)
            schedule = _foreground_health(ctx, rec)
        records.update_state(ctx.catalog, rec.id, status="running", pid=pid,  # 6: record
                             monitor_pid=0, started_at=time.time(), finished_at=0,
                             exit_code=None, oom_killed=0, state=state)
        if os.environ.get("NOTIFY_SOCKET"):                     # run by a systemd unit:
            from pdman.systemd import notify                    # pdman stays its main PID

            notify.after_start(rec.config.get("sdnotify") or "conmon", os.getpid())
        events.container_event(ctx.paths, "start", rec)
        events.container_event(ctx.paths, "attach", rec)
        if schedule is not None:
            schedule.start()
        timer = _timeout_timer(rec.config, pid)
        try:
            code = session.wait()                               # 7: wait
        finally:
            if schedule is not None:
                schedule.stop()
            if timer is not None:
                timer.cancel()
        if timer is not None and timer.fired:
            code = -1                         # --timeout killed it: conmon's code
    oom = _teardown(ctx, rec)
    if oom and code > 128:
        code = 137  # OOM-killed (seen in the cgroup): a racing SIGTERM may have said 143
    records.update_state(ctx.catalog, rec.id, status="exited", pid=0, exit_code=code,
                         finished_at=time.time(), state={"last_pid": pid, "cleaned_pid": pid})
    events.container_event(ctx.paths, "died", rec, exit_code=code)
    events.container_event(ctx.paths, "cleanup", rec)
    if rec.config.get("pod_infra"):             # --exit-policy stop: the last one out
        from pdman.engine import pods

        pods.member_exited(ctx, rec)
    return code


def _timeout_timer(config: "dict[str, Any]", pid: int) -> "Any":
    """--timeout of a foreground container: a timer that SIGKILLs it (our child, not
    reaped before the timer is cancelled: its PID cannot be another's meanwhile)."""
    if not config.get("timeout"):
        return None
    import threading

    class Timer(threading.Timer):
        fired = False

    def kill() -> None:
        import signal

        timer.fired = True
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = Timer(float(config["timeout"]), kill)
    timer.daemon = True
    timer.start()
    return timer


def container_mapping(config: "dict[str, Any]") -> "Any":
    """The container's ID mapping: the user's, permuted by --userns."""
    from pdman.runtime import idmap, userns_mode

    return userns_mode.mapping(idmap.mapping_for_current_user(), config.get("userns"))


def _foreground_health(ctx: EngineContext, rec: records.ContainerRecord) -> "Any":
    """The healthcheck schedule of a foreground container (None without one)."""
    from pdman.engine import health
    from pdman.runtime import monitor

    timing = health.schedule(rec.config["healthcheck"])
    if timing is None:
        return None
    # --sdnotify=healthy under a unit: the first passing probe says READY=1
    ready = (rec.config.get("sdnotify") == "healthy" and bool(os.environ.get("NOTIFY_SOCKET")))
    return health.ForegroundSchedule(monitor.pdman_command(
        ctx.paths.root, ctx.paths.runroot, ["healthcheck", "run", rec.id]), timing,
        notify_ready=ready)


def _foreground_log(ctx: EngineContext,
                    rec: records.ContainerRecord) -> "LogWriter | JournalWriter | None":
    """Where a foreground container's output is logged besides the terminal: its
    k8s-file log or journald; None with `none` and `passthrough`."""
    driver = rec.config.get("log_driver", "k8s-file")
    if driver not in ("k8s-file", "journald"):
        return None
    from pdman.errors import HostSupportError, StorageError
    from pdman.runtime import logs

    if driver == "journald":
        try:
            return logs.JournalWriter(rec.id, rec.name)
        except OSError as exc:
            raise HostSupportError(f"container {rec.name} logs to journald, which does not "
                                   f"answer here ({logs.JOURNAL_SOCKET}: {exc.strerror})",
                                   hint="use --log-driver k8s-file on hosts without "
                                   "systemd") from exc
    try:
        return logs.LogWriter(log_path(ctx, rec), log_max_size(rec.config))
    except OSError as exc:
        raise StorageError(f"cannot open the log of container {rec.name}: {exc}",
                           hint="check the --log-opt path and free disk space, or run it "
                           "with --log-driver passthrough") from exc


def _teardown(ctx: EngineContext, rec: records.ContainerRecord) -> bool:
    """Undo stage 5 once the container is gone (or failed to start); whether the
    kernel OOM-killed a process of it (then recorded as OOMKilled)."""
    from pdman import cgroups, network

    network.detach(ctx, rec.id, rec.config["net"])
    return cgroups.release(ctx, rec.id, rec.config["cgroup"])


# ---------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------

def image_for(ctx: EngineContext, options: "CreateOptions") -> "ImageRecord":
    """Stages 1-2: the local image named by `options.image`, pulled per `--pull`."""
    from pdman.engine import images
    from pdman.entities.images import PullOptions

    return images.ensure_image(ctx, options.image, options.pull, PullOptions(
        reference=options.image, platform=options.platform or "", tls_verify=options.tls_verify,
        arch=options.arch, os=options.os, variant=options.variant, authfile=options.authfile,
        quiet=options.quiet_pull, progress=options.pull_progress,
        choose_registry=options.pull_choose))


def resolve_config(ctx: EngineContext, options: "CreateOptions", image: "ImageRecord") -> "dict[str, Any]":
    """Merge the image's config with the options: what the container will run, as who,
    with which mounts and capabilities. Stored as the container's immutable config."""
    from pdman.engine import runopts
    from pdman.runtime import users
    from pdman.runtime.spec import layer_paths
    from pdman.storage import image_records

    from pdman.engine import runextra

    icfg = runextra.with_exposed(image.config.get("config") or {}, options.expose)
    if options.entrypoint is not None:
        entrypoint = runopts.entrypoint_argv(options.entrypoint)
        cmd = list(options.command)
    else:
        entrypoint = list(icfg.get("Entrypoint") or [])
        cmd = list(options.command) or list(icfg.get("Cmd") or [])
    argv = entrypoint + cmd
    if not argv:
        raise UsageError(f"no command specified for image {options.image}",
                         hint="give a command after the image name, or use --entrypoint")
    if options.rootfs:   # the directory, named from the links dir as a layer is
        os.makedirs(ctx.paths.links, exist_ok=True)    # a store that never pulled has none
        links = [os.path.relpath(image.rootfs["path"], ctx.paths.links)]
    else:
        links = [layer.link for layer in image_records.layers_of(ctx.catalog, image.id)]
        links.reverse()                                         # overlay: top-most first
    user_spec = options.user if options.user is not None else (icfg.get("User") or "0")
    uname, gname = runopts.user_spec(user_spec)
    who = users.resolve(layer_paths(ctx.paths, links), uname, gname)
    from pdman.runtime import userns_mode

    userns = userns_mode.parse(options.userns)
    userns_flag = f"--userns={options.userns}"
    if options.uidmap or options.gidmap or options.subuidname or options.subgidname:
        from pdman.runtime import idmap

        if userns is not None:
            raise UsageError("--userns and --uidmap/--gidmap/--subuidname/--subgidname are "
                             "mutually exclusive", hint="give either --userns or the ID maps")
        userns = userns_mode.custom(options.uidmap, options.gidmap, options.subuidname,
                                    options.subgidname, idmap.mapping_for_current_user())
        userns_flag = "--uidmap/--gidmap"
    if userns is not None and userns["mode"] == "keep-id" and options.user is None:
        # podman: keep-id runs the process as the user (the image's User is not used)
        from pdman.engine.userns_rootfs import entry_lines

        uid, gid = userns_mode.container_ids(userns, os.getuid(), os.getgid())
        who = users.ResolvedUser(uid, gid, [], entry_lines(uid, gid)[2], "")
        user_spec = f"{uid}:{gid}"
    mounts = [runopts.volume(v) for v in options.volumes]
    mounts += [runopts.mount(m) for m in options.mounts]
    mounts += [runopts.tmpfs(t) for t in options.tmpfs]
    seen: set[str] = set()
    for m in mounts:
        if m["destination"] in seen:
            raise UsageError(f"duplicate mount destination {m['destination']}",
                             hint="mount each container path once")
        seen.add(str(m["destination"]))
        if m["type"] == "bind" and not os.path.exists(str(m["source"])):
            raise UsageError(f"the bind mount source {m['source']} does not exist",
                             hint="create it first, or correct the path")
    from pdman import cgroups, network

    security = _security_options(options.security_opt)
    hostname = options.hostname or ""
    net = network.resolve(options, icfg, ctx)
    if userns is not None and net["mode"] in ("bridge", "container") and not options.pod_userns:
        raise UsageError(f"{userns_flag} with --network {net['mode']}: a "
                         "container joining another user namespace keeps its mapping",
                         hint="use the default network (pasta), slirp4netns, host or none")
    resources = cgroups.resolve(options)
    if options.log_driver not in ("k8s-file", "journald", "none", "passthrough"):
        raise UsageError(f"unknown --log-driver {options.log_driver!r}",
                         hint="use k8s-file, journald or none")
    caps = runopts.capabilities(options.cap_add, options.cap_drop, options.privileged)
    from pdman.engine import restart_policy
    from pdman.runtime import seccomp
    from pdman.systemd import notify

    restart = restart_policy.parse(options.restart)
    restart_policy.check_with_remove(restart, options.remove)
    healthcheck, on_failure = _healthcheck(options, icfg)

    config = {
        "image_name": image.names[0] if image.names else image.id,
        "image_ref": options.image,
        **({"rootfs": image.rootfs} if options.rootfs else {}),
        "argv": argv,
        "entrypoint": entrypoint,
        "cmd": cmd,
        "env": runextra.environment(options, icfg.get("Env") or [],
                                    runopts.env_list(options.env, options.env_files)),
        "workdir": options.workdir or icfg.get("WorkingDir") or "/",
        # podman creates the image's WorkingDir when missing, but a missing --workdir
        # is an error (126)
        "workdir_from_user": bool(options.workdir),
        "user": user_spec,
        "uid": who.uid,
        "gid": who.gid,
        "additional_gids": who.additional_gids,
        "home": who.home,
        "hostname": hostname,          # empty: `create` uses the short ID
        "mounts": mounts,
        "caps": caps,
        "rlimits": runopts.ulimits(options.ulimits),
        "no_new_privs": security["no_new_privileges"],
        "privileged": options.privileged,
        "seccomp": seccomp.setting(ctx.paths.root, security["seccomp"], options.privileged, caps),
        "read_only": options.read_only,
        "init": options.init,
        "tty": options.tty,
        "interactive": options.interactive,
        "labels": {**(icfg.get("Labels") or {}), **_unit_label(),
                   **runopts.labels(runextra.labels(options))},
        "network": net["mode"],
        "net": net,
        "cgroup": resources,
        "log_driver": options.log_driver,
        "log_opts": _log_options(options.log_opts),
        "stop_signal": options.stop_signal or icfg.get("StopSignal") or "SIGTERM",
        "stop_timeout": 10 if options.stop_timeout is None else options.stop_timeout,
        "layers": links,
        "exposed_ports": sorted((icfg.get("ExposedPorts") or {}).keys()),
        "remove": options.remove,
        "userns": userns,
        # names and targets only: the data is copied at create, read at start
        "secrets": [_secrets().parse_secret_flag(ctx, item) for item in options.secrets],
        "restart_policy": restart,
        "healthcheck": healthcheck,              # None: none (health.py's form)
        "health_on_failure": on_failure,
        "sdnotify": notify.check_mode(options.sdnotify),
        "create_command": list(options.create_command),
    }
    notify.check_healthy(config["sdnotify"], healthcheck)
    runextra.resolve(ctx, options, config, layer_paths(ctx.paths, links))
    from pdman.engine import runcompat

    runcompat.resolve(ctx, options, icfg, config, layer_paths(ctx.paths, links))
    if options.preserve_fds:
        if options.preserve_fds < 0:
            raise UsageError(f"invalid --preserve-fds {options.preserve_fds}")
        config["preserve_fds"] = options.preserve_fds
    return config


def _secrets() -> "Any":
    from pdman.engine import secrets

    return secrets


def _healthcheck(options: "CreateOptions", icfg: "dict[str, Any]") -> "tuple[Any, str]":
    """The healthcheck from the options over the image's HEALTHCHECK (only parsed when
    either names one: `run` without them imports nothing)."""
    if not (options.health_cmd is not None or options.no_healthcheck or icfg.get("Healthcheck")
            or options.health_on_failure not in (None, "none")):
        return None, "none"
    from pdman.engine import health

    return (health.resolve(options, icfg.get("Healthcheck")),
            health.parse_on_failure(options.health_on_failure))


def _unit_label() -> "dict[str, str]":
    """podman keeps the systemd unit that creates a container (PODMAN_SYSTEMD_UNIT,
    set to %n in generated units) as a label: `auto-update` restarts that unit."""
    unit = os.environ.get("PODMAN_SYSTEMD_UNIT")
    return {"PODMAN_SYSTEMD_UNIT": unit} if unit else {}


def _log_options(items: "list[str]") -> "dict[str, str]":
    """`--log-opt max-size=10m`, `path=FILE` (k8s-file), `tag=...` (journald)."""
    from pdman.engine import runopts

    opts = runopts.key_values(items, "log-opt")
    for key, value in opts.items():
        if key not in ("max-size", "path", "tag"):
            raise UsageError(f"unsupported --log-opt {key!r}", hint="supported: max-size, path, tag")
        if key == "max-size" and value != "-1":
            runopts.memory_bytes(value)
        if key == "path" and not os.path.isabs(value):
            raise UsageError(f"--log-opt path={value} is not an absolute path",
                             hint="give the log file's absolute path")
    return opts


def _security_options(items: list[str]) -> "dict[str, Any]":
    """`--security-opt no-new-privileges[=|:true|false]` and `seccomp=unconfined|PROFILE`
    (docker accepts both separators)."""
    out: dict[str, Any] = {"no_new_privileges": False, "seccomp": None}
    for item in items:
        import re       # in the loop: a `run` without --security-opt needs no `re`

        m = re.fullmatch(r"no-new-privileges(?:[=:](true|false))?", item.strip())
        if m:
            out["no_new_privileges"] = m.group(1) != "false"
            continue
        m = re.fullmatch(r"seccomp[=:](.+)", item.strip())
        if m:
            out["seccomp"] = m.group(1)
            continue
        raise UsageError(f"unsupported --security-opt {item!r}",
                         hint="supported: no-new-privileges[=true|false], "
                              "seccomp=unconfined|PROFILE.json")
    return out


def security_opt_report(config: "dict[str, Any]") -> "list[str]":
    """`HostConfig.SecurityOpt` as podman shows it: what was asked for."""
    out = ["no-new-privileges"] if config.get("no_new_privs") else []
    seccomp = config.get("seccomp") or {}
    if seccomp.get("mode") == "unconfined" and not config.get("privileged"):
        out.append("seccomp=unconfined")            # --privileged: podman shows nothing
    elif seccomp.get("mode") == "custom":
        out.append(f"seccomp={seccomp.get('source', '')}")
    return out


def seccomp_profile_path(ctx: EngineContext, config: "dict[str, Any]") -> str:
    """The profile the container's filter was compiled from ('' when unconfined)."""
    from pdman.runtime import seccomp

    return seccomp.profile_path(ctx.paths.root, config.get("seccomp") or {"mode": "default"})


def _prepare_volumes(ctx: EngineContext, container_id: str, config: "dict[str, Any]") -> None:
    """Named volumes are created on first use (docker semantics); anonymous ones get a
    generated name. The host path of each mount is fixed here; `:U` chowns the source
    to the container's user (its IDs mapped through the user namespace)."""
    for m in config["mounts"]:
        if m.get("from_container"):
            continue  # --volumes-from: prepared by the container that has it
        _prepare_volume(ctx, container_id, config, m)
        if "U" in m.get("options", []) and "tmpfs" not in m:
            from pdman.engine.volumes import chown_for_container

            chown_for_container(m["host_path"], int(config["uid"]), int(config["gid"]))


def _prepare_volume(ctx: EngineContext, container_id: str, config: "dict[str, Any]",
                    m: "dict[str, Any]") -> None:
    """The host path of one mount; a named volume created on first use."""
    if m["type"] == "bind":
        m["host_path"] = m["source"]
    elif m["type"] == "volume":
        from pdman.engine import volumes    # not on the hot path of a run without one
        from pdman.errors import VolumeNotFound

        if not m["source"]:
            m["source"] = os.urandom(32).hex()
            m["anonymous"] = True
        try:
            vol = volumes.inspect(ctx, m["source"])
        except VolumeNotFound:
            vol = volumes.create(ctx, volumes.CreateVolumeOptions(name=m["source"], ignore=True))
        m["host_path"] = vol.mountpoint
        kind = volumes.backing(vol)
        if kind and kind[0] == "tmpfs":
            # a fresh tmpfs for this container: nothing to copy into yet
            m["tmpfs"] = list(kind[1])
            return
        if kind and kind[0] == "bind":
            m["host_path"] = str(kind[1])
        if "nocopy" not in m.get("options", []):
            from pdman.engine.container_files import fill_volume

            fill_volume(ctx, container_id, config["layers"], m["destination"], m["host_path"])


def _free_name(ctx: EngineContext) -> str:
    """A random name no container has: one indexed look-up per candidate, so that
    `run` does not read every container's name (a store of hundreds). A race with
    another `run` choosing the same name ends in the insert's name check."""
    from pdman.engine.names import random_name

    for _ in range(20):
        name = random_name()
        if not ctx.catalog.query("SELECT 1 FROM containers WHERE name = ?", (name,)):
            return name
    taken = {r["name"] for r in ctx.catalog.query("SELECT name FROM containers")}
    return random_name(taken)


def _new_id() -> str:
    from pdman.engine.names import new_id

    return new_id()


def _check_startable(rec: records.ContainerRecord) -> None:
    if rec.status in ("running", "paused"):
        raise ConflictError(f"container {rec.name} is already running",
                            hint=f"stop it first (`pdman stop {rec.name}`)")


_warned_single_id = False


def _warn_single_id(ctx: EngineContext, mapping: "Any") -> None:
    """Say once per store that only one ID is mapped (no subordinate range)."""
    global _warned_single_id
    if not mapping.single_id or _warned_single_id:
        return
    _warned_single_id = True
    marker = os.path.join(ctx.paths.root, ".warned-single-id")
    if os.path.exists(marker):
        return
    import sys

    print(f"WARN[0000] {mapping.warning}", file=sys.stderr)
    try:
        open(marker, "w").close()
    except OSError:
        pass


def _start_time(pid: int) -> int:
    """The process' start time (clock ticks since boot): tells a live container from a
    recycled PID."""
    from pdman.runtime.procs import start_time

    return start_time(pid)


def _alive(rec: records.ContainerRecord) -> bool:
    from pdman.runtime.procs import is_running

    return is_running(rec.pid, rec.state.get("pid_start", 0))


def reconcile(ctx: EngineContext, rec: records.ContainerRecord,
              monitor_exiting: bool = False) -> records.ContainerRecord:
    """A container recorded as running whose process is gone is recorded as exited:
    with the code, finish time and OOM kill from its monitor's exit file; with an
    unknown code (ps: `Exited (?)`) when there is none -- its monitor was killed, its
    foreground `pdman run` died, or a reboot wiped the runroot. `monitor_exiting`: the
    caller is the monitor's own exit command, so the monitor is not waited for."""
    if rec.status not in ("running", "paused") or _alive(rec):
        return rec
    from pdman.runtime import monitor, procs
    from pdman.storage.container_fs import ContainerDirs

    exit_rec = monitor.read_exit(ContainerDirs(ctx.paths, rec.id).run) if rec.monitor_pid else None
    if exit_rec is not None and exit_rec.pid != rec.pid:
        exit_rec = None                                         # an older run's
    monitor_alive = bool(rec.monitor_pid) and not monitor_exiting and procs.is_running(
        rec.monitor_pid, rec.state.get("monitor_start", 0))
    if exit_rec is None and monitor_alive:
        return rec              # the monitor is reading the last output; the exit file is next
    if exit_rec is not None:
        code, finished, oom, error = (exit_rec.exit_code, exit_rec.finished_at,
                                      exit_rec.oom_killed, "")
    else:
        code, finished, oom = None, time.time(), False
        error = ("exit code unknown: the container's monitor ended without recording it"
                 if rec.monitor_pid else
                 "exit code unknown: the pdman process that ran it ended first")
    if not records.record_exit(ctx.catalog, rec.id, rec.pid, status="exited", pid=0,
                               exit_code=code, finished_at=finished, oom_killed=int(oom),
                               state={"last_pid": rec.pid, "error": error}):
        # another process recorded this exit first (and reported it): its record stands
        from pdman.errors import ContainerNotFound

        try:
            return records.find(ctx.catalog, rec.id)
        except ContainerNotFound:
            rec.status, rec.pid = "exited", 0
            return rec
    events.container_event(ctx.paths, "died", rec, exit_code=code)
    rec.state.update(last_pid=rec.pid, error=error)
    rec.status, rec.pid, rec.exit_code, rec.finished_at, rec.oom_killed = (
        "exited", 0, code, finished, oom)
    if not monitor_exiting and not monitor_alive:
        # its monitor died before its cleanup ran, or its foreground pdman was killed:
        # nobody else will stop its pasta or remove its cgroup (idempotent if one does)
        teardown_once(ctx, rec)
    return rec


def teardown_once(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """Undo network and cgroup of the container's last run, unless done already (by the
    monitor's cleanup, or by whichever command found its monitor dead)."""
    import sys

    from pdman.errors import PdmanError

    last = rec.state.get("last_pid", 0)
    if last and rec.state.get("cleaned_pid") == last:
        return
    try:
        oom = _teardown(ctx, rec)
    except PdmanError as exc:
        print(f"WARN[0000] cleaning up container {rec.name}: {exc}", file=sys.stderr)
        oom = False
    changes: dict[str, Any] = {"state": {"cleaned_pid": last}}
    if oom and not rec.oom_killed:          # seen in the cgroup: SIGTERM may have raced it
        changes.update(oom_killed=1, exit_code=137 if (rec.exit_code or 0) > 128 else rec.exit_code)
        rec.oom_killed = True
    records.update_state(ctx.catalog, rec.id, **changes)
    rec.state["cleaned_pid"] = last
    events.container_event(ctx.paths, "cleanup", rec)


# ---------------------------------------------------------------------------
# other verbs
# ---------------------------------------------------------------------------

class RemoveOptions:
    __slots__ = ("name", "force", "volumes", "pod_removal")

    def __init__(self, name: str, force: bool = False, volumes: bool = False,
                 pod_removal: bool = False) -> None:
        self.name = name
        self.force = force
        self.volumes = volumes
        self.pod_removal = pod_removal    # `pod rm`: its infra container may go too


def stop_then_remove(ctx: EngineContext, name: str, stop_timeout: int | None) -> str:
    """A forced removal; given `stop_timeout` (`-t N`), a stop with that grace first."""
    if stop_timeout is not None:
        from pdman.engine import lifecycle

        lifecycle.stop(ctx, lifecycle.StopOptions(name, stop_timeout))
    return remove(ctx, RemoveOptions(name=name, force=True))


def remove(ctx: EngineContext, options: RemoveOptions) -> str:
    """`rm`: a running container only with force (killed first). Returns the ID."""
    from pdman.storage import container_fs

    rec = reconcile(ctx, records.find(ctx.catalog, options.name))
    if rec.config.get("infra") and not options.pod_removal:
        from pdman.storage import pod_records

        try:
            pod_name = pod_records.find(ctx.catalog, rec.config["pod"]).name
        except PdmanError:
            pod_name = ""
        if pod_name:
            # podman's words
            raise ConflictError(f"container {rec.id} is the infra container of pod "
                                f"{rec.config['pod']} and cannot be removed without removing "
                                "the pod", hint=f"remove the pod (`pdman pod rm -f {pod_name}`)")
    if rec.state.get("restarting"):     # waiting out the restart back-off: cancel that
        from pdman.engine import restart_policy

        restart_policy.stopped_by_user(ctx, rec)
        rec = reconcile(ctx, records.find(ctx.catalog, rec.id))
    if rec.status in ("running", "paused"):
        if not options.force:
            raise ConflictError(
                f"cannot remove container {rec.id} as it is {rec.status} - running or paused "
                "containers cannot be removed without force",
                hint=f"stop it first, or use `pdman rm -f {rec.name}`")
        if rec.monitor_pid:
            from pdman.engine import lifecycle
            from pdman.errors import ContainerNotFound

            lifecycle.kill_for_removal(ctx, rec)    # its monitor is gone then
            try:
                rec = reconcile(ctx, records.find(ctx.catalog, rec.id))
            except ContainerNotFound:
                return rec.id                       # a --rm container: cleanup removed it
            teardown_once(ctx, rec)
        else:
            from signal import SIGKILL          # here only: it imports enum

            try:
                os.kill(rec.pid, SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(rec.pid)
            teardown_once(ctx, rec)                 # its foreground pdman may be gone too
    elif rec.state.get("last_pid"):
        # exited, but its monitor's cleanup may not have run yet (`wait` answers at the
        # exit): undo its network now, or the pasta outlives the record that names it
        # (a no-op when the cleanup ran already)
        teardown_once(ctx, rec)
    _keep_exit_code(ctx, rec)
    records.delete(ctx.catalog, rec.id)
    events.container_event(ctx.paths, "remove", rec)
    try:
        container_fs.remove(ctx.paths, rec.id)
    except FileNotFoundError:
        pass                                        # removed meanwhile (a --rm cleanup)
    if options.volumes:
        for m in rec.config.get("mounts", []):
            if m.get("anonymous"):
                from pdman.engine import volumes

                try:
                    volumes.remove(ctx, m["source"], force=True)
                except Exception:
                    pass
    return rec.id


#: how long the exit code of a removed container is kept (podman keeps them 5 minutes)
EXIT_CODE_KEEP = 300.0


def _exits_dir(ctx: EngineContext) -> str:
    return os.path.join(ctx.paths.runroot, "exits")


def _keep_exit_code(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """A `--rm` container is removed by its monitor's cleanup right after it exits: a
    waiter that comes late (`docker run --rm` waits for `removed`) still learns its
    exit code from this small file, kept for EXIT_CODE_KEEP seconds."""
    if rec.exit_code is None:
        return
    base = _exits_dir(ctx)
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        now = time.time()
        for old in os.listdir(base):
            path = os.path.join(base, old)
            try:
                if now - os.stat(path).st_mtime > EXIT_CODE_KEEP:
                    os.unlink(path)
            except FileNotFoundError:
                pass
        tmp = os.path.join(base, f".{rec.id}.{os.getpid()}")
        with open(tmp, "w") as f:
            f.write(str(rec.exit_code))
        os.replace(tmp, os.path.join(base, rec.id))
    except OSError:
        pass    # a best-effort record: the removal itself must go on


def removed_exit_code(ctx: EngineContext, container_id: str) -> int | None:
    """The exit code of a container removed in the last EXIT_CODE_KEEP seconds."""
    try:
        with open(os.path.join(_exits_dir(ctx), container_id)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.01)


def rename(ctx: EngineContext, name: str, new_name: str) -> None:
    import re

    if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", new_name):
        raise UsageError(f"invalid container name {new_name!r}",
                         hint="names start with a letter or digit and use [a-zA-Z0-9_.-]")
    rec = records.find(ctx.catalog, name)
    records.rename(ctx.catalog, rec.id, new_name)
    rec.name = new_name
    events.container_event(ctx.paths, "rename", rec)
    if rec.config.get("net", {}).get("mode") == "bridge":
        from pdman import network

        network.renamed(ctx, rec.id)


def prune(ctx: EngineContext, filters: "tuple[str, ...]" = ()) -> list[str]:
    """Remove the stopped containers (those `ps -a --filter` lists, with `filters`)."""
    chosen = None
    if filters:
        chosen = {s.ID for s in list_containers(ctx, ListContainersOptions(
            all=True, filters=filters))}
    removed = []
    for rec in records.list_all(ctx.catalog):
        rec = reconcile(ctx, rec)
        if chosen is not None and rec.id not in chosen:
            continue
        if rec.config.get("infra"):             # goes with its pod (`pod rm`, `pod prune`)
            continue
        if rec.status in ("exited", "created", "stopped"):
            removed.append(remove(ctx, RemoveOptions(name=rec.id)))
    return removed


def wait(ctx: EngineContext, name: str, conditions: "tuple[str, ...]" = ("stopped",),
         interval: float = 0.05) -> int:
    """`wait`: block until the container reaches a condition; its exit code."""
    # podman: a created, never-started container counts as stopped (`wait` returns 0 at
    # once instead of hanging for a start that may never come)
    want = {"stopped": {"exited", "stopped", "created"}, "exited": {"exited"},
            "running": {"running"}, "created": {"created"}, "paused": {"paused"}}
    states: set[str] = set()
    for c in conditions:
        if c not in want:
            raise UsageError(f"invalid condition {c!r}",
                             hint="use one of: " + ", ".join(sorted(want)))
        states |= want[c]
    while True:
        rec = reconcile(ctx, records.find(ctx.catalog, name))
        if rec.status in states:
            return rec.exit_code if rec.exit_code is not None else (0 if rec.status != "exited" else -1)
        time.sleep(interval)


def lookup(ctx: EngineContext, name: str) -> records.ContainerRecord:
    """The container a name or ID prefix means, its state brought up to date."""
    return reconcile(ctx, records.find(ctx.catalog, name))


def wait_exit(ctx: EngineContext, name: str, condition: str = "not-running",
              interval: float = 0.05, stop: "Callable[[], bool] | None" = None) -> int:
    """docker's `wait` conditions: `not-running` (now, if it is not running), `next-exit`
    (the exit of its next run, even if not started yet), `removed` (its removal, e.g.
    by a `--rm` cleanup). The exit code (-1 when unknown, or when `stop()` said to give
    up: the API's client went away)."""
    from pdman.errors import ContainerNotFound

    if condition not in ("not-running", "next-exit", "removed"):
        raise UsageError(f"invalid condition {condition!r}",
                         hint="use not-running, next-exit or removed")
    rec = lookup(ctx, name)
    cid, since, last = rec.id, time.time(), rec.exit_code
    while True:
        try:
            rec = lookup(ctx, cid)
        except ContainerNotFound:
            code = removed_exit_code(ctx, cid)
            return code if code is not None else (last if last is not None else -1)
        last = rec.exit_code if rec.exit_code is not None else last
        stopped = rec.status not in ("running", "paused")
        if condition == "not-running" and stopped:
            return rec.exit_code if rec.exit_code is not None else 0
        if condition == "next-exit" and stopped and rec.finished_at >= since:
            return rec.exit_code if rec.exit_code is not None else -1
        if stop is not None and stop():
            return -1
        time.sleep(interval)


def status_text(rec: records.ContainerRecord, now: float | None = None) -> str:
    """podman's STATUS column: `Up 3 seconds`, `Exited (0) 2 seconds ago`, `Created`."""
    from pdman.cli.humanize import ago, duration

    now = now or time.time()
    if rec.status == "running":
        health = health_status(rec)
        return "Up " + duration(now - rec.started_at) + (f" ({health})" if health else "")
    if rec.status == "paused":
        return "Up " + duration(now - rec.started_at) + " (Paused)"
    if rec.status == "exited":
        code = "?" if rec.exit_code is None else str(rec.exit_code)
        return f"Exited ({code}) " + ago(rec.finished_at or rec.created, now)
    if rec.status == "unknown":
        return "Unknown (monitor lost)"
    return rec.status.capitalize()


def health_status(rec: records.ContainerRecord) -> str:
    """starting, healthy or unhealthy; "" without a healthcheck (or not running)."""
    if not rec.config.get("healthcheck") or rec.status not in ("running", "paused"):
        return ""
    return str((rec.state.get("health") or {}).get("Status") or "starting")


def summarize(rec: records.ContainerRecord) -> ContainerSummary:
    return ContainerSummary(
        ID=rec.id, Names=[rec.name], Image=rec.image_name, ImageID=rec.image_id or "",
        Command=rec.command, Created=rec.created, State=rec.status, Status=status_text(rec),
        ExitCode=rec.exit_code, Pid=rec.pid, Ports=(rec.config.get("net") or {}).get("ports", []),
        Labels=rec.config.get("labels", {}), StartedAt=rec.started_at,
        ExitedAt=rec.finished_at, Health=health_status(rec),
        RestartPolicy=(rec.config.get("restart_policy") or {}).get("name", ""),
        Pod=rec.config.get("pod") or "",
    )


def list_containers(ctx: EngineContext, options: ListContainersOptions) -> list[ContainerSummary]:
    rows = [reconcile(ctx, r) for r in records.list_all_shared(ctx.catalog)]
    if not (options.all or options.last >= 0):
        rows = [r for r in rows if r.status in ("running", "paused")]
    summaries = [summarize(r) for r in rows]
    if any(s.Pod for s in summaries):
        pod_names = {r["id"]: r["name"] for r in ctx.catalog.query("SELECT id, name FROM pods")}
        for s in summaries:
            s.PodName = pod_names.get(s.Pod, "")
    summaries = filter_containers(summaries, options.filters)
    if options.last >= 0:
        summaries = summaries[: options.last]
    if options.size:
        from pdman.engine import container_size

        by_id = {r.id: r for r in rows}
        for s in summaries:
            s.Size = container_size.sizes(ctx, by_id[s.ID])
    return summaries


def _matches(s: ContainerSummary, key: str, value: str) -> bool:
    import re

    if key == "id":
        return s.ID.startswith(value)
    if key == "name":
        return any(re.search(value, n) for n in s.Names)
    if key == "status":
        return s.State == value
    if key == "exited":
        return s.State == "exited" and str(s.ExitCode) == value
    if key == "ancestor":
        return value in (s.Image, s.ImageID) or s.ImageID.startswith(value) or \
            s.Image.split("/")[-1] == value or s.Image.split("/")[-1].split(":")[0] == value
    if key == "label":
        k, eq, v = value.partition("=")
        return k in s.Labels and (not eq or s.Labels[k] == v)
    if key == "health":
        return (s.Health or "none") == value
    if key == "restart-policy":
        return (s.RestartPolicy or "no") == value
    if key == "pod":
        return bool(s.Pod) and (s.PodName == value or s.Pod.startswith(value))
    from pdman.errors import UsageError

    raise UsageError(f"invalid filter {key!r}",
                     hint="supported: id, name, status, exited, ancestor, label, health, "
                          "restart-policy, pod")


def filter_containers(rows: list[ContainerSummary], filters: tuple[str, ...]) -> list[ContainerSummary]:
    """docker semantics: the same key given twice is OR (label: AND), different keys AND."""
    from pdman.errors import UsageError

    by_key: dict[str, list[str]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE, e.g. status=running")
        by_key.setdefault(key, []).append(value)
    # labels: every one given must match (docker's and podman's rule; compose finds a
    # service's containers by project AND service label)
    return [s for s in rows
            if all((all if k == "label" else any)(_matches(s, k, v) for v in vs)
                   for k, vs in by_key.items())]


def _resource_fields(limits: "dict[str, Any]") -> "dict[str, Any]":
    """docker's HostConfig names for the limits (0: none, as docker prints them)."""
    return {
        "Memory": limits.get("memory", 0),
        "MemorySwap": limits.get("memory_swap", 0),
        "MemoryReservation": limits.get("memory_reservation", 0),
        "NanoCpus": int(limits["cpus"] * 1e9) if "cpus" in limits else 0,
        "CpuShares": limits.get("cpu_shares", 0),
        "CpuWeight": limits.get("cpu_weight", 0),
        "CpusetCpus": limits.get("cpuset_cpus", ""),
        "CpusetMems": limits.get("cpuset_mems", ""),
        # --cpus is a quota over the default period, as podman shows it
        "CpuPeriod": limits.get("cpu_period") or (100_000 if "cpus" in limits else 0),
        "CpuQuota": limits.get("cpu_quota")
        or (max(1000, round(limits["cpus"] * 100_000)) if "cpus" in limits else 0),
        "PidsLimit": limits.get("pids_limit", 0),
        **({"CgroupConf": dict(limits["cgroup_conf"])} if limits.get("cgroup_conf") else {}),
    }


def _rfc3339(ts: float) -> str:
    """UTC, microseconds when there are any (datetime's isoformat, without importing
    datetime on `inspect`'s path)."""
    import math

    if not ts:
        return "0001-01-01T00:00:00Z"
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    if us >= 1000000:
        whole, us = whole + 1, us - 1000000
    elif us < 0:
        whole, us = whole - 1, us + 1000000
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(whole)))
    return f"{text}.{us:06d}Z" if us else f"{text}Z"


def log_path(ctx: EngineContext, rec: records.ContainerRecord) -> str:
    """Where its k8s-file log is (written by its monitor, or by pdman in the foreground)."""
    from pdman.runtime.logs import log_path as path_of
    from pdman.storage.container_fs import ContainerDirs

    return path_of(ContainerDirs(ctx.paths, rec.id).base, rec.config.get("log_opts") or {})


def log_max_size(config: "dict[str, Any]") -> int:
    """`--log-opt max-size` in bytes; 0: no rotation."""
    from pdman.engine.runopts import memory_bytes

    value = (config.get("log_opts") or {}).get("max-size")
    return memory_bytes(value) if value and value != "-1" else 0


def _log_path(ctx: EngineContext, rec: records.ContainerRecord) -> str:
    if rec.config.get("log_driver", "k8s-file") != "k8s-file":
        return ""
    return log_path(ctx, rec)


def inspect(ctx: EngineContext, name: str, size: bool = False) -> "dict[str, Any]":
    """docker/podman `inspect` of a container: field names as docker's Engine API; with
    `size` (`inspect --size`), SizeRw and SizeRootFs too."""
    rec = reconcile(ctx, records.find(ctx.catalog, name))
    doc = _inspect(ctx, rec)
    if size:
        from pdman.engine import container_size

        doc["SizeRw"], doc["SizeRootFs"] = container_size.sizes(ctx, rec)
    return doc


def _inspect(ctx: EngineContext, rec: records.ContainerRecord) -> "dict[str, Any]":
    from pdman.network import report as netreport
    from pdman.storage.container_fs import ContainerDirs

    c = rec.config
    dirs = ContainerDirs(ctx.paths, rec.id)
    running = rec.status in ("running", "paused")
    return {
        "Id": rec.id,
        "Created": _rfc3339(rec.created),
        "Path": c["argv"][0] if c.get("argv") else "",
        "Args": c.get("argv", [])[1:],
        "State": {
            "Status": rec.status,
            "Running": rec.status == "running",
            "Paused": rec.status == "paused",
            "Restarting": bool(rec.state.get("restarting")) and not running,
            "OOMKilled": rec.oom_killed,
            "Dead": False,
            "Pid": rec.pid if running else 0,
            "ConmonPid": rec.monitor_pid if running else 0,
            # -1: exited, but the code is unknown (State.Error says why)
            "ExitCode": (rec.exit_code if rec.exit_code is not None
                         else -1 if rec.status == "exited" else 0),
            "Error": rec.state.get("error", ""),
            "StartedAt": _rfc3339(rec.started_at),
            "FinishedAt": _rfc3339(rec.finished_at),
            "Health": _health_report(rec),
        },
        "NetworkSettings": netreport.settings(ctx, rec, running),
        "Image": "sha256:" + rec.image_id if rec.image_id else "",
        "ImageName": rec.image_name,
        "Rootfs": (c.get("rootfs") or {}).get("given", ""),
        "Name": rec.name,
        "LogPath": _log_path(ctx, rec),
        "RestartCount": int(rec.state.get("restart_count", 0)),
        "Driver": "overlay",
        "Mounts": [{
            "Type": m["type"], "Name": m["source"] if m["type"] == "volume" else "",
            "Source": m.get("host_path", m["source"]), "Destination": m["destination"],
            "RW": not m.get("readonly"), "Mode": "", "Propagation": "rprivate",
        } for m in c.get("mounts", [])],
        "Config": {
            "Hostname": c.get("hostname", ""),
            "User": c.get("user", ""),
            "Env": c.get("env", []),
            "Cmd": c.get("cmd", []),
            "Entrypoint": c.get("entrypoint", []),
            "Image": c.get("image_ref", ""),
            "WorkingDir": c.get("workdir", "/"),
            "Labels": c.get("labels", {}),
            "Annotations": c.get("annotations", {}),
            "StopSignal": c.get("stop_signal", "SIGTERM"),
            "StopTimeout": c.get("stop_timeout", 10),
            "Tty": bool(c.get("tty")),
            "OpenStdin": bool(c.get("interactive")),
            "ExposedPorts": {p: {} for p in c.get("exposed_ports", [])},
            "Healthcheck": _healthcheck_config(c),
            "HealthcheckOnFailureAction": c.get("health_on_failure", "none"),
        },
        "HostConfig": {
            "NetworkMode": c.get("network", "none"),
            "PortBindings": netreport.port_bindings(c),
            "ReadonlyRootfs": bool(c.get("read_only")),
            "CapAdd": [], "CapDrop": [],
            "AutoRemove": bool(c.get("remove")),
            "Init": bool(c.get("init")),
            "SecurityOpt": security_opt_report(c),
            "Privileged": bool(c.get("privileged")),
            **_resource_fields((c.get("cgroup") or {}).get("limits") or {}),
            "LogConfig": {"Type": c.get("log_driver", "k8s-file"), "Config": c.get("log_opts", {})},
            "RestartPolicy": _restart_report(c),
        },
        "EffectiveCaps": c.get("caps", []),
        "BoundingCaps": c.get("caps", []),
        # pdman's: what the kernel applies, beyond podman's fields
        "SeccompProfilePath": seccomp_profile_path(ctx, c),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": ":".join(os.path.join(ctx.paths.links, x) for x in c.get("layers", [])),
                "UpperDir": dirs.upper, "WorkDir": dirs.work, "MergedDir": dirs.merged,
            },
        },
    }


def _health_report(rec: records.ContainerRecord) -> "dict[str, Any]":
    """`State.Health` as podman 4.3 shows it (always there; Status "" without one)."""
    health = rec.state.get("health") or {}
    status = health_status(rec) or (str(health.get("Status", "")) if rec.config.get(
        "healthcheck") and rec.status != "created" else "")
    return {"Status": status, "FailingStreak": int(health.get("FailingStreak", 0)),
            "Log": health.get("Log") or None}


def _healthcheck_config(config: "dict[str, Any]") -> "dict[str, Any] | None":
    if not config.get("healthcheck"):
        return None
    from pdman.engine import health

    return health.config_report(config["healthcheck"])


def _restart_report(config: "dict[str, Any]") -> "dict[str, Any]":
    from pdman.engine import restart_policy

    return restart_policy.report(config)
