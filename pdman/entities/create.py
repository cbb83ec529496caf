"""Options of `create`/`run` (shared by the CLI and the API service)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CreateOptions:
    """What a user asks for; `engine.containers.create` resolves it against the image."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    env: list[str] = field(default_factory=list)          # -e K=V / -e K
    env_files: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None                         # "" resets the image's
    hostname: str | None = None
    interactive: bool = False
    tty: bool = False
    init: bool = False
    read_only: bool = False
    tmpfs: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    security_opt: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    pull: str = "missing"                                 # missing | always | never
    network: str = ""                                     # "": the default backend
    platform: str | None = None
    tls_verify: bool | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    quiet_pull: bool = False
    remove: bool = False                                  # --rm
    # network (pdman/network)
    publish: list[str] = field(default_factory=list)      # -p, raw
    publish_all: bool = False
    dns: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    network_aliases: list[str] = field(default_factory=list)
    # resources (pdman/cgroups); raw strings as typed, parsed there
    memory: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_weight: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    cgroups: str = "enabled"
    cgroup_parent: str | None = None
    cgroup_manager: str | None = None
    # logs
    log_driver: str = "k8s-file"
    log_opts: list[str] = field(default_factory=list)
    # run only
    detach: bool = False
    detach_keys: str | None = None
    sig_proxy: bool = True
    #: pull progress sink (the CLI's display); None: silent
    pull_progress: Callable[[Any], None] | None = field(default=None, compare=False)


@dataclass
class StartIO:
    """How a started container's stdio connects to the caller (foreground run/start -a)."""

    attach: bool = True
    interactive: bool = False
    tty: bool = False
