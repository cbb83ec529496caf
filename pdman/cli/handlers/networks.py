"""Handlers of the network commands and `port`."""

from __future__ import annotations


from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import confirmed, each




def create(g: GlobalOptions, name: str | None, driver: str, subnet: str | None,
           gateway: str | None, internal: bool, label: list[str] | None,
           opt: list[str] | None, ignore: bool, disable_dns: bool = False,
           ip_range: str | None = None, ipam_driver: str | None = None) -> int:
    from pdman.engine.runopts import key_values
    from pdman.engine import networks

    rec = networks.create(g.context(), networks.CreateNetworkOptions(
        name=name, driver=driver, subnet=subnet, gateway=gateway, internal=internal,
        labels=key_values(label, "label"), options=key_values(opt, "opt"), ignore=ignore,
        disable_dns=disable_dns, ip_range=ip_range, ipam_driver=ipam_driver or "host-local"))
    print(rec.name)
    return 0


def ls(g: GlobalOptions, quiet: bool, filter: list[str] | None, format: str | None,
       no_trunc: bool, noheading: bool = False) -> int:
    from pdman.cli import output
    from pdman.engine import networks

    ctx = g.context()
    rows = networks.list_networks(ctx, tuple(filter or ()))
    if quiet:
        for r in rows:
            print(r.name)
    elif format == "json":
        output.print_json([networks.report(ctx, r) for r in rows])
    elif format:
        output.print_formatted(format, [{**networks.report(ctx, r), "Name": r.name,
                                         "ID": r.id if no_trunc else r.id[:12],
                                         "Driver": r.driver} for r in rows],
                               header=not noheading, headers={"ID": "NETWORK ID"})
    else:
        output.print_table(["NETWORK ID", "NAME", "DRIVER"],
                           [[r.id if no_trunc else r.id[:12], r.name, r.driver] for r in rows],
                           header=not noheading)
    return 0


def inspect(g: GlobalOptions, names: list[str], format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine import networks

    ctx = g.context()
    reports = [networks.inspect(ctx, n) for n in names]
    if format and format != "json":
        output.print_formatted(format, reports)
    else:
        output.print_json(reports)
    return 0


def rm(g: GlobalOptions, names: list[str], force: bool, time: int | None = None) -> int:
    from pdman.engine import networks

    ctx = g.context()
    return each(names, lambda n: networks.remove(ctx, n, force=force, stop_timeout=time))


def prune(g: GlobalOptions, force: bool, filter: list[str] | None) -> int:
    from pdman.engine import networks

    if not confirmed(force, "This will remove all networks not used by at least one container."):
        return 0
    for name in networks.prune(g.context(), tuple(filter or ())):
        print(name)
    return 0


def connect(g: GlobalOptions, network: str, container: str, alias: list[str] | None,
            ip: str | None = None, ip6: str | None = None, mac_address: str | None = None) -> int:
    from pdman.engine import networks

    networks.connect(g.context(), networks.ConnectOptions(
        network=network, container=container, aliases=tuple(alias or ()), ip=ip, ip6=ip6,
        mac_address=mac_address))
    return 0


def disconnect(g: GlobalOptions, network: str, container: str, force: bool) -> int:
    from pdman.engine import networks

    networks.disconnect(g.context(), network, container, force=force)
    return 0


def exists(g: GlobalOptions, name: str) -> int:
    from pdman.engine import networks

    return 0 if networks.exists(g.context(), name) else 1


def port(g: GlobalOptions, container: str | None, private_port: str | None, all: bool) -> int:
    from pdman.engine import networks
    from pdman.errors import ConflictError, UsageError
    from pdman.network.ports import port_lines

    ctx = g.context()
    if all:
        if container:
            raise UsageError("give a container or --all, not both")
        for cid, ports in networks.all_container_ports(ctx):
            for line in port_lines(ports):
                print(f"{cid[:12]}\t{line}")
        return 0
    if not container:
        raise UsageError("`port` needs a container", hint="or --all for every running container")
    name, ports = networks.container_ports(ctx, container)
    lines = port_lines(ports, private_port)
    if private_port and not lines:
        raise ConflictError(f"no public port {private_port} published for container {name}")
    for line in lines:
        print(line)
    return 0
