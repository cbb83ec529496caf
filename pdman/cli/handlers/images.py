"""Handlers of the image commands."""

from __future__ import annotations

import datetime as _dt

from pdman.cli.globalopts import GlobalOptions


def _created_ago(created: str) -> str:
    from pdman.cli.humanize import ago

    try:
        ts = _dt.datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return "unknown"
    return ago(ts)


def images(g: GlobalOptions, all: bool, quiet: bool, no_trunc: bool, digests: bool,
           filter: list[str] | None, format: str | None) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import size
    from pdman.engine.context import EngineContext
    from pdman.engine.images import list_images
    from pdman.entities.images import ListImagesOptions

    ctx = EngineContext.create(g.root, g.runroot)
    rows = list_images(ctx, ListImagesOptions(all=all, filters=tuple(filter or ())))
    if filter:
        from pdman.engine.images import filter_images

        rows = filter_images(ctx, rows, tuple(filter))

    def short(image_id: str) -> str:
        return "sha256:" + image_id if no_trunc else image_id[:12]

    if quiet:
        for image_id in dict.fromkeys(r.ID for r in rows):
            print(short(image_id))
        return 0
    if format == "json":
        seen: dict[str, dict[str, object]] = {}
        for r in rows:
            seen.setdefault(r.ID, {"Id": r.ID, "Names": r.Names, "Digest": r.Digest,
                                   "Created": r.Created, "Size": r.Size,
                                   "SharedSize": r.SharedSize, "Containers": r.Containers,
                                   "Labels": r.Labels})
        output.print_json(list(seen.values()))
        return 0
    if format:
        output.print_formatted(format, [{**r.__dict__, "ID": short(r.ID),
                                         "CreatedSince": _created_ago(r.Created),
                                         "Size": size(r.Size)} for r in rows])
        return 0
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    output.print_table(header, [
        [r.Repository, r.Tag] + ([r.Digest] if digests else [])
        + [short(r.ID), _created_ago(r.Created), size(r.Size)] for r in rows])
    return 0
