"""Image endpoints: pull (docker's JSON progress stream), list, inspect, history, tag,
push, remove, prune, get/load; build and search answer a clear 501."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

from pdman.api.router import Unsupported, route

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.api.http import ChunkedWriter, Connection, Request
    from pdman.engine.context import EngineContext


def _epoch(created: str) -> int:
    try:
        return int(dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
    except (ValueError, AttributeError):
        return 0


def registry_creds(req: "Request") -> str:
    """X-Registry-Auth (base64url JSON: username, password) -> "user:password"."""
    import base64

    header = req.headers.get("x-registry-auth", "")
    if not header:
        return ""
    try:
        padded = header + "=" * (-len(header) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return ""
    user, password = doc.get("username") or "", doc.get("password") or ""
    return f"{user}:{password}" if user else ""


class _Progress:
    """PullEvents (from several threads) -> docker's progress messages, one JSON per line."""

    def __init__(self, out: "ChunkedWriter") -> None:
        self.out = out
        self.lock = threading.Lock()
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def __call__(self, event: "Any") -> None:
        short = event.text.partition(":")[2][:12] if ":" in event.text else event.text[:12]
        msg: "dict[str, Any] | None" = None
        if event.kind == "trying":
            msg = {"status": f"Trying to pull {event.text}"}
        elif event.kind == "blob-start":
            self.totals[short] = event.size
            msg = {"status": "Pulling fs layer", "progressDetail": {}, "id": short}
        elif event.kind == "blob-progress":
            self.done[short] = self.done.get(short, 0) + event.size
            msg = {"status": "Downloading", "id": short, "progressDetail": {
                "current": self.done[short], "total": self.totals.get(short, 0)}}
        elif event.kind == "blob-done":
            msg = {"status": "Pull complete", "progressDetail": {}, "id": short}
        elif event.kind == "blob-skipped":
            msg = {"status": "Already exists", "progressDetail": {}, "id": short}
        elif event.kind == "warning":
            msg = {"status": f"Warning: {event.text}"}
        if msg is not None:
            with self.lock:
                self.out.write_json(msg)


@route("POST", "/images/create")
def create(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    from pdman.engine import images
    from pdman.entities.images import PullOptions
    from pdman.errors import PdmanError, UsageError

    if req.arg("fromSrc"):
        return _import(ctx, req, conn)
    ref = req.arg("fromImage")
    if not ref:
        raise UsageError("fromImage is required")
    tag = req.arg("tag")
    if tag:
        ref += ("@" if tag.startswith("sha256:") else ":") + tag
    out = conn.stream()
    progress = _Progress(out)
    try:
        report = images.pull(ctx, PullOptions(reference=ref, platform=req.arg("platform"),
                                              creds=registry_creds(req), progress=progress))
        out.write_json({"status": f"Digest: {report.digest}"})
        out.write_json({"status": f"Status: Downloaded newer image for {report.reference}"})
    except PdmanError as exc:
        # the status line went out already: docker's clients read the error from the stream
        out.write_json({"errorDetail": {"message": exc.message}, "error": exc.message})
    out.end()


def _import(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    """`docker import` (fromSrc=-): the request body is the tarball; `repo`/`tag` name
    the image, `message` and `changes` (Dockerfile instructions) as `pdman import`'s."""
    from pdman.api.streams import body_to_path
    from pdman.engine.image_transfer import import_image
    from pdman.entities.image_transfer import ImportOptions

    if req.arg("fromSrc") != "-":
        raise Unsupported("importing from a URL through the API is not supported",
                          hint="send the tarball as the request body (fromSrc=-)")
    repo, tag = req.arg("repo"), req.arg("tag")
    image = f"{repo}:{tag}" if repo and tag else repo
    report = body_to_path(req, lambda path: import_image(ctx, ImportOptions(
        source=path, image=image, message=req.arg("message"),
        changes=req.query.get("changes") or [])), ctx.paths.tmp)
    out = conn.stream()
    out.write_json({"status": "sha256:" + report.image_id})
    out.end()


def image_list(ctx: "EngineContext", all: bool = False,
               filters: tuple[str, ...] = ()) -> "list[dict[str, Any]]":
    from pdman.engine.images import filter_images, list_images
    from pdman.entities.images import ListImagesOptions

    rows = list_images(ctx, ListImagesOptions(all=all, filters=filters))
    if filters:
        rows = filter_images(ctx, rows, filters)
    seen: "dict[str, dict[str, Any]]" = {}
    for r in rows:
        doc = seen.setdefault(r.ID, {
            "Id": "sha256:" + r.ID, "ParentId": "", "RepoTags": [], "RepoDigests": [],
            "Created": _epoch(r.Created), "Size": r.Size, "VirtualSize": r.Size,
            "SharedSize": -1, "Labels": r.Labels or {}, "Containers": r.Containers})
        for n in r.Names:
            key = "RepoDigests" if "@" in n else "RepoTags"
            if n not in doc[key]:
                doc[key].append(n)
        if r.Digest and r.Repository and r.Repository != "<none>":
            digest = f"{r.Repository}@{r.Digest}"
            if digest not in doc["RepoDigests"]:
                doc["RepoDigests"].append(digest)
    return list(seen.values())


@route("GET", "/images/json")
def list_(ctx: "EngineContext", req: "Request", conn: "Connection") -> "list[dict[str, Any]]":
    from pdman.api.containers import filters_of

    return image_list(ctx, all=req.flag("all"), filters=filters_of(req))


@route("GET", "/images/{name:path}/json")
def inspect(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "dict[str, Any]":
    from pdman.engine.images import inspect_image

    doc = inspect_image(ctx, name)
    doc["Id"] = "sha256:" + doc["Id"]
    doc.setdefault("ContainerConfig", doc.get("Config") or {})
    doc.setdefault("DockerVersion", doc.get("Version", ""))
    doc.setdefault("Metadata", {"LastTagTime": "0001-01-01T00:00:00Z"})
    return doc


@route("GET", "/images/{name:path}/history")
def history(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "list[dict[str, Any]]":
    from pdman.engine.images import history as engine_history

    return [{"Id": ("sha256:" + h.ID) if h.ID != "<missing>" else "<missing>",
             "Created": _epoch(h.Created), "CreatedBy": h.CreatedBy, "Tags": h.Tags or None,
             "Size": h.Size, "Comment": h.Comment} for h in engine_history(ctx, name)]


@route("POST", "/images/{name:path}/tag")
def tag(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine.images import tag_image
    from pdman.errors import UsageError

    repo, tag_ = req.arg("repo"), req.arg("tag") or "latest"
    if not repo:
        raise UsageError("tag needs ?repo=NAME")
    tag_image(ctx, name, [f"{repo}:{tag_}"])
    conn.send(201, b"")


@route("POST", "/images/{name:path}/push")
def push(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    from pdman.engine.image_transfer import push as engine_push
    from pdman.entities.image_transfer import PushOptions
    from pdman.errors import PdmanError

    tag_ = req.arg("tag")
    ref = f"{name}:{tag_}" if tag_ else name
    out = conn.stream()
    lock = threading.Lock()

    def progress(line: str) -> None:
        with lock:
            out.write_json({"status": line})

    try:
        report = engine_push(ctx, PushOptions(image=ref, creds=registry_creds(req),
                                              progress=progress))
        out.write_json({"status": f"{tag_ or 'latest'}: digest: {report.digest}",
                        "aux": {"Tag": tag_ or "latest", "Digest": report.digest}})
    except PdmanError as exc:
        out.write_json({"errorDetail": {"message": exc.message}, "error": exc.message})
    out.end()


@route("DELETE", "/images/{name:path}")
def remove(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> "list[dict[str, str]]":
    from pdman.engine.image_removal import remove_images
    from pdman.entities.images import RemoveImagesOptions
    from pdman.errors import ConflictError, ImageNotFound

    report = remove_images(ctx, RemoveImagesOptions(names=(name,), force=req.flag("force")))
    if report.errors:
        text = report.errors[0]
        raise (ConflictError(text) if report.exit_code == 2 else ImageNotFound(text))
    return [{"Untagged": n} for n in report.untagged] + \
        [{"Deleted": "sha256:" + i} for i in report.deleted]


@route("POST", "/images/prune")
def prune(ctx: "EngineContext", req: "Request", conn: "Connection") -> "dict[str, Any]":
    from pdman.api.containers import filters_of
    from pdman.engine.image_removal import prune_images
    from pdman.entities.images import PruneImagesOptions

    filters = filters_of(req)
    dangling_only = "dangling=false" not in filters
    report = prune_images(ctx, PruneImagesOptions(
        all=not dangling_only, filters=tuple(f for f in filters if not f.startswith("dangling="))))
    return {"ImagesDeleted": [{"Deleted": "sha256:" + i} for i in report.deleted] or None,
            "SpaceReclaimed": report.reclaimed}


@route("GET", "/images/get")
def get_many(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    _save(ctx, conn, req.query.get("names") or [])


@route("GET", "/images/{name:path}/get")
def get(ctx: "EngineContext", req: "Request", conn: "Connection", name: str) -> None:
    _save(ctx, conn, [name])


def _save(ctx: "EngineContext", conn: "Connection", names: list[str]) -> None:
    import tempfile

    from pdman.engine.image_transfer import save
    from pdman.entities.image_transfer import SaveOptions
    from pdman.errors import UsageError

    if not names:
        raise UsageError("name at least one image")
    os.makedirs(ctx.paths.tmp, mode=0o700, exist_ok=True)
    tmpdir = tempfile.mkdtemp(dir=ctx.paths.tmp, prefix="api-save-")
    path = os.path.join(tmpdir, "archive.tar")
    try:
        save(ctx, SaveOptions(images=names, output=path))
        out = conn.stream(200, "application/x-tar")
        with open(path, "rb") as f:
            while data := f.read(1 << 16):
                out.write(data)
        out.end()
    finally:
        import shutil

        shutil.rmtree(tmpdir, ignore_errors=True)


@route("POST", "/images/load")
def load(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    from pdman.api.streams import body_to_path
    from pdman.engine.image_transfer import load as engine_load
    from pdman.entities.image_transfer import LoadOptions

    report = body_to_path(req, lambda path: engine_load(ctx, LoadOptions(input=path)),
                          ctx.paths.tmp)
    out = conn.stream()
    for n in report.names:
        out.write_json({"stream": f"Loaded image: {n}\n"})
    out.end()


@route("GET", "/images/search")
def search(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    raise Unsupported("pdman has no registry search", hint="browse the registry's own catalog")


@route("POST", "/build")
def build(ctx: "EngineContext", req: "Request", conn: "Connection") -> None:
    raise Unsupported("pdman cannot build images yet", hint="build with another tool, then "
                      "`pdman load` or push it to a registry")
