"""Handler of the top-level `inspect`: a container by that name first, else an image."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import each


def inspect(g: GlobalOptions, names: list[str], format: str | None, type: str, size: bool) -> int:
    from pdman.cli import output
    from pdman.engine import containers
    from pdman.errors import ContainerNotFound, ImageNotFound, NotFoundError, UsageError

    if type not in ("all", "container", "image"):
        raise UsageError(f"invalid --type {type!r}", hint="use all, container or image")
    ctx = g.context()
    reports: list[dict[str, object]] = []

    def one(name: str) -> None:
        if type != "image":
            try:
                reports.append(containers.inspect(ctx, name, size=size))
                return
            except ContainerNotFound:
                if type == "container":
                    raise
        from pdman.engine import images

        try:
            reports.append(images.inspect_image(ctx, name))
        except ImageNotFound:
            if type == "image":
                raise
            raise NotFoundError(f"no such object: {name!r}",
                                hint="name a container (`pdman ps -a`) or an image (`pdman images`)") from None

    code = each(names, one)
    if format and format != "json":
        output.print_formatted(format, reports)
    else:
        output.print_json(reports)
    return code
