"""Pods: containers that share namespaces, as Kubernetes groups them.

A pod is a catalog row (storage/pod_records.py) and, unless `--infra=false`, an infra
container: an ordinary pdman container whose process, `pdman-init -P`, runs nothing
and only holds the pod's namespaces (podman's catatonit -P). Its image,
`localhost/pdman-pause:VERSION`, is made locally from pdman's own static init the
first time a pod needs it (no pull), as rootless podman builds localhost/podman-pause.

The infra container owns the pod's network: it is created with the pod's `--network`,
`-p`, `--dns`, `--add-host`, and gets pasta (or slirp4netns) and the published ports
exactly as any container does. A member (`run|create --pod NAME`) joins the infra's
user namespace (all of a pod's containers share one user namespace and ID map, which
joining the others needs) and the namespaces the pod shares (`--share`, podman's
default ipc,net,uts): the network one as `--network container:INFRA` does, IPC and
UTS through the same nsjoin.c path. Starting a member starts the infra first.

    create(ctx, PodCreateOptions(...)) -> PodRecord
    member_fields(ctx, options)        # run/create --pod: the pod's part of the config
    ensure_infra(ctx, rec)             # before a member starts
    start/stop/restart/kill/pause/unpause/remove/prune(ctx, ...)
    list_pods / inspect / top / status

One engine for the CLI and (later) the API service.
"""

from __future__ import annotations

import os
import time

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, PdmanError, PodNotFound, RuntimeFailure, UsageError
from pdman.entities.pods import PodCreateOptions, PodSummary
from pdman.storage import container_records as records
from pdman.storage import pod_records
from pdman.storage.pod_records import PodRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.entities.create import CreateOptions

#: the namespaces a pod shares unless told (podman's default)
DEFAULT_SHARE = ("ipc", "net", "uts")
#: what pdman can share: the rest of podman's (pid, cgroup) is not built yet
SHAREABLE = ("ipc", "net", "uts")
PAUSE_IMAGE = "localhost/pdman-pause"
PAUSE_ENTRYPOINT = ["/pdman-init", "-P"]


# ---------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------

def parse_share(value: str | None, infra: bool) -> list[str]:
    """`--share ipc,net,uts`, `+pid` adds to the default, `none` or "" shares nothing."""
    if value is None:
        return list(DEFAULT_SHARE) if infra else []
    text = value.strip()
    base: list[str] = []
    if text.startswith("+"):
        base, text = list(DEFAULT_SHARE), text[1:]
    kinds = [k.strip() for k in text.split(",") if k.strip() and k.strip() != "none"]
    for k in kinds:
        if k in ("pid", "cgroup", "user"):
            raise UsageError(f"--share {k}: sharing the {k} namespace is not built yet",
                             hint="pdman pods share ipc, net and uts")
        if k not in SHAREABLE:
            raise UsageError(f"invalid kernel namespace to share: {k}. Options are: cgroup, "
                             "ipc, net, pid, uts or none",
                             hint="e.g. --share ipc,net,uts")
    share = base + [k for k in kinds if k not in base]
    if share and not infra:
        raise UsageError("You cannot share kernel namespaces on the pod level without an "
                         "infra container", hint="drop --share, or keep the infra container")
    return share


def create(ctx: EngineContext, options: PodCreateOptions) -> PodRecord:
    """`pod create`: the pod row, then its infra container (created, not started: the
    pod is `Created` until `pod start` or its first member starts it)."""
    from pdman.engine import runopts
    from pdman.engine.names import new_id, random_name

    if options.exit_policy not in ("continue", "stop"):
        raise UsageError(f'invalid pod exit policy: "{options.exit_policy}"',
                         hint="use continue or stop")
    share = parse_share(options.share, options.infra)
    from pdman.cgroups import pods as podcg

    cgroup = podcg.resolve(options)      # refuses limits this host cannot enforce
    if not options.infra and (options.publish or options.network or options.dns
                              or options.add_hosts or options.hostname or options.ip
                              or options.mac_address or options.dns_search
                              or options.dns_options or options.network_aliases
                              or options.no_hosts or options.sysctl or options.uts
                              or options.volumes or options.volumes_from
                              or options.devices or options.pid or options.shm_size
                              or options.security_opt or options.ip6 or _has_maps(options)
                              or options.userns not in ("", "host")):
        raise UsageError("you must have an infra container to publish port bindings to "
                         "the host, set the network, DNS, hosts entries, the hostname, "
                         "namespaces, ID maps, sysctls, devices, /dev/shm, security "
                         "options or volumes of the pod",
                         hint="drop --infra=false")
    idmaps = _idmaps(options)
    if not options.share_parent and (cgroup.get("limits") or cgroup.get("parent")):
        raise UsageError("--share-parent=false: the pod's resource limits and "
                         "--cgroup-parent need the pod's cgroup as its containers' parent",
                         hint="drop the limits, or --share-parent=false")
    shm_size = None
    if options.shm_size:
        from pdman.engine.runopts import memory_bytes

        shm_size = memory_bytes(options.shm_size)     # a bad size fails here, by name
    if options.uts not in (None, "", "private", "host"):
        raise UsageError(f"--uts={options.uts}: not supported", hint="use private or host")
    if options.uts == "host" and options.hostname:
        raise UsageError("invalid config provided: cannot set hostname when running in the "
                         "host UTS namespace", hint="drop --hostname or --uts=host")
    if options.no_hosts and options.add_hosts:
        raise UsageError("--no-hosts and --add-host cannot be set together")
    name = options.name
    if name:
        import re

        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", name):
            raise UsageError(f"invalid pod name {name!r}",
                             hint="names start with a letter or digit and use [a-zA-Z0-9_.-]")
        if options.replace_existing:
            try:
                remove(ctx, name, force=True)
            except PodNotFound:
                pass
    else:
        name = random_name({p.name for p in pod_records.list_all(ctx.catalog)})
    from pdman.engine import runextra

    pod = PodRecord(id=new_id(), name=name, created=time.time(), config={
        "labels": runopts.labels(runextra.labels(options)), "share": share,  # type: ignore[arg-type]
        "infra": options.infra,
        "infra_id": "", "hostname": options.hostname or "", "exit_policy": options.exit_policy,
        "create_command": list(options.create_command), "dns": list(options.dns),
        "add_hosts": list(options.add_hosts), "cgroup": cgroup,
        # what members get too (member_fields)
        "devices": list(options.devices), "pid": options.pid or "",
        "no_hosts": options.no_hosts, "uts": options.uts or "",
        "volumes": bool(options.volumes or options.volumes_from),
        "dns_search": list(options.dns_search), "dns_options": list(options.dns_options),
        "network_aliases": list(options.network_aliases),
        "shm_size": options.shm_size or "", "idmaps": idmaps,
        # `pod clone` makes the pod again from these (the infra container's part too)
        "create_options": {k: v for k, v in vars(options).items()
                           if k not in ("name", "replace_existing", "create_command")}})
    if not options.share_parent:
        pod.config["cgroup"] = {}       # no pod cgroup: inspect's CreateCgroup false
    pod_records.insert(ctx.catalog, pod)
    if not options.infra:
        return pod
    try:
        infra = _create_infra(ctx, pod, options)
    except BaseException:
        pod_records.delete(ctx.catalog, pod.id)
        raise
    pod_records.update_config(ctx.catalog, pod.id, infra_id=infra.id)
    pod.config["infra_id"] = infra.id
    return pod


def _create_infra(ctx: EngineContext, pod: PodRecord,
                  options: PodCreateOptions) -> records.ContainerRecord:
    from pdman.engine import containers
    from pdman.entities.create import CreateOptions

    image = options.infra_image or ensure_pause_image(ctx)
    entrypoint = options.infra_command
    if entrypoint is None and not options.infra_image:
        import json

        entrypoint = json.dumps(PAUSE_ENTRYPOINT)
    from pdman.network import modes

    # on user-defined networks the pod answers to its name (podman: an alias of its
    # infra container), since its containers all live in the infra's namespace
    bridge = modes.parse(options.network).kind == "bridge"
    aliases = [pod.name] if bridge else []
    if options.network_aliases and not bridge:
        raise UsageError("--network-alias only applies to user-defined networks",
                         hint="give --network NAME as well")
    return containers.create(ctx, CreateOptions(
        image=image, name=options.infra_name or f"{pod.id[:12]}-infra",
        entrypoint=entrypoint, pull="missing",
        network=options.network, publish=options.publish, dns=options.dns,
        add_hosts=options.add_hosts,
        network_aliases=list(dict.fromkeys([*aliases, *options.network_aliases])),
        dns_search=options.dns_search, dns_options=options.dns_options,
        no_hosts=options.no_hosts, ip=options.ip, mac_address=options.mac_address,
        sysctl=options.sysctl, devices=options.devices, pid=options.pid,
        uts=options.uts, volumes=options.volumes, volumes_from=options.volumes_from,
        # podman: the pod's hostname is the pod's name unless --hostname
        hostname=None if options.uts == "host" else options.hostname or pod.name,
        shm_size=options.shm_size, security_opt=options.security_opt, ip6=options.ip6,
        uidmap=options.uidmap, gidmap=options.gidmap, subuidname=options.subuidname,
        subgidname=options.subgidname, userns=options.userns, pod=pod.id,
        pod_infra=True))


def _has_maps(options: PodCreateOptions) -> bool:
    return bool(options.uidmap or options.gidmap or options.subuidname or options.subgidname)


def _idmaps(options: PodCreateOptions) -> "dict[str, Any]":
    """The pod's ID maps (its user namespace: the infra's, which members join), checked
    now as run's are: every member is created with the same maps, so that its root
    filesystem's owners are those of that namespace."""
    if not _has_maps(options):
        if options.userns in ("", "host"):
            return {}
        from pdman.runtime import userns_mode

        userns_mode.parse(options.userns)       # a bad mode fails here, by name
        return {"userns": options.userns}
    from pdman.runtime import idmap, userns_mode

    if options.userns not in ("", "host"):
        raise UsageError("--userns and --uidmap/--gidmap/--subuidname/--subgidname are "
                         "mutually exclusive", hint="give either --userns or the ID maps")
    userns_mode.custom(options.uidmap, options.gidmap, options.subuidname,
                       options.subgidname, idmap.mapping_for_current_user())
    return {"userns": "", "uidmap": list(options.uidmap), "gidmap": list(options.gidmap),
            "subuidname": options.subuidname, "subgidname": options.subgidname}


def ensure_pause_image(ctx: EngineContext) -> str:
    """`localhost/pdman-pause:VERSION`: one layer holding pdman's static init, made
    here the first time (an import of a tarball built in memory: no registry)."""
    from pdman import __version__
    from pdman.storage import image_records

    name = f"{PAUSE_IMAGE}:{__version__}"
    if image_records.find_by_name(ctx.catalog, name) is not None:
        return name
    import io
    import tarfile
    import tempfile

    from pdman.engine.image_transfer import import_image
    from pdman.entities.image_transfer import ImportOptions
    from pdman.runtime import libexec

    init = libexec.path("pdman-init")
    # beside the store, not in its tmp/: the import clears that of what it left
    os.makedirs(ctx.paths.root, exist_ok=True)
    fd, tar_path = tempfile.mkstemp(prefix=".pause-", suffix=".tar", dir=ctx.paths.root)
    try:
        with os.fdopen(fd, "wb") as f, tarfile.open(fileobj=f, mode="w",
                                                    format=tarfile.PAX_FORMAT) as tar:
            for d in ("dev", "etc", "proc", "run", "sys", "tmp"):
                info = tarfile.TarInfo(d)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755
                tar.addfile(info)
            with open(init, "rb") as src:
                data = src.read()
            info = tarfile.TarInfo("pdman-init")
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
        import json

        import_image(ctx, ImportOptions(source=tar_path, image=name, message="pdman pod infra",
                                        changes=[f"ENTRYPOINT {json.dumps(PAUSE_ENTRYPOINT)}"]))
    finally:
        os.unlink(tar_path)
    return name


# ---------------------------------------------------------------------------
# members
# ---------------------------------------------------------------------------

def member_fields(ctx: EngineContext, options: "CreateOptions") -> "dict[str, Any]":
    """`run|create --pod NAME|new:NAME`: find (or make) the pod, point the options at
    its infra's network and hostname, and return the config fields that record the
    pod (`pod`, `pod_infra`, `pod_share`)."""
    assert options.pod
    if options.cgroup_parent:
        raise UsageError("--cgroup-parent cannot be given to a container of a pod: its "
                         "cgroup goes in the pod's",
                         hint="give --cgroup-parent to `pdman pod create`")
    if options.pod_infra:
        return {"pod": options.pod, "infra": True,
                "pod_cgroup": _cgroup_of(pod_records.find(ctx.catalog, options.pod))}
    if options.pod.startswith("new:"):
        # podman moves the container's network options to the new pod's infra
        pod = create(ctx, PodCreateOptions(
            name=options.pod[4:], publish=options.publish, network=options.network,
            dns=options.dns, add_hosts=options.add_hosts))
        options.publish, options.network, options.dns, options.add_hosts = [], "", [], []
    else:
        pod = pod_records.find(ctx.catalog, options.pod)
    share = list(pod.config.get("share") or [])
    infra_id = pod.config.get("infra_id") or ""
    if "net" in share:
        if options.network:
            raise UsageError("invalid config provided: networks must be defined when the pod "
                             "is created: network cannot be configured when it is shared "
                             "with a pod", hint="give --network to `pdman pod create`")
        if options.publish or options.publish_all:
            raise UsageError("invalid config provided: published or exposed ports must be "
                             "defined when the pod is created: network cannot be configured "
                             "when it is shared with a pod",
                             hint="give -p to `pdman pod create`")
        options.network = f"container:{infra_id}"
    if "uts" in share:
        if options.hostname:
            raise UsageError("invalid config provided: cannot set hostname when joining the "
                             "pod UTS namespace",
                             hint="give --hostname to `pdman pod create`")
        if pod.config.get("uts") == "host":
            # the host's UTS namespace is not the infra's to hand on: each member
            # enters it as --uts=host does
            share = [k for k in share if k != "uts"]
            options.uts = "host"
        else:
            infra = records.find(ctx.catalog, infra_id)
            options.hostname = infra.config.get("hostname") or pod.name
    maps = pod.config.get("idmaps") or {}
    if options.uidmap or options.gidmap or options.subuidname or options.subgidname:
        raise UsageError("--uidmap/--gidmap/--subuidname/--subgidname with --pod: the "
                         "containers of a pod share its user namespace",
                         hint="set the maps on the pod (`pdman pod create --uidmap ...`), "
                              "or drop --pod")
    if maps:
        if options.userns and options.userns != maps.get("userns"):
            raise UsageError(f"--userns={options.userns} with --pod: the pod has a user "
                             "namespace of its own, which its containers share",
                             hint="drop --userns")
        if maps.get("userns"):
            options.userns = maps["userns"]
        else:
            options.uidmap, options.gidmap = list(maps["uidmap"]), list(maps["gidmap"])
            options.subuidname, options.subgidname = maps["subuidname"], maps["subgidname"]
        options.pod_userns = bool(share)   # it joins the infra's user namespace
    if "ipc" in share and pod.config.get("shm_size"):
        # podman: a member sharing the pod's IPC namespace has the infra's /dev/shm, of
        # the pod's size; pdman's member mounts a /dev/shm of its own of that size
        options.shm_size = pod.config["shm_size"]
    _inherit(pod, options)
    fields: "dict[str, Any]" = {"pod": pod.id, "pod_infra": infra_id, "pod_share": share,
                                "pod_cgroup": _cgroup_of(pod)}
    if options.init_ctr:
        from pdman.engine.containers import reconcile

        if infra_id and reconcile(ctx, records.find(ctx.catalog, infra_id)).status in (
                "running", "paused"):
            raise ConflictError(f"pod {pod.name} is running: init containers can only be "
                                "added to a pod that is not running",
                                hint=f"stop it first (`pdman pod stop {pod.name}`)")
        fields["init_ctr"] = options.init_ctr
    return fields


def userns_of(pod: PodRecord) -> "dict[str, Any] | None":
    """The stored user namespace (runtime/userns_mode.py's form) of the pod's
    containers: None for the default."""
    maps = pod.config.get("idmaps") or {}
    if not maps:
        return None
    from pdman.runtime import idmap, userns_mode

    if maps.get("userns"):
        return userns_mode.parse(maps["userns"])
    return userns_mode.custom(maps["uidmap"], maps["gidmap"], maps["subuidname"],
                              maps["subgidname"], idmap.mapping_for_current_user())


def _inherit(pod: PodRecord, options: "CreateOptions") -> None:
    """What every container of the pod gets from `pod create`: its devices, its PID
    mode (unless the container gives its own), no /etc/hosts of pdman's with
    --no-hosts, and its volumes (those of the infra container, as --volumes-from)."""
    c = pod.config
    if c.get("devices"):
        options.devices = [*c["devices"], *options.devices]
    if c.get("pid") and not options.pid:
        options.pid = c["pid"]
    if c.get("no_hosts"):
        options.no_hosts = True
    if c.get("volumes") and c.get("infra_id"):
        options.volumes_from = [c["infra_id"], *options.volumes_from]


def _cgroup_of(pod: PodRecord) -> "dict[str, Any]":
    """A member's part of its pod's cgroup: where it goes and the pod's limits."""
    if not pod.config.get("cgroup", True):
        return {}           # --share-parent=false: members' cgroups go where theirs would
    cg = pod.config.get("cgroup") or {}
    return {"id": pod.id, "limits": cg.get("limits") or {}, "parent": cg.get("parent") or ""}


def ensure_infra(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """Before a member starts: its pod's infra container runs (started now if not)."""
    infra_id = rec.config.get("pod_infra")
    if not infra_id or rec.config.get("infra"):
        return
    from pdman.engine import containers, lifecycle

    infra = containers.reconcile(ctx, records.find(ctx.catalog, infra_id))
    if infra.status not in ("running", "paused"):
        lifecycle.start_detached(ctx, infra)


def member_exited(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """A member's exit (its monitor's cleanup): with `--exit-policy stop`, the last
    member to exit stops the infra container, and so the pod. An init container's exit
    is the pod's start going on, not a member's end."""
    if rec.config.get("init_ctr"):
        return
    try:
        pod = pod_records.find(ctx.catalog, rec.config["pod"])
    except PodNotFound:
        return
    if pod.config.get("exit_policy") != "stop":
        return
    recs = _containers(ctx, pod)
    if any(r.status in ("running", "paused") for r in recs if not r.config.get("infra")):
        return
    from pdman.engine import lifecycle

    for r in recs:
        if r.config.get("infra") and r.status in ("running", "paused"):
            lifecycle.stop(ctx, lifecycle.StopOptions(r.id))


# ---------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------

def _containers(ctx: EngineContext, pod: PodRecord) -> list[records.ContainerRecord]:
    from pdman.engine.containers import reconcile

    return [reconcile(ctx, r) for r in records.in_pod(ctx.catalog, pod.id)]


def status(recs: "list[records.ContainerRecord]") -> str:
    """podman's pod states, from its containers': Created, Running, Paused, Exited,
    Degraded (some running, some not)."""
    if not recs:
        return "Created"
    states = [r.status for r in recs]
    total = len(states)
    if states.count("created") == total:
        return "Created"
    if states.count("running") == total:
        return "Running"
    if states.count("paused") == total:
        return "Paused"
    if all(s in ("exited", "stopped", "created", "unknown") for s in states):
        return "Exited"
    return "Degraded"


def find(ctx: EngineContext, name: str) -> PodRecord:
    return pod_records.find(ctx.catalog, name)


def exists(ctx: EngineContext, name: str) -> bool:
    try:
        pod_records.find(ctx.catalog, name)
    except PodNotFound:
        return False
    return True


# ---------------------------------------------------------------------------
# verbs on the whole pod
# ---------------------------------------------------------------------------

def _members_first(recs: "list[records.ContainerRecord]") -> "list[records.ContainerRecord]":
    """The pod's containers, the infra container last (stop order)."""
    return sorted(recs, key=lambda r: bool(r.config.get("infra")))


def start(ctx: EngineContext, name: str, init_containers: bool = True) -> str:
    """`pod start`: the infra container, then its init containers (--init-ctr) one
    after the other, each to its exit, then every other member that is not running.
    `pod restart` runs no init containers (podman's rule)."""
    from pdman.engine import lifecycle

    pod = find(ctx, name)
    recs = _containers(ctx, pod)
    if not recs:
        raise ConflictError(f"no containers in pod {pod.id} have no dependencies, cannot "
                            "start pod: no such container",
                            hint=f"add one (`pdman create --pod {pod.name} IMAGE`)")
    inits = sorted((r for r in recs if r.config.get("init_ctr")), key=lambda r: r.created)
    recs = [r for r in recs if not r.config.get("init_ctr")]
    if inits and init_containers:
        # each init container starts the infra first if needed (ensure_infra), then runs
        # to its exit before the next one
        for rec in inits:
            try:
                lifecycle.start_detached(ctx, records.find(ctx.catalog, rec.id))
            except PdmanError as exc:
                exc.message = f"starting container {rec.id}: {exc.message}"
                raise
            _finish_init(ctx, rec)
        recs = [r for r in _containers(ctx, pod) if not r.config.get("init_ctr")]
    # Run by a systemd unit (`generate systemd --new POD`'s pod unit, Type=notify): one
    # MAINPID=<infra's monitor> and READY=1 once every container runs, not one per
    # container (each would move the unit's main process to another monitor)
    unit_socket = os.environ.pop("NOTIFY_SOCKET", None)
    try:
        for rec in reversed(_members_first(recs)):
            if rec.status not in ("running", "paused"):
                try:
                    lifecycle.start_detached(ctx, records.find(ctx.catalog, rec.id))
                except PdmanError as exc:
                    exc.message = f"starting container {rec.id}: {exc.message}"
                    raise
    finally:
        if unit_socket is not None:
            os.environ["NOTIFY_SOCKET"] = unit_socket
    if unit_socket:
        _notify_started(ctx, recs)
    return pod.id


def _notify_started(ctx: EngineContext, recs: "list[records.ContainerRecord]") -> None:
    """Tell the pod's unit it is up; its main process is the infra container's monitor
    (the first member's in a pod without one), which lives as long as the pod runs."""
    from pdman.systemd import notify

    main = next((r for r in recs if r.config.get("infra")), recs[0] if recs else None)
    pid = records.find(ctx.catalog, main.id).monitor_pid if main is not None else 0
    notify.send((f"MAINPID={pid}\n" if pid else "") + "READY=1\n")


def stop(ctx: EngineContext, name: str, timeout: int | None = None) -> str:
    """`pod stop`: every member at once (its stop signal, SIGKILL after the timeout),
    then the infra container."""
    pod = find(ctx, name)
    recs = [r for r in _containers(ctx, pod) if r.status in ("running", "paused")]
    _stop_all(ctx, [r for r in recs if not r.config.get("infra")], timeout)
    _stop_all(ctx, [r for r in recs if r.config.get("infra")], timeout)
    return pod.id


def _stop_all(ctx: EngineContext, recs: "list[records.ContainerRecord]",
              timeout: int | None) -> None:
    """Stop containers together (podman stops a pod's containers in parallel): the
    stop signal to all, SIGKILL to those still running after the
    timeout, and return once each one's teardown is done -- the cleanup frees the
    published ports after the exit is recorded, and a `pod rm` or the next
    `pod create -p` must not race it. The cleanups are claimed (lifecycle.claim_cleanup)
    and run here, rather than by one `pdman container cleanup` per monitor."""
    import signal

    from pdman.engine import containers, lifecycle, restart_policy
    from pdman.runtime import procs

    started = []
    claims: dict[str, str] = {}     # the cleanups done here, not by each monitor's own
    for rec in recs:
        # the user's stop: a restart policy (kube play's default `always`) must not
        # bring the container back after this exit
        restart_policy.stopped_by_user(ctx, rec)
        claims[rec.id] = lifecycle.claim_cleanup(ctx, rec)
        fd = procs.open_process(rec.pid, rec.state.get("pid_start", 0))
        if fd is None:
            continue
        sig = lifecycle.parse_signal(rec.config.get("stop_signal") or "SIGTERM")
        procs.signal_process(fd, sig)
        started.append((rec, fd))
    try:
        signalled = time.monotonic()
        for rec, fd in started:
            t = timeout if timeout is not None else rec.config.get("stop_timeout", 10)
            left = max(0.0, signalled + float(t) - time.monotonic())
            if not procs.wait_exit(fd, left):
                procs.signal_process(fd, signal.SIGKILL)
        for rec, fd in started:
            procs.wait_exit(fd, lifecycle.MONITOR_GRACE)
    finally:
        for _, fd in started:
            os.close(fd)
    for rec in recs:
        if claims.get(rec.id):        # records the exit, tears down, removes a --rm one
            lifecycle.await_cleanup(ctx, rec, claims[rec.id])
            continue
        if rec.monitor_pid:
            procs.wait_gone(rec.monitor_pid, rec.state.get("monitor_start", 0),
                            lifecycle.MONITOR_GRACE)
        try:
            now = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
        except PdmanError:
            continue        # removed meanwhile (a --rm member's cleanup)
        containers.teardown_once(ctx, now)


def _kill_for_removal(ctx: EngineContext, recs: "list[records.ContainerRecord]") -> None:
    """SIGKILL to containers about to be removed, their monitors first: a monitor
    killed before its container exits never runs its exit command (`container
    cleanup`, a Python process of ~0.4 s each, which `_stop_all` must wait out), and
    never writes an exit file into a run directory this removal deletes. The
    teardown its cleanup would have done (network, ports, cgroup) is done here, once
    every process has exited; the removal that follows deletes the rest."""
    import signal

    from pdman.engine import containers, restart_policy
    from pdman.engine.lifecycle import MONITOR_GRACE
    from pdman.runtime import procs

    fds: list[int] = []
    try:
        for rec in recs:
            restart_policy.stopped_by_user(ctx, rec)
            # both opened before either is signalled: the pidfds pin these processes
            ctr = procs.open_process(rec.pid, rec.state.get("pid_start", 0))
            mon = (procs.open_process(rec.monitor_pid, rec.state.get("monitor_start", 0))
                   if rec.monitor_pid and rec.monitor_pid != os.getpid() else None)
            for fd in (mon, ctr):      # the monitor first
                if fd is not None:
                    procs.signal_process(fd, signal.SIGKILL)
                    fds.append(fd)
        for fd in fds:
            procs.wait_exit(fd, MONITOR_GRACE)
    finally:
        for fd in fds:
            os.close(fd)
    for rec in recs:
        try:
            now = containers.reconcile(ctx, records.find(ctx.catalog, rec.id))
        except PdmanError:
            continue
        containers.teardown_once(ctx, now)


def _finish_init(ctx: EngineContext, rec: records.ContainerRecord) -> None:
    """An init container started: wait for its exit; a failure stops the pod's start;
    a `once` one is removed after its run."""
    from pdman.engine import containers

    code = containers.wait_exit(ctx, rec.id, "not-running")
    if code != 0:
        raise RuntimeFailure(f"init container {rec.id} exited with code {code}",
                             hint=f"see its output: pdman logs {rec.name}")
    if rec.config.get("init_ctr") == "once":
        containers.remove(ctx, containers.RemoveOptions(name=rec.id, force=True))


def restart(ctx: EngineContext, name: str) -> str:
    stop(ctx, name)
    return start(ctx, name, init_containers=False)


def kill(ctx: EngineContext, name: str, signal: str = "KILL") -> str:
    """`pod kill`: the signal to every running container of the pod."""
    from pdman.engine import lifecycle

    pod = find(ctx, name)
    sig = lifecycle.parse_signal(signal)    # checked even when nothing runs
    running = [r for r in _members_first(_containers(ctx, pod))
               if r.status in ("running", "paused")]
    if not running:
        raise ConflictError(f"no containers in pod {pod.id} are running: container state improper",
                            hint=f"start it first (`pdman pod start {pod.name}`)")
    for rec in running:
        lifecycle.kill(ctx, lifecycle.KillOptions(rec.id, str(sig)))
    return pod.id


def pause(ctx: EngineContext, name: str, frozen: bool = True) -> str:
    from pdman.engine import pause as pausemod

    pod = find(ctx, name)
    want = "running" if frozen else "paused"
    for rec in _containers(ctx, pod):
        if rec.status == want:
            (pausemod.pause if frozen else pausemod.unpause)(ctx, rec.id)
    return pod.id


def remove(ctx: EngineContext, name: str, force: bool = False,
           timeout: int | None = None) -> str:
    """`pod rm`: its containers (running ones only with `force`, stopped first), then
    the pod. Every process, mount and port forwarder goes with its container."""
    from pdman.engine import containers

    pod = find(ctx, name)
    recs = _containers(ctx, pod)
    running = [r for r in recs if r.status in ("running", "paused")]
    if running and not force:
        r = running[0]
        raise ConflictError(
            f"pod {pod.id} has containers that are not ready to be removed: cannot remove "
            f"container {r.id} as it is {r.status} - running or paused containers cannot be "
            "removed without force: container state improper",
            hint=f"stop it first (`pdman pod stop {pod.name}`) or give -f")
    if not timeout:
        # -f (or -t 0, podman's SIGKILL at once): every container at once
        _kill_for_removal(ctx, running)
    else:
        # their stop signal first, members then the infra container (as `pod stop`)
        _stop_all(ctx, [r for r in running if not r.config.get("infra")], timeout)
        _stop_all(ctx, [r for r in running if r.config.get("infra")], timeout)
    for rec in _members_first(recs):
        try:
            containers.remove(ctx, containers.RemoveOptions(name=rec.id, force=True,
                                                            volumes=True, pod_removal=True))
        except PdmanError as exc:
            from pdman.errors import ContainerNotFound

            if not isinstance(exc, ContainerNotFound):
                raise
    try:     # its members' starts record the pod's cgroup once they made it
        state = pod_records.find(ctx.catalog, pod.id).config.get("cgroup_state") or {}
    except PodNotFound:
        state = {}
    pod_records.delete(ctx.catalog, pod.id)
    if state:
        from pdman.cgroups import pods as podcg

        podcg.remove(state)
    return pod.id


def prune(ctx: EngineContext) -> list[str]:
    """`pod prune`: every pod none of whose containers runs."""
    removed = []
    for pod in pod_records.list_all(ctx.catalog):
        if status(_containers(ctx, pod)) in ("Created", "Exited"):
            removed.append(remove(ctx, pod.id, force=True))
    return removed


# ---------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------

def summarize(ctx: EngineContext, pod: PodRecord) -> PodSummary:
    recs = _containers(ctx, pod)
    infra_id = pod.config.get("infra_id") or ""
    networks: list[str] = []
    for r in recs:
        if r.id == infra_id and (r.config.get("net") or {}).get("mode") == "bridge":
            networks = [n["name"] for n in r.config["net"].get("networks", [])]
    return PodSummary(
        Id=pod.id, Name=pod.name, Status=status(recs), Created=pod.created, InfraId=infra_id,
        Labels=pod.config.get("labels") or {}, Networks=networks, Cgroup="", Namespace="",
        Shared=list(pod.config.get("share") or []),
        Containers=[{"Id": r.id, "Names": r.name, "Status": r.status} for r in recs])


def list_pods(ctx: EngineContext, filters: "tuple[str, ...]" = ()) -> list[PodSummary]:
    rows = [summarize(ctx, p) for p in pod_records.list_all(ctx.catalog)]
    by_key: dict[str, list[str]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE, e.g. name=web")
        by_key.setdefault(key, []).append(value)
    return [s for s in rows if all((all if k == "label" else any)(_matches(s, k, v) for v in vs)
                                   for k, vs in by_key.items())]


def _matches(s: PodSummary, key: str, value: str) -> bool:
    import re

    if key == "id":
        return bool(s.Id.startswith(value))
    if key == "name":
        return re.search(value, s.Name) is not None
    if key == "status":
        return str(s.Status).lower() == value.lower()
    if key == "label":
        k, eq, v = value.partition("=")
        return k in s.Labels and (not eq or s.Labels[k] == v)
    if key == "ctr-names":
        return any(re.search(value, c["Names"]) for c in s.Containers)
    if key == "ctr-ids":
        return any(c["Id"].startswith(value) for c in s.Containers)
    if key == "ctr-number":
        return str(len(s.Containers)) == value
    if key == "ctr-status":
        return any(c["Status"] == value for c in s.Containers)
    if key == "network":
        return value in s.Networks
    raise UsageError(f"invalid filter {key!r}",
                     hint="supported: id, name, status, label, network, ctr-names, ctr-ids, "
                     "ctr-number, ctr-status")


def inspect(ctx: EngineContext, name: str) -> "dict[str, Any]":
    """`pod inspect`: podman 4.3's fields."""
    from pdman.engine.containers import _rfc3339
    from pdman.network import report as netreport

    pod = find(ctx, name)
    recs = _containers(ctx, pod)
    c = pod.config
    out: dict[str, Any] = {
        "Id": pod.id, "Name": pod.name, "Created": _rfc3339(pod.created),
        "CreateCommand": c.get("create_command") or [], "ExitPolicy": c.get("exit_policy"),
        "State": status(recs), "Hostname": c.get("hostname", ""),
        "Labels": c.get("labels") or {}, "CreateCgroup": bool(c.get("cgroup")),
        "CgroupParent": (c.get("cgroup") or {}).get("parent") or "",
        "CreateInfra": bool(c.get("infra")),
    }
    state = c.get("cgroup_state") or {}
    if state:
        out["CgroupPath"] = state.get("path") or state.get("unit") or ""
        if not out["CgroupParent"] and state.get("unit"):
            out["CgroupParent"] = str(state["unit"]).rsplit("-pod_", 1)[0] + ".slice"
    from pdman.cgroups import pods as podcg

    out.update(podcg.inspect_fields(c))
    infra = next((r for r in recs if r.id == c.get("infra_id")), None)
    if infra is not None:
        net = infra.config.get("net") or {}
        out["InfraContainerID"] = infra.id
        out["InfraConfig"] = {
            "PortBindings": netreport.port_bindings(infra.config),
            "HostNetwork": net.get("mode") == "host",
            "StaticIP": _static(infra, "ip"), "StaticMAC": _static(infra, "mac"),
            "NoManageResolvConf": False,
            "DNSServer": list(c.get("dns") or []) or None,
            "DNSSearch": list(c.get("dns_search") or []) or None,
            "DNSOption": list(c.get("dns_options") or []) or None,
            "NoManageHosts": bool(c.get("no_hosts")),
            "HostAdd": list(c.get("add_hosts") or []) or None,
            "Networks": [n["name"] for n in net.get("networks", [])] or None,
            "NetworkOptions": None, "pid_ns": c.get("pid") or "private",
            "userns": (c.get("idmaps") or {}).get("userns") or (
                "private" if c.get("idmaps") else "host"),
            "uts_ns": c.get("uts") or "private",
        }
        if c.get("network_aliases"):
            out["InfraConfig"]["NetworkAliases"] = list(c["network_aliases"])
        if infra.config.get("sysctls"):
            out["InfraConfig"]["Sysctl"] = infra.config["sysctls"]
        if c.get("devices"):
            out["Devices"] = [{"PathOnHost": d.split(":")[0],
                               "PathInContainer": (d.split(":") + [d.split(":")[0]])[1],
                               "CgroupPermissions": "rwm"} for d in c["devices"]]
        mounts = [m for m in infra.config.get("mounts") or [] if "host_path" in m]
        if mounts:
            out["Mounts"] = [{"Type": m["type"],
                              "Name": m["source"] if m["type"] == "volume" else "",
                              "Source": m["host_path"],
                              "Destination": m["destination"], "RW": not m.get("readonly")}
                             for m in mounts]
        out["SharedNamespaces"] = list(c.get("share") or [])
    out["NumContainers"] = len(recs)
    if recs:
        out["Containers"] = [{"Id": r.id, "Name": r.name, "State": r.status} for r in recs]
    security_opt = (c.get("create_options") or {}).get("security_opt")
    if security_opt:
        out["security_opt"] = list(security_opt)
    return out


def _static(infra: records.ContainerRecord, key: str) -> str:
    """The infra container's --ip/--mac-address, as inspect shows them."""
    net = infra.config.get("net") or {}
    for n in net.get("networks") or []:
        value = n.get(key)
        if value:
            return str(value)
    return ""


def containers_of(ctx: EngineContext, name: str) -> list[records.ContainerRecord]:
    """The pod's containers (infra included), their state brought up to date."""
    return _containers(ctx, find(ctx, name))


__all__ = ["DEFAULT_SHARE", "PodCreateOptions", "PodSummary", "containers_of", "create",
           "ensure_infra", "ensure_pause_image", "exists", "find", "inspect", "kill",
           "list_pods", "member_fields", "parse_share", "pause", "prune", "remove",
           "restart", "start", "status", "stop", "summarize", "userns_of"]
