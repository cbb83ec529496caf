"""Image endpoints: pull (docker's JSON progress stream), list, inspect, history, tag,
push, remove, prune, get/load, build (the classic builder); search answers a clear 501."""

from __future__ import annotations

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
        import datetime as dt

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
    """docker's classic builder (DOCKER_BUILDKIT=0, docker-compose 1.29): the context a
    tar body, the options query parameters, the answer docker's JSON stream --
    {"stream"} lines, {"aux": {"ID"}}, `Successfully built ID` (what compose reads),
    or {"error"}. The build is the engine's verb, in a child process (build_child.py)."""
    from pdman.engine.build_child import build_in_child, received_context
    from pdman.errors import PdmanError

    options = _build_options(req)
    body = _BodyReader(req)
    with received_context(ctx, body, req.arg("dockerfile")) as (top, path):
        body.drain()                    # the archive's padding after its end
        options.context, options.containerfile = top, path
        out = conn.stream()
        quiet = options.quiet
        try:
            report = build_in_child(ctx, options, lambda line: None if quiet else
                                    out.write_json({"stream": line + "\n"}))
        except PdmanError as exc:
            text = exc.message + (f" ({exc.hint})" if exc.hint else "")
            # no code: docker's CLI then exits 1, as after dockerd's build errors
            out.write_json({"errorDetail": {"message": text}, "error": text})
            out.end()
            return
        out.write_json({"aux": {"ID": "sha256:" + report.image_id}})
        if quiet:     # the CLI's -q prints the stream, which then holds only the ID
            out.write_json({"stream": f"sha256:{report.image_id}\n"})
        else:
            out.write_json({"stream": f"Successfully built {report.image_id[:12]}\n"})
        out.end()


def _json_map(req: "Request", name: str) -> "dict[str, str]":
    from pdman.errors import UsageError

    text = req.arg(name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UsageError(f"invalid {name}: a JSON object of strings is expected")
    # docker: a null build arg means "take it from the daemon's environment": not ours
    return {str(k): str(v) for k, v in value.items() if v is not None}


#: build parameters of docker's API that pdman's build does not take
_BUILD_UNSUPPORTED = ("extrahosts", "cpusetcpus", "cpusetmems", "cpushares", "cpuquota",
                      "cpuperiod", "memory", "memswap", "cgroupparent", "shmsize", "ulimits",
                      "cachefrom", "isolation")


def _build_options(req: "Request") -> "Any":
    from pdman.entities.build import BuildOptions
    from pdman.errors import UsageError

    if req.arg("remote"):
        raise Unsupported("a remote build context (remote=) is not supported",
                          hint="send the context as the request body")
    if req.arg("outputs") or req.arg("version") == "2":
        raise Unsupported("BuildKit builds are not supported",
                          hint="use the classic builder: DOCKER_BUILDKIT=0")
    # what docker's client sends on every build, at its default unless asked for: a value
    # pdman's build cannot honour is refused (501) rather than ignored
    for name in _BUILD_UNSUPPORTED:
        if req.arg(name) not in ("", "0", "null", "[]", "{}"):
            raise Unsupported(f"the build option {name}={req.arg(name)} is not supported",
                              hint="build without it")
    network = req.arg("networkmode")
    if network in ("default", "bridge"):
        network = ""
    elif network not in ("", "host", "none"):
        raise UsageError(f"networkmode={network}: a build's RUN steps use default, host or none")
    pull = req.arg("pull")
    return BuildOptions(
        context="-", tags=[t for t in req.query.get("t", []) if t],
        build_args=_json_map(req, "buildargs"), labels=_json_map(req, "labels"),
        target=req.arg("target"), no_cache=req.flag("nocache"), quiet=req.flag("q"),
        network=network, squash="new" if req.flag("squash") else "", pull="always" if pull and pull.lower() not in ("0", "false") else
        "missing")


class _BodyReader:
    """The request body as a file for tarfile's stream mode."""

    def __init__(self, req: "Request") -> None:
        self._chunks = req.chunks()
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            data = next(self._chunks, b"")
            if not data:
                break
            self._buf += data
        if n < 0:
            n = len(self._buf)
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def drain(self) -> None:
        for _ in self._chunks:
            pass
