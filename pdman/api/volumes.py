"""Volume endpoints, in docker's shapes."""

from __future__ import annotations

from pdman.api.router import route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import Connection, Request
    from pdman.engine.context import EngineContext


def volume_json(rec: "Any") -> "dict[str, Any]":
    from pdman.engine.volumes import report

    doc = report(rec)
    return {**doc, "Labels": doc.get("Labels") or {}, "Options": doc.get("Options") or {}}


@route("POST", "/volumes/create")
def create(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    from pdman.engine import volumes

    body = req.json()
    rec = volumes.create(ctx, volumes.CreateVolumeOptions(
        name=body.get("Name") or None, driver=body.get("Driver") or "local",
        labels=dict(body.get("Labels") or {}), options=dict(body.get("DriverOpts") or {}),
        ignore=True))
    conn.send_json(201, volume_json(rec))


@route("GET", "/volumes")
def list_(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.api.containers import filters_of
    from pdman.engine import volumes

    return {"Volumes": [volume_json(r) for r in volumes.list_volumes(ctx, filters_of(req))],
            "Warnings": []}


@route("GET", "/volumes/{name}")
def inspect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "dict[str, Any]":
    from pdman.engine import volumes

    return volume_json(volumes.inspect(ctx, name))


@route("DELETE", "/volumes/{name}")
def remove(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine import volumes

    volumes.remove(ctx, name, force=req.flag("force"))


@route("POST", "/volumes/prune")
def prune(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.api.containers import filters_of
    from pdman.engine import volumes

    return {"VolumesDeleted": volumes.prune(ctx, filters_of(req)) or None, "SpaceReclaimed": 0}
