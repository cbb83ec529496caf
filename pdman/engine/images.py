"""Image verbs: list, inspect, pull, push, tag, remove, history, save/load."""

from __future__ import annotations

from pdman.engine.context import EngineContext
from pdman.entities.images import ImageSummary, ListImagesOptions
from pdman.storage import image_records


def split_name(name: str) -> tuple[str, str]:
    """`docker.io/library/nginx:latest` -> (`docker.io/library/nginx`, `latest`)."""
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
    out: list[ImageSummary] = []
    for rec in records:
        shared = sum(sizes.get(d, 0) for d in set(rec.layers) if users.get(d, 0) > 1)
        labels = (rec.config.get("config") or {}).get("Labels") or {}
        digest = rec.digest
        for name in rec.names or [""]:
            repo, tag = split_name(name) if name else ("<none>", "<none>")
            out.append(ImageSummary(
                ID=rec.id, Repository=repo, Tag=tag, Digest=digest, Created=rec.created,
                Size=rec.size, SharedSize=shared, Names=rec.names,
                Containers=in_use.get(rec.id, 0), Labels=labels))
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
