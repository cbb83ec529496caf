"""Options and reports of the pod verbs (engine/pods.py), shared by the CLI and the API."""

from __future__ import annotations

from pdman.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class PodCreateOptions(Record):
    """`pod create`: what a user asks for (the infra container gets the network part)."""

    _lists = ("publish", "labels", "add_hosts", "dns", "create_command", "devices", "sysctl",
              "dns_search", "dns_options", "label_files", "network_aliases", "volumes",
              "volumes_from", "security_opt", "uidmap", "gidmap")

    name: str | None = None
    publish: list[str]
    network: str = ""
    share: str | None = None          # None: the default (ipc,net,uts)
    infra: bool = True
    infra_image: str | None = None
    infra_command: str | None = None
    infra_name: str | None = None
    labels: list[str]
    hostname: str | None = None
    add_hosts: list[str]
    dns: list[str]
    exit_policy: str = "continue"
    replace_existing: bool = False     # --replace
    create_command: list[str]
    # the infra container's; those marked * its members get too (engine/pods.py)
    devices: list[str]                 # * --device
    sysctl: list[str]                  # namespaced: set in the shared namespaces
    pid: str | None = None             # * --pid (pdman's pods share no PID namespace)
    ip: str | None = None              # on the pod's user-defined network
    mac_address: str | None = None
    dns_search: list[str]              # the pod's resolv.conf (shared with the network)
    dns_options: list[str]
    label_files: list[str]
    network_aliases: list[str]
    no_hosts: bool = False             # * no /etc/hosts of pdman's
    uts: str | None = None             # * host: the host's UTS namespace
    volumes: list[str]                 # * through --volumes-from the infra container
    volumes_from: list[str]            # * likewise
    shm_size: str | None = None        # * the infra's /dev/shm size; members sharing
                                       #   its IPC namespace get the same size
    security_opt: list[str]            # the infra container's only (podman 4.3's)
    ip6: str | None = None             # on the pod's user-defined network
    # * the pod's user namespace (the infra's, which members join): a mode
    # (keep-id[:...]; "" or host the default) or ID maps
    userns: str = ""
    uidmap: list[str]
    gidmap: list[str]
    subuidname: str = ""
    subgidname: str = ""
    share_parent: bool = True          # False: members' cgroups not under the pod's
    # the pod's cgroup (cgroups/pods.py); the names are limits.parse()'s
    cgroup_parent: str | None = None
    memory: str | None = None
    memory_swap: str | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    memory_reservation: str | None = None   # not pod flags: limits.parse reads them
    cpu_weight: int | None = None
    pids_limit: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cgroup_conf: list[str] | None = None


class PodCloneOptions(Record):
    """`pod clone POD [NAME]`: the original's create options, with what is given here
    over them (`overrides`: PodCreateOptions field names; list fields are added to
    the original's, labels win over its own)."""

    _required = ("pod",)
    _dicts = ("overrides",)

    pod: str
    name: str = ""                     # default: <name>-clone
    destroy: bool = False              # remove the original (forcibly) afterwards
    start: bool = False                # start the clone and its containers
    overrides: "dict[str, Any]"


class PodSummary:
    """One row of `pod ps`; attribute names are podman's template fields."""

    __slots__ = ("Id", "Name", "Status", "Created", "InfraId", "Labels", "Containers",
                 "Networks", "Cgroup", "Namespace", "Shared")

    def __init__(self, Id: str, Name: str, Status: str, Created: float,  # noqa: N803
                 InfraId: str, Labels: "dict[str, str]",  # noqa: N803
                 Containers: "list[dict[str, str]]", Networks: list[str],  # noqa: N803
                 Shared: list[str], Cgroup: str = "", Namespace: str = "") -> None:  # noqa: N803
        self.Id = Id
        self.Name = Name
        self.Status = Status
        self.Created = Created
        self.InfraId = InfraId
        self.Labels = Labels
        self.Containers = Containers      # [{"Id", "Names", "Status"}], as podman's JSON
        self.Networks = Networks
        self.Shared = Shared              # the namespaces its containers share
        self.Cgroup = Cgroup
        self.Namespace = Namespace

    def as_dict(self) -> "dict[str, Any]":
        return {k: getattr(self, k) for k in self.__slots__}


__all__ = ["PodCreateOptions", "PodSummary"]
