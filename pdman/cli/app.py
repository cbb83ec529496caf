"""The full Typer app (the cold path: help, completion, command-line errors, and any
command the fast path does not take). Importing this module imports every command
declaration module; hot commands never come here (see `fast.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

from pdman.cli.clickcompat import Abort, ClickException, Command, Exit
import typer

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.groups import top
from pdman.errors import EXIT_ENGINE

# declaration modules register their commands on import
from pdman.cli.commands import build, completion, connections, container_files, containers, events, image_transfer, images, inspect, kube, lifecycle, manifests, networks, pods, resources, secrets, system, systemd, userns, volumes  # noqa: F401,E402


def _version(value: bool) -> None:
    if value:
        from pdman import __version__

        print(f"pdman version {__version__}")
        raise typer.Exit()


@top.callback()
def main_callback(
    ctx: typer.Context,
    root: Annotated[Optional[Path], typer.Option(
        "--root", help="Storage root (images, layers, catalog). Default: $XDG_DATA_HOME/pdman (HOME from the user database when unset); as root /var/lib/pdman.",
        envvar="PDMAN_ROOT", show_envvar=False)] = None,
    runroot: Annotated[Optional[Path], typer.Option(
        "--runroot", help="Runtime state directory (sockets, exit files). Default: $XDG_RUNTIME_DIR/pdman (without it: $TMPDIR/pdman-run-UID, mode 0700); as root /run/pdman.",
        envvar="PDMAN_RUNROOT", show_envvar=False)] = None,
    log_level: Annotated[str, typer.Option(
        "--log-level", help="Log messages at and above this level: debug, info, warn, error.")] = "warn",
    events_backend: Annotated[Optional[str], typer.Option(
        "--events-backend", help="Where events go: file (the default), journald (logged to "
        "the file too, so `pdman events` sees them) or none; as containers.conf "
        "events_logger.")] = None,
    version: Annotated[bool, typer.Option(
        "--version", "-v", help="Print the version and exit.", callback=_version, is_eager=True)] = False,
    url: Annotated[Optional[str], typer.Option(
        "--url", help="URL of an API service to run the command through (pdman's, podman's "
        "or dockerd's): unix:///PATH, ssh://[USER@]HOST[:PORT][/PATH] or tcp://HOST:PORT. "
        "Default: $CONTAINER_HOST.")] = None,
    connection: Annotated[Optional[str], typer.Option(
        "--connection", "-c", help="Run the command through this connection of `pdman system "
        "connection` (default: $CONTAINER_CONNECTION).")] = None,
    identity: Annotated[Optional[str], typer.Option(
        "--identity", help="SSH private key for an ssh:// URL (default: the connection's, "
        "or $CONTAINER_SSHKEY).")] = None,
    remote: Annotated[bool, typer.Option(
        "--remote", "-r", help="Run the command through an API service: the URL of "
        "--url/$CONTAINER_HOST, else the default connection, else the local service's "
        "socket.")] = False,
    noout: Annotated[bool, typer.Option(
        "--noout", help="Send the command's standard output to /dev/null (errors still "
        "reach standard error).")] = False,
) -> None:
    """Rootless, daemonless container engine (podman-style)."""
    ctx.obj = GlobalOptions(root=root, runroot=runroot, log_level=log_level,
                            events_backend=events_backend, url=url, connection=connection,
                            identity=identity, remote=remote, noout=noout)


#: podman's boolean flags that scripts give a value (`pod create --infra=false`)
_VALUED_FLAGS = {"--infra=false": "--no-infra", "--infra=true": "--infra"}


def run_typer(args: list[str]) -> int:
    args = [_VALUED_FLAGS.get(a.lower(), a) if a.startswith("--infra=") else a for a in args]
    try:
        result = top(args=args, prog_name="pdman", standalone_mode=False)
    except Exit as exc:
        return exc.exit_code
    except Abort:
        return 130
    except ClickException as exc:
        exc.show()
        # podman and docker answer a bad command line with 125
        return EXIT_ENGINE
    return int(result or 0) if isinstance(result, int) else 0


def get_command() -> Command:
    """The click command tree behind the Typer app (for the spec, man pages, tests)."""
    return typer.main.get_command(top)
