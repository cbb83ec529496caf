"""Declarations: `system connection add|list|default|remove|rename` (the remote
client's named destinations; handlers in cli/handlers/connections.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by

connection = typer.Typer(help="Manage the destinations of the remote client (API services).",
                         context_settings={"help_option_names": ["-h", "--help"]},
                         no_args_is_help=True)
groups.system.add_typer(connection, name="connection")


@handled_by("connections.add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the connection.")],
    destination: Annotated[str, typer.Argument(
        help="[USER@]HOST (ssh), ssh://[USER@]HOST[:PORT][/PATH], unix:///PATH or "
             "tcp://HOST:PORT (unauthenticated).")],
    default: Annotated[bool, typer.Option("--default", "-d", help="Make it the default connection.")] = False,
    identity: Annotated[Optional[str], typer.Option("--identity", help="SSH private key for it.")] = None,
    port: Annotated[Optional[int], typer.Option("--port", "-p", help="SSH port (default 22).")] = None,
    socket_path: Annotated[Optional[str], typer.Option(
        "--socket-path", help="Path of the service's socket on the remote host (default: the "
        "remote user's $XDG_RUNTIME_DIR/pdman/pdman.sock).")] = None,
) -> None:
    """Record a destination for the remote client (`pdman --connection NAME ...`). The
    first one recorded becomes the default."""


@handled_by("connections.ls")
def ls(
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="`json`, or a Go template ({{.Name}}, {{.URI}}, {{.Identity}}, {{.Default}}).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the names.")] = False,
) -> None:
    """List the recorded destinations: NAME, URI, IDENTITY, DEFAULT."""


@handled_by("connections.default")
def default(name: Annotated[str, typer.Argument(help="Connection to make the default.")]) -> None:
    """Make a connection the default (used with `--remote`)."""


@handled_by("connections.rm")
def rm(
    name: Annotated[Optional[str], typer.Argument(help="Connection to remove.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove every connection.")] = False,
) -> None:
    """Remove a recorded destination."""


@handled_by("connections.rename")
def rename(
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> None:
    """Rename a recorded destination."""


connection.command("add", context_settings={"help_option_names": ["-h", "--help"]})(add)
for _name in ("list", "ls"):
    connection.command(_name, context_settings={"help_option_names": ["-h", "--help"]})(ls)
connection.command("default", context_settings={"help_option_names": ["-h", "--help"]})(default)
for _name in ("remove", "rm"):
    connection.command(_name, context_settings={"help_option_names": ["-h", "--help"]})(rm)
for _name in ("rename", "mv"):
    connection.command(_name, context_settings={"help_option_names": ["-h", "--help"]})(rename)


@handled_by("connections.dial_stdio")
def dial_stdio(
    uri: Annotated[Optional[str], typer.Argument(
        help="The service's socket, unix:///PATH (default: unix://$XDG_RUNTIME_DIR/pdman/pdman.sock).")] = None,
) -> None:
    """Join standard input and output to the API service's socket: what the remote
    client runs on an ssh:// host for each connection (docker's `system dial-stdio`)."""


groups.register(dial_stdio, (groups.system, "dial-stdio"))
