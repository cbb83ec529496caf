"""Handlers of the system commands."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """podman's `info` prints YAML; this renders the plain nested dict the same way."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, (dict, list)):       # host.security.maskedPaths
                lines.append(f"{pad}- {_scalar(item)}")
                continue
            sub = _yaml(item, indent + 1)
            if sub:
                lines.append(f"{pad}- {sub[0].strip()}")
                lines.extend(sub[1:])
    return lines


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v == "" or v is None or v == [] or v == {}:
        return '""' if v == "" or v is None else ("[]" if v == [] else "{}")
    return str(v)


def info(g: GlobalOptions, format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine.system import info as engine_info

    report = engine_info(g.context())
    if format == "json":
        output.print_json(report)
    elif format:
        output.print_formatted(format, [report])
    else:
        print("\n".join(_yaml(report)))
    return 0


def check(g: GlobalOptions, repair: bool, format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine.check import check as run_check

    report = run_check(g.context(), repair=repair)
    if format == "json":
        output.print_json([f.__dict__ for f in report.findings])
    elif not report.findings:
        print("No problems found")
    else:
        output.print_table(["KIND", "OBJECT", "DETAIL", "REPAIRED"],
                           [[f.kind, f.subject, f.detail, "yes" if f.repaired else "no"]
                            for f in report.findings])
    return 1 if report.unrepaired else 0


def reset(g: GlobalOptions, force: bool) -> int:
    import sys

    from pdman.engine.check import reset as run_reset

    ctx = g.context()
    if not force:
        if not sys.stdin.isatty():
            from pdman.errors import UsageError

            raise UsageError("`system reset` removes everything pdman stores",
                             hint="confirm with --force")
        answer = input(f"WARNING! This removes all containers, images, volumes and "
                       f"{ctx.paths.root}.\nAre you sure you want to continue? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    run_reset(ctx)
    return 0


def prune(g: GlobalOptions, all: bool, filter: list[str] | None, force: bool, volumes: bool) -> int:
    import sys

    from pdman.cli.handlers.common import confirmed
    from pdman.cli.humanize import size
    from pdman.engine import containers, networks
    from pdman.engine import volumes as engine_volumes
    from pdman.engine.image_removal import prune_images
    from pdman.entities.images import PruneImagesOptions
    from pdman.errors import UsageError

    filters = tuple(filter or ())
    if any(f.partition("=")[0] not in ("label", "label!", "until") for f in filters):
        raise UsageError(f"invalid --filter {', '.join(filters)}", hint="use label=... or until=...")
    what = ["all stopped pods", "all stopped containers",
            "all networks not used by at least one container"]
    if volumes:
        what.append("all volumes not used by at least one container")
    what.append("all images without at least one container associated with them" if all
                else "all dangling images")
    if not confirmed(force, "This command removes:\n\t- " + "\n\t- ".join(what) + "\n"):
        return 0
    ctx = g.context()
    # podman's order: containers first, so that what they used becomes unused
    if filters:
        from pdman.engine.containers import list_containers
        from pdman.entities.containers import ListContainersOptions

        rows = list_containers(ctx, ListContainersOptions(all=True, filters=filters))
        from pdman.storage import container_records

        # a pod's infra container goes with its pod, never on its own
        removed_containers = [
            containers.remove(ctx, containers.RemoveOptions(name=r.ID)) for r in rows
            if r.State in ("exited", "created", "stopped")
            and not container_records.find(ctx.catalog, r.ID).config.get("infra")]
        removed_pods: list[str] = []
    else:
        from pdman.engine import pods

        removed_pods = pods.prune(ctx)          # with their containers
        removed_containers = containers.prune(ctx)
    sections = [("Deleted Pods", removed_pods), ("Deleted Containers", removed_containers),
                ("Deleted Networks", networks.prune(ctx, filters))]
    if volumes:
        sections.append(("Deleted Volumes", engine_volumes.prune(ctx, filters)))
    report = prune_images(ctx, PruneImagesOptions(all, filters))
    sections.append(("Deleted Images", list(report.deleted)))
    for title, names in sections:
        if names:
            print(title)
            for name in names:
                print(name)
    print(f"Total reclaimed space: {size(report.reclaimed)}", file=sys.stderr)
    return 0


def version(g: GlobalOptions, format: str | None) -> int:
    import platform
    import sys

    from pdman import __version__
    from pdman.cli import output

    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    client = {"APIVersion": __version__, "Version": __version__,
              "GoVersion": f"python{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}",
              "GitCommit": "", "BuiltTime": "", "Built": 0, "OsArch": f"linux/{arch}", "Os": "linux"}
    report = {"Client": client}
    if format == "json":
        output.print_json(report)
    elif format:
        output.print_formatted(format, [report])
    else:
        print(f"Client:       pdman\nVersion:      {client['Version']}\n"
              f"API Version:  {client['APIVersion']}\nGo Version:   {client['GoVersion']}\n"
              f"OS/Arch:      {client['OsArch']}")

def service(g: GlobalOptions, uri: str | None, time: int) -> int:
    from pdman.api.server import ServiceOptions, serve
    from pdman.errors import UsageError

    if time < 0:
        raise UsageError(f"invalid --time {time}", hint="seconds, or 0 for no timeout")
    serve(g.context().paths, ServiceOptions(uri=uri or "", timeout=float(time)))
    return 0
