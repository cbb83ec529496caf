"""System endpoints: `_ping`, `version`, `info`, `system/df`, `events`, `auth`."""

from __future__ import annotations

import os
import platform
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
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


@route("GET", "/version")
def version(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    kernel = platform.release()
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
        "DriverStatus": [], "DockerRootDir": ctx.paths.root, "Name": platform.node(),
        "ServerVersion": __version__, "OperatingSystem": "linux", "OSType": "linux",
        "Architecture": platform.machine(), "NCPU": os.cpu_count() or 1, "MemTotal": mem,
        "KernelVersion": platform.release(), "CgroupDriver": cgroups.get("manager") or "cgroupfs",
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
    """Container events, seen by polling the catalog (pdman has no daemon to hear them
    from): create, start, die, pause, destroy. Until `until` or the client leaves;
    filters: type, event, container (name or ID), label."""
    from pdman.api.containers import filters_of
    from pdman.engine.containers import list_containers
    from pdman.entities.containers import ListContainersOptions
    from pdman.errors import UsageError

    wanted: "dict[str, list[str]]" = {}
    for f in filters_of(req):
        key, _, value = f.partition("=")
        if key not in ("type", "event", "container", "label"):
            raise UsageError(f"unsupported events filter {key!r}",
                             hint="supported: type, event, container, label")
        wanted.setdefault(key, []).append(value)
    until = req.arg("until")
    try:
        deadline = float(until) if until else None
    except ValueError:
        raise UsageError(f"invalid until {until!r}", hint="a Unix timestamp") from None

    def keep(action: str, s: "Any") -> bool:
        if "type" in wanted and "container" not in wanted["type"]:
            return False
        if "event" in wanted and action not in wanted["event"]:
            return False
        if "container" in wanted and not any(
                s.ID.startswith(c) or c in s.Names for c in wanted["container"]):
            return False
        return all(k in s.Labels and (not eq or s.Labels[k] == v)
                   for k, eq, v in (lab.partition("=") for lab in wanted.get("label", [])))

    def snapshot() -> "dict[str, Any]":
        return {s.ID: s for s in list_containers(ctx, ListContainersOptions(all=True))}

    actions = {"running": "start", "exited": "die", "paused": "pause", "created": "create"}
    seen = snapshot()
    out = conn.stream()
    while deadline is None or time.time() < deadline:
        time.sleep(0.2)
        if conn.client_gone():
            return
        now = snapshot()
        for cid, s in now.items():
            before = seen.get(cid)
            if before is None and s.State != "created":
                changes = ["create", actions.get(s.State, s.State)]
            elif before is None or before.State != s.State:
                changes = [actions.get(s.State, s.State)]
            else:
                continue
            for action in changes:
                if keep(action, s):
                    out.write_json(_event(action, cid, s.Image, s.Name))
        for cid in set(seen) - set(now):
            if keep("destroy", seen[cid]):
                out.write_json(_event("destroy", cid, seen[cid].Image, seen[cid].Name))
        seen = now
    out.end()


def _event(action: str, cid: str, image: str, name: str) -> "dict[str, Any]":
    now = time.time()
    return {"Type": "container", "Action": action, "status": action, "id": cid, "from": image,
            "Actor": {"ID": cid, "Attributes": {"image": image, "name": name}},
            "scope": "local", "time": int(now), "timeNano": int(now * 1e9)}
