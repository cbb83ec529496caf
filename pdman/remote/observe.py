"""Remote handlers of the verbs that look at containers: `stats`, `top`, `port`,
`events`. They turn docker's JSON back into what the local handlers print, and print
it with the same code, so the output is the same."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.event_log import Event
    from pdman.engine.stats import ContainerStats

import sys

from pdman.errors import UsageError
from pdman.remote.client import Client
from pdman.remote.common import filters_param, refuse_unsupported

# --------------------------------------------------------------------------- stats


def stats_row(doc: "dict[str, Any]", name: str) -> "ContainerStats":
    """docker's stats document -> the row `pdman stats` prints. CPU %: docker's
    formula (usage delta over the system's, times the CPUs), which needs the previous
    sample the service sends along (`precpu_stats`); without one, 0."""
    from pdman.engine.stats import ContainerStats

    mem = doc.get("memory_stats") or {}
    cpu = doc.get("cpu_stats") or {}
    pre = doc.get("precpu_stats") or {}
    total = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)
    pre_total = int((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system = int(cpu.get("system_cpu_usage") or 0)
    pre_system = int(pre.get("system_cpu_usage") or 0)
    cpus = int(cpu.get("online_cpus") or 1)
    perc = 0.0
    if pre_system and system > pre_system and total >= pre_total:
        perc = (total - pre_total) / (system - pre_system) * cpus * 100.0
    usage = int(mem.get("usage") or 0)
    # docker's CLI leaves the page cache out of the usage, as podman's numbers do
    usage -= int((mem.get("stats") or {}).get("inactive_file") or 0)
    limit = int(mem.get("limit") or 0)
    rx = tx = 0
    for net in (doc.get("networks") or {}).values():
        rx += int(net.get("rx_bytes") or 0)
        tx += int(net.get("tx_bytes") or 0)
    blk_in = blk_out = 0
    for entry in (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            blk_in += int(entry.get("value") or 0)
        elif op == "write":
            blk_out += int(entry.get("value") or 0)
    return ContainerStats(
        ID=str(doc.get("id") or ""), Name=name, CPUPerc=perc, AvgCPU=perc, CPUNano=total,
        MemUsage=max(usage, 0), MemLimit=limit,
        MemPerc=(usage / limit * 100.0) if limit else 0.0, NetInput=rx, NetOutput=tx,
        BlockInput=blk_in, BlockOutput=blk_out,
        PIDs=int((doc.get("pids_stats") or {}).get("current") or 0),
        PIDsLimit=int((doc.get("pids_stats") or {}).get("limit") or 0), UpTime=0.0,
        # an empty memory section: nothing could be read (docker's "--")
        HasCgroup=bool(mem))


def _stats_targets(c: Client, containers: "list[str] | None", all: bool) -> "list[tuple[str, str]]":
    if containers:
        out = []
        for name in containers:
            doc = c.json("GET", f"/containers/{name}/json", "container")
            out.append((doc["Id"], str(doc.get("Name") or name).lstrip("/")))
        return out
    rows = c.json("GET", "/containers/json", "container", {"all": "1" if all else "0"})
    return [(r["Id"], str((r.get("Names") or [""])[0]).lstrip("/")) for r in rows or []]


def stats(c: Client, containers: "list[str] | None", all: bool, no_stream: bool,
          interval: int, format: "str | None", no_trunc: bool, **rest: Any) -> int:
    # --no-reset: each sample is printed as it comes (nothing to reset on screen)
    refuse_unsupported("stats", rest, {"no_reset"})
    import time

    from pdman.cli.handlers.resources import _print

    if interval < 1:
        raise UsageError(f"invalid --interval {interval}", hint="give at least 1 second")
    targets = _stats_targets(c, containers, all)
    clear = not no_stream and sys.stdout.isatty() and format != "json"
    try:
        while True:
            # one sample each (stream=false): the service measures the CPU over its own
            # short interval, as `docker stats --no-stream` asks it
            rows = [stats_row(c.json("GET", f"/containers/{cid}/stats", "container",
                                     {"stream": "false"}), name)
                    for cid, name in targets]
            if clear:
                sys.stdout.write("\033[2J\033[H")
            _print(rows, format, no_trunc)
            sys.stdout.flush()
            if no_stream:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


# ---------------------------------------------------------------------- top, port

def top(c: Client, container: str, descriptors: "list[str] | None") -> int:
    from pdman.cli import output

    params = {"ps_args": " ".join(descriptors)} if descriptors else None
    doc = c.json("GET", f"/containers/{container}/top", "container", params)
    output.print_table(list(doc.get("Titles") or []),
                       [list(p) for p in doc.get("Processes") or []])
    return 0


def _ports(settings: "dict[str, Any]") -> "list[dict[str, Any]]":
    """docker's NetworkSettings.Ports ({"80/tcp": [{"HostIp", "HostPort"}]}) -> the
    port records `port_lines` prints."""
    out = []
    for key, bindings in (settings.get("Ports") or {}).items():
        port, _, proto = key.partition("/")
        for b in bindings or []:
            if b.get("HostPort"):
                out.append({"container_port": int(port), "protocol": proto or "tcp",
                            "host_ip": b.get("HostIp") or "", "host_port": int(b["HostPort"])})
    return out


def port(c: Client, container: "str | None", private_port: "str | None", all: bool) -> int:
    from pdman.errors import ConflictError
    from pdman.network.ports import port_lines

    if all:
        if container:
            raise UsageError("give a container or --all, not both")
        for row in c.json("GET", "/containers/json", "container") or []:
            doc = c.json("GET", f"/containers/{row['Id']}/json", "container")
            for line in port_lines(_ports(doc.get("NetworkSettings") or {})):
                print(f"{row['Id'][:12]}\t{line}")
        return 0
    if not container:
        raise UsageError("`port` needs a container", hint="or --all for every running container")
    doc = c.json("GET", f"/containers/{container}/json", "container")
    lines = port_lines(_ports(doc.get("NetworkSettings") or {}), private_port)
    if private_port and not lines:
        raise ConflictError(f"no public port {private_port} published for container "
                            f"{str(doc.get('Name') or container).lstrip('/')}")
    for line in lines:
        print(line)
    return 0


# -------------------------------------------------------------------------- events

#: docker's action names back to pdman's statuses
_STATUSES = {("container", "die"): "died", ("container", "destroy"): "remove",
             ("image", "delete"): "remove", ("volume", "destroy"): "remove",
             ("network", "destroy"): "remove", ("container", "exec_start"): "exec",
             ("container", "exec_die"): "exec_died"}


def event_of(doc: "dict[str, Any]") -> "Event":
    """docker's event JSON -> the Event `pdman events` prints."""
    from pdman.engine.event_log import Event

    kind = str(doc.get("Type") or doc.get("type") or "")
    action = str(doc.get("Action") or doc.get("status") or "")
    # exec_start/exec_create carry the command after a colon ("exec_start: sh -c ...")
    action = action.partition(":")[0].strip()
    actor = doc.get("Actor") or {}
    attrs = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    name = attrs.pop("name", "")
    image = attrs.pop("image", "") or str(doc.get("from") or "")
    code = attrs.pop("exitCode", None)
    nano = int(doc.get("timeNano") or int(doc.get("time") or 0) * 1_000_000_000)
    return Event(Type=kind, Status=_STATUSES.get((kind, action), action), TimeNano=nano,
                 ID=str(actor.get("ID") or doc.get("id") or ""), Name=name, Image=image,
                 Network=name if kind == "network" else "",
                 ContainerExitCode=int(code) if code not in (None, "") else None,
                 Attributes=attrs)


def events(c: Client, filter: "list[str] | None", format: "str | None", since: "str | None",
           until: "str | None", stream: bool, no_trunc: bool) -> int:
    import time

    from pdman.cli.handlers.events import print_events

    from pdman.engine.event_log import parse_time

    params: dict[str, str] = dict(filters_param(filter))
    # times as Unix seconds, which every service reads (durations are the client's)
    if since:
        params["since"] = f"{parse_time(since, True) / 1e9:.9f}"
    elif not stream:
        # the logged events from the start ("1": podman's service reads 0 as unset)
        params["since"] = "1"
    if until:
        params["until"] = f"{parse_time(until, False) / 1e9:.9f}"
    elif not stream:
        # the events so far, then the end: docker's API ends the stream at `until`
        params["until"] = f"{time.time():.9f}"
    try:
        print_events((event_of(doc) for doc in c.json_lines("GET", "/events", "", params)),
                     format, no_trunc)
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["event_of", "events", "port", "stats", "stats_row", "top"]
