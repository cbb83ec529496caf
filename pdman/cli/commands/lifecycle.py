"""Declarations: commands of running containers (`stop`, `kill`, `restart`, `attach`,
`exec`, `logs`, `top`) and the hidden `container cleanup` that a container's monitor
runs when it exits."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli import options_create as o
from pdman.cli.decl import handled_by
from pdman.cli.options import CidfileRead, ContainerFilter, Latest

Containers = Annotated[Optional[list[str]], typer.Argument(help="Containers (names or IDs).")]
All = Annotated[bool, typer.Option("--all", "-a", help="All running containers.")]
StopTime = Annotated[Optional[int], typer.Option(
    "--time", "-t", help="Seconds to wait for the stop signal to work before SIGKILL "
                         "(default: the container's --stop-timeout, 10).")]


@handled_by("lifecycle.stop")
def stop(
    containers: Containers = None,
    time: StopTime = None,
    all: All = False,
    ignore: Annotated[bool, typer.Option(
        "--ignore", "-i", help="Ignore containers that do not exist.")] = False,
    cidfile: CidfileRead = None,
    latest: Latest = False,
    filter: ContainerFilter = None,
) -> None:
    """Stop running containers: their stop signal (the image's StopSignal, else SIGTERM),
    then SIGKILL after the timeout. Prints each name as given."""


@handled_by("lifecycle.kill")
def kill(
    containers: Containers = None,
    signal: Annotated[str, typer.Option(
        "--signal", "-s", help="Signal to send: a name (SIGTERM, HUP) or a number.")] = "KILL",
    all: All = False,
    cidfile: CidfileRead = None,
    latest: Latest = False,
) -> None:
    """Send a signal (default SIGKILL) to the main process of running containers."""


@handled_by("lifecycle.restart")
def restart(
    containers: Containers = None,
    time: StopTime = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="All containers.")] = False,
    running: Annotated[bool, typer.Option(
        "--running", help="With --all: only the running ones.")] = False,
    cidfile: CidfileRead = None,
    latest: Latest = False,
    filter: ContainerFilter = None,
) -> None:
    """Stop (if running) and start containers again, in the background."""


@handled_by("lifecycle.attach")
def attach(
    container: Annotated[Optional[str], typer.Argument(help="Container to attach to.")] = None,
    detach_keys: o.DetachKeys = None,
    no_stdin: Annotated[bool, typer.Option(
        "--no-stdin", help="Do not attach stdin.")] = False,
    sig_proxy: o.SigProxy = True,
    latest: Latest = False,
) -> None:
    """Attach the terminal to a running container's stdio (detach with ctrl-p,ctrl-q);
    exits with the container's status when it exits."""


@handled_by("lifecycle.exec_")
def exec_(
    container: Annotated[Optional[str], typer.Argument(help="Running container to exec in.")] = None,
    command: Annotated[Optional[list[str]], typer.Argument(help="Command and its arguments.")] = None,
    interactive: o.Interactive = False,
    tty: o.Tty = False,
    env: o.Env = None,
    env_file: o.EnvFile = None,
    user: Annotated[Optional[str], typer.Option(
        "--user", "-u", help="Run as USER[:GROUP] (default: the container's user).")] = None,
    workdir: Annotated[Optional[str], typer.Option(
        "--workdir", "-w", help="Working directory (default: the container's).")] = None,
    detach: Annotated[bool, typer.Option(
        "--detach", "-d", help="Run the command in the background.")] = False,
    privileged: Annotated[bool, typer.Option(
        "--privileged", help="Give the process every capability.")] = False,
    detach_keys: o.DetachKeys = None,
    latest: Latest = False,
    preserve_fds: Annotated[int, typer.Option(
        "--preserve-fds", help="Pass fds 3 to 3+N-1 of pdman's caller on to the process "
                               "(open in the caller, all of them).")] = 0,
) -> None:
    """Run a command in a running container, in its namespaces; exits with the
    command's status (126/127 when it cannot be run or is not found)."""


@handled_by("lifecycle.logs")
def logs(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers whose logs to show.")] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Keep printing new output until the container exits.")] = False,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only output since: an RFC 3339 time, a Unix timestamp, or a "
                        "duration back from now (10m).")] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", help="Only output until such a time.")] = None,
    tail: Annotated[str, typer.Option(
        "--tail", help="Only the last N lines (`all` or -1: every line).")] = "all",
    timestamps: Annotated[bool, typer.Option(
        "--timestamps", "-t", help="Prefix each line with its time.")] = False,
    names: Annotated[bool, typer.Option(
        "--names", "-n", help="With several containers, mark each line with the container's "
                              "name instead of its short ID.")] = False,
    color: Annotated[bool, typer.Option(
        "--color", help="Print each container's lines in a colour of its own.")] = False,
    latest: Latest = False,
) -> None:
    """Show a container's output (stdout to stdout, stderr to stderr) from its log."""


@handled_by("lifecycle.top")
def top(
    container: Annotated[Optional[str], typer.Argument(help="Running container.")] = None,
    descriptors: Annotated[Optional[list[str]], typer.Argument(
        help="Columns: user pid ppid pcpu etime tty time args comm uid gid group pgid "
             "hpid huser hgroup (default: user pid ppid pcpu etime tty time args).")] = None,
    latest: Latest = False,
) -> None:
    """Show the processes running in a container."""


@handled_by("lifecycle.cleanup")
def cleanup(
    containers: Annotated[list[str], typer.Argument(help="Containers that exited.")],
) -> None:
    """Record a container's exit and undo its network and cgroup (run by its monitor)."""


@handled_by("lifecycle.healthcheck_run")
def healthcheck_run(
    container: Annotated[str, typer.Argument(help="Container (name or ID).")],
) -> None:
    """Run the healthcheck of a running container once: exit 0 when healthy; prints the
    status and exits 1 when unhealthy (or still starting). A detached container's
    monitor runs this every --health-interval."""


groups.register(stop, (groups.top, "stop"), (groups.container, "stop"))
groups.register(kill, (groups.top, "kill"), (groups.container, "kill"))
groups.register(restart, (groups.top, "restart"), (groups.container, "restart"))
groups.register(attach, (groups.top, "attach"), (groups.container, "attach"))
groups.register(exec_, (groups.top, "exec"), (groups.container, "exec"), stop_at_args=True)
groups.register(logs, (groups.top, "logs"), (groups.container, "logs"))
groups.register(top, (groups.top, "top"), (groups.container, "top"))
# internal: not listed in the help
groups.container.command("cleanup", hidden=True,
                         context_settings={"help_option_names": ["-h", "--help"]})(cleanup)
groups.register(healthcheck_run, (groups.healthcheck, "run"))
