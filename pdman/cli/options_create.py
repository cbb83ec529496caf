"""Options of `create` and `run`, each defined once and used by both declarations."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Image = Annotated[str, typer.Argument(help="Image to run: name[:tag], name@digest or image ID.")]
Command = Annotated[Optional[list[str]], typer.Argument(
    help="Command and arguments (default: the image's Entrypoint and Cmd).")]
Name = Annotated[Optional[str], typer.Option("--name", help="Assign a name to the container.")]
Env = Annotated[Optional[list[str]], typer.Option(
    "--env", "-e", help="Set an environment variable NAME=VALUE (NAME alone: from the caller).")]
EnvFile = Annotated[Optional[list[str]], typer.Option(
    "--env-file", help="Read environment variables from a file (NAME=VALUE lines).")]
Workdir = Annotated[Optional[str], typer.Option(
    "--workdir", "-w", help="Working directory inside the container.")]
User = Annotated[Optional[str], typer.Option(
    "--user", "-u", help="Run as USER[:GROUP] (names from the container's /etc/passwd, or IDs).")]
Entrypoint = Annotated[Optional[str], typer.Option(
    "--entrypoint", help="Override the image's entrypoint (\"\" clears it).")]
Hostname = Annotated[Optional[str], typer.Option(
    "--hostname", "-h", help="Container host name (default: the short container ID).")]
Interactive = Annotated[bool, typer.Option(
    "--interactive", "-i", help="Keep stdin open and connected to the container.")]
Tty = Annotated[bool, typer.Option("--tty", "-t", help="Allocate a pseudo-terminal.")]
Init = Annotated[bool, typer.Option(
    "--init", help="Run a tiny init as PID 1 that forwards signals and reaps zombies.")]
ReadOnly = Annotated[bool, typer.Option(
    "--read-only", help="Mount the container's root filesystem read-only.")]
Tmpfs = Annotated[Optional[list[str]], typer.Option(
    "--tmpfs", help="Mount a tmpfs: PATH[:OPTIONS], e.g. /run:size=64m.")]
Volume = Annotated[Optional[list[str]], typer.Option(
    "--volume", "-v", help="Bind mount or named volume: SOURCE:DEST[:ro|rw], or DEST for an anonymous volume.")]
Mount = Annotated[Optional[list[str]], typer.Option(
    "--mount", help="Mount: type=bind|volume|tmpfs,source=...,target=...[,readonly].")]
CapAdd = Annotated[Optional[list[str]], typer.Option("--cap-add", help="Add a capability (or ALL).")]
CapDrop = Annotated[Optional[list[str]], typer.Option("--cap-drop", help="Drop a capability (or ALL).")]
Privileged = Annotated[bool, typer.Option(
    "--privileged", help="Give every capability (still never more than the user has).")]
SecurityOpt = Annotated[Optional[list[str]], typer.Option(
    "--security-opt", help="Security option: no-new-privileges[=true|false].")]
Label = Annotated[Optional[list[str]], typer.Option("--label", "-l", help="Set a label KEY=VALUE.")]
Pull = Annotated[str, typer.Option(
    "--pull", help="Pull the image: missing (default), always, or never.")]
Network = Annotated[str, typer.Option(
    "--network", "--net", help="Network mode: none (default for now) or host.")]
Platform = Annotated[Optional[str], typer.Option(
    "--platform", help="Platform of the image to pull: OS/ARCH[/VARIANT].")]
TlsVerify = Annotated[Optional[str], typer.Option(
    "--tls-verify", help="Require HTTPS and verify certificates when pulling (true/false).")]
StopSignal = Annotated[Optional[str], typer.Option(
    "--stop-signal", help="Signal that stops the container (default: the image's, else SIGTERM).")]
StopTimeout = Annotated[Optional[int], typer.Option(
    "--stop-timeout", help="Seconds to wait after the stop signal before SIGKILL (default 10).")]
QuietPull = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Do not print pull progress.")]
Remove = Annotated[bool, typer.Option(
    "--rm", help="Remove the container (and its anonymous volumes) when it exits.")]
