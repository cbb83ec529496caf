"""`--latest`/`-l` and `--filter` of the verbs that act on containers, as podman's:
applied to the handler's options before the handler runs, so every verb reads them the
same way (one place, reached by Typer and by the stdlib fast path alike).

    --latest   the most recently created container (any state) takes the place of the
               container argument; a command's first word after it is then what
               follows the container (`exec -l ls`, `top -l pid`, `port -l 80`);
               on the `pod` verbs, the most recently created pod (`pod top -l pid`)
    --filter   the containers that `ps -a --filter` would list (all filters ANDed)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pdman.cli.globalopts import GlobalOptions

#: handler -> (its container argument, the argument a single container's extra words
#: move to under --latest, or "" when there is none, and whether a container is needed)
LATEST = {
    "lifecycle.stop": ("containers", "", False),
    "lifecycle.kill": ("containers", "", False),
    "lifecycle.restart": ("containers", "", False),
    "lifecycle.attach": ("container", "", True),
    "lifecycle.exec_": ("container", "command", True),
    "lifecycle.logs": ("containers", "", True),
    "lifecycle.top": ("container", "descriptors", True),
    "containers.start": ("containers", "", False),
    "containers.rm": ("containers", "", False),
    "containers.wait": ("containers", "", True),
    "containers.inspect": ("containers", "", True),
    "containers.init": ("containers", "", False),
    "inspect.inspect": ("names", "", True),
    "container_files.diff": ("container", "", True),
    "networks.port": ("container", "private_port", False),
    "resources.stats": ("containers", "", False),
    "resources.pause": ("containers", "", False),
    "resources.unpause": ("containers", "", False),
    "userns.mount": ("containers", "", False),
    "userns.unmount": ("containers", "", False),
}

#: the `pod` verbs' handlers, as LATEST (`pod ps --latest` is its handler's own: a filter)
POD_LATEST = {
    "pods.inspect": ("pods", "", True),
    "pods.kill": ("pods", "", False),
    "pods.logs": ("pod", "", True),
    "pods.pause": ("pods", "", False),
    "pods.restart": ("pods", "", False),
    "pods.rm": ("pods", "", False),
    "pods.start": ("pods", "", False),
    "pods.stats": ("pods", "", False),
    "pods.stop": ("pods", "", False),
    "pods.top": ("pod", "descriptors", True),
    "pods.unpause": ("pods", "", False),
}

#: handlers whose --filter chooses the containers
FILTER = ("containers.rm", "lifecycle.stop", "lifecycle.restart", "resources.pause",
          "resources.unpause")


def latest_id(g: "GlobalOptions") -> str:
    """The ID of the most recently created container."""
    from pdman.errors import ContainerNotFound
    from pdman.storage import container_records

    recs = container_records.list_all(g.context().catalog)
    if not recs:
        raise ContainerNotFound("no containers to act on: no such container",
                                hint="--latest needs at least one container")
    return max(recs, key=lambda r: r.created).id


def latest_pod_id(g: "GlobalOptions") -> str:
    """The ID of the most recently created pod."""
    from pdman.errors import PodNotFound
    from pdman.storage import pod_records

    pods = pod_records.list_all(g.context().catalog)
    if not pods:
        raise PodNotFound("no pods to act on: no such pod",
                          hint="--latest needs at least one pod (`pdman pod create`)")
    return max(pods, key=lambda p: p.created).id


def matching_ids(g: "GlobalOptions", filters: "list[str]") -> "list[str]":
    """The IDs `ps -a --filter ...` would list."""
    from pdman.engine import containers as engine
    from pdman.entities.containers import ListContainersOptions

    rows = engine.list_containers(g.context(), ListContainersOptions(
        all=True, filters=tuple(filters)))
    return [r.ID for r in rows]


def apply(target: str, g: "GlobalOptions", options: "dict[str, Any]",
          latest: "Callable[[], str] | None" = None,
          matching: "Callable[[list[str]], list[str]] | None" = None) -> bool:
    """Rewrite `options` for --latest and --filter (a no-op for other commands); False
    when a filter matched no container (podman then does nothing, successfully).
    `latest`/`matching` answer from elsewhere than the local store (the remote
    client asks the service)."""
    from pdman.errors import UsageError

    if target in FILTER and options.get("filter"):
        key = LATEST[target][0]
        if options.get(key) or options.get("all"):
            raise UsageError("--filter takes the place of container names and --all")
        ids = (matching or (lambda f: matching_ids(g, f)))(list(options["filter"]))
        options[key] = ids
        options.pop("filter")
        if not ids:
            return False
    elif target in FILTER:
        options.pop("filter", None)
    pod = target in POD_LATEST
    if not pod and target not in LATEST:
        return True
    key, moves_to, needed = POD_LATEST[target] if pod else LATEST[target]
    what = "pod" if pod else "container"
    value = options.get(key)
    if options.pop("latest", False):
        cid = latest_pod_id(g) if pod else (latest() if latest else latest_id(g))
        if isinstance(value, list) or key not in ("container", "pod"):
            if value:
                raise UsageError(f"--latest and {what}s cannot be used together")
            options[key] = [cid]
        else:
            if value is not None and not moves_to:
                raise UsageError(f"--latest and {what}s cannot be used together")
            if value is not None and moves_to == "private_port":
                options[moves_to] = value
            elif value is not None:
                options[moves_to] = [value, *(options.get(moves_to) or [])]
            options[key] = cid
    elif needed and not value:
        raise UsageError(f"you must provide at least one {what} name or ID",
                         hint="or pass --latest (-l)")
    return True


__all__ = ["FILTER", "LATEST", "POD_LATEST", "apply", "latest_id", "latest_pod_id"]
