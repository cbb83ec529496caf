"""Declarations: container commands (`ps`, ...)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by
from pdman.cli.options import CidfileRead, ContainerFilter, Filter, Latest, Format, NoHeading, NoTrunc, Quiet


@handled_by("containers.ps")
def ps(
    all: Annotated[bool, typer.Option("--all", "-a", help="Show all containers, not only running ones.")] = False,
    quiet: Quiet = False,
    no_trunc: NoTrunc = False,
    filter: Filter = None,
    format: Format = None,
    last: Annotated[int, typer.Option("--last", "-n", help="Show the N most recently created containers (all states).")] = -1,
    latest: Annotated[bool, typer.Option("--latest", "-l", help="Show the latest created container (all states).")] = False,
    external: Annotated[bool, typer.Option(
        "--external", help="Also containers of other tools in the store: pdman's store "
                           "holds only its own, so this changes nothing.")] = False,
    sort: Annotated[str, typer.Option(
        "--sort", help="Sort by: command, created (default), id, image, names, runningfor, "
                       "size, status.")] = "created",
    noheading: NoHeading = False,
    pod: Annotated[bool, typer.Option(
        "--pod", "-p", help="Add the POD ID and PODNAME columns: the pod of each container.")] = False,
    ns: Annotated[bool, typer.Option(
        "--ns", help="Show the namespaces of each container instead: CONTAINER ID, NAMES, PID, "
                     "CGROUPNS, IPC, MNT, NET, PIDNS, USERNS, UTS (inode numbers; containers "
                     "of a pod share some).")] = False,
    sync: Annotated[bool, typer.Option(
        "--sync", help="Check each container's state with its processes first: pdman's ps "
                       "always does.")] = False,
    watch: Annotated[int, typer.Option(
        "--watch", "-w", help="Print the list again every N seconds, on a cleared screen, "
                              "until interrupted.")] = 0,
    size: Annotated[bool, typer.Option(
        "--size", "-s", help="Add the SIZE column: the bytes written in each container's "
                             "layer, and (virtual) those plus its image's.")] = False,
) -> None:
    """List containers. Columns: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES."""


groups.register(ps, (groups.top, "ps"), (groups.container, "ps"), (groups.container, "ls"),
                (groups.container, "list"))


from pdman.cli import options_create as o  # noqa: E402


@handled_by("containers.run")
def run(
    image: o.Image,
    command: o.Command = None,
    name: o.Name = None, env: o.Env = None, env_file: o.EnvFile = None,
    workdir: o.Workdir = None, user: o.User = None, entrypoint: o.Entrypoint = None,
    hostname: o.Hostname = None, interactive: o.Interactive = False, tty: o.Tty = False,
    init: o.Init = False, read_only: o.ReadOnly = False, tmpfs: o.Tmpfs = None,
    volume: o.Volume = None, mount: o.Mount = None, cap_add: o.CapAdd = None,
    cap_drop: o.CapDrop = None, privileged: o.Privileged = False,
    security_opt: o.SecurityOpt = None, label: o.Label = None, pull: o.Pull = "missing",
    network: o.Network = None, platform: o.Platform = None, tls_verify: o.TlsVerify = None,
    arch: o.Arch = None, os: o.Os = None, variant: o.Variant = None, authfile: o.Authfile = None,
    uidmap: o.Uidmap = None, gidmap: o.Gidmap = None, subuidname: o.Subuidname = None,
    subgidname: o.Subgidname = None, rootfs: o.Rootfs = False,
    stop_signal: o.StopSignal = None, stop_timeout: o.StopTimeout = None,
    quiet: o.QuietPull = False, rm: o.Remove = False,
    publish: o.Publish = None, publish_all: o.PublishAll = False, dns: o.Dns = None,
    add_host: o.AddHost = None, network_alias: o.NetworkAlias = None,
    memory: o.Memory = None, memory_swap: o.MemorySwap = None,
    memory_reservation: o.MemoryReservation = None, cpus: o.Cpus = None,
    cpu_shares: o.CpuShares = None, cpu_weight: o.CpuWeight = None,
    cpuset_cpus: o.CpusetCpus = None, pids_limit: o.PidsLimit = None, ulimit: o.Ulimit = None,
    cpuset_mems: o.CpusetMems = None, cpu_period: o.CpuPeriod = None,
    cpu_quota: o.CpuQuota = None, cgroup_conf: o.CgroupConf = None,
    cgroups: o.Cgroups = "enabled", cgroup_parent: o.CgroupParent = None,
    cgroup_manager: o.CgroupManager = None, log_driver: o.LogDriver = "k8s-file",
    log_opt: o.LogOpt = None, replace: o.Replace = False, userns: o.Userns = None,
    cidfile: o.Cidfile = None, secret: o.Secret = None,
    env_host: o.EnvHost = False, env_merge: o.EnvMerge = None, unsetenv: o.Unsetenv = None,
    unsetenv_all: o.UnsetenvAll = False, label_file: o.LabelFile = None,
    annotation: o.Annotation = None, expose: o.Expose = None, group_add: o.GroupAdd = None,
    no_hosts: o.NoHosts = False, pidfile: o.Pidfile = None, shm_size: o.ShmSize = None,
    tz: o.Tz = None, uts: o.Uts = None, ipc: o.Ipc = None, dns_option: o.DnsOption = None,
    dns_search: o.DnsSearch = None, read_only_tmpfs: o.ReadOnlyTmpfs = True,
    requires: o.Requires = None, init_path: o.InitPath = None,
    oom_score_adj: o.OomScoreAdj = None, volumes_from: o.VolumesFrom = None,
    umask: o.Umask = None,
    rmi: o.Rmi = False,
    restart: o.Restart = None,
    health_cmd: o.HealthCmd = None, health_interval: o.HealthInterval = None,
    health_timeout: o.HealthTimeout = None, health_retries: o.HealthRetries = None,
    health_start_period: o.HealthStartPeriod = None,
    health_start_interval: o.HealthStartInterval = None,
    health_on_failure: o.HealthOnFailure = None, no_healthcheck: o.NoHealthcheck = False,
    sdnotify: o.Sdnotify = "conmon",
    pod: o.Pod = None, pod_id_file: o.PodIdFile = None,
    passwd: o.PasswdRun = True, passwd_entry: o.PasswdEntry = None, hostuser: o.Hostuser = None,
    chrootdirs: o.Chrootdirs = None, cgroupns: o.Cgroupns = None,
    seccomp_policy: o.SeccompPolicy = "default", http_proxy: o.HttpProxy = True,
    image_volume: o.ImageVolume = "bind", timeout: o.Timeout = 0, sysctl: o.Sysctl = None,
    personality: o.Personality = None, device: o.Device = None, pid: o.Pid = None,
    ip: o.Ip = None, ip6: o.Ip6 = None, mac_address: o.MacAddress = None,
    attach: o.Attach = None,
    preserve_fds: o.PreserveFds = 0,
    detach: o.Detach = False, detach_keys: o.DetachKeys = None, sig_proxy: o.SigProxy = True,
) -> None:
    """Run a command in a new container: pull the image if missing, create the
    container, start it attached and exit with its exit status -- or, with -d, start it
    in the background under its monitor and print its ID."""


@handled_by("containers.create")
def create(
    image: o.Image,
    command: o.Command = None,
    name: o.Name = None, env: o.Env = None, env_file: o.EnvFile = None,
    workdir: o.Workdir = None, user: o.User = None, entrypoint: o.Entrypoint = None,
    hostname: o.Hostname = None, interactive: o.Interactive = False, tty: o.Tty = False,
    init: o.Init = False, read_only: o.ReadOnly = False, tmpfs: o.Tmpfs = None,
    volume: o.Volume = None, mount: o.Mount = None, cap_add: o.CapAdd = None,
    cap_drop: o.CapDrop = None, privileged: o.Privileged = False,
    security_opt: o.SecurityOpt = None, label: o.Label = None, pull: o.Pull = "missing",
    network: o.Network = None, platform: o.Platform = None, tls_verify: o.TlsVerify = None,
    arch: o.Arch = None, os: o.Os = None, variant: o.Variant = None, authfile: o.Authfile = None,
    uidmap: o.Uidmap = None, gidmap: o.Gidmap = None, subuidname: o.Subuidname = None,
    subgidname: o.Subgidname = None, rootfs: o.Rootfs = False,
    stop_signal: o.StopSignal = None, stop_timeout: o.StopTimeout = None,
    quiet: o.QuietPull = False, rm: o.Remove = False,
    publish: o.Publish = None, publish_all: o.PublishAll = False, dns: o.Dns = None,
    add_host: o.AddHost = None, network_alias: o.NetworkAlias = None,
    memory: o.Memory = None, memory_swap: o.MemorySwap = None,
    memory_reservation: o.MemoryReservation = None, cpus: o.Cpus = None,
    cpu_shares: o.CpuShares = None, cpu_weight: o.CpuWeight = None,
    cpuset_cpus: o.CpusetCpus = None, pids_limit: o.PidsLimit = None, ulimit: o.Ulimit = None,
    cpuset_mems: o.CpusetMems = None, cpu_period: o.CpuPeriod = None,
    cpu_quota: o.CpuQuota = None, cgroup_conf: o.CgroupConf = None,
    cgroups: o.Cgroups = "enabled", cgroup_parent: o.CgroupParent = None,
    cgroup_manager: o.CgroupManager = None, log_driver: o.LogDriver = "k8s-file",
    log_opt: o.LogOpt = None, replace: o.Replace = False, userns: o.Userns = None,
    cidfile: o.Cidfile = None, secret: o.Secret = None,
    env_host: o.EnvHost = False, env_merge: o.EnvMerge = None, unsetenv: o.Unsetenv = None,
    unsetenv_all: o.UnsetenvAll = False, label_file: o.LabelFile = None,
    annotation: o.Annotation = None, expose: o.Expose = None, group_add: o.GroupAdd = None,
    no_hosts: o.NoHosts = False, pidfile: o.Pidfile = None, shm_size: o.ShmSize = None,
    tz: o.Tz = None, uts: o.Uts = None, ipc: o.Ipc = None, dns_option: o.DnsOption = None,
    dns_search: o.DnsSearch = None, read_only_tmpfs: o.ReadOnlyTmpfs = True,
    requires: o.Requires = None, init_path: o.InitPath = None, init_ctr: o.InitCtr = None,
    oom_score_adj: o.OomScoreAdj = None, volumes_from: o.VolumesFrom = None,
    umask: o.Umask = None,
    restart: o.Restart = None,
    health_cmd: o.HealthCmd = None, health_interval: o.HealthInterval = None,
    health_timeout: o.HealthTimeout = None, health_retries: o.HealthRetries = None,
    health_start_period: o.HealthStartPeriod = None,
    health_start_interval: o.HealthStartInterval = None,
    health_on_failure: o.HealthOnFailure = None, no_healthcheck: o.NoHealthcheck = False,
    sdnotify: o.Sdnotify = "conmon",
    pod: o.Pod = None, pod_id_file: o.PodIdFile = None,
    passwd_entry: o.PasswdEntry = None, hostuser: o.Hostuser = None,
    chrootdirs: o.Chrootdirs = None, cgroupns: o.Cgroupns = None,
    seccomp_policy: o.SeccompPolicy = "default", http_proxy: o.HttpProxy = True,
    image_volume: o.ImageVolume = "bind", timeout: o.Timeout = 0, sysctl: o.Sysctl = None,
    personality: o.Personality = None, device: o.Device = None, pid: o.Pid = None,
    ip: o.Ip = None, ip6: o.Ip6 = None, mac_address: o.MacAddress = None,
    attach: o.Attach = None,
) -> None:
    """Create a container without starting it; prints its ID."""


@handled_by("containers.start")
def start(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to start (name or ID).")] = None,
    attach: Annotated[bool, typer.Option("--attach", "-a", help="Attach stdout/stderr and wait for the exit.")] = False,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Attach stdin too.")] = False,
    all: Annotated[bool, typer.Option("--all", help="Start every container that is not running.")] = False,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", "-f", help="Start the containers matching KEY=VALUE, as `ps --filter` "
                               "(repeatable; implies --all).")] = None,
    latest: Latest = False,
    detach_keys: Annotated[Optional[str], typer.Option(
        "--detach-keys", help="Key sequence that detaches an attached terminal, checked as "
                              "podman does; an attached start runs in pdman's foreground, "
                              "which stays attached until the container exits (as with "
                              "\"\").")] = None,
    sig_proxy: Annotated[Optional[bool], typer.Option(
        "--sig-proxy/--no-sig-proxy", help="With -a/-i: forward the signals pdman receives "
                                           "to the container (the default); =false: they "
                                           "act on pdman alone, the container gets none.")] = None,
) -> None:
    """Start created or exited containers in the background (with -a/-i: attached, in
    the foreground); prints each name as given."""


@handled_by("containers.rm")
def rm(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to remove.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Kill a running container first.")] = False,
    volumes: Annotated[bool, typer.Option("--volumes", "-v", help="Remove its anonymous volumes too.")] = False,
    all: Annotated[bool, typer.Option("--all", "-a", help="Remove all containers.")] = False,
    ignore: Annotated[bool, typer.Option(
        "--ignore", "-i", help="Ignore containers that do not exist.")] = False,
    cidfile: CidfileRead = None,
    time: Annotated[Optional[int], typer.Option(
        "--time", "-t", help="With --force: seconds to wait for the stop signal to work "
                             "before SIGKILL (default: SIGKILL at once).")] = None,
    latest: Latest = False,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", help="Remove the containers that `ps -a --filter` lists for KEY=VALUE "
                         "(repeatable).")] = None,
    depend: Annotated[bool, typer.Option(
        "--depend", help="Remove the containers that depend on it first (--requires, a "
                         "shared namespace, a pod infra container's pod: the pod goes too), "
                         "recursively; prints every ID removed.")] = False,
) -> None:
    """Remove containers and their writable layers (`rm -t 0 --all --force --ignore`
    cleans up everything, as in podman)."""


@handled_by("containers.rename")
def rename(
    container: Annotated[str, typer.Argument(help="Container to rename.")],
    new_name: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename a container."""


@handled_by("containers.wait")
def wait(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to wait for.")] = None,
    condition: Annotated[Optional[list[str]], typer.Option(
        "--condition", help="State to wait for: stopped (default), exited, running, created, paused.")] = None,
    interval: Annotated[str, typer.Option("--interval", "-i", help="Polling interval, e.g. 250ms.")] = "250ms",
    latest: Latest = False,
) -> None:
    """Wait for containers to reach a state; prints each one's exit code."""


@handled_by("containers.prune")
def prune(
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation.")] = False,
    filter: Annotated[Optional[list[str]], typer.Option(
        "--filter", help="Only the stopped containers that `ps -a --filter` lists for "
                         "KEY=VALUE (repeatable).")] = None,
) -> None:
    """Remove all stopped containers."""


@handled_by("containers.inspect")
def inspect(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to inspect.")] = None,
    format: Format = None,
    latest: Latest = False,
    size: Annotated[bool, typer.Option(
        "--size", "-s", help="Add SizeRw (the bytes written in its layer) and SizeRootFs "
                             "(those plus its image's), as podman.")] = False,
) -> None:
    """Show a container's configuration and state as JSON (docker's field names)."""


@handled_by("containers.exists")
def exists(
    container: Annotated[str, typer.Argument(help="Container name or ID.")],
    external: Annotated[bool, typer.Option(
        "--external", help="Also containers of other tools: pdman's store holds only its own.")] = False,
) -> None:
    """Exit 0 if the container exists, 1 if not."""


@handled_by("containers.init")
def init(
    containers: Annotated[Optional[list[str]], typer.Argument(help="Containers to initialize.")] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Every created container.")] = False,
    latest: Latest = False,
) -> None:
    """Initialize created containers without starting them. pdman prepares a container
    when it starts, so this checks that each one exists and is not running, and prints
    its name as given (podman's output)."""


groups.register(exists, (groups.container, "exists"))
groups.register(init, (groups.top, "init"), (groups.container, "init"))
groups.register(run, (groups.top, "run"), (groups.container, "run"), stop_at_args=True, h_is_option=True)
groups.register(create, (groups.top, "create"), (groups.container, "create"), stop_at_args=True,
                h_is_option=True)
groups.register(start, (groups.top, "start"), (groups.container, "start"))
groups.register(rm, (groups.top, "rm"), (groups.container, "rm"))
groups.register(rename, (groups.top, "rename"), (groups.container, "rename"))
groups.register(wait, (groups.top, "wait"), (groups.container, "wait"))
groups.register(prune, (groups.container, "prune"))
groups.register(inspect, (groups.container, "inspect"))


@handled_by("containers.clone")
def clone(
    container: Annotated[str, typer.Argument(help="The container to copy.")],
    name: Annotated[Optional[str], typer.Argument(
        help="The clone's name (default: NAME-clone).")] = None,
    image: Annotated[Optional[str], typer.Argument(
        help="Create the clone from this image instead (pulled when missing).")] = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="Remove the original.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="With --destroy: remove the original even if it runs.")] = False,
    run: Annotated[bool, typer.Option("--run", help="Start the clone.")] = False,
    name_opt: Annotated[Optional[str], typer.Option(
        "--name", help="The clone's name (as the NAME argument).")] = None,
    memory: o.Memory = None, memory_swap: o.MemorySwap = None,
    memory_reservation: o.MemoryReservation = None, cpus: o.Cpus = None,
    cpu_shares: o.CpuShares = None, cpuset_cpus: o.CpusetCpus = None,
    cpuset_mems: o.CpusetMems = None, cpu_period: o.CpuPeriod = None,
    cpu_quota: o.CpuQuota = None,
    pod: Annotated[Optional[str], typer.Option(
        "--pod", help="The clone joins this pod (its network, hostname and shared "
                      "namespaces replace the original's; default: the original's pod, "
                      "if any).")] = None,
) -> None:
    """Create a container with another's configuration (a new ID, an empty writable
    layer, new anonymous volumes); resource limits given here replace the original's.
    Prints the clone's ID."""


groups.register(clone, (groups.container, "clone"))
