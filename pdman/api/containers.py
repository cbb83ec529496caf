"""Container endpoints: docker's JSON in, the engine's options objects and verbs,
docker's JSON out. Attach and logs streams are in api/attach.py."""

from __future__ import annotations

import json

from pdman.api.router import NotModified, route
from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions

# ---------------------------------------------------------------------------
# create: docker's Config + HostConfig -> CreateOptions
# ---------------------------------------------------------------------------

#: HostConfig fields carried over (the rest must be empty, else a 400 names them)
_HOST_SUPPORTED = {
    "Binds", "PortBindings", "PublishAllPorts", "NetworkMode", "AutoRemove", "Memory",
    "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit",
    "CapAdd", "CapDrop", "Privileged", "ReadonlyRootfs", "Mounts", "Dns", "ExtraHosts",
    "Init", "RestartPolicy", "LogConfig", "Tmpfs", "SecurityOpt", "Ulimits",
    # defaults docker's clients always send, meaning what pdman does anyway
    "ConsoleSize", "IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupnsMode", "Cgroup",
    "Isolation", "MaskedPaths", "ReadonlyPaths", "Runtime", "VolumeDriver", "OomScoreAdj",
    "ShmSize", "OomKillDisable", "DnsOptions", "DnsSearch", "GroupAdd", "Links",
    "ContainerIDFile", "Annotations", "MemorySwappiness",
}
#: values of those defaults that mean "as usual"
_HOST_DEFAULTS: "dict[str, tuple[Any, ...]]" = {
    "IpcMode": ("", "private", "shareable"), "PidMode": ("", "private"), "UTSMode": ("", "private"),
    "UsernsMode": ("", "private"), "CgroupnsMode": ("", "private"), "Cgroup": ("",),
    "Isolation": ("", "default"), "Runtime": ("", "runc", "crun", "pdman"),
    "VolumeDriver": ("", "local"), "OomScoreAdj": (0, None), "ShmSize": (0, None),
    "OomKillDisable": (False, None), "DnsOptions": ((), None), "DnsSearch": ((), None),
    "GroupAdd": ((), None), "Links": ((), None), "ContainerIDFile": ("", None),
    "Annotations": (None,), "MemorySwappiness": (-1, None),
}


def _empty(value: "Any") -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_empty(v) for v in value) if value and isinstance(value[0], (int, float)) \
            else not value
    return value in (None, "", 0, False)


def _unsupported(host: "dict[str, Any]") -> list[str]:
    bad = []
    for key, value in host.items():
        if key not in _HOST_SUPPORTED:
            if not _empty(value):
                bad.append(key)
            continue
        allowed = _HOST_DEFAULTS.get(key)
        if allowed is not None:
            normal = tuple(value) if isinstance(value, list) else value
            if normal not in allowed and not _empty(value):
                bad.append(f"{key}={value}")
    log_type = (host.get("LogConfig") or {}).get("Type", "")
    if log_type not in ("", "json-file", "k8s-file", "journald", "none", "local"):
        bad.append(f"LogConfig.Type={log_type}")
    return bad


def _publish(bindings: "dict[str, Any]") -> list[str]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} -> ["8080:80/tcp"]."""
    out = []
    for key, hosts in (bindings or {}).items():
        port, _, proto = key.partition("/")
        for h in hosts or [{}]:
            ip, hport = (h or {}).get("HostIp", ""), (h or {}).get("HostPort", "")
            spec = port if not (ip or hport) else f"{hport}:{port}"
            if ip:
                spec = f"{ip}:{hport}:{port}"
            out.append(f"{spec}/{proto or 'tcp'}")
    return out


def _mount_spec(m: "dict[str, Any]") -> str:
    kind = m.get("Type", "volume")
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f"mount type {kind!r} is not supported by pdman",
                         hint="use bind, volume or tmpfs")
    parts = [f"type={kind}", f"target={m.get('Target', '')}"]
    if m.get("Source"):
        parts.append(f"source={m['Source']}")
    if m.get("ReadOnly"):
        parts.append("readonly")
    tmpfs = m.get("TmpfsOptions") or {}
    if tmpfs.get("SizeBytes"):
        parts.append(f"tmpfs-size={tmpfs['SizeBytes']}")
    if tmpfs.get("Mode"):
        parts.append(f"tmpfs-mode={tmpfs['Mode']:o}")
    return ",".join(parts)


def _network_mode(mode: str) -> str:
    # docker's "default"/"bridge" is its own default network: pdman's default is its
    # rootless backend (pasta), which publishes ports the same way
    return "" if mode in ("", "default", "bridge") else mode


def create_options(body: "dict[str, Any]", name: str | None) -> "CreateOptions":
    """docker's create body -> the CreateOptions `pdman create` builds from flags."""
    from pdman.entities.create import CreateOptions

    host = body.get("HostConfig") or {}
    bad = _unsupported(host)
    if bad:
        raise UsageError("HostConfig fields not supported by pdman: " + ", ".join(bad),
                         hint="leave them out; see `pdman run --help` for what is supported")
    image = body.get("Image") or ""
    if not image:
        raise UsageError("config.Image is required", hint="name the image to run")
    entry = body.get("Entrypoint")
    if isinstance(entry, str):
        entry = [entry]
    command = list(body.get("Cmd") or [])
    entrypoint = None
    if entry is not None:
        entrypoint = entry[0] if entry else ""
        command = list(entry[1:]) + command
    volumes = list(host.get("Binds") or [])
    # Config.Volumes: anonymous volumes, unless a bind or mount already serves the path
    # (SDKs list the destinations of their binds there too)
    taken = {b.split(":")[1] for b in volumes if b.count(":") >= 1} | \
        {m.get("Target") for m in host.get("Mounts") or []}
    volumes += [dest for dest in (body.get("Volumes") or {}) if dest not in taken]
    aliases: list[str] = []
    for endpoint in ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}).values():
        aliases += list((endpoint or {}).get("Aliases") or [])
    nano = host.get("NanoCpus") or 0
    pids = host.get("PidsLimit")
    log_type = (host.get("LogConfig") or {}).get("Type", "")
    ulimits = [f"{u['Name']}={u['Soft']}:{u['Hard']}" for u in host.get("Ulimits") or []]
    restart = host.get("RestartPolicy") or {}
    restart_name = restart.get("Name") or ""
    if restart_name == "on-failure" and restart.get("MaximumRetryCount"):
        restart_name += f":{restart['MaximumRetryCount']}"
    return CreateOptions(
        image=image, command=command, name=name or None,
        env=list(body.get("Env") or []), workdir=body.get("WorkingDir") or None,
        user=body.get("User") or None, entrypoint=entrypoint,
        hostname=body.get("Hostname") or None, interactive=bool(body.get("OpenStdin")),
        tty=bool(body.get("Tty")), init=bool(host.get("Init")),
        read_only=bool(host.get("ReadonlyRootfs")),
        tmpfs=[f"{k}:{v}" if v else k for k, v in (host.get("Tmpfs") or {}).items()],
        volumes=volumes, mounts=[_mount_spec(m) for m in host.get("Mounts") or []],
        cap_add=list(host.get("CapAdd") or []), cap_drop=list(host.get("CapDrop") or []),
        privileged=bool(host.get("Privileged")),
        security_opt=list(host.get("SecurityOpt") or []),
        labels=[f"{k}={v}" for k, v in (body.get("Labels") or {}).items()],
        pull="never",               # docker's clients pull on the 404 themselves
        network=_network_mode(host.get("NetworkMode") or ""),
        stop_signal=body.get("StopSignal") or None, stop_timeout=body.get("StopTimeout"),
        quiet_pull=True, remove=bool(host.get("AutoRemove")),
        publish=_publish(host.get("PortBindings") or {}),
        publish_all=bool(host.get("PublishAllPorts")),
        dns=list(host.get("Dns") or []),
        add_hosts=[h.replace(" ", "") for h in host.get("ExtraHosts") or []],
        network_aliases=aliases,
        memory=str(host["Memory"]) if host.get("Memory") else None,
        memory_swap=str(host["MemorySwap"]) if host.get("MemorySwap") else None,
        memory_reservation=(str(host["MemoryReservation"])
                            if host.get("MemoryReservation") else None),
        cpus=nano / 1e9 if nano else None, cpu_shares=host.get("CpuShares") or None,
        cpuset_cpus=host.get("CpusetCpus") or None,
        pids_limit=pids if pids and pids > 0 else None, ulimits=ulimits,
        log_driver="k8s-file" if log_type in ("", "json-file", "local") else log_type,
        log_opts=[f"{k}={v}" for k, v in ((host.get("LogConfig") or {}).get("Config")
                                          or {}).items() if k in ("max-size", "path", "tag")],
        restart=restart_name or None,
        **_health_options(body.get("Healthcheck") or {}),
    )


def _health_options(hc: "dict[str, Any]") -> "dict[str, Any]":
    """docker's Config.Healthcheck (durations in ns; an empty Test: the image's) -> the
    --health-* options."""
    import json

    test = list(hc.get("Test") or [])
    out: dict[str, Any] = {}
    if test[:1] == ["NONE"]:
        return {"no_healthcheck": True}
    if test:
        out["health_cmd"] = json.dumps(test)
    for field, key in (("Interval", "health_interval"), ("Timeout", "health_timeout"),
                       ("StartPeriod", "health_start_period"),
                       ("StartInterval", "health_start_interval")):
        if hc.get(field):                   # 0: inherit (docker's rule)
            out[key] = f"{int(hc[field])}ns"
    if hc.get("Retries"):
        out["health_retries"] = int(hc["Retries"])
    return out


@route("POST", "/containers/create")
def create(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    from pdman.engine import containers

    name = req.arg("name")
    if name.startswith("/"):
        name = name[1:]
    rec = containers.create(ctx, create_options(req.json(), name))
    conn.send_json(201, {"Id": rec.id, "Warnings": []})


# ---------------------------------------------------------------------------
# list, inspect
# ---------------------------------------------------------------------------

def filters_of(req: "Request") -> tuple[str, ...]:
    """docker's `filters` JSON ({"key": ["v"]} or {"key": {"v": true}}) -> KEY=VALUE."""
    text = req.arg("filters")
    if not text:
        return ()
    try:
        raw = json.loads(text)
    except ValueError:
        raise UsageError(f"invalid filters {text!r}") from None
    out = []
    for key, values in (raw or {}).items():
        items = [v for v, on in values.items() if on] if isinstance(values, dict) else values
        out += [f"{key}={v}" for v in items]
    return tuple(out)


def _ports_json(ports: "list[dict[str, Any]]") -> "list[dict[str, Any]]":
    return [{"IP": p.get("host_ip") or "0.0.0.0", "PrivatePort": int(p["container_port"]),
             "PublicPort": int(p["host_port"]), "Type": p.get("protocol", "tcp")}
            for p in ports]


def container_list(ctx: "EngineContext", all: bool = False, filters: tuple[str, ...] = (),
                   limit: int = -1, size: bool = False) -> "list[dict[str, Any]]":
    from pdman.engine.containers import list_containers
    from pdman.entities.containers import ListContainersOptions

    rows = list_containers(ctx, ListContainersOptions(all=all or limit > 0, filters=filters,
                                                      last=limit if limit > 0 else -1,
                                                      size=size))
    return [{
        "Id": s.ID, "Names": ["/" + n for n in s.Names], "Image": s.Image,
        "ImageID": "sha256:" + s.ImageID, "Command": " ".join(s.Command),
        "Created": int(s.Created), "Ports": _ports_json(s.Ports), "Labels": s.Labels,
        "State": s.State, "Status": s.Status,
        "SizeRw": s.Size[0] if s.Size else 0, "SizeRootFs": s.Size[1] if s.Size else 0,
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Networks": {}}, "Mounts": [],
    } for s in rows]


@route("GET", "/containers/json")
def list_(ctx: "EngineContext", req: "Request", conn: "Connection") -> "list[dict[str, Any]]":
    return container_list(ctx, all=req.flag("all"), filters=filters_of(req),
                          limit=req.int_arg("limit", -1), size=req.flag("size"))


def inspect_json(ctx: "EngineContext", name: str, size: bool = False) -> "dict[str, Any]":
    """The engine's inspect document (docker's field names already) with what docker's
    clients expect on top: a `/name`, the attach flags, the restart policy."""
    from pdman.engine import containers

    doc = containers.inspect(ctx, name, size=size)
    doc["Name"] = "/" + doc["Name"]
    cfg, host = doc["Config"], doc["HostConfig"]
    cfg.update(AttachStdin=False, AttachStdout=False, AttachStderr=False,
               StdinOnce=False, Domainname="")
    cfg.setdefault("Image", doc.get("ImageName", ""))
    if not host["RestartPolicy"]["Name"]:
        host["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}   # docker's default
    host.update(Binds=[f"{m['Source']}:{m['Destination']}" + ("" if m["RW"] else ":ro")
                       for m in doc.get("Mounts", []) if m["Type"] == "bind"])
    log = host.get("LogConfig") or {}
    if log.get("Type") == "k8s-file":
        # docker's name for a log file the engine keeps; SDKs read logs only from
        # drivers they know (docker-py: json-file, journald)
        host["LogConfig"] = {**log, "Type": "json-file"}
    doc.setdefault("Platform", "linux")
    doc.setdefault("ExecIDs", None)
    return doc


@route("GET", "/containers/{name}/json")
def inspect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "dict[str, Any]":
    return inspect_json(ctx, name, size=req.flag("size"))


# ---------------------------------------------------------------------------
# life: start, stop, kill, restart, pause, wait, remove, rename
# ---------------------------------------------------------------------------

@route("POST", "/containers/{name}/start")
def start(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import lifecycle

    if not lifecycle.start(ctx, name):
        raise NotModified()


def _timeout(req: "Request") -> int | None:
    text = req.arg("t") or req.arg("timeout")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid timeout {text!r}") from None


@route("POST", "/containers/{name}/stop")
def stop(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers, lifecycle

    if containers.lookup(ctx, name).status not in ("running", "paused"):
        raise NotModified()
    lifecycle.stop(ctx, lifecycle.StopOptions(name, _timeout(req)))


@route("POST", "/containers/{name}/restart")
def restart(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import lifecycle

    lifecycle.restart(ctx, lifecycle.StopOptions(name, _timeout(req)))


@route("POST", "/containers/{name}/kill")
def kill(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import lifecycle

    lifecycle.kill(ctx, lifecycle.KillOptions(name, req.arg("signal") or "SIGKILL"))


@route("POST", "/containers/{name}/pause")
def pause(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine.pause import pause as engine_pause

    engine_pause(ctx, name)


@route("POST", "/containers/{name}/unpause")
def unpause(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine.pause import unpause as engine_unpause

    engine_unpause(ctx, name)


@route("POST", "/containers/{name}/wait")
def wait(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    """Headers at once (docker's clients issue the wait before the start and read the
    body when the container is done), the status code when the condition is met."""
    from pdman.engine import containers

    condition = req.arg("condition") or "not-running"
    containers.lookup(ctx, name)                 # a 404 comes before the stream
    out = conn.stream()
    try:
        # a client that left (docker's `run -d` may) ends the wait, and its thread
        code = containers.wait_exit(ctx, name, condition, interval=0.02,
                                    stop=conn.client_gone)
        out.write_json({"StatusCode": code, "Error": None})
    except Exception as exc:  # noqa: BLE001 - the status line went out already
        out.write_json({"StatusCode": -1, "Error": {"Message": str(exc)}})
    out.end()


@route("DELETE", "/containers/{name}")
def remove(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers, dependents

    # libpod's ?depend=true: the containers that depend on it go first (`rm --depend`)
    dependents.remove(ctx, containers.RemoveOptions(name=name, force=req.flag("force"),
                                                    volumes=req.flag("v")),
                      depend=req.flag("depend"))


@route("POST", "/containers/{name}/rename")
def rename(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import containers

    new = req.arg("name")
    if not new:
        raise UsageError("rename needs ?name=NEW_NAME")
    containers.rename(ctx, name, new)


@route("POST", "/containers/prune")
def prune(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.engine import containers

    if filters_of(req):
        raise UsageError("container prune filters are not supported by pdman yet")
    return {"ContainersDeleted": containers.prune(ctx) or None, "SpaceReclaimed": 0}


@route("GET", "/containers/{name}/top")
def top(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "dict[str, Any]":
    from pdman.engine import lifecycle

    args = req.arg("ps_args")
    titles, rows = lifecycle.top(ctx, name, args.split() if args and not args.startswith("-") else [])
    return {"Titles": titles, "Processes": rows}


@route("GET", "/containers/{name}/changes")
def changes(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "Any":
    from pdman.engine.container_files import diff

    kinds = {"C": 0, "A": 1, "D": 2}
    return [{"Path": path, "Kind": kinds.get(kind, 0)} for kind, path in diff(ctx, name)] or None


@route("POST", "/containers/{name}/resize")
def resize(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.api import attach

    attach.resize_container(ctx, name, req.int_arg("h", 0), req.int_arg("w", 0))


# ---------------------------------------------------------------------------
# stats
# ---------------------------------------------------------------------------

@route("GET", "/containers/{name}/stats")
def stats(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    import time

    from pdman.engine.stats import StatsOptions, stats as engine_stats

    stream = req.flag("stream", True) and not req.flag("one-shot")
    rec_id = _container_id(ctx, name)
    # all=True: a container without a cgroup of its own (no limits, on a host without
    # delegated cgroup v2) reads as zeros, as in docker's list, rather than failing
    options = StatsOptions(all=True)
    previous: "dict[str, Any]" = {}
    samples = None
    out = None
    while True:
        rows, samples = engine_stats(ctx, options, samples)
        mine = [r for r in rows if r.ID == rec_id]
        if not mine:
            from pdman.errors import ContainerNotFound

            if out is None:
                raise ContainerNotFound(f"no such container: {name}")
            break
        doc = _stats_json(mine[0].as_dict(), previous, rec_id)
        if out is None:
            out = conn.stream()       # after the first sample: an error is still an answer
        out.write_json(doc)
        previous = doc
        if not stream:
            break
        time.sleep(1.0)
    out.end()


def _container_id(ctx: "EngineContext", name: str) -> str:
    from pdman.engine import containers

    return containers.lookup(ctx, name).id


def _stats_json(row: "dict[str, Any]", previous: "dict[str, Any]", cid: str) -> "dict[str, Any]":
    import os
    import time

    cpu_ns = int(row.get("CPUNano", 0) or 0)
    mem = int(row.get("MemUsage", 0) or 0)
    limit = int(row.get("MemLimit", 0) or 0) or \
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    system_ns = int(time.monotonic() * 1e9)
    cpus = os.cpu_count() or 1
    pre = previous.get("cpu_stats") or {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0,
                                         "online_cpus": cpus}
    if not row.get("HasCgroup", True):
        # nothing to read (no cgroup of its own, or not running): docker's empty
        # sections, which its clients print as "--"
        return {"read": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "preread": "0001-01-01T00:00:00Z", "id": cid,
                "name": "/" + str(row.get("Name", "")), "pids_stats": {},
                "cpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
                "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
                "memory_stats": {}, "blkio_stats": {}, "networks": {}}
    return {
        "read": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "preread": previous.get("read", "0001-01-01T00:00:00Z"),
        "id": cid, "name": "/" + str(row.get("Name", "")),
        "pids_stats": {"current": int(row.get("PIDs", 0) or 0)},
        "cpu_stats": {"cpu_usage": {"total_usage": cpu_ns, "usage_in_kernelmode": 0,
                                    "usage_in_usermode": cpu_ns},
                      "system_cpu_usage": system_ns * cpus, "online_cpus": cpus,
                      "throttling_data": {}},
        "precpu_stats": pre,
        "memory_stats": {"usage": mem, "limit": limit, "stats": {}},
        "networks": {"eth0": {"rx_bytes": int(row.get("NetInput", 0) or 0),
                              "tx_bytes": int(row.get("NetOutput", 0) or 0)}},
        "blkio_stats": {"io_service_bytes_recursive": []},
    }


# ---------------------------------------------------------------------------
# files: export, archive (docker cp)
# ---------------------------------------------------------------------------

@route("GET", "/containers/{name}/export")
def export(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.api.streams import stream_from_fd
    from pdman.engine.container_files import export as engine_export

    stream_from_fd(conn, "application/x-tar", lambda fd: engine_export(ctx, name, fd))


@route("HEAD", "/containers/{name}/archive")
def archive_head(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    import base64

    from pdman.engine.container_files import stat_path

    stat = stat_path(ctx, name, req.arg("path"))
    header = base64.b64encode(json.dumps(stat).encode()).decode()
    conn.send(200, b"", content_type="application/x-tar",
              headers={"X-Docker-Container-Path-Stat": header}, head_only=True)


@route("GET", "/containers/{name}/archive")
def archive_get(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    import base64

    from pdman.api.streams import stream_from_fd
    from pdman.engine.container_files import copy_from, stat_path

    path = req.arg("path")
    stat = stat_path(ctx, name, path)
    header = base64.b64encode(json.dumps(stat).encode()).decode()
    stream_from_fd(conn, "application/x-tar", lambda fd: copy_from(ctx, name, path, fd),
                   headers={"X-Docker-Container-Path-Stat": header})


@route("PUT", "/containers/{name}/archive")
def archive_put(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.api.streams import body_to_fd
    from pdman.engine.container_files import copy_to

    path = req.arg("path")
    if not path:
        raise UsageError("archive needs ?path=DIRECTORY")
    # docker's clients send noOverwriteDirNonDir=true unless told to replace a
    # directory by a file (or the other way round): `cp --overwrite`
    overwrite = not req.flag("noOverwriteDirNonDir")
    # copyUIDGID: the entries get the container's user (podman's `cp --archive`)
    archive = req.flag("copyUIDGID")
    body_to_fd(req, lambda fd: copy_to(ctx, name, path, fd, overwrite, archive), ctx.paths.tmp)
    conn.send(200, b"")


@route("POST", "/containers/{name}/update")
def update(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.api.router import Unsupported

    raise Unsupported("pdman cannot change a container's limits after it was created yet",
                      hint="recreate the container with the new limits")


@route("POST", "/commit")
def commit(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    """`docker commit`: the container's writable layer as a new image."""
    from pdman.engine.image_transfer import commit as engine_commit
    from pdman.entities.image_transfer import CommitOptions

    container = req.arg("container")
    if not container:
        raise UsageError("commit needs ?container=NAME")
    repo, tag = req.arg("repo"), req.arg("tag")
    image = f"{repo}:{tag or 'latest'}" if repo else ""
    report = engine_commit(ctx, CommitOptions(
        container=container, image=image, message=req.arg("comment"), author=req.arg("author"),
        changes=req.query.get("changes") or [], pause=req.flag("pause", True)))
    conn.send_json(201, {"Id": "sha256:" + report.image_id})
