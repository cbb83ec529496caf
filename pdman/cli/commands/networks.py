"""Declarations: `network create/ls/inspect/rm/prune/connect/disconnect/exists`, `port`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import Filter, Force, Format, NoHeading, NoTrunc, Quiet

Alias = Annotated[Optional[list[str]], typer.Option(
    "--alias", help="Another name the container answers to on this network (repeatable).")]


@handled_by("networks.create")
def create(
    name: Annotated[Optional[str], typer.Argument(help="Network name (podmanN when omitted).")] = None,
    driver: Annotated[str, typer.Option("--driver", "-d", help="Network driver (only `bridge`).")] = "bridge",
    subnet: Annotated[Optional[str], typer.Option(
        "--subnet", help="IPv4 subnet in CIDR notation (default: a free /24 of 10.89.0.0/16).")] = None,
    gateway: Annotated[Optional[str], typer.Option(
        "--gateway", help="Gateway address in the subnet (default: its first address).")] = None,
    internal: Annotated[bool, typer.Option(
        "--internal", help="No way out: containers reach only each other.")] = False,
    label: Annotated[Optional[list[str]], typer.Option("--label", help="Set a label KEY=VALUE.")] = None,
    opt: Annotated[Optional[list[str]], typer.Option("--opt", "-o", help="Driver option KEY=VALUE.")] = None,
    ignore: Annotated[bool, typer.Option("--ignore", help="Do nothing if the network exists.")] = False,
    disable_dns: Annotated[bool, typer.Option(
        "--disable-dns", help="Its containers do not get each other's names (their "
                              "/etc/hosts lists no other members).")] = False,
    ip_range: Annotated[Optional[str], typer.Option(
        "--ip-range", help="Give containers addresses from this CIDR range inside --subnet "
                           "only (inspect: lease_range).")] = None,
    ipam_driver: Annotated[Optional[str], typer.Option(
        "--ipam-driver", help="host-local (the default: addresses from the subnet) or none "
                              "(no subnet, no addresses: containers get a bare link).")] = None,
) -> None:
    """Create a user-defined network: containers on it reach each other by name."""


@handled_by("networks.ls")
def ls(quiet: Quiet = False, filter: Filter = None, format: Format = None,
       no_trunc: NoTrunc = False, noheading: NoHeading = False) -> None:
    """List networks. Columns: NETWORK ID, NAME, DRIVER."""


@handled_by("networks.inspect")
def inspect(
    names: Annotated[list[str], typer.Argument(help="Networks to inspect.")],
    format: Format = None,
) -> None:
    """Show a network's details (subnet, gateway, containers) as JSON."""


@handled_by("networks.rm")
def rm(
    names: Annotated[list[str], typer.Argument(help="Networks to remove.")],
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Also remove the containers that use the network.")] = False,
    time: Annotated[Optional[int], typer.Option(
        "--time", "-t", help="With --force: seconds the containers get to stop (their stop "
                             "signal) before they are killed (default: killed at once, as "
                             "`rm -f`).")] = None,
) -> None:
    """Remove networks. A network that containers use is kept unless --force."""


@handled_by("networks.prune")
def prune(force: Force = False, filter: Filter = None) -> None:
    """Remove every network that no container uses."""


@handled_by("networks.connect")
def connect(
    network: Annotated[str, typer.Argument(help="The network.")],
    container: Annotated[str, typer.Argument(help="The container.")],
    alias: Alias = None,
    ip: Annotated[Optional[str], typer.Option(
        "--ip", help="Its IPv4 address on this network (a free one of the subnet).")] = None,
    ip6: Annotated[Optional[str], typer.Option(
        "--ip6", help="Its IPv6 address on this network: pdman's networks are IPv4-only, so "
                      "this is refused with the network's subnet named.")] = None,
    mac_address: Annotated[Optional[str], typer.Option(
        "--mac-address", help="The MAC address of its interface on this network.")] = None,
) -> None:
    """Connect a container to a network (a running one at once, if it already is on a
    user-defined network)."""


@handled_by("networks.disconnect")
def disconnect(
    network: Annotated[str, typer.Argument(help="The network.")],
    container: Annotated[str, typer.Argument(help="The container.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Accepted for compatibility.")] = False,
) -> None:
    """Disconnect a container from a network."""


@handled_by("networks.exists")
def exists(name: Annotated[str, typer.Argument(help="The network.")]) -> None:
    """Exit 0 if the network exists, 1 if not."""


@handled_by("networks.port")
def port(
    container: Annotated[Optional[str], typer.Argument(help="The container.")] = None,
    private_port: Annotated[Optional[str], typer.Argument(
        help="Only this container port: PORT[/tcp|udp].")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Every running container's ports.")] = False,
    latest: Annotated[bool, typer.Option(
        "--latest", "-l", help="Act on the latest created container (in any state).")] = False,
) -> None:
    """List a container's published ports: `80/tcp -> 0.0.0.0:8080`."""


groups.register(create, (groups.network, "create"))
groups.register(ls, (groups.network, "ls"), (groups.network, "list"))
groups.register(inspect, (groups.network, "inspect"))
groups.register(rm, (groups.network, "rm"), (groups.network, "remove"))
groups.register(prune, (groups.network, "prune"))
groups.register(connect, (groups.network, "connect"))
groups.register(disconnect, (groups.network, "disconnect"))
groups.register(exists, (groups.network, "exists"))
groups.register(port, (groups.top, "port"), (groups.container, "port"))
