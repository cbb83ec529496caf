"""Handlers of the commands of running containers: build options, call the engine
(engine/lifecycle.py), print. Hot path (`stop`, `exec`, `logs`): stdlib only here."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import each, with_cidfiles



def _targets(ctx, containers: list[str] | None, all: bool, running_only: bool = True) -> list[str]:  # type: ignore[no-untyped-def]
    from pdman.engine import containers as engine
    from pdman.errors import UsageError
    from pdman.storage import container_records

    if all:
        recs = [engine.reconcile(ctx, r) for r in container_records.list_all(ctx.catalog)]
        return [r.id for r in recs if not running_only or r.status in ("running", "paused")]
    if not containers:
        raise UsageError("give at least one container name or ID", hint="or pass --all")
    return containers


def stop(g: GlobalOptions, containers: list[str] | None, time: int | None, all: bool,
         ignore: bool, cidfile: list[str] | None = None) -> int:
    from pdman.engine import lifecycle
    from pdman.errors import ContainerNotFound

    containers = with_cidfiles(containers, cidfile, ignore)
    if cidfile and not containers and not all:
        return 0  # `stop --ignore --cidfile F` with F gone: nothing to do

    ctx = g.context()

    def one(name: str) -> str | None:
        try:
            lifecycle.stop(ctx, lifecycle.StopOptions(name, time))
        except ContainerNotFound:
            if ignore:
                return None
            raise
        return name

    return each(_targets(ctx, containers, all), one)


def kill(g: GlobalOptions, containers: list[str] | None, signal: str, all: bool,
         cidfile: list[str] | None = None) -> int:
    from pdman.engine import lifecycle

    containers = with_cidfiles(containers, cidfile)

    ctx = g.context()
    lifecycle.parse_signal(signal)  # a bad signal fails once, before any container

    def one(name: str) -> str:
        lifecycle.kill(ctx, lifecycle.KillOptions(name, signal))
        return name

    return each(_targets(ctx, containers, all), one)


def restart(g: GlobalOptions, containers: list[str] | None, time: int | None, all: bool,
            running: bool, cidfile: list[str] | None = None) -> int:
    from pdman.engine import lifecycle

    containers = with_cidfiles(containers, cidfile)

    ctx = g.context()

    def one(name: str) -> str:
        lifecycle.restart(ctx, lifecycle.StopOptions(name, time))
        return name

    return each(_targets(ctx, containers, all, running_only=running), one)


def attach(g: GlobalOptions, container: str, detach_keys: str | None, no_stdin: bool,
           sig_proxy: bool) -> int:
    from pdman.engine import lifecycle

    return lifecycle.attach(g.context(), lifecycle.AttachOptions(
        container, no_stdin=no_stdin, detach_keys=detach_keys, sig_proxy=sig_proxy))


def exec_(g: GlobalOptions, container: str, command: list[str], interactive: bool, tty: bool,
          env: list[str] | None, env_file: list[str] | None, user: str | None,
          workdir: str | None, detach: bool, privileged: bool, detach_keys: str | None,
          preserve_fds: int = 0) -> int:
    from pdman.engine import lifecycle

    if not command:
        from pdman.errors import UsageError

        raise UsageError("must provide a non-empty command to start an exec session")
    if preserve_fds:
        _check_preserved(preserve_fds)
    return lifecycle.exec_in(g.context(), lifecycle.ExecOptions(
        container, list(command), interactive=interactive, tty=tty, env=list(env or []),
        env_files=list(env_file or []), user=user, workdir=workdir, detach=detach,
        privileged=privileged, preserve_fds=preserve_fds))


def _check_preserved(count: int) -> None:
    """--preserve-fds N: fds 3..3+N-1 must be open in pdman (passed by its caller)."""
    import os

    from pdman.errors import UsageError

    if count < 0:
        raise UsageError(f"invalid --preserve-fds {count}", hint="give a number of fds, 0 or more")
    for fd in range(3, 3 + count):
        try:
            os.fstat(fd)
        except OSError:
            raise UsageError(f"file descriptor {fd} is not available - the preserve-fds "
                             "option requires that all file descriptors must be passed",
                             hint="open them in the calling shell, e.g. 3<FILE") from None


def logs(g: GlobalOptions, containers: list[str], follow: bool, since: str | None,
         until: str | None, tail: str, timestamps: bool, names: bool = False,
         color: bool = False) -> int:
    import sys

    from pdman.engine import lifecycle
    from pdman.errors import UsageError

    if tail.strip().lower() == "all":
        lines = -1
    else:
        try:
            lines = int(tail)
        except ValueError:
            raise UsageError(f"invalid --tail {tail!r}", hint="a number of lines, or all") from None
    try:
        lifecycle.logs(g.context(), lifecycle.LogsOptions(
            list(containers), follow=follow, since=since, until=until,
            tail=lines if lines >= 0 else -1, timestamps=timestamps, use_names=names,
            color=color),
            sys.stdout.buffer, sys.stderr.buffer)
    except KeyboardInterrupt:  # ^C ends `logs -f`, as in podman
        return 0
    return 0


def top(g: GlobalOptions, container: str, descriptors: list[str] | None) -> int:
    from pdman.cli import output
    from pdman.engine import lifecycle

    header, rows = lifecycle.top(g.context(), container, list(descriptors or []))
    output.print_table(header, rows)
    return 0


def cleanup(g: GlobalOptions, containers: list[str]) -> int:
    from pdman.engine import lifecycle

    ctx = g.context()
    for name in containers:
        lifecycle.cleanup(ctx, name)
    return 0


def healthcheck_run(g: GlobalOptions, container: str) -> int:
    from pdman.engine import health

    report = health.run_check(g.context(), container)
    if report.status == "healthy":
        return 0
    print(report.status)    # podman: "unhealthy" (or "starting"), exit 1
    return 1
