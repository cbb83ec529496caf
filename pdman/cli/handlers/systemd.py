"""Handlers: `systemd generator|install-generator`, `generate systemd`."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions


def generator(g: GlobalOptions, dirs: list[str] | None, user: bool, dryrun: bool,
              verbose: bool, no_kmsg_log: bool) -> int:
    from pdman.systemd import generator as gen

    args = list(dirs or [])
    for flag, on in (("--user", user), ("--dryrun", dryrun), ("-v", verbose),
                     ("--no-kmsg-log", no_kmsg_log)):
        if on:
            args.append(flag)
    return gen.run(args)


def install_generator(g: GlobalOptions, user: bool, dir: str | None) -> int:
    from pdman.systemd import install

    print(install.install_generator(user=user, directory=dir))
    return 0


def generate_systemd(g: GlobalOptions, containers: list[str], new: "bool | None", name: bool,
                     files: bool, restart_policy: str, time: int | None,
                     container_prefix: str, separator: str, no_header: bool,
                     after: list[str] | None = None, requires: list[str] | None = None,
                     wants: list[str] | None = None, env: list[str] | None = None,
                     restart_sec: int | None = None, start_timeout: int | None = None,
                     stop_timeout: int | None = None, format: str | None = None,
                     template: bool = False, pod_prefix: str = "pod") -> int:
    import os

    from pdman.errors import ContainerNotFound, UsageError

    from pdman import __version__
    from pdman.engine import containers as engine
    from pdman.systemd import generate
    from pdman.systemd.generator import pdman_executable

    ctx = g.context()
    pdman = pdman_executable()
    extra = generate.Extra(after=after or [], requires=requires or [], wants=wants or [],
                           env=env or [], restart_sec=restart_sec, start_timeout=start_timeout,
                           unit_stop_timeout=stop_timeout)
    common = {"restart_policy": restart_policy, "stop_timeout": time,
              "header": not no_header, "version": __version__, "extra": extra}
    outputs: list[tuple[str, str]] = []
    for wanted in containers:
        try:
            rec = engine.lookup(ctx, wanted)
        except ContainerNotFound as missing:
            # podman: a name that is no container may be a pod
            from pdman.engine import pods

            if not pods.exists(ctx, wanted):
                raise missing from None
            if template:
                raise UsageError("--template is not supported for pods",
                                 hint="generate the units of the pod without --template")
            outputs += _pod_units(ctx, wanted, pdman, name=name, new=bool(new),
                                  prefixes=(pod_prefix, container_prefix, separator),
                                  common=common)
            continue
        unit_name = f"{container_prefix}{separator}{rec.name if name else rec.id}"
        text = generate.unit_text(rec.name, rec.id, rec.config, pdman,
                                  new=template if new is None else new, template=template,
                                  unit_name=unit_name, **common)
        outputs.append((unit_name, text))
    if format:
        if format != "json":
            raise UsageError(f"unsupported --format {format!r}", hint="use json")
        import json

        # (podman's JSON is a Go map: its keys come sorted)
        print(json.dumps(dict(outputs), indent=4, sort_keys=True))
        return 0
    for unit_name, text in outputs:
        if files:
            # (podman 4.3 names a template's file without its @: systemd needs it)
            path = os.path.abspath(f"{unit_name}{'@' if template else ''}.service")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(path)
        else:
            print(text, end="")
    return 0


def _pod_units(ctx: "object", wanted: str, pdman: str, *, name: bool, new: bool,
               prefixes: "tuple[str, str, str]",
               common: "dict[str, object]") -> "list[tuple[str, str]]":
    """The pod's unit, then its members' units (sorted by unit name, as podman lists
    them), as (unit name, text)."""
    from pdman.errors import UsageError

    from pdman.engine import pods
    from pdman.systemd import generate, generate_pod

    pod_prefix, container_prefix, separator = prefixes
    pod = pods.find(ctx, wanted)  # type: ignore[arg-type]
    recs = pods.containers_of(ctx, pod.id)  # type: ignore[arg-type]
    infra = next((r for r in recs if r.config.get("infra")), None)
    if infra is None:
        raise UsageError(f"pod {pod.name} has no infra container: its unit would have "
                         "nothing to run", hint="create the pod with an infra container")
    unit_name = f"{pod_prefix}{separator}{pod.name if name else pod.id}"
    id_file = generate_pod.pod_id_file(unit_name) if new else ""
    members: list[tuple[str, str]] = []
    for rec in recs:
        if rec is infra:
            continue
        member_unit = f"{container_prefix}{separator}{rec.name if name else rec.id}"
        members.append((member_unit, generate.unit_text(
            rec.name, rec.id, rec.config, pdman, new=new, unit_name=member_unit,
            pod_unit=unit_name, pod_id_file=id_file, **common)))  # type: ignore[arg-type]
    members.sort()
    text = generate_pod.pod_unit_text(
        pod.name, pod.id, pod.config, infra.name, infra.config, pdman, new=new,
        unit_name=unit_name, member_units=[u for u, _ in members],
        **common)  # type: ignore[arg-type]
    return [(unit_name, text), *members]
