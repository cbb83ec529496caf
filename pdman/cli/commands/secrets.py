"""Declarations: `secret create/ls/inspect/rm/exists`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import NoHeading, Quiet


@handled_by("secrets.create")
def create(
    name: Annotated[str, typer.Argument(help="Secret name.")],
    source: Annotated[str, typer.Argument(
        help="File holding the data (`-`: standard input); with --env, the name of an "
             "environment variable holding it.")],
    driver: Annotated[str, typer.Option("--driver", "-d", help="Secret driver (only `file`).")] = "file",
    driver_opts: Annotated[Optional[list[str]], typer.Option(
        "--driver-opts", help="Driver options KEY=VALUE (the file driver takes none).")] = None,
    env: Annotated[bool, typer.Option(
        "--env", help="Read the data from the environment variable SOURCE.")] = False,
    label: Annotated[Optional[list[str]], typer.Option("--label", "-l", help="Set a label KEY=VALUE.")] = None,
) -> None:
    """Create a secret (stored 0600 in your store); prints its ID."""


@handled_by("secrets.ls")
def ls(quiet: Quiet = False,
       filter: Annotated[Optional[list[str]], typer.Option(
           "--filter", "-f", help="Show only secrets matching name=NAME or id=ID.")] = None,
       format: Annotated[Optional[str], typer.Option(
           "--format", help="Go template for each secret (json: a JSON array).")] = None,
       noheading: NoHeading = False) -> None:
    """List secrets. Columns: ID, NAME, DRIVER, CREATED, UPDATED."""


@handled_by("secrets.inspect")
def inspect(
    names: Annotated[list[str], typer.Argument(help="Secrets to inspect (name or ID).")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="Go template applied to each secret.")] = None,
    pretty: Annotated[bool, typer.Option("--pretty", help="Human-readable output.")] = False,
) -> None:
    """Show secrets' details as JSON (never their data)."""


@handled_by("secrets.rm")
def rm(
    names: Annotated[Optional[list[str]], typer.Argument(help="Secrets to remove.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove all secrets.")] = False,
) -> None:
    """Remove secrets; prints each ID."""


@handled_by("secrets.exists")
def exists(name: Annotated[str, typer.Argument(help="The secret.")]) -> None:
    """Exit 0 if the secret exists, 1 if not."""


groups.register(create, (groups.secret, "create"))
groups.register(ls, (groups.secret, "ls"), (groups.secret, "list"))
groups.register(inspect, (groups.secret, "inspect"))
groups.register(rm, (groups.secret, "rm"), (groups.secret, "remove"))
groups.register(exists, (groups.secret, "exists"))
