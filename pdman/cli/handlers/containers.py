"""Handlers of the container commands: build options, call the engine, print."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import confirmed, each, with_cidfiles



def _command_text(argv: list[str], no_trunc: bool) -> str:
    text = " ".join(argv)
    return text if no_trunc or len(text) <= 20 else text[:17] + "..."


def _ports_text(ports: list[dict[str, object]]) -> str:
    from pdman.network.ports import format_ports

    return format_ports(ports)


_PS_SORT = {
    "command": lambda r: " ".join(r.Command), "id": lambda r: r.ID, "image": lambda r: r.Image,
    "names": lambda r: r.Name, "status": lambda r: r.Status,
}


def ps(g: GlobalOptions, all: bool, quiet: bool, no_trunc: bool, filter: list[str] | None,
       format: str | None, last: int, latest: bool, external: bool = False,
       sort: str = "created", noheading: bool = False, pod: bool = False,
       ns: bool = False, sync: bool = False, watch: int = 0, size: bool = False) -> int:
    if watch < 0:
        from pdman.errors import UsageError

        raise UsageError(f"invalid --watch {watch}", hint="give a number of seconds")
    if watch:
        import sys
        import time

        try:
            while True:
                sys.stdout.write("\033[H\033[2J")     # podman's: home, clear
                _ps(g, all, quiet, no_trunc, filter, format, last, latest, sort, noheading,
                    pod, ns, size)
                sys.stdout.flush()
                time.sleep(watch)
        except KeyboardInterrupt:
            return 0
    return _ps(g, all, quiet, no_trunc, filter, format, last, latest, sort, noheading, pod, ns,
               size)


def _ps(g: GlobalOptions, all: bool, quiet: bool, no_trunc: bool, filter: list[str] | None,
        format: str | None, last: int, latest: bool, sort: str, noheading: bool, pod: bool,
        ns: bool, size: bool = False) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import ago
    from pdman.engine.containers import list_containers
    from pdman.entities.containers import ListContainersOptions

    opts = ListContainersOptions(all=all, filters=tuple(filter or ()), last=1 if latest else last,
                                 size=size or sort == "size")
    rows = list_containers(g.context(), opts)
    if sort in _PS_SORT:
        rows = sorted(rows, key=_PS_SORT[sort])
    elif sort == "size":            # podman: the largest writable layer first
        rows = sorted(rows, key=lambda r: -(r.Size or (0, 0))[0])
    elif sort not in ("created", "runningfor", "size"):
        from pdman.errors import UsageError

        raise UsageError(f"invalid option for --sort, options are: command, created, id, "
                         f"image, names, runningfor, size, or status: {sort!r}")
    if quiet:
        for r in rows:
            print(r.ID if no_trunc else r.ID[:12])
        return 0
    if format == "json":
        output.print_json([{**r.as_dict(), "Id": r.ID, "Size": _size_json(r.Size if size else None)}
                           for r in rows])
        return 0
    if format:
        output.print_formatted(format, [{**r.as_dict(), "ID": r.ID if no_trunc else r.ID[:12],
                                         "Names": r.Name, "Command": " ".join(r.Command),
                                         "CreatedHuman": ago(r.Created),
                                         "Ports": _ports_text(r.Ports),
                                         "Size": _size_text(r.Size if size else None)}
                                        for r in rows],
                              header=not noheading,
                              headers={"ID": "CONTAINER ID", "CreatedHuman": "CREATED",
                                       "RunningFor": "CREATED"})
        return 0
    if ns:
        output.print_table(["CONTAINER ID", "NAMES", "PID", *_NS_COLUMNS],
                           [[r.ID if no_trunc else r.ID[:12], r.Name, str(r.Pid or 0),
                             *_namespaces(r.Pid)] for r in rows], header=not noheading)
        return 0
    head = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    output.print_table(
        head + (["POD ID", "PODNAME"] if pod else []) + (["SIZE"] if size else []),
        [[r.ID if no_trunc else r.ID[:12], r.Image, _command_text(r.Command, no_trunc),
          ago(r.Created), r.Status, _ports_text(r.Ports), r.Name]
         + ([r.Pod if no_trunc else r.Pod[:12], r.PodName] if pod else [])
         + ([_size_text(r.Size)] if size else []) for r in rows],
        header=not noheading)
    return 0


def _size_json(sizes: "tuple[int, int] | None") -> "dict[str, int] | None":
    """`ps --size --format json`: podman's Size object (null without --size)."""
    return {"rootFsSize": sizes[1], "rwSize": sizes[0]} if sizes else None


def _size_text(sizes: "tuple[int, int] | None") -> str:
    from pdman.cli.humanize import container_size

    return container_size(*sizes) if sizes else ""


#: `ps --ns`: podman's columns and the /proc/PID/ns entries behind them
_NS_COLUMNS = ("CGROUPNS", "IPC", "MNT", "NET", "PIDNS", "USERNS", "UTS")
_NS_FILES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")


def _namespaces(pid: int) -> list[str]:
    """The inode numbers of a running process' namespaces ('' when not running)."""
    import os

    out = []
    for name in _NS_FILES:
        try:
            link = os.readlink(f"/proc/{pid}/ns/{name}") if pid else ""
        except OSError:
            link = ""
        out.append(link.partition("[")[2].rstrip("]"))
    return out


def _tls(value: "str | bool | None") -> bool | None:
    from pdman.errors import UsageError

    if value is None or isinstance(value, bool):  # the CLI's flag; the API's text
        return value
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise UsageError(f"invalid --tls-verify value {value!r}", hint="use true or false")


def _prepare(ctx, kw: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """What `run` and `create` check or do before the engine creates: --userns, and
    --replace's removal of the container that has the name."""
    from pdman.errors import ContainerNotFound, UsageError

    cidfile = kw.get("cidfile")
    if cidfile:
        import os

        if kw.get("replace") and os.path.exists(str(cidfile)):
            # --replace: the file of the container being replaced (a unit whose
            # ExecStopPost did not run) is replaced with it
            _replace_cidfile(ctx, str(cidfile))
        if os.path.exists(str(cidfile)):
            raise UsageError(f"container id file exists. Ensure another container is not "
                             f"using it or delete {cidfile}")
    userns = str(kw.get("userns") or "")
    if userns and (kw.get("uidmap") or kw.get("gidmap") or kw.get("subuidname")
                   or kw.get("subgidname")):
        raise UsageError("--userns and --uidmap/--gidmap/--subuidname/--subgidname are "
                         "mutually exclusive", hint="give either --userns or the ID maps")
    if userns not in ("", "host") and userns.partition(":")[0] != "auto":
        from pdman.config import is_root_mode

        if is_root_mode():   # podman's keep-id is rootless-only too
            raise UsageError(f"--userns={userns}: not for root mode",
                             hint="as root, use --userns=auto (a range of its own from "
                                  "/etc/subuid's `containers` entry) or host (the default)")
    from pdman.runtime import userns_mode

    userns_mode.parse(userns)  # a bad value fails before any pull
    authfile = kw.get("authfile")
    if authfile:
        import os

        if not os.path.exists(str(authfile)):   # podman checks it before anything
            raise UsageError(f"checking authfile: stat {authfile}: no such file or directory",
                             hint="give an existing credentials file (`pdman login "
                                  "--authfile` writes one)")
    if kw.pop("replace", False) and kw["name"]:
        from pdman.engine import containers as engine

        try:
            engine.remove(ctx, engine.RemoveOptions(name=str(kw["name"]), force=True))
        except ContainerNotFound:
            pass


def _replace_cidfile(ctx, path: str) -> None:  # type: ignore[no-untyped-def]
    import os

    from pdman.engine import containers as engine
    from pdman.errors import ContainerNotFound

    try:
        with open(path, encoding="utf-8") as f:
            cid = f.read().strip()
    except OSError:
        return
    if cid:
        try:
            engine.remove(ctx, engine.RemoveOptions(name=cid, force=True))
        except ContainerNotFound:
            pass
    os.unlink(path)


def _write_cidfile(path: str, cid: str) -> None:
    from pdman.errors import UsageError

    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(cid)
    except OSError as exc:
        raise UsageError(f"writing the container ID to {path}: {exc.strerror}") from None


def _create_options(image: str, command: list[str] | None, **kw: object):  # type: ignore[no-untyped-def]
    from pdman.entities.create import CreateOptions
    from pdman.errors import UsageError

    if kw["pull"] not in ("missing", "always", "never", "newer"):
        raise UsageError(f"invalid --pull policy {kw['pull']!r}", hint="use missing, always or never")
    return CreateOptions(
        image=image, command=list(command or []), name=kw["name"], env=list(kw["env"] or []),
        env_files=list(kw["env_file"] or []), workdir=kw["workdir"], user=kw["user"],
        entrypoint=kw["entrypoint"], hostname=kw["hostname"], interactive=bool(kw["interactive"]),
        tty=bool(kw["tty"]), init=bool(kw["init"]), read_only=bool(kw["read_only"]),
        tmpfs=list(kw["tmpfs"] or []), volumes=list(kw["volume"] or []),
        mounts=list(kw["mount"] or []), cap_add=list(kw["cap_add"] or []),
        cap_drop=list(kw["cap_drop"] or []), privileged=bool(kw["privileged"]),
        security_opt=list(kw["security_opt"] or []), labels=list(kw["label"] or []),
        pull="missing" if kw["pull"] == "newer" else str(kw["pull"]), network=_network(kw["network"]),
        platform=kw["platform"], tls_verify=_tls(kw["tls_verify"]),  # type: ignore[arg-type]
        arch=str(kw.get("arch") or ""), os=str(kw.get("os") or ""),
        variant=str(kw.get("variant") or ""), authfile=str(kw.get("authfile") or ""),
        uidmap=list(kw.get("uidmap") or []), gidmap=list(kw.get("gidmap") or []),  # type: ignore[call-overload]
        subuidname=str(kw.get("subuidname") or ""), subgidname=str(kw.get("subgidname") or ""),
        rootfs=bool(kw.get("rootfs")), init_ctr=kw.get("init_ctr"),  # type: ignore[arg-type]
        stop_signal=kw["stop_signal"], stop_timeout=kw["stop_timeout"],
        quiet_pull=bool(kw["quiet"]), remove=bool(kw["rm"]), userns=str(kw["userns"] or ""),
        secrets=list(kw["secret"] or []),  # type: ignore[call-overload]
        env_host=bool(kw["env_host"]), env_merge=list(kw["env_merge"] or []),  # type: ignore[call-overload]
        unsetenv=list(kw["unsetenv"] or []),  # type: ignore[call-overload]
        unsetenv_all=bool(kw["unsetenv_all"]),
        label_files=list(kw["label_file"] or []),  # type: ignore[call-overload]
        annotations=list(kw["annotation"] or []),  # type: ignore[call-overload]
        expose=list(kw["expose"] or []), group_add=list(kw["group_add"] or []),  # type: ignore[call-overload]
        no_hosts=bool(kw["no_hosts"]), pidfile=kw["pidfile"], shm_size=kw["shm_size"],  # type: ignore[arg-type]
        tz=kw["tz"], uts=kw["uts"], ipc=kw["ipc"],  # type: ignore[arg-type]
        dns_options=list(kw["dns_option"] or []),  # type: ignore[call-overload]
        dns_search=list(kw["dns_search"] or []),  # type: ignore[call-overload]
        read_only_tmpfs=bool(kw["read_only_tmpfs"]),
        requires=list(kw["requires"] or []), init_path=kw["init_path"],  # type: ignore[call-overload]
        oom_score_adj=kw["oom_score_adj"],  # type: ignore[arg-type]
        volumes_from=list(kw["volumes_from"] or []),  # type: ignore[call-overload]
        umask=kw["umask"],  # type: ignore[arg-type]
        publish=list(kw["publish"] or []), publish_all=bool(kw["publish_all"]),
        dns=list(kw["dns"] or []), add_hosts=list(kw["add_host"] or []),
        network_aliases=list(kw["network_alias"] or []),
        memory=kw["memory"], memory_swap=kw["memory_swap"],  # type: ignore[arg-type]
        memory_reservation=kw["memory_reservation"], cpus=kw["cpus"],  # type: ignore[arg-type]
        cpu_shares=kw["cpu_shares"], cpu_weight=kw["cpu_weight"],  # type: ignore[arg-type]
        cpuset_cpus=kw["cpuset_cpus"], pids_limit=kw["pids_limit"],  # type: ignore[arg-type]
        cpuset_mems=kw.get("cpuset_mems"), cpu_period=kw.get("cpu_period"),  # type: ignore[arg-type]
        cpu_quota=kw.get("cpu_quota"),  # type: ignore[arg-type]
        cgroup_conf=list(kw.get("cgroup_conf") or []),  # type: ignore[call-overload]
        ulimits=list(kw["ulimit"] or []),  # type: ignore[call-overload]
        cgroups=str(kw["cgroups"]), cgroup_parent=kw["cgroup_parent"],  # type: ignore[arg-type]
        cgroup_manager=kw["cgroup_manager"], log_driver=str(kw["log_driver"]),  # type: ignore[arg-type]
        log_opts=list(kw["log_opt"] or []), detach=bool(kw.get("detach")),
        restart=kw.get("restart"), health_cmd=kw.get("health_cmd"),  # type: ignore[arg-type]
        health_interval=kw.get("health_interval"),  # type: ignore[arg-type]
        health_timeout=kw.get("health_timeout"),  # type: ignore[arg-type]
        health_retries=kw.get("health_retries"),  # type: ignore[arg-type]
        health_start_period=kw.get("health_start_period"),  # type: ignore[arg-type]
        health_start_interval=kw.get("health_start_interval"),  # type: ignore[arg-type]
        health_on_failure=kw.get("health_on_failure"),  # type: ignore[arg-type]
        no_healthcheck=bool(kw.get("no_healthcheck")),
        detach_keys=kw.get("detach_keys"), sig_proxy=bool(kw.get("sig_proxy", True)),  # type: ignore[arg-type]
        sdnotify=str(kw.get("sdnotify") or "conmon"), create_command=_command_line(),
        pod=_pod_of(kw.get("pod"), kw.get("pod_id_file")),
        passwd=bool(kw.get("passwd", True)), passwd_entry=kw.get("passwd_entry"),  # type: ignore[arg-type]
        hostuser=list(kw.get("hostuser") or []),  # type: ignore[call-overload]
        chrootdirs=list(kw.get("chrootdirs") or []),  # type: ignore[call-overload]
        cgroupns=kw.get("cgroupns"), seccomp_policy=str(kw.get("seccomp_policy") or "default"),  # type: ignore[arg-type]
        http_proxy=bool(kw.get("http_proxy", True)),
        image_volume=str(kw.get("image_volume") or "bind"), timeout=int(kw.get("timeout") or 0),  # type: ignore[call-overload]
        sysctl=list(kw.get("sysctl") or []), personality=kw.get("personality"),  # type: ignore[call-overload]
        devices=list(kw.get("device") or []), pid=kw.get("pid"),  # type: ignore[call-overload]
        ip=kw.get("ip"), ip6=kw.get("ip6"), mac_address=kw.get("mac_address"),  # type: ignore[arg-type]
        attach=list(kw.get("attach") or []),  # type: ignore[call-overload]
        preserve_fds=int(kw.get("preserve_fds") or 0))  # type: ignore[call-overload]


def _network(values: object) -> str:
    """Repeated --network values as the one string the engine parses."""
    if not values:
        return ""
    from pdman.network.modes import join

    return join(list(values))  # type: ignore[call-overload]


def _command_line() -> list[str]:
    import sys

    return list(sys.argv)  # type: ignore[arg-type]


def _pod_of(pod: object, pod_id_file: object) -> str | None:
    """--pod, or the ID in --pod-id-file."""
    if pod or not pod_id_file:
        return str(pod) if pod else None
    from pdman.errors import UsageError

    try:
        with open(str(pod_id_file), encoding="utf-8") as f:
            return f.read().strip()
    except OSError as exc:
        raise UsageError(f"reading the pod ID from {pod_id_file}: {exc.strerror}") from None


def _with_pull_progress(opts, action):  # type: ignore[no-untyped-def]
    """Run `action(opts)` with pull progress on stderr (only shown if a pull happens)."""
    from pdman.cli.pull_progress import pull_progress_if_needed
    from pdman.cli.shortname_prompt import terminal_chooser

    opts.pull_choose = terminal_chooser()
    with pull_progress_if_needed(opts.quiet_pull) as sink:
        opts.pull_progress = sink
        return action(opts)


def run(g: GlobalOptions, image: str, command: list[str] | None, **kw: object) -> int:
    from pdman.engine import containers
    from pdman.entities.create import StartIO

    ctx = g.context()
    _prepare(ctx, kw)
    cidfile = kw.pop("cidfile", None)
    rmi = bool(kw.pop("rmi", False))
    if rmi:
        kw["rm"] = True  # podman: --rmi implies --rm
    opts = _create_options(image, command, **kw)
    on_created = (lambda cid: _write_cidfile(str(cidfile), cid)) if cidfile else None
    report = _with_pull_progress(opts, lambda o: containers.run(
        ctx, o, StartIO(attach=True, interactive=o.interactive, tty=o.tty,
                        sig_proxy=o.sig_proxy), on_created))
    if report.exit_code is None:  # -d: the ID, as podman prints it
        print(report.id)
        return 0
    if rmi:
        _remove_image_quietly(ctx, image)
    return int(report.exit_code)


def _remove_image_quietly(ctx, image: str) -> None:  # type: ignore[no-untyped-def]
    """--rmi: the image goes unless another container uses it (podman says nothing)."""
    from pdman.errors import PdmanError

    try:
        from pdman.engine import image_removal
        from pdman.entities.images import RemoveImagesOptions

        image_removal.remove_images(ctx, RemoveImagesOptions(names=(image,)))
    except PdmanError:
        pass


def create(g: GlobalOptions, image: str, command: list[str] | None, **kw: object) -> int:
    from pdman.engine import containers

    ctx = g.context()
    _prepare(ctx, kw)
    cidfile = kw.pop("cidfile", None)
    rec = _with_pull_progress(_create_options(image, command, **kw),
                              lambda o: containers.create(ctx, o))
    if cidfile:
        _write_cidfile(str(cidfile), rec.id)
    print(rec.id)
    return 0


def start(g: GlobalOptions, containers: list[str] | None, attach: bool, interactive: bool,
          all: bool = False, filter: list[str] | None = None, detach_keys: str | None = None,
          sig_proxy: bool | None = None) -> int:
    from pdman.engine import containers as engine
    from pdman.entities.create import StartIO
    from pdman.errors import UsageError
    from pdman.storage import container_records

    _check_attach_options(attach or interactive, detach_keys, sig_proxy)
    ctx = g.context()
    if all or filter:
        if containers:
            raise UsageError("--all and --filter take no container names",
                             hint="give names, or --all/--filter")
        from pdman.engine.containers import list_containers
        from pdman.entities.containers import ListContainersOptions

        rows = list_containers(ctx, ListContainersOptions(all=True, filters=tuple(filter or ())))
        containers = [r.ID for r in rows if r.State not in ("running", "paused")]
    elif not containers:
        raise UsageError("`start` needs at least one container name or ID",
                         hint="or pass --all")
    if attach or interactive:
        if len(containers) != 1:
            raise UsageError("you cannot start and attach multiple containers at once",
                             hint="give one container with -a/-i")
        rec = container_records.find(ctx.catalog, containers[0])
        return engine.start_attached(ctx, rec, StartIO(attach=True, interactive=interactive,
                                                       tty=bool(rec.config.get("tty")),
                                                       sig_proxy=sig_proxy is not False))
    from pdman.engine import lifecycle

    def one(name: str) -> str:
        lifecycle.start(ctx, name)      # podman: starting a running one is fine
        return name

    return each(containers, one)


def _check_attach_options(attached: bool, detach_keys: str | None,
                          sig_proxy: bool | None) -> None:
    """`start`'s --sig-proxy only with -a/-i (podman's refusal); --detach-keys checked
    as podman does. An attached start runs in pdman's foreground, where no keys detach:
    the container stays attached until it exits (as with --detach-keys "")."""
    from pdman.errors import UsageError

    if sig_proxy is not None and not attached:
        raise UsageError("you cannot use sig-proxy without --attach: invalid argument",
                         hint="add -a, or drop --sig-proxy")
    if detach_keys:
        from pdman.runtime.attach import parse_detach_keys

        parse_detach_keys(detach_keys)


def rm(g: GlobalOptions, containers: list[str] | None, force: bool, volumes: bool, all: bool,
       ignore: bool = False, time: int | None = None, cidfile: list[str] | None = None,
       depend: bool = False) -> int:
    from pdman.engine import containers as engine
    from pdman.engine import dependents
    from pdman.errors import ContainerNotFound, UsageError
    from pdman.storage import container_records

    ctx = g.context()
    containers = with_cidfiles(containers, cidfile, ignore)
    if all:
        # a pod's infra container goes with its pod (`pod rm`), not with `rm -a`
        containers = dependents.sort_for_removal(
            ctx, [r.id for r in container_records.list_all(ctx.catalog)
                  if not r.config.get("infra")])
    elif cidfile and not containers:
        return 0  # `rm --ignore --cidfile F` with F gone: nothing to do (systemd units)
    elif not containers:
        raise UsageError("`rm` needs at least one container name or ID", hint="or pass --all")

    def one(name: str) -> str | None:
        try:
            if force and time:  # -t N: a chance to stop cleanly before the SIGKILL
                from pdman.engine import lifecycle

                lifecycle.stop(ctx, lifecycle.StopOptions(name, time))
            removed = dependents.remove(
                ctx, engine.RemoveOptions(name=name, force=force, volumes=volumes), depend)
            return "\n".join(removed)
        except ContainerNotFound as exc:
            if ignore:  # gone already (or an --rm container that removed itself)
                return None
            exc.exit_code = 1  # podman's `rm`: 1 when a container did not exist
            raise

    code = each(containers, one)
    if code == 0:
        _remove_cidfiles(cidfile)
    return code


def _remove_cidfiles(cidfiles: list[str] | None) -> None:
    """`rm --cidfile F` removes F once its container is gone, as podman does: the
    next `run --cidfile F` of a systemd unit's ExecStart must find it absent."""
    import os

    for path in cidfiles or []:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            from pdman.errors import UsageError

            raise UsageError(f"removing CIDFile {path}: {exc.strerror}") from None


def rename(g: GlobalOptions, container: str, new_name: str) -> int:
    from pdman.engine import containers as engine

    engine.rename(g.context(), container, new_name)
    return 0


def _duration(text: str) -> float:
    from pdman.errors import UsageError

    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if text.endswith(suffix):
            try:
                return float(text[: -len(suffix)]) * scale
            except ValueError:
                break
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"invalid duration {text!r}", hint="e.g. 250ms, 1s") from None


def wait(g: GlobalOptions, containers: list[str], condition: list[str] | None, interval: str) -> int:
    from pdman.engine import containers as engine

    ctx = g.context()
    step = _duration(interval)
    conds = tuple(condition or ["stopped"])
    return each(containers, lambda n: engine.wait(ctx, n, conds, step))


def prune(g: GlobalOptions, force: bool, filter: list[str] | None = None) -> int:
    from pdman.engine import containers as engine

    if not confirmed(force, "This will remove all non running containers."):
        return 0
    for cid in engine.prune(g.context(), tuple(filter or ())):
        print(cid)
    return 0


def inspect(g: GlobalOptions, containers: list[str], format: str | None,
            size: bool = False) -> int:
    from pdman.cli import output
    from pdman.engine import containers as engine

    ctx = g.context()
    reports = []

    def one(n: str) -> None:
        reports.append(engine.inspect(ctx, n, size=size))

    code = each(containers, one)
    if format and format != "json":
        output.print_formatted(format, reports)
    else:
        output.print_json(reports)
    return code


def exists(g: GlobalOptions, container: str, external: bool = False) -> int:
    from pdman.errors import ContainerNotFound
    from pdman.storage import container_records

    try:
        container_records.find(g.context().catalog, container)
    except ContainerNotFound:
        return 1
    return 0


def init(g: GlobalOptions, containers: list[str] | None, all: bool) -> int:
    from pdman.engine import containers as engine
    from pdman.errors import ConflictError, UsageError
    from pdman.storage import container_records

    ctx = g.context()
    if all:
        recs = [engine.reconcile(ctx, r) for r in container_records.list_all(ctx.catalog)]
        containers = [r.id for r in recs if r.status == "created"]
    elif not containers:
        raise UsageError("`init` needs at least one container name or ID", hint="or pass --all")

    def one(name: str) -> str:
        rec = engine.reconcile(ctx, container_records.find(ctx.catalog, name))
        if rec.status in ("running", "paused"):
            raise ConflictError(f"container {rec.id} has already been created in runtime: "
                                "container state improper")
        return name

    return each(containers, one)


def clone(g: GlobalOptions, container: str, name: str | None, image: str | None,
          destroy: bool, force: bool, run: bool, name_opt: str | None,
          memory: str | None, memory_swap: str | None, memory_reservation: str | None,
          cpus: float | None, cpu_shares: int | None, cpuset_cpus: str | None,
          cpuset_mems: str | None = None, cpu_period: int | None = None,
          cpu_quota: int | None = None,
          pod: str | None = None) -> int:
    from pdman.engine import clone as engine

    rec = engine.clone(g.context(), engine.CloneOptions(
        container=container, name=name_opt or name or "", image=image or "",
        destroy=destroy, force=force, run=run, memory=memory, memory_swap=memory_swap,
        memory_reservation=memory_reservation, cpus=cpus, cpu_shares=cpu_shares,
        cpuset_cpus=cpuset_cpus, cpuset_mems=cpuset_mems, cpu_period=cpu_period,
        cpu_quota=cpu_quota, pod=pod or ""))
    print(rec.id)
    return 0
