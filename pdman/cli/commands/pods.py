"""Declarations: `pod create/clone/start/stop/restart/kill/pause/unpause/rm/prune/ps/inspect/
top/logs/exists/stats` (podman 4.3's flags)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import NoHeading, NoTrunc

Pods = Annotated[Optional[list[str]], typer.Argument(help="Pods (name or ID).")]
PodArg = Annotated[str, typer.Argument(help="The pod (name or ID).")]
OptPodArg = Annotated[Optional[str], typer.Argument(help="The pod (name or ID), or --latest.")]
All = Annotated[bool, typer.Option("--all", "-a", help="Every pod.")]
Ignore = Annotated[bool, typer.Option("--ignore", "-i", help="Ignore pods that do not exist.")]
PodIdFileRead = Annotated[Optional[list[str]], typer.Option(
    "--pod-id-file", help="Read a pod ID from this file (as `pod create --pod-id-file` wrote "
                          "it; repeatable).")]
Latest = Annotated[bool, typer.Option(
    "--latest", "-l", help="Act on the latest created pod (in any state).")]
Time = Annotated[Optional[int], typer.Option(
    "--time", "-t", help="Seconds to wait for each container's stop signal before SIGKILL "
                         "(default: each container's --stop-timeout, 10).")]

# what `pod create` and `pod clone` share
InfraCommand = Annotated[Optional[str], typer.Option(
    "--infra-command", help="The infra container's ENTRYPOINT instead of the image's.")]
InfraName = Annotated[Optional[str], typer.Option(
    "--infra-name", help="Name of the infra container (default: POD-ID-infra).")]
Label = Annotated[Optional[list[str]], typer.Option(
    "--label", "-l", help="Set a label KEY=VALUE on the pod (repeatable).")]
Hostname = Annotated[Optional[str], typer.Option(
    "--hostname", "-h", help="Hostname of the pod's containers (default: the pod's name).")]
Userns = Annotated[Optional[str], typer.Option(
    "--userns", help="User namespace of the pod, which every container of the pod joins: "
                     "`host` (or empty; the default: root in the pod is your user) or "
                     "keep-id[:uid=U,gid=G] (your user is itself in the pod, its "
                     "containers run as it), as run --userns.")]
Memory = Annotated[Optional[str], typer.Option(
    "--memory", "-m", help="Memory limit of the pod's containers together, e.g. 512m "
                           "(the pod's cgroup; needs cgroup v2 delegated by systemd).")]
MemorySwap = Annotated[Optional[str], typer.Option(
    "--memory-swap", help="Memory plus swap limit of the pod (-1: unlimited swap).")]
Cpus = Annotated[Optional[float], typer.Option(
    "--cpus", help="CPU quota of the pod's containers together, in CPUs, e.g. 0.5.")]
CpuShares = Annotated[Optional[int], typer.Option(
    "--cpu-shares", "-c", help="CPU weight of the pod, in cgroup v1 shares (1024 = the "
                         "default; cpu.weight is derived).")]
CpusetCpus = Annotated[Optional[str], typer.Option(
    "--cpuset-cpus", help="CPUs the pod's containers may run on, e.g. 0-1.")]
CpusetMems = Annotated[Optional[str], typer.Option(
    "--cpuset-mems", help="Memory nodes (NUMA) the pod's containers may use, e.g. 0.")]
Device = Annotated[Optional[list[str]], typer.Option(
    "--device", help="Add a host device to every container of the pod, "
                     "HOST[:CONTAINER[:PERMISSIONS]] (repeatable).")]
Sysctl = Annotated[Optional[list[str]], typer.Option(
    "--sysctl", help="Set a namespaced kernel parameter KEY=VALUE in the pod's shared "
                     "namespaces (net.*, IPC's kernel.shm*/msg*/sem, fs.mqueue.*; "
                     "repeatable).")]
Pid = Annotated[Optional[str], typer.Option(
    "--pid", help="PID namespace of every container of the pod: private (default), "
                  "host, or container:NAME.")]
LabelFile = Annotated[Optional[list[str]], typer.Option(
    "--label-file", help="Read KEY=VALUE lines (`#` comments) of pod labels from a "
                         "file (repeatable; --label wins).")]
Uts = Annotated[Optional[str], typer.Option(
    "--uts", help="UTS namespace of the pod: private (default: shared by its "
                  "containers) or host.")]
Volume = Annotated[Optional[list[str]], typer.Option(
    "--volume", "-v", help="Mount a volume or host path in every container of the pod, "
                           "[SOURCE:]DEST[:OPTIONS] (repeatable; as run -v).")]
VolumesFrom = Annotated[Optional[list[str]], typer.Option(
    "--volumes-from", help="Mount the volumes of a container, CTR[:ro|rw], in every "
                           "container of the pod (repeatable).")]
CgroupParent = Annotated[Optional[str], typer.Option(
    "--cgroup-parent", help="Where the pod's cgroup goes: a systemd slice (default "
                            "pdman.slice) or, with the cgroupfs manager, a cgroup path.")]

ShmSize = Annotated[Optional[str], typer.Option(
    "--shm-size", help="Size of the pod's /dev/shm, e.g. 256m (default 64m): the infra "
                       "container's, and every container sharing the pod's IPC namespace "
                       "gets a /dev/shm of that size (its own --shm-size is not used).")]
SecurityOpt = Annotated[Optional[list[str]], typer.Option(
    "--security-opt", help="Security option of the infra container, as run's "
                           "(no-new-privileges, seccomp=...); as in podman 4.3 the pod's "
                           "other containers keep their own (repeatable).")]
Uidmap = Annotated[Optional[list[str]], typer.Option(
    "--uidmap", help="UID map of the pod's user namespace, CONTAINER_UID:FROM_UID:AMOUNT "
                     "(as run --uidmap); every container of the pod runs in it (repeatable).")]
Gidmap = Annotated[Optional[list[str]], typer.Option(
    "--gidmap", help="GID map of the pod's user namespace, CONTAINER_GID:FROM_GID:AMOUNT "
                     "(as run --gidmap; repeatable).")]
Subuidname = Annotated[Optional[str], typer.Option(
    "--subuidname", help="The pod's UIDs from the /etc/subuid ranges of NAME (within "
                         "your own), as run --subuidname.")]
Subgidname = Annotated[Optional[str], typer.Option(
    "--subgidname", help="The pod's GIDs from the /etc/subgid ranges of NAME (within "
                         "your own), as run --subgidname.")]


@handled_by("pods.create")
def create(
    name_arg: Annotated[Optional[str], typer.Argument(
        metavar="[NAME]", help="Name of the pod (as --name).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Name of the pod.")] = None,
    publish: Annotated[Optional[list[str]], typer.Option(
        "--publish", "-p", help="Publish a port of the pod's network on the host, "
                                "[[IP:]HOST:]CONTAINER[/PROTO] (repeatable); every container "
                                "of the pod answers on it.")] = None,
    network: Annotated[Optional[list[str]], typer.Option(
        "--network", help="The pod's network (as run --network: pasta, slirp4netns, none, "
                          "host, or user-defined networks NAME[:alias=A,...], repeatable).")] = None,
    share: Annotated[Optional[str], typer.Option(
        "--share", help="Namespaces the pod's containers share, comma-separated: ipc, net, "
                        "uts, or none; `+NS` adds to the default (default ipc,net,uts).")] = None,
    infra: Annotated[bool, typer.Option(
        "--infra/--no-infra", help="Create the infra container that holds the shared "
                                   "namespaces (default true; --infra=false works too).")] = True,
    infra_image: Annotated[Optional[str], typer.Option(
        "--infra-image", help="Image of the infra container (default: localhost/pdman-pause, "
                              "made locally from pdman's own init: no pull).")] = None,
    infra_command: InfraCommand = None,
    infra_name: InfraName = None,
    label: Label = None,
    hostname: Hostname = None,
    add_host: Annotated[Optional[list[str]], typer.Option(
        "--add-host", help="Add HOST:IP to the pod's /etc/hosts (repeatable).")] = None,
    dns: Annotated[Optional[list[str]], typer.Option(
        "--dns", help="Nameserver of the pod's containers (repeatable).")] = None,
    userns: Userns = None,
    pod_id_file: Annotated[Optional[str], typer.Option(
        "--pod-id-file", help="Write the pod's ID to this file.")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="If a pod of the same name exists, remove it (forcibly) first.")] = False,
    exit_policy: Annotated[str, typer.Option(
        "--exit-policy", help="What the pod does when its last container exits: continue "
                              "(the infra keeps running; default) or stop.")] = "continue",
    memory: Memory = None,
    memory_swap: MemorySwap = None,
    cpus: Cpus = None,
    cpu_shares: CpuShares = None,
    cpuset_cpus: CpusetCpus = None,
    cpuset_mems: CpusetMems = None,
    device: Device = None,
    sysctl: Sysctl = None,
    pid: Pid = None,
    ip: Annotated[Optional[str], typer.Option(
        "--ip", help="The pod's IPv4 address on its user-defined network.")] = None,
    mac_address: Annotated[Optional[str], typer.Option(
        "--mac-address", help="The pod's MAC address on its user-defined network.")] = None,
    dns_search: Annotated[Optional[list[str]], typer.Option(
        "--dns-search", help="DNS search domain of the pod's containers (repeatable).")] = None,
    dns_option: Annotated[Optional[list[str]], typer.Option(
        "--dns-option", help="resolv.conf option of the pod's containers, e.g. ndots:2 "
                             "(repeatable).")] = None,
    label_file: LabelFile = None,
    network_alias: Annotated[Optional[list[str]], typer.Option(
        "--network-alias", help="Another name of the pod on its user-defined networks "
                                "(repeatable; the pod's name always is one).")] = None,
    no_hosts: Annotated[bool, typer.Option(
        "--no-hosts", help="Do not make /etc/hosts for the pod's containers: the image's "
                           "own stays.")] = False,
    uts: Uts = None,
    volume: Volume = None,
    volumes_from: VolumesFrom = None,
    cgroup_parent: CgroupParent = None,
    shm_size: ShmSize = None,
    security_opt: SecurityOpt = None,
    share_parent: Annotated[bool, typer.Option(
        "--share-parent/--no-share-parent",
        help="The pod's cgroup is its containers' cgroup parent (default true); "
             "--share-parent=false: no pod cgroup, each "
             "container's goes where a container's outside a pod would (the pod then "
             "takes no resource limits).")] = True,
    uidmap: Uidmap = None,
    gidmap: Gidmap = None,
    subuidname: Subuidname = None,
    subgidname: Subgidname = None,
    ip6: Annotated[Optional[str], typer.Option(
        "--ip6", help="The pod's IPv6 address on its user-defined network (which needs an "
                      "IPv6 subnet).")] = None,
) -> None:
    """Create a pod: containers that share namespaces (network, IPC, hostname) and the
    ports published on its network. Prints its ID; the pod stays Created until
    `pod start` or its first container starts."""


@handled_by("pods.clone")
def clone(
    pod: Annotated[str, typer.Argument(metavar="POD", help="The pod to clone (name or ID).")],
    name_arg: Annotated[Optional[str], typer.Argument(
        metavar="[NAME]", help="Name of the clone (as --name).")] = None,
    name: Annotated[Optional[str], typer.Option(
        "--name", "-n", help="Name of the clone (default: POD-clone, POD-clone1, ...).")] = None,
    destroy: Annotated[bool, typer.Option(
        "--destroy", help="Remove the original pod (forcibly, with its containers) once "
                          "cloned.")] = False,
    start: Annotated[bool, typer.Option(
        "--start", help="Start the clone and its containers.")] = False,
    cgroup_parent: CgroupParent = None, cpu_shares: CpuShares = None, cpus: Cpus = None,
    cpuset_cpus: CpusetCpus = None, cpuset_mems: CpusetMems = None, device: Device = None,
    gidmap: Gidmap = None, hostname: Hostname = None, infra_command: InfraCommand = None,
    infra_name: Annotated[Optional[str], typer.Option(
        "--infra-name", help="Name of the clone's infra container (default: the "
                             "original's, with -clone).")] = None,
    label: Label = None, label_file: LabelFile = None, memory: Memory = None,
    memory_swap: MemorySwap = None, pid: Pid = None, security_opt: SecurityOpt = None,
    shm_size: ShmSize = None, subgidname: Subgidname = None, subuidname: Subuidname = None,
    sysctl: Sysctl = None, uidmap: Uidmap = None, userns: Userns = None, uts: Uts = None,
    volume: Volume = None, volumes_from: VolumesFrom = None,
) -> None:
    """Create a copy of a pod: the same configuration (its network, ports, shared
    namespaces, limits...) with the options given here over it, and a clone of each of
    its containers (as `container clone`) in it. Prints the clone's ID."""


@handled_by("pods.start")
def start(pods: Pods = None, all: All = False, pod_id_file: PodIdFileRead = None,
          latest: Latest = False) -> None:
    """Start pods: the infra container, then every container of the pod."""


@handled_by("pods.stop")
def stop(pods: Pods = None, all: All = False, ignore: Ignore = False,
         pod_id_file: PodIdFileRead = None, time: Time = None, latest: Latest = False) -> None:
    """Stop pods: every container (its stop signal, SIGKILL after --time), then the
    infra container."""


@handled_by("pods.restart")
def restart(pods: Pods = None, all: All = False, latest: Latest = False) -> None:
    """Stop, then start pods."""


@handled_by("pods.kill")
def kill(pods: Pods = None, all: All = False,
         signal: Annotated[str, typer.Option(
             "--signal", "-s", help="Signal to send to the pod's containers.")] = "KILL",
         latest: Latest = False) -> None:
    """Send a signal (default SIGKILL) to every running container of pods."""


@handled_by("pods.pause")
def pause(pods: Pods = None, all: All = False, latest: Latest = False) -> None:
    """Pause (freeze) every running container of pods."""


@handled_by("pods.unpause")
def unpause(pods: Pods = None, all: All = False, latest: Latest = False) -> None:
    """Unpause every paused container of pods."""


@handled_by("pods.rm")
def rm(pods: Pods = None, all: All = False,
       force: Annotated[bool, typer.Option(
           "--force", "-f", help="Stop (kill) running containers of the pod first.")] = False,
       ignore: Ignore = False, pod_id_file: PodIdFileRead = None, time: Time = None,
       latest: Latest = False) -> None:
    """Remove pods and their containers. A pod with running containers only with -f."""


@handled_by("pods.prune")
def prune(force: Annotated[bool, typer.Option(
        "--force", "-f", help="Do not ask for confirmation.")] = False) -> None:
    """Remove every pod none of whose containers runs, and their containers."""


@handled_by("pods.ps")
def ps(
    ctr_ids: Annotated[bool, typer.Option("--ctr-ids", help="Show the IDs of the pod's containers.")] = False,
    ctr_names: Annotated[bool, typer.Option("--ctr-names", help="Show the names of the pod's containers.")] = False,
    ctr_status: Annotated[bool, typer.Option("--ctr-status", help="Show the states of the pod's containers.")] = False,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", "-f", help="Filter by KEY=VALUE: id, name, status, label, network, "
                               "ctr-names, ctr-ids, ctr-status, ctr-number (repeatable).")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="Output format: `json` or a Go template such as '{{.Name}}'.")] = None,
    no_trunc: NoTrunc = False,
    noheading: NoHeading = False,
    ns: Annotated[bool, typer.Option("--ns", help="Show the pod's cgroup and namespaces.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the pod IDs.")] = False,
    sort: Annotated[str, typer.Option(
        "--sort", help="Sort by created (default), id, name, number or status.")] = "created",
    latest: Latest = False,
) -> None:
    """List pods. Columns: POD ID, NAME, STATUS, CREATED, INFRA ID, # OF CONTAINERS."""


@handled_by("pods.inspect")
def inspect(
    pods: Annotated[Optional[list[str]], typer.Argument(help="Pods to inspect.")] = None,
    format: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="Output format: json (default) or a Go template.")] = None,
    latest: Latest = False,
) -> None:
    """Show a pod's configuration and containers as JSON."""


@handled_by("pods.top")
def top(
    pod: OptPodArg = None,
    descriptors: Annotated[Optional[list[str]], typer.Argument(
        help="ps descriptors (as `top`).")] = None,
    latest: Latest = False,
) -> None:
    """Show the processes of every running container of a pod."""


@handled_by("pods.logs")
def logs(
    pod: OptPodArg = None,
    container: Annotated[Optional[str], typer.Option(
        "--container", "-c", help="Only this container of the pod.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Follow the output.")] = False,
    names: Annotated[bool, typer.Option(
        "--names", "-n", help="Mark lines with container names, not IDs.")] = False,
    since: Annotated[Optional[str], typer.Option("--since", help="Show logs since TIMESTAMP.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Show logs until TIMESTAMP.")] = None,
    tail: Annotated[int, typer.Option(
        "--tail", help="Only the last N lines of each container (-1: all).")] = -1,
    timestamps: Annotated[bool, typer.Option("--timestamps", "-t", help="Show timestamps.")] = False,
    color: Annotated[bool, typer.Option(
        "--color", help="Each container's lines in their own colour.")] = False,
    latest: Latest = False,
) -> None:
    """Show the logs of the containers of a pod (each line marked with its container)."""


@handled_by("pods.exists")
def exists(pod: PodArg) -> None:
    """Exit 0 if the pod exists, 1 if not."""


@handled_by("pods.stats")
def stats(
    pods: Pods = None, all: All = False,
    format: Annotated[Optional[str], typer.Option(
        "--format", help="Output format: json or a Go template.")] = None,
    no_stream: Annotated[bool, typer.Option(
        "--no-stream", help="Print one sample and exit.")] = False,
    no_reset: Annotated[bool, typer.Option(
        "--no-reset", help="Do not clear the screen between samples.")] = False,
    latest: Latest = False,
) -> None:
    """Resource use of the containers of pods: POD, CID, NAME, CPU %, MEM USAGE / LIMIT,
    MEM %, NET IO, BLOCK IO, PIDS."""


for _decl, _name in ((create, "create"), (clone, "clone"), (start, "start"), (stop, "stop"), (restart, "restart"),
                     (kill, "kill"), (pause, "pause"), (unpause, "unpause"), (rm, "rm"),
                     (prune, "prune"), (inspect, "inspect"), (top, "top"),
                     (logs, "logs"), (exists, "exists"), (stats, "stats")):
    groups.register(_decl, (groups.pod, _name), h_is_option=_decl in (create, clone))
groups.register(ps, (groups.pod, "ps"), (groups.pod, "ls"), (groups.pod, "list"))
