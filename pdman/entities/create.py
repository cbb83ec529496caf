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
    network: str = "none"
    platform: str | None = None
    tls_verify: bool | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    quiet_pull: bool = False
    remove: bool = False                                  # --rm
    #: pull progress sink (the CLI's display); None: silent
    pull_progress: Callable[[Any], None] | None = field(default=None, compare=False)


@dataclass
class StartIO:
    """How a started container's stdio connects to the caller (foreground run/start -a)."""

    attach: bool = True
    interactive: bool = False
    tty: bool = False
