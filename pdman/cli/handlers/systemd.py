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
                     template: bool = False) -> int:
    import os

    from pdman.errors import UsageError

    from pdman import __version__
    from pdman.engine import containers as engine
    from pdman.systemd import generate
    from pdman.systemd.generator import pdman_executable

    ctx = g.context()
    pdman = pdman_executable()
    outputs: list[tuple[str, str]] = []
    for wanted in containers:
        rec = engine.lookup(ctx, wanted)
        unit_name = f"{container_prefix}{separator}{rec.name if name else rec.id}"
        text = generate.unit_text(rec.name, rec.id, rec.config, pdman,
                                  new=template if new is None else new, template=template,
                                  unit_name=unit_name, restart_policy=restart_policy,
                                  stop_timeout=time, header=not no_header, version=__version__,
                                  extra=generate.Extra(after=after or [], requires=requires or [],
                                                       wants=wants or [], env=env or [],
                                                       restart_sec=restart_sec,
                                                       start_timeout=start_timeout,
                                                       unit_stop_timeout=stop_timeout))
        outputs.append((unit_name, text))
    if format:
        if format != "json":
            raise UsageError(f"unsupported --format {format!r}", hint="use json")
        import json

        print(json.dumps(dict(outputs), indent=4))
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
