"""Image verbs: list, resolve, pull, inspect, tag, history, tree (removal, prune and
disk usage are in `image_removal.py`).

The container engine calls:
    resolve_image(ctx, name_or_id) -> ImageRecord       (ImageNotFound if absent)
    ensure_image(ctx, name, policy="missing")           resolve, pulling when missing
    image_rootfs_layers(ctx, image_id) -> [link, ...]   bottom layer first
    image_lowerdir(ctx, image_id) -> "l/TOP:...:l/BOTTOM" (relative to ctx.paths.root)
"""

from __future__ import annotations

from pdman.engine.context import EngineContext
from pdman.entities.images import ImageSummary, ListImagesOptions, PullOptions
from pdman.errors import ImageNotFound
from pdman.storage import image_records
from pdman.storage.image_records import ImageRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.entities.images import HistoryEntry, PullReport
    from pdman.image.reference import Reference


def split_name(name: str) -> tuple[str, str]:
    """`docker.io/library/nginx:latest` -> (`docker.io/library/nginx`, `latest`);
    a digest name (`repo@sha256:...`, from a pull by digest) has no tag."""
    if "@" in name:
        return name.partition("@")[0], "<none>"
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "<none>"


def list_images(ctx: EngineContext, options: ListImagesOptions) -> list[ImageSummary]:
    cat = ctx.catalog
    records = image_records.list_images(cat)
    users = image_records.layer_users(cat)
    sizes = {r["diff_id"]: r["size"] for r in cat.query("SELECT diff_id, size FROM layers")}
    in_use: dict[str, int] = {}
    for r in cat.query("SELECT image_id, count(*) AS n FROM containers GROUP BY image_id"):
        in_use[r["image_id"]] = r["n"]
    hidden = set() if options.all else _intermediate(cat, records)
    out: list[ImageSummary] = []
    for rec in records:
        if rec.id in hidden:
            continue
        shared = sum(sizes.get(d, 0) for d in set(rec.layers) if users.get(d, 0) > 1)
        labels = (rec.config.get("config") or {}).get("Labels") or {}
        digest = rec.digest
        # a digest name (pulled by digest) shows only when the image has no tag
        tags = _tags(rec)
        for name in tags or rec.names[:1] or [""]:
            repo, tag = split_name(name) if name else ("<none>", "<none>")
            out.append(ImageSummary(
                ID=rec.id, Repository=repo, Tag=tag, Digest=digest, Created=rec.created,
                Size=rec.size, SharedSize=shared, Names=rec.names,
                Containers=in_use.get(rec.id, 0), Labels=labels))
    return out


def _intermediate(cat: "Any", records: list[ImageRecord]) -> set[str]:
    """Images `build` made for its steps (podman's intermediate images, shown by
    `images -a`): unnamed, in the build cache, and the parent of another image."""
    from pdman.storage import build_cache

    out: set[str] = set()
    for rec in records:
        if rec.names or not build_cache.is_cached_image(cat, rec.id):
            continue
        depth = len(rec.config.get("history") or [])
        for other in records:
            if other.id != rec.id and other.layers[:len(rec.layers)] == rec.layers \
                    and len(other.config.get("history") or []) > depth:
                out.add(rec.id)
                break
    return out


def filter_images(ctx: EngineContext, rows: list[ImageSummary],
                  filters: tuple[str, ...]) -> list[ImageSummary]:
    """podman's image filters: reference, dangling, label, before, since, id."""
    import fnmatch

    from pdman.errors import UsageError

    def created_of(ref: str) -> str:
        for r in rows:
            if r.ID.startswith(ref) or f"{r.Repository}:{r.Tag}".endswith(ref):
                return r.Created
        raise UsageError(f"filter: no image {ref!r}", hint="name an image from `pdman images`")

    def keep(r: ImageSummary, key: str, value: str) -> bool:
        if key == "reference":
            full = f"{r.Repository}:{r.Tag}"
            short = full.split("/")[-1]
            return any(fnmatch.fnmatch(x, value) or fnmatch.fnmatch(x, value + ":*")
                       for x in (full, short, r.Repository, r.Repository.split("/")[-1]))
        if key == "dangling":
            return (r.Repository == "<none>") == (value.lower() in ("true", "1"))
        if key == "label":
            k, eq, v = value.partition("=")
            return k in r.Labels and (not eq or r.Labels[k] == v)
        if key == "id":
            return r.ID.startswith(value.removeprefix("sha256:"))
        if key == "before":
            return r.Created < created_of(value)
        if key == "since":
            return r.Created > created_of(value)
        raise UsageError(f"invalid image filter {key!r}",
                         hint="supported: reference, dangling, label, id, before, since")

    out = []
    for r in rows:
        ok = True
        for f in filters:
            key, eq, value = f.partition("=")
            if not eq:
                raise UsageError(f"invalid filter {f!r}", hint="filters are KEY=VALUE")
            ok = ok and keep(r, key, value)
        if ok:
            out.append(r)
    return out


# -- resolving local images (hot path of `run`: stdlib and the catalog only) ------------

def _short_candidates(ref: "Reference") -> list[str]:
    """Names a short reference may have locally, in podman's order: localhost/ first,
    then docker.io (the default search registry)."""
    tagged = ref.tagged_or_latest()
    suffix = tagged.path + (":" + tagged.tag if tagged.tag else "") + \
        ("@" + tagged.digest if tagged.digest else "")
    out = [f"localhost/{suffix}"]
    if "/" not in tagged.path:
        out.append(f"docker.io/library/{suffix}")
    out.append(f"docker.io/{suffix}")
    return out


def resolve_image(ctx: EngineContext, name_or_id: str) -> ImageRecord:
    """The local image a user means: an ID or ID prefix, a full or short name
    (`nginx` finds docker.io/library/nginx:latest, or any `*/nginx:latest`), or a
    repo digest (`busybox@sha256:...`). ImageNotFound when there is none."""
    from pdman.image import reference

    cat = ctx.catalog
    text = name_or_id.strip()
    if reference.looks_like_id(text):
        found = image_records.find_by_id_prefix(cat, text)
        if found is not None:
            return found
        if text.startswith("sha256:"):
            raise ImageNotFound(f"{name_or_id}: image not known",
                                hint="see `pdman images` for the IDs in local storage")
    ref = reference.parse(text)
    if ref.digest:
        names = [ref.name] if not ref.is_short else [
            n.rsplit("@", 1)[0] for n in _short_candidates(ref)]
        for repo in names:
            found = image_records.find_by_repo_digest(cat, f"{repo}@{ref.digest}")
            if found is not None:
                return found
        if ref.is_short:
            for r in cat.query("SELECT id, repo_digests FROM images WHERE repo_digests LIKE ?",
                               (f"%/{ref.path}@{ref.digest}%",)):
                return image_records.get(cat, r["id"])
    else:
        candidates = [str(ref.tagged_or_latest())] if not ref.is_short \
            else _short_candidates(ref)
        for candidate in candidates:
            found = image_records.find_by_name(cat, candidate)
            if found is not None:
                return found
        if ref.is_short:
            tagged = ref.tagged_or_latest()
            rows = cat.query("SELECT image_id FROM image_names WHERE name LIKE ? ESCAPE '\\'"
                             " ORDER BY rowid",
                             ("%/" + _like_escape(f"{tagged.path}:{tagged.tag}"),))
            if rows:
                return image_records.get(cat, rows[0]["image_id"])
    raise ImageNotFound(f"{name_or_id}: image not known",
                        hint=f"pull it first: `pdman pull {name_or_id}`")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def image_rootfs_layers(ctx: EngineContext, image_id: str) -> list[str]:
    """Short link names (under `<root>/l/`) of the image's layers, BOTTOM layer first
    (the order of the image config's rootfs.diff_ids). For overlay's `lowerdir=`,
    which lists the uppermost first, reverse it, or use `image_lowerdir`."""
    return [r.link for r in image_records.layers_of(ctx.catalog, image_id)]


def image_lowerdir(ctx: EngineContext, image_id: str) -> str:
    """overlay's `lowerdir=` value for the image, uppermost layer first, as paths
    relative to the store root (`l/ABC...:l/DEF...`): mount with the store root
    (`ctx.paths.root`) as working directory so 128 layers fit one page."""
    return ":".join("l/" + link for link in reversed(image_rootfs_layers(ctx, image_id)))


def ensure_image(ctx: EngineContext, name: str, policy: str = "missing",
                 pull_options: "PullOptions | None" = None) -> ImageRecord:
    """What `run`/`create` do with their IMAGE argument (`--pull` policy: missing,
    always, never, newer): the local image, pulled first when needed."""
    from pdman.errors import UsageError

    if policy not in ("missing", "always", "never", "newer"):
        raise UsageError(f"invalid pull policy {policy!r}",
                         hint="use one of: always, missing, never, newer")
    if policy != "always":
        try:
            found = resolve_image(ctx, name)
        except ImageNotFound:
            if policy == "never":
                raise
        else:
            if _platform_matches(found, pull_options):
                return found
            if policy == "never":
                raise ImageNotFound(
                    f"{name}: image not known for the platform asked for "
                    f"(the local image is {found.os}/{found.architecture})",
                    hint="pull it with that --platform/--arch, or drop --pull=never")
    options = pull_options or PullOptions(reference=name)
    report = pull(ctx, options)
    return image_records.get(ctx.catalog, report.image_id)


def _platform_matches(image: ImageRecord, options: "PullOptions | None") -> bool:
    """Whether a local image is of the platform that --platform/--arch/--os/--variant ask
    for (any, when none is given): podman pulls the asked platform over a local image of
    another one."""
    if options is None or not (options.platform or options.os or options.arch
                               or options.variant):
        return True
    from pdman.image import manifest

    wanted = manifest.wanted_platform(options.platform, options.os, options.arch,
                                      options.variant)
    if (image.os or "linux", image.architecture) != (wanted.os, wanted.architecture):
        return False
    have = str((image.config or {}).get("variant") or "")
    return not wanted.variant or not have or have == wanted.variant


# -- pull ---------------------------------------------------------------------------------

def pull(ctx: EngineContext, options: "PullOptions", transport: "Any" = None) -> "PullReport":
    """Pull an image (see pdman/image/pull.py for the stages)."""
    from pdman.engine import events
    from pdman.image.pull import pull_image

    report = pull_image(ctx, options, transport)
    events.emit(ctx.paths, "image", "pull", id=report.image_id, name=report.reference)
    return report


# -- inspect, tag, history, tree ---------------------------------------------------------

def _tags(rec: ImageRecord) -> list[str]:
    return [n for n in rec.names if "@" not in n]


def inspect_image(ctx: EngineContext, name: str) -> dict[str, "Any"]:
    """podman's `image inspect` document."""
    import os

    from pdman.image.annotations import manifest_annotations

    rec = resolve_image(ctx, name)
    cfg = rec.config
    layers = image_records.layers_of(ctx.catalog, rec.id)
    dirs = [os.path.join(ctx.paths.layers, layer.diff_id.partition(":")[2], "diff")
            for layer in layers]
    container_config = cfg.get("config") or {}
    return {
        "Id": rec.id,
        "Digest": rec.digest,
        "RepoTags": _tags(rec),
        "RepoDigests": rec.repo_digests,
        "Parent": "",
        "Comment": cfg.get("comment", ""),
        "Created": rec.created,
        "Config": container_config,
        "Version": cfg.get("docker_version", ""),
        "Author": cfg.get("author", ""),
        "Architecture": rec.architecture,
        "Os": rec.os,
        **({"Variant": cfg["variant"]} if cfg.get("variant") else {}),
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {"Name": "overlay", "Data": {
            "UpperDir": dirs[-1] if dirs else "",
            "LowerDir": ":".join(reversed(dirs[:-1])),
            "WorkDir": "",
        }},
        "RootFS": {"Type": (cfg.get("rootfs") or {}).get("type", "layers"),
                   "Layers": list(rec.layers)},
        "Labels": container_config.get("Labels"),
        "Annotations": manifest_annotations(ctx.paths.blobs, rec),
        "ManifestType": rec.manifest_media_type,
        "User": container_config.get("User", ""),
        "History": cfg.get("history") or [],
        "NamesHistory": list(reversed(rec.names)),     # the latest first, as podman
    }


def tag_image(ctx: EngineContext, source: str, targets: list[str]) -> list[str]:
    """Add names to an image; short target names become `localhost/NAME:latest`, as
    in podman. Returns the full names given."""
    from pdman.errors import UsageError
    from pdman.image import reference

    if not targets:
        raise UsageError("tag needs at least one target name", hint="pdman tag IMAGE NAME[:TAG]")
    rec = resolve_image(ctx, source)
    names = []
    for target in targets:
        ref = reference.parse(target)
        if ref.digest:
            raise UsageError(f"{target!r}: a tag cannot contain a digest",
                             hint="tag with NAME[:TAG]")
        if ref.is_short:
            ref = reference.Reference("localhost", ref.path, ref.tag)
        names.append(str(ref.tagged_or_latest()))
    from pdman.engine import events

    for full in names:
        image_records.add_name(ctx.catalog, rec.id, full)
        events.emit(ctx.paths, "image", "tag", id=rec.id, name=full)
    return names


def untag_image(ctx: EngineContext, name: str, targets: list[str]) -> list[str]:
    """Remove names from an image (all of them when `targets` is empty)."""
    from pdman.image import reference

    rec = resolve_image(ctx, name)
    if not targets:
        gone = list(rec.names)
    else:
        gone = []
        for target in targets:
            ref = reference.parse(target)
            candidates = [str(ref.tagged_or_latest())] if not ref.is_short \
                else _short_candidates(ref)
            match = next((c for c in candidates if c in rec.names), None)
            if match is None:
                raise ImageNotFound(f"{target}: tag not known for image {rec.id[:12]}",
                                    hint="see the image's names in `pdman images`")
            gone.append(match)
    from pdman.engine import events

    for n in gone:
        image_records.remove_name(ctx.catalog, n)
        events.emit(ctx.paths, "image", "untag", id=rec.id, name=n)
    return gone


def history(ctx: EngineContext, name: str) -> "list[HistoryEntry]":
    """podman's `history`: newest first; the top row carries the image ID, the
    others `<missing>` (they have no image of their own)."""
    from pdman.entities.images import HistoryEntry

    rec = resolve_image(ctx, name)
    sizes = {r.diff_id: r.size for r in image_records.layers_of(ctx.catalog, rec.id)}
    layer_iter = iter(rec.layers)
    rows: list[HistoryEntry] = []
    entries = rec.config.get("history") or []
    if not entries:  # images without history: one row per layer
        entries = [{"created": rec.created} for _ in rec.layers]
    for h in entries:
        size = 0
        if not h.get("empty_layer"):
            diff_id = next(layer_iter, None)
            size = sizes.get(diff_id, 0) if diff_id else 0
        rows.append(HistoryEntry(ID="<missing>", Created=str(h.get("created") or ""),
                                 CreatedBy=str(h.get("created_by") or ""), Size=size,
                                 Comment=str(h.get("comment") or "")))
    rows.reverse()
    if rows:
        rows[0].ID = rec.id
        rows[0].Tags = _tags(rec)
    return rows


def image_tree(ctx: EngineContext, name: str, whatrequires: bool = False) -> dict[str, "Any"]:
    """The image's layers, bottom first, each with the other images that share it; with
    `whatrequires`, also the images built on it (RequiredBy: each with the layers it
    adds on top of this image's, bottom first)."""
    cat = ctx.catalog
    rec = resolve_image(ctx, name)
    layers = image_records.layers_of(cat, rec.id)
    users: dict[str, list[str]] = {}
    for r in cat.query("SELECT DISTINCT il.diff_id, il.image_id FROM image_layers il"):
        users.setdefault(r["diff_id"], []).append(r["image_id"])
    names: dict[str, list[str]] = {}
    for r in cat.query("SELECT name, image_id FROM image_names ORDER BY rowid"):
        names.setdefault(r["image_id"], []).append(r["name"])
    out_layers = []
    for layer in layers:
        others = [i for i in users.get(layer.diff_id, []) if i != rec.id]
        out_layers.append({
            "DiffID": layer.diff_id, "Digest": layer.digest, "Size": layer.size,
            "SharedWith": [{"ID": i, "Names": names.get(i, [])} for i in sorted(others)],
        })
    doc = {"ID": rec.id, "Names": _tags(rec), "Size": rec.size, "Layers": out_layers}
    if whatrequires:
        doc["RequiredBy"] = _children(ctx, rec, names)
    return doc


def _children(ctx: EngineContext, rec: ImageRecord,
              names: "dict[str, list[str]]") -> "list[dict[str, Any]]":
    """The images whose layers start with all of `rec`'s and add more: what a `rmi` of
    it would leave without their base."""
    own = rec.layers
    out = []
    for other in image_records.list_images(ctx.catalog):
        if other.id == rec.id or len(other.layers) <= len(own) or other.layers[:len(own)] != own:
            continue
        added = []
        for diff_id in other.layers[len(own):]:
            layer = image_records.layer(ctx.catalog, diff_id)
            added.append({"DiffID": diff_id, "Size": layer.size if layer else 0})
        out.append({"ID": other.id, "Names": names.get(other.id, []), "Layers": added})
    return out
