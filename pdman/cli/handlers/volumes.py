"""Handlers of the volume commands."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import confirmed, each



def create(g: GlobalOptions, name: str | None, driver: str, label: list[str] | None,
           opt: list[str] | None, ignore: bool) -> int:
    from pdman.engine.runopts import key_values
    from pdman.engine import volumes

    rec = volumes.create(g.context(), volumes.CreateVolumeOptions(
        name=name, driver=driver, labels=key_values(label, "label"), options=key_values(opt, "opt"),
        ignore=ignore))
    print(rec.name)
    return 0


def ls(g: GlobalOptions, quiet: bool, filter: list[str] | None, format: str | None,
       noheading: bool = False) -> int:
    from pdman.cli import output
    from pdman.engine import volumes

    rows = volumes.list_volumes(g.context(), tuple(filter or ()))
    if quiet:
        for r in rows:
            print(r.name)
    elif format == "json":
        output.print_json([volumes.report(r) for r in rows])
    elif format:
        output.print_formatted(format, [volumes.report(r) for r in rows], header=not noheading,
                               headers={"Name": "VOLUME NAME"})
    else:
        output.print_table(["DRIVER", "VOLUME NAME"], [[r.driver, r.name] for r in rows],
                           header=not noheading)
    return 0


def inspect(g: GlobalOptions, names: list[str] | None, format: str | None, all: bool) -> int:
    from pdman.cli import output
    from pdman.engine import volumes
    from pdman.errors import UsageError

    ctx = g.context()
    if all and names:
        raise UsageError("when using the --all switch, you may not pass any volume names "
                         "or IDs", hint="give volumes, or --all")
    if not all and not names:
        raise UsageError("provide one or more volume names or use --all",
                         hint="see `pdman volume ls`")
    recs = (volumes.list_volumes(ctx) if all
            else [volumes.inspect(ctx, n) for n in names or []])
    reports = [volumes.report(r) for r in recs]
    if format and format != "json":
        output.print_formatted(format, reports)
    else:
        output.print_json(reports)
    return 0


def rm(g: GlobalOptions, names: list[str] | None, force: bool, all: bool,
       time: int | None = None) -> int:
    from pdman.engine import volumes
    from pdman.errors import UsageError

    ctx = g.context()
    if all:
        names = [r.name for r in volumes.list_volumes(ctx)]
    elif not names:
        raise UsageError("`volume rm` needs at least one volume name", hint="or pass --all")
    def one(n: str) -> str:
        volumes.remove(ctx, n, force=force, stop_timeout=time)
        return n

    return each(names, one)


def prune(g: GlobalOptions, force: bool, filter: list[str] | None) -> int:
    from pdman.engine import volumes

    if not confirmed(force, "This will remove all volumes not used by at least one container."):
        return 0
    for name in volumes.prune(g.context(), tuple(filter or ())):
        print(name)
    return 0


def exists(g: GlobalOptions, name: str) -> int:
    from pdman.engine import volumes
    from pdman.errors import VolumeNotFound

    try:
        volumes.inspect(g.context(), name)
    except VolumeNotFound:
        return 1
    return 0


def export(g: GlobalOptions, name: str, output: str | None) -> int:
    from pdman.cli.output import write_tar
    from pdman.engine import volume_transfer

    write_tar(output, lambda fd: volume_transfer.export_volume(g.context(), name, fd))
    return 0


def import_(g: GlobalOptions, name: str, source: str = "-") -> int:
    import os
    import sys

    from pdman.engine import volume_transfer
    from pdman.errors import UsageError

    if source == "-":
        volume_transfer.import_volume(g.context(), name, sys.stdin.fileno())
        return 0
    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"opening {source}: {exc.strerror}") from None
    try:
        volume_transfer.import_volume(g.context(), name, fd)
    finally:
        os.close(fd)
    return 0
