"""Handlers of the `pod` commands: build options, call engine/pods.py, print as podman."""

from __future__ import annotations

import sys

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import confirmed, each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def create(g: GlobalOptions, name_arg: str | None, name: str | None,
           publish: list[str] | None, network: list[str] | None, share: str | None, infra: bool,
           infra_image: str | None, infra_command: str | None, infra_name: str | None,
           label: list[str] | None, hostname: str | None, add_host: list[str] | None,
           dns: list[str] | None, userns: str | None, pod_id_file: str | None,
           replace: bool, exit_policy: str, memory: str | None = None,
           memory_swap: str | None = None, cpus: float | None = None,
           cpu_shares: int | None = None, cpuset_cpus: str | None = None,
           cpuset_mems: str | None = None, device: list[str] | None = None,
           sysctl: list[str] | None = None, pid: str | None = None, ip: str | None = None,
           mac_address: str | None = None, dns_search: list[str] | None = None,
           dns_option: list[str] | None = None, label_file: list[str] | None = None,
           network_alias: list[str] | None = None, no_hosts: bool = False,
           uts: str | None = None, volume: list[str] | None = None,
           volumes_from: list[str] | None = None, cgroup_parent: str | None = None,
           shm_size: str | None = None, security_opt: list[str] | None = None,
           share_parent: bool = True, uidmap: list[str] | None = None,
           gidmap: list[str] | None = None, subuidname: str | None = None,
           subgidname: str | None = None, ip6: str | None = None) -> int:
    import os

    from pdman.engine import pods
    from pdman.errors import UsageError

    if name_arg and name and name_arg != name:
        raise UsageError("cannot specify both --name and a NAME argument",
                         hint="give the pod's name once")
    _check_userns(userns)
    if pod_id_file and os.path.exists(pod_id_file):
        raise UsageError(f"pod id file exists. Ensure another pod is not using it or "
                         f"delete {pod_id_file}")
    from pdman.network.modes import join

    pod = pods.create(g.context(), pods.PodCreateOptions(
        name=name or name_arg, publish=publish or [], network=join(network), share=share,
        infra=infra, infra_image=infra_image, infra_command=infra_command,
        infra_name=infra_name, labels=label or [], hostname=hostname,
        add_hosts=add_host or [], dns=dns or [], exit_policy=exit_policy,
        replace_existing=replace, memory=memory, memory_swap=memory_swap, cpus=cpus,
        cpu_shares=cpu_shares, cpuset_cpus=cpuset_cpus, cpuset_mems=cpuset_mems,
        cgroup_parent=cgroup_parent, devices=device or [], sysctl=sysctl or [], pid=pid,
        ip=ip, mac_address=mac_address, dns_search=dns_search or [],
        dns_options=dns_option or [], label_files=label_file or [],
        network_aliases=network_alias or [], no_hosts=no_hosts, uts=uts,
        volumes=volume or [], volumes_from=volumes_from or [], shm_size=shm_size,
        security_opt=security_opt or [], share_parent=share_parent, uidmap=uidmap or [],
        gidmap=gidmap or [], subuidname=subuidname or "", subgidname=subgidname or "",
        ip6=ip6, userns=userns or "", create_command=["pdman", *sys.argv[1:]]))
    if pod_id_file:
        try:
            with open(pod_id_file, "x", encoding="utf-8") as f:
                f.write(pod.id)
        except OSError as exc:
            raise UsageError(f"writing the pod ID to {pod_id_file}: {exc.strerror}") from None
    print(pod.id)
    return 0


def _check_userns(userns: str | None) -> None:
    """A bad --userns fails before anything is made (runtime/userns_mode.py's words)."""
    if userns:
        from pdman.runtime import userns_mode

        userns_mode.parse(userns)


def clone(g: GlobalOptions, pod: str, name_arg: str | None, name: str | None,
          destroy: bool, start: bool, **given: "Any") -> int:
    """`pod clone`: the flags it shares with `pod create` are PodCreateOptions'
    fields of the same name (a few renamed)."""
    from pdman.engine import pod_clone
    from pdman.entities.pods import PodCloneOptions
    from pdman.errors import UsageError

    if name_arg and name and name_arg != name:
        raise UsageError("cannot specify both --name and a NAME argument",
                         hint="give the clone's name once")
    _check_userns(given.get("userns"))
    renamed = {"device": "devices", "label": "labels", "label_file": "label_files",
               "volume": "volumes"}
    overrides = {renamed.get(k, k): v for k, v in given.items() if v is not None}
    new = pod_clone.clone(g.context(), PodCloneOptions(
        pod, name=name or name_arg or "", destroy=destroy, start=start,
        overrides=overrides))
    print(new.id)
    return 0


def _names(g: GlobalOptions, pods: list[str] | None, all: bool,
           pod_id_file: list[str] | None = None, ignore: bool = False) -> list[str]:
    from pdman.cli.handlers.common import with_cidfiles
    from pdman.engine import pods as engine
    from pdman.errors import UsageError

    names = list(with_cidfiles(pods, pod_id_file, ignore) or [])
    if all:
        if names:
            raise UsageError("--all and pod names cannot be used together",
                             hint="give pods, or --all")
        return [p.Id for p in engine.list_pods(g.context())]
    if not names and not pod_id_file:
        raise UsageError("you must provide at least one pod name or id",
                         hint="give pods, or --all")
    return names


def _each(g: GlobalOptions, names: list[str], action: "Callable[[str], Any]",
          ignore: bool = False) -> int:
    from pdman.errors import PodNotFound

    def one(name: str) -> "Any":
        try:
            return action(name)
        except PodNotFound:
            if ignore:
                return None
            raise

    return each(names, one)


def start(g: GlobalOptions, pods: list[str] | None, all: bool,
          pod_id_file: list[str] | None) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all, pod_id_file), lambda n: engine.start(ctx, n))


def stop(g: GlobalOptions, pods: list[str] | None, all: bool, ignore: bool,
         pod_id_file: list[str] | None, time: int | None) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all, pod_id_file, ignore),
                 lambda n: engine.stop(ctx, n, time), ignore)


def restart(g: GlobalOptions, pods: list[str] | None, all: bool) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all), lambda n: engine.restart(ctx, n))


def kill(g: GlobalOptions, pods: list[str] | None, all: bool, signal: str) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all), lambda n: engine.kill(ctx, n, signal))


def pause(g: GlobalOptions, pods: list[str] | None, all: bool) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all), lambda n: engine.pause(ctx, n, frozen=True))


def unpause(g: GlobalOptions, pods: list[str] | None, all: bool) -> int:
    from pdman.engine import pods as engine

    ctx = g.context()
    return _each(g, _names(g, pods, all), lambda n: engine.pause(ctx, n, frozen=False))


def rm(g: GlobalOptions, pods: list[str] | None, all: bool, force: bool, ignore: bool,
       pod_id_file: list[str] | None, time: int | None) -> int:
    from pdman.engine import pods as engine
    from pdman.errors import PodNotFound

    ctx = g.context()
    code = 0
    for name in _names(g, pods, all, pod_id_file, ignore):
        try:
            print(engine.remove(ctx, name, force=force, timeout=time))
        except PodNotFound as exc:
            if ignore:
                continue
            print(exc.render(), file=sys.stderr)
            code = code or 1        # podman: a pod that does not exist exits 1, as `rm`
        except Exception as exc:
            from pdman.errors import PdmanError

            if not isinstance(exc, PdmanError):
                raise
            print(exc.render(), file=sys.stderr)
            code = code or exc.exit_code
    return code


def prune(g: GlobalOptions, force: bool) -> int:
    from pdman.engine import pods as engine

    if not confirmed(force, "This will remove all stopped/exited pods.."):
        return 0
    for pod_id in engine.prune(g.context()):
        print(pod_id)
    return 0


_PS_SORT: "dict[str, Callable[[Any], Any]]" = {
    "id": lambda p: p.Id, "name": lambda p: p.Name, "number": lambda p: len(p.Containers),
    "status": lambda p: p.Status,
}


def ps(g: GlobalOptions, ctr_ids: bool, ctr_names: bool, ctr_status: bool,
       filter: list[str] | None, format: str | None, no_trunc: bool, noheading: bool,
       ns: bool, quiet: bool, sort: str, latest: bool = False) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import ago
    from pdman.engine import pods as engine
    from pdman.errors import UsageError

    rows = engine.list_pods(g.context(), tuple(filter or ()))
    if latest:
        rows = [max(rows, key=lambda p: p.Created)] if rows else []
    if sort in _PS_SORT:
        rows.sort(key=_PS_SORT[sort])
    elif sort != "created":
        raise UsageError(f"invalid option for --sort, options are: created, id, name, "
                         f"number, or status: {sort!r}")

    def short(i: str) -> str:
        return i if no_trunc else i[:12]

    if quiet:
        for p in rows:
            print(short(p.Id))
        return 0
    if format == "json":
        output.print_json([{"Cgroup": p.Cgroup, "Containers": p.Containers,
                            "Created": _rfc3339(p.Created), "Id": p.Id, "InfraId": p.InfraId,
                            "Name": p.Name, "Namespace": p.Namespace, "Networks": p.Networks,
                            "Status": p.Status, "Labels": p.Labels} for p in rows])
        return 0
    if format:
        output.print_formatted(format, [{
            **p.as_dict(), "ID": short(p.Id), "Id": short(p.Id), "InfraID": short(p.InfraId),
            "InfraId": short(p.InfraId), "NumberOfContainers": len(p.Containers),
            "Created": ago(p.Created), "ContainerIds": ",".join(short(c["Id"]) for c in p.Containers),
            "ContainerNames": ",".join(c["Names"] for c in p.Containers),
            "ContainerStatuses": ",".join(c["Status"] for c in p.Containers)} for p in rows],
            header=not noheading,
            headers={"ID": "POD ID", "Id": "POD ID", "InfraID": "INFRA ID",
                     "InfraId": "INFRA ID", "NumberOfContainers": "# OF CONTAINERS"})
        return 0
    head = ["POD ID", "NAME", "STATUS", "CREATED", "INFRA ID"]
    if ctr_ids:
        head.append("IDS")
    if ctr_names:
        head.append("NAMES")
    if ctr_status:
        head.append("STATUS")
    if not (ctr_ids or ctr_names or ctr_status):
        head.append("# OF CONTAINERS")
    if ns:
        head += ["CGROUP", "NAMESPACES"]
    table = []
    for p in rows:
        row = [short(p.Id), p.Name, p.Status, ago(p.Created), short(p.InfraId)]
        if ctr_ids:
            row.append(",".join(short(c["Id"]) for c in p.Containers))
        if ctr_names:
            row.append(",".join(c["Names"] for c in p.Containers))
        if ctr_status:
            row.append(",".join(c["Status"] for c in p.Containers))
        if not (ctr_ids or ctr_names or ctr_status):
            row.append(str(len(p.Containers)))
        if ns:
            row += [p.Cgroup, ",".join(_pod_namespaces(p))]
        table.append(row)
    output.print_table(head, table, header=not noheading)
    return 0


def _pod_namespaces(p: "Any") -> list[str]:
    """The NAMESPACES column: the namespaces the pod's containers share."""
    return list(p.Shared or [])


def _rfc3339(ts: float) -> str:
    from pdman.engine.containers import _rfc3339 as fmt

    return fmt(ts)


def inspect(g: GlobalOptions, pods: list[str] | None, format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine import pods as engine

    ctx = g.context()
    reports = [engine.inspect(ctx, n) for n in pods or []]
    if format and format != "json":
        output.print_formatted(format, reports)
    elif len(reports) == 1:
        output.print_json(reports[0])      # podman 4.3: one pod, one object
    else:
        output.print_json(reports)
    return 0


def top(g: GlobalOptions, pod: str | None, descriptors: list[str] | None) -> int:
    from pdman.cli import output
    from pdman.engine import lifecycle
    from pdman.engine import pods as engine
    from pdman.errors import ConflictError

    assert pod is not None     # cli/targets.py: the pod, or --latest's
    ctx = g.context()
    running = [r for r in engine.containers_of(ctx, pod) if r.status == "running"]
    if not running:
        raise ConflictError(f"pod {pod} is not running: no running containers in the pod",
                            hint=f"start it first (`pdman pod start {pod}`)")
    header: list[str] = []
    rows: list[list[str]] = []
    for rec in running:
        header, found = lifecycle.top(ctx, rec.id, list(descriptors or []))
        rows += found
    output.print_table(header, rows)
    return 0


def logs(g: GlobalOptions, pod: str | None, container: str | None, follow: bool, names: bool,
         since: str | None, until: str | None, tail: int, timestamps: bool,
         color: bool) -> int:
    from pdman.engine import lifecycle
    from pdman.engine import pods as engine
    from pdman.errors import UsageError

    assert pod is not None     # cli/targets.py: the pod, or --latest's
    ctx = g.context()
    recs = [r for r in engine.containers_of(ctx, pod) if not r.config.get("infra")]
    if container:
        # a name first: "b" is also the start of some IDs
        recs = [r for r in recs if r.name == container] or \
            [r for r in recs if r.id.startswith(container)]
        if not recs:
            raise UsageError(f"container {container} is not in pod {pod}",
                             hint=f"see `pdman ps -a --filter pod={pod}`")
    if not recs:
        return 0
    opts = lifecycle.LogsOptions([r.id for r in recs], follow=follow, since=since,
                                 until=until, tail=tail, timestamps=timestamps,
                                 use_names=names, color=color)
    try:
        lifecycle.logs(ctx, opts, sys.stdout.buffer, sys.stderr.buffer)
    except KeyboardInterrupt:
        return 0
    return 0


def exists(g: GlobalOptions, pod: str) -> int:
    from pdman.engine import pods as engine

    return 0 if engine.exists(g.context(), pod) else 1


def stats(g: GlobalOptions, pods: list[str] | None, all: bool, format: str | None,
          no_stream: bool, no_reset: bool) -> int:
    import time

    from pdman.cli import output
    from pdman.cli.handlers.resources import _fields
    from pdman.engine import pods as engine
    from pdman.engine.stats import StatsOptions
    from pdman.engine.stats import stats as engine_stats

    ctx = g.context()
    names = [p.Id for p in engine.list_pods(ctx)] if (all or not pods) else list(pods)
    samples: "dict[str, Any]" = {}
    clear = sys.stdout.isatty() and format != "json" and not no_reset and not no_stream
    try:
        while True:
            out = []
            for name in names:
                pod = engine.find(ctx, name)
                ids = [r.id for r in engine.containers_of(ctx, name)
                       if r.status in ("running", "paused")]
                if not ids:
                    continue
                rows, new = engine_stats(ctx, StatsOptions(names=ids), samples)
                samples.update(new)
                out += [{**_fields(r, False), "Pod": pod.id[:12], "CID": r.ID[:12]}
                        for r in rows]
            if clear:
                sys.stdout.write("\033[2J\033[H")
            if format == "json":
                output.print_json(out)
            elif format:
                output.print_formatted(format, out)
            else:
                output.print_table(
                    ["POD", "CID", "NAME", "CPU %", "MEM USAGE/ LIMIT", "MEM %", "NET IO",
                     "BLOCK IO", "PIDS"],
                    [[f["Pod"], f["CID"], f["Name"], f["CPUPerc"], f["MemUsage"],
                      f["MemPerc"], f["NetIO"], f["BlockIO"], f["PIDs"]] for f in out])
            if no_stream:
                return 0
            sys.stdout.flush()
            time.sleep(5)
    except KeyboardInterrupt:
        return 0
