"""Options of `create`/`run` (shared by the CLI and the API service).

Plain `Record`s, not dataclasses: this module is on `run`'s hot path (pdman/record.py).
"""

from __future__ import annotations

from pdman.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: the list-valued options: each instance gets its own list
_LIST_OPTIONS = ("command", "env", "env_files", "tmpfs", "volumes", "mounts", "cap_add",
                 "cap_drop", "security_opt", "labels", "publish", "dns", "add_hosts",
                 "network_aliases", "log_opts", "ulimits", "secrets", "env_merge",
                 "unsetenv", "label_files", "annotations", "expose", "group_add",
                 "dns_options", "dns_search", "requires", "volumes_from", "create_command",
                 "hostuser", "chrootdirs", "sysctl", "devices", "attach", "cgroup_conf",
                 "uidmap", "gidmap")


class CreateOptions(Record):
    """What a user asks for; `engine.containers.create` resolves it against the image."""

    _required = ("image",)
    _lists = _LIST_OPTIONS

    image: str
    command: list[str]
    name: str | None = None
    env: list[str]          # -e K=V / -e K
    env_files: list[str]
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None                         # "" resets the image's
    hostname: str | None = None
    interactive: bool = False
    tty: bool = False
    init: bool = False
    read_only: bool = False
    tmpfs: list[str]
    volumes: list[str]
    mounts: list[str]
    cap_add: list[str]
    cap_drop: list[str]
    privileged: bool = False
    security_opt: list[str]
    labels: list[str]
    pull: str = "missing"                                 # missing | always | never
    network: str = ""                                     # "": the default backend
    platform: str | None = None
    rootfs: bool = False                                  # image is PATH[:O] (--rootfs)
    arch: str = ""                                        # --arch/--os/--variant of the pull
    os: str = ""
    variant: str = ""
    authfile: str = ""                                    # credentials of the pull
    tls_verify: bool | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    quiet_pull: bool = False
    remove: bool = False                                  # --rm
    userns: str = ""                                      # "" / host, keep-id[:...], nomap
    uidmap: list[str]       # --uidmap CONTAINER:INTERMEDIATE:AMOUNT (runtime/userns_mode.py)
    gidmap: list[str]
    subuidname: str = ""
    subgidname: str = ""
    secrets: list[str]      # --secret NAME[,type=,target=,uid=,gid=,mode=]
    # options of lower priority (engine/runextra.py)
    env_host: bool = False
    env_merge: list[str]
    unsetenv: list[str]
    unsetenv_all: bool = False
    label_files: list[str]
    annotations: list[str]
    expose: list[str]
    group_add: list[str]
    no_hosts: bool = False
    pidfile: str | None = None
    shm_size: str | None = None
    tz: str | None = None
    uts: str | None = None
    ipc: str | None = None
    dns_options: list[str]
    dns_search: list[str]
    read_only_tmpfs: bool = True
    requires: list[str]
    init_path: str | None = None
    oom_score_adj: int | None = None
    volumes_from: list[str]
    umask: str | None = None
    # more of them (engine/runcompat.py)
    passwd: bool = True                                   # add the user to /etc/passwd
    passwd_entry: str | None = None
    hostuser: list[str]
    chrootdirs: list[str]
    cgroupns: str | None = None                           # private | host
    seccomp_policy: str = "default"
    http_proxy: bool = True
    image_volume: str = "bind"                            # bind | tmpfs | ignore
    timeout: int = 0                                      # seconds; 0: none
    sysctl: list[str]
    personality: str | None = None
    devices: list[str]
    pid: str | None = None                                # private | host | container:ID
    attach: list[str]                                     # --attach stdin|stdout|stderr
    ip: str | None = None                                 # on a user-defined network
    ip6: str | None = None
    mac_address: str | None = None
    preserve_fds: int = 0                                 # run only
    pod: str | None = None                                # --pod NAME|ID|new:NAME
    pod_infra: bool = False                               # the pod's infra container
    pod_userns: bool = False       # the ID maps are the pod's: joins its infra's userns
    init_ctr: str | None = None                           # always | once (engine/pods.py)
    # network (pdman/network)
    publish: list[str]      # -p, raw
    publish_all: bool = False
    dns: list[str]
    add_hosts: list[str]
    network_aliases: list[str]
    # resources (pdman/cgroups); raw strings as typed, parsed there
    memory: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_weight: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cgroup_conf: list[str]  # --cgroup-conf KEY=VALUE (cgroup v2 interface files)
    pids_limit: int | None = None
    cgroups: str = "enabled"
    cgroup_parent: str | None = None
    cgroup_manager: str | None = None
    sdnotify: str = "conmon"  # --sdnotify (pdman/systemd/notify.py)
    create_command: list[str]  # the command line that made it (`generate systemd --new`)
    ulimits: list[str]      # --ulimit TYPE=SOFT[:HARD]; rlimits of the process
    # logs
    log_driver: str = "k8s-file"
    log_opts: list[str]
    # restart policy and healthcheck (engine/restart_policy.py, engine/health.py); raw
    restart: str | None = None
    health_cmd: str | None = None
    health_interval: str | None = None
    health_timeout: str | None = None
    health_retries: int | None = None
    health_start_period: str | None = None
    health_start_interval: str | None = None
    health_on_failure: str | None = None
    no_healthcheck: bool = False
    # run only
    detach: bool = False
    detach_keys: str | None = None
    sig_proxy: bool = True
    #: pull progress sink (the CLI's display); None: silent
    pull_progress: "Callable[[Any], None] | None" = None
    #: asks which registry an ambiguous short name means (a terminal); None: nobody
    pull_choose: "Callable[[str, list[str]], str] | None" = None


class StartIO(Record):
    """How a started container's stdio connects to the caller (foreground run/start -a)."""

    attach: bool = True
    interactive: bool = False
    tty: bool = False
    #: forward the signals pdman receives to the container (--sig-proxy); without,
    #: they act on pdman alone and the container gets none
    sig_proxy: bool = True
