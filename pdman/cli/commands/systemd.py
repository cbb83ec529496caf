"""Declarations: `systemd generator|install-generator` (Quadlet files -> units) and
`generate systemd` (units for an existing container or pod)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by


@handled_by("systemd.generator")
def generator(
    dirs: Annotated[Optional[list[str]], typer.Argument(
        help="systemd's NORMAL-DIR [EARLY-DIR LATE-DIR]: units are written to the first.")] = None,
    user: Annotated[bool, typer.Option(
        "--user", help="Translate the files of the user's search path (for a user manager).")] = False,
    dryrun: Annotated[bool, typer.Option(
        "--dryrun", help="Print the units instead of writing them.")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Say where files were searched.")] = False,
    no_kmsg_log: Annotated[bool, typer.Option(
        "--no-kmsg-log", help="Do not copy errors to the kernel log.")] = False,
) -> None:
    """Translate Quadlet files (.container, .volume, .network, .image, as in
    podman-systemd.unit(5)) into systemd services that run pdman: what the
    `pdman-systemd-generator` executable does when systemd runs it. Searched, first
    file of a name wins: as root /run/containers/systemd, /etc/containers/systemd,
    /usr/share/containers/systemd, then /run, /etc and /usr/share pdman/systemd; with
    --user $XDG_RUNTIME_DIR/containers/systemd, ~/.config/containers/systemd,
    /etc/containers/systemd/users/UID, /etc/containers/systemd/users, then
    $XDG_RUNTIME_DIR/pdman/systemd, ~/.config/pdman/systemd, /etc/pdman/systemd/users/UID
    and /etc/pdman/systemd/users (QUADLET_UNIT_DIRS replaces the list). A file with a
    bad key or value is reported with its file and line and generates no unit; exit
    status 1 then."""


@handled_by("systemd.install_generator")
def install_generator(
    user: Annotated[bool, typer.Option(
        "--user", help="Install it for user managers (units of ~/.config/containers/systemd).")] = False,
    dir: Annotated[Optional[str], typer.Option(
        "--dir", help="Generator directory (default /etc/systemd/system-generators, with "
                      "--user /etc/systemd/user-generators).")] = None,
) -> None:
    """Link pdman's Quadlet generator into systemd's generator directory, so that
    `systemctl [--user] daemon-reload` turns Quadlet files into units. systemd reads
    generators only from system directories, so this needs root (also for --user);
    without it, `pdman systemd generator --user ~/.config/systemd/user` writes the
    units once into your own unit directory instead."""


groups.register(generator, (groups.systemd, "generator"))
groups.register(install_generator, (groups.systemd, "install-generator"))


@handled_by("systemd.generate_systemd")
def generate_systemd(
    containers: Annotated[list[str], typer.Argument(help="Containers or pods (name or ID).")],
    new: Annotated[Optional[bool], typer.Option(
        "--new/--no-new", show_default=False,
        help="A unit that creates the container afresh on every start (and "
             "removes it on stop), from the command that created it.")] = None,
    template: Annotated[bool, typer.Option(
        "--template", help="A template unit (NAME@.service, implies --new): each instance "
                           "`systemctl start NAME@INSTANCE` runs its own container, named "
                           "after the instance.")] = False,
    name: Annotated[bool, typer.Option(
        "--name", "-n", help="Name the unit after the container's name, not its ID.")] = False,
    files: Annotated[bool, typer.Option(
        "--files", "-f", help="Write CONTAINER-NAME.service files in the current directory "
                              "and print their paths.")] = False,
    restart_policy: Annotated[str, typer.Option(
        "--restart-policy", help="The unit's Restart= (no, on-success, on-failure, "
                                 "on-abnormal, on-watchdog, on-abort, always).")] = "on-failure",
    time: Annotated[Optional[int], typer.Option(
        "--time", "-t", help="Stop timeout in seconds (default: the container's).")] = None,
    container_prefix: Annotated[str, typer.Option(
        "--container-prefix", help="Prefix of a container unit's name.")] = "container",
    pod_prefix: Annotated[str, typer.Option(
        "--pod-prefix", help="Prefix of a pod unit's name.")] = "pod",
    separator: Annotated[str, typer.Option(
        "--separator", help="Between the prefix and the name.")] = "-",
    no_header: Annotated[bool, typer.Option(
        "--no-header", help="Leave out the comment header.")] = False,
    after: Annotated[Optional[list[str]], typer.Option(
        "--after", help="Add an After= dependency (repeatable).")] = None,
    requires: Annotated[Optional[list[str]], typer.Option(
        "--requires", help="Add a Requires= dependency (repeatable).")] = None,
    wants: Annotated[Optional[list[str]], typer.Option(
        "--wants", help="Add a Wants= dependency (repeatable).")] = None,
    env: Annotated[Optional[list[str]], typer.Option(
        "--env", "-e", help="Set KEY=VALUE in the unit's environment (repeatable).")] = None,
    restart_sec: Annotated[Optional[int], typer.Option(
        "--restart-sec", help="The unit's RestartSec= in seconds.")] = None,
    start_timeout: Annotated[Optional[int], typer.Option(
        "--start-timeout", help="The unit's TimeoutStartSec= in seconds.")] = None,
    stop_timeout: Annotated[Optional[int], typer.Option(
        "--stop-timeout", help="The unit's TimeoutStopSec= in seconds (default: the "
                               "container's stop timeout + 60).")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="json: print {unit name: unit text} as JSON.")] = None,
) -> None:
    """Print a systemd service unit for each container, in podman's shape (`podman
    generate systemd`); --new makes the unit run the container afresh each time. For a
    pod: a unit for the pod (POD-PREFIX-NAME.service, which wants and starts before its
    containers' units) and one per member container, bound to the pod's unit; with
    --new the pod's unit creates the pod afresh (`pod create --pod-id-file
    %t/UNIT.pod-id --exit-policy=stop --replace`) and the containers join it by that
    file (`run --pod-id-file`); --files writes them all."""


groups.register(generate_systemd, (groups.generate, "systemd"))
