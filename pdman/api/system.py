"""System endpoints: `_ping`, `version`, `info`, `system/df`, `events`, `auth`."""

from __future__ import annotations

import os
import time

from pdman import __version__
from pdman.api.router import API_VERSION, MIN_API_VERSION, route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.engine.context import EngineContext

_PING_HEADERS = {"Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache",
                 "Builder-Version": "1"}


@route("GET|HEAD", "/_ping")
def ping(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    conn.send(200, b"OK", content_type="text/plain; charset=utf-8", headers=_PING_HEADERS,
              head_only=req.method == "HEAD")


def _arch() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@route("GET", "/version")
def version(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    kernel = os.uname().release
    return {
        "Platform": {"Name": f"pdman {__version__}"},
        "Components": [{"Name": "Engine", "Version": __version__,
                        "Details": {"APIVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
                                    "Os": "linux", "Arch": _arch(), "KernelVersion": kernel}}],
        "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "", "GoVersion": "", "Os": "linux", "Arch": _arch(),
        "KernelVersion": kernel, "BuildTime": "",
    }


@route("GET", "/info")
def info(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.engine.system import info as engine_info

    report = engine_info(ctx)
    store = report["store"]
    containers = int(store["containers"])
    running = int(store["containersRunning"])
    cgroups = report["host"].get("cgroups") or {}
    mem = 0
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        pass
    return {
        "ID": "", "Containers": containers, "ContainersRunning": running,
        "ContainersPaused": 0, "ContainersStopped": max(containers - running, 0),
        "Images": int(store["images"]), "Driver": "overlay",
        "DriverStatus": [], "DockerRootDir": ctx.paths.root, "Name": os.uname().nodename,
        "ServerVersion": __version__, "OperatingSystem": "linux", "OSType": "linux",
        "Architecture": os.uname().machine, "NCPU": os.cpu_count() or 1, "MemTotal": mem,
        "KernelVersion": os.uname().release, "CgroupDriver": cgroups.get("manager") or "cgroupfs",
        "CgroupVersion": "2" if cgroups.get("version") == "v2" else "1",
        "SecurityOptions": (["name=rootless"] if report["host"]["rootless"] else [])
        + ["name=seccomp,profile=default"],
        "Runtimes": {"pdman": {"path": "pdman"}}, "DefaultRuntime": "pdman",
        "Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False},
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "IndexServerAddress": "https://index.docker.io/v1/", "LoggingDriver": "k8s-file",
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["k8s-file"]},
        "Labels": [], "ExperimentalBuild": False, "Warnings": [], "SystemTime":
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Pdman": report,
    }


@route("POST", "/auth")
def auth(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    """`docker login`: check the credentials against the registry and keep them."""
    from pdman.engine.logins import login
    from pdman.entities.images import LoginOptions

    body = req.json()
    registry = str(body.get("serveraddress") or "docker.io")
    login(LoginOptions(registry=registry, username=str(body.get("username", "")),
                       password=str(body.get("password", ""))))
    return {"Status": "Login Succeeded", "IdentityToken": ""}


@route("GET", "/system/df")
def disk_usage(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.api import containers as capi, images as iapi, volumes as vapi
    from pdman.engine import volumes

    vols = []
    for rec in volumes.list_volumes(ctx):
        vols.append({**vapi.volume_json(rec), "UsageData": {"Size": _tree_size(rec.mountpoint),
                                                            "RefCount": 0}})
    return {
        "LayersSize": sum(i["Size"] for i in iapi.image_list(ctx)),
        "Images": iapi.image_list(ctx),
        "Containers": capi.container_list(ctx, all=True),
        "Volumes": vols,
        "BuildCache": [],
    }


def _tree_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


@route("GET", "/events")
def events(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    """docker's event stream, read from pdman's event log (engine/event_log.py): the
    logged events since `since`, then new ones as they are written, until `until` or
    until the client leaves. Filters with docker's rules (api/event_filter.py)."""
    from pdman.api.containers import filters_of
    from pdman.api.event_filter import DockerEventFilter
    from pdman.engine import event_log

    filters = filters_of(req)
    wanted = DockerEventFilter(filters)         # a bad filter: a 400 before the stream
    since, until = req.arg("since") or None, req.arg("until") or None
    for f in filters:                           # podman's clients send them as filters
        key, _, value = f.partition("=")
        if key == "since":
            since = since or value
        elif key == "until":
            until = until or value
    flt = event_log.EventFilter((), since=since, until=until)
    out = conn.stream()
    for ev in event_log.stream(ctx.paths, flt, follow=True, stop=conn.client_gone):
        msg = docker_event(ev)
        if wanted(msg, ev.Status):
            out.write_json(msg)
    out.end()


def docker_event(ev: "Any") -> "dict[str, Any]":
    """One event in docker's JSON: Type, Action, Actor{ID, Attributes}, scope, time,
    timeNano, and for containers the old status, id and from fields."""
    action = ev.docker_action
    attrs = dict(ev.Attributes)
    actor_id = ev.ID
    if ev.Type == "container":
        attrs.update(image=ev.Image, name=ev.Name)
        if ev.ContainerExitCode is not None:
            attrs["exitCode"] = str(ev.ContainerExitCode)
    elif ev.Type == "image":
        attrs["name"] = ev.Name
        actor_id = ev.Name if ev.Status in ("pull", "push") and ev.Name else ev.ID
    elif ev.Type == "volume":
        attrs.setdefault("driver", "local")
        actor_id = ev.Name
    elif ev.Type == "network":
        if ev.Status in ("connect", "disconnect"):
            attrs = {"container": ev.ID, "name": ev.Network, "type": "bridge"}
            actor_id = attrs.pop("network_id", "") or ev.Attributes.get("network_id", "")
        else:
            attrs = {"name": ev.Name, "type": ev.Attributes.get("driver", "bridge")}
    out: "dict[str, Any]" = {"Type": ev.Type, "Action": action,
                             "Actor": {"ID": actor_id, "Attributes": attrs},
                             "scope": "local", "time": ev.TimeNano // 1_000_000_000,
                             "timeNano": ev.TimeNano}
    if ev.Type == "container":
        out.update(status=action, id=ev.ID, **{"from": ev.Image})
    return out
