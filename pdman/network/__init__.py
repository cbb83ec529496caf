"""Container networking, seen from the engine: three calls.

    config = resolve(options, image_config)     # at create: validate, normalise (stored)
    attach(ctx, container_id, config, pid)      # before the container is released:
                                                # its network namespace exists, empty
    detach(ctx, container_id, config)           # when the container is gone

Modes: `none` (a new network namespace with only loopback) and `host` (the caller's
namespace) need no helper processes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions


def resolve(options: "CreateOptions", image_config: "dict[str, Any]") -> "dict[str, Any]":
    from pdman.errors import UsageError

    mode = options.network or "none"
    if mode not in ("none", "host"):
        raise UsageError(f"network mode {mode!r} is not available in this version",
                         hint="use --network none or --network host")
    if options.publish or options.publish_all:
        raise UsageError("publishing ports needs a network backend (pasta or slirp4netns), "
                         "which this version does not have",
                         hint="drop -p/-P, or use --network host")
    return {"mode": mode, "options": "", "ports": [], "dns": list(options.dns),
            "add_hosts": list(options.add_hosts), "aliases": list(options.network_aliases)}


def attach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]", pid: int) -> None:
    """none: loopback only, which the kernel brings up with the namespace; host: shared."""


def detach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]") -> None:
    """Nothing outlives a none/host container."""
