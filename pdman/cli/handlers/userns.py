"""Handlers of `unshare`, `mount` and `unmount`."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions


def unshare(g: GlobalOptions, command: list[str] | None, rootless_netns: bool = False) -> int:
    from pdman.engine import unshare as engine

    return engine.unshare(g.context(), list(command or []), rootless_netns=rootless_netns)


def mount(g: GlobalOptions, containers: list[str] | None, all: bool, format: str | None,
          no_trunc: bool = False) -> int:
    from pdman.engine import unshare as engine
    from pdman.storage import container_records

    ctx = g.context()
    if all:
        containers = [r.id for r in container_records.list_all(ctx.catalog)]
    if not containers:
        rows = engine.mounted(ctx)
        if format == "json":
            from pdman.cli import output

            output.print_json([{"id": r.id, "names": [r.name], "mountpoint": path}
                               for r, path in rows])
        else:
            for r, path in rows:
                print(f"{r.id if no_trunc else r.id[:12]}  {path}")
        return 0
    for name in containers:
        rec = container_records.find(ctx.catalog, name)
        print(engine.mount(ctx, rec))
    return 0


def unmount(g: GlobalOptions, containers: list[str] | None, all: bool,
            force: bool = False) -> int:
    from pdman.engine import unshare as engine
    from pdman.storage import container_records

    ctx = g.context()
    if all:
        for rec, _ in engine.mounted(ctx):
            engine.unmount(ctx, rec)
            print(rec.id)
        return 0
    if not containers:
        from pdman.errors import UsageError

        raise UsageError("name or ID of at least one container must be specified",
                         hint="or pass --all")
    for name in containers:
        engine.unmount(ctx, container_records.find(ctx.catalog, name))
        print(name)
    return 0


def image_mount(g: GlobalOptions, images: list[str] | None, all: bool,
                format: str | None) -> int:
    from pdman.engine import store_mounts
    from pdman.engine.images import resolve_image
    from pdman.storage import image_records

    ctx = g.context()
    if all:
        images = [r.id for r in image_records.list_images(ctx.catalog)]
    if not images:
        rows = store_mounts.mounted_images(ctx)
        if format == "json":
            from pdman.cli import output

            output.print_json([{"id": r.id, "Names": list(r.names), "Repositories": list(r.names),
                                "mountpoint": path} for r, path in rows])
        else:
            for r, path in rows:
                print(f"{r.id[:12]} [{' '.join(r.names)}] {path}")
        return 0
    for name in images:
        print(store_mounts.mount_image(ctx, resolve_image(ctx, name)))
    return 0


def image_unmount(g: GlobalOptions, images: list[str] | None, all: bool,
                  force: bool = False) -> int:
    from pdman.engine import store_mounts
    from pdman.engine.images import resolve_image

    ctx = g.context()
    if all:
        for rec, _ in store_mounts.mounted_images(ctx):
            store_mounts.unmount_image(ctx, rec)
            print(rec.id)
        return 0
    if not images:
        from pdman.errors import UsageError

        raise UsageError("when neither --all nor an image is given, there is nothing to "
                         "unmount", hint="name an image, or pass --all")
    for name in images:
        rec = resolve_image(ctx, name)
        store_mounts.unmount_image(ctx, rec)
        print(rec.id)
    return 0


def volume_mount(g: GlobalOptions, name: str) -> int:
    from pdman.engine import store_mounts

    print(store_mounts.mount_volume(g.context(), name))
    return 0


def volume_unmount(g: GlobalOptions, name: str) -> int:
    from pdman.engine import store_mounts

    store_mounts.unmount_volume(g.context(), name)
    print(name)
    return 0
