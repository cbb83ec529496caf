"""Options shared by several commands, defined once (STYLE: each shared option once)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Format = Annotated[Optional[str], typer.Option(
    "--format", "-f",
    help="Output format: `json`, `table ...`, or a Go template such as '{{.ID}}'.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the IDs.")]
NoTrunc = Annotated[bool, typer.Option("--no-trunc", help="Do not truncate IDs and commands.")]
Filter = Annotated[Optional[list[str]], typer.Option(
    "--filter", help="Filter output by KEY=VALUE (repeatable).")]
Force = Annotated[bool, typer.Option("--force", "-f", help="Force the removal.")]
CidfileRead = Annotated[Optional[list[str]], typer.Option(
    "--cidfile", help="Read a container ID from this file (as `--cidfile` of run/create "
                      "wrote it; repeatable).")]
NoHeading = Annotated[bool, typer.Option("--noheading", help="Print no header row.")]
Latest = Annotated[bool, typer.Option(
    "--latest", "-l", help="Act on the latest created container (in any state).")]
ContainerFilter = Annotated[Optional[list[str]], typer.Option(
    "--filter", "-f", help="Act on the containers that `ps -a --filter` lists for KEY=VALUE "
                           "(repeatable).")]
