"""Remote mode's dispatch: a CLI handler target ("module.func") to its counterpart
that speaks the Docker API. A verb without one is refused by name (exit 125), never
run locally by mistake."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.remote.client import Client

import importlib

from pdman.errors import RemoteError

#: CLI handler -> "module.func" under pdman.remote
REMOTE = {
    "containers.ps": "containers.ps", "containers.run": "containers.run",
    "containers.create": "containers.create", "containers.start": "containers.start",
    "containers.rm": "containers.rm", "containers.inspect": "containers.inspect",
    "containers.exists": "containers.exists", "containers.rename": "containers.rename",
    "containers.wait": "containers.wait",
    "lifecycle.stop": "containers.stop", "lifecycle.kill": "containers.kill",
    "lifecycle.restart": "containers.restart", "lifecycle.logs": "containers.logs",
    "lifecycle.exec_": "containers.exec_", "lifecycle.attach": "containers.attach",
    "resources.pause": "containers.pause", "resources.unpause": "containers.unpause",
    "images.images": "images.images", "images.pull": "images.pull",
    "images.inspect": "images.inspect", "images.exists": "images.exists",
    "images.tag": "images.tag", "images.rmi": "images.rmi",
    "inspect.inspect": "resources.inspect_any",
    "volumes.create": "resources.volume_create", "volumes.ls": "resources.volume_ls",
    "volumes.inspect": "resources.volume_inspect", "volumes.rm": "resources.volume_rm",
    "volumes.exists": "resources.volume_exists",
    "networks.create": "resources.network_create", "networks.ls": "resources.network_ls",
    "networks.inspect": "resources.network_inspect", "networks.rm": "resources.network_rm",
    "networks.exists": "resources.network_exists",
    "system.info": "system.info", "system.version": "system.version",
    "container_files.cp": "files.cp", "container_files.export": "files.export",
    "image_transfer.import_": "files.import_", "image_transfer.save": "files.save",
    "image_transfer.load": "files.load", "image_transfer.commit": "files.commit",
    "image_transfer.push": "files.push",
    "resources.stats": "observe.stats", "lifecycle.top": "observe.top",
    "networks.port": "observe.port", "events.events": "observe.events",
}

#: handlers that act on the client's side only: run locally in remote mode too
LOCAL = ("connections.", "completion.")


def _command_words(target: str) -> str:
    """The command a user typed, for the refusal ("volume prune", "cp")."""
    from pdman.cli.spec_data import SPEC

    names = [n for n, c in SPEC["commands"].items() if c["handler"] == target]
    if not names:
        return target.rpartition(".")[2].rstrip("_")
    return min(names, key=lambda n: (n.startswith(("container ", "image ")), len(n)))


def _latest_id(client: "Client") -> str:
    from pdman.errors import ContainerNotFound

    rows = client.json("GET", "/containers/json", "container", {"all": "1", "limit": "1"})
    if not rows:
        raise ContainerNotFound("no containers to act on: no such container",
                                hint="--latest needs at least one container")
    return str(rows[0]["Id"])


def _matching_ids(client: "Client", filters: "list[str]") -> "list[str]":
    from pdman.remote.common import filters_param

    rows = client.json("GET", "/containers/json", "container",
                       {"all": "1", **filters_param(filters)})
    return [str(r["Id"]) for r in rows or []]


def call_remote(target: str, g: Any, options: "dict[str, Any]") -> int:
    if target.startswith(LOCAL):
        module, _, func = target.rpartition(".")
        handler = getattr(importlib.import_module(f"pdman.cli.handlers.{module}"), func)
        return int(handler(g, **options) or 0)
    where = REMOTE.get(target)
    if where is None:
        raise RemoteError(f"`{_command_words(target)}` is not supported through a remote "
                          "connection",
                          hint="run it on the service's host, or without "
                               "--url/--connection/--remote and CONTAINER_HOST")
    from pdman.remote.client import Client
    from pdman.remote.transport import resolve

    module, _, func = where.rpartition(".")
    handler = getattr(importlib.import_module(f"pdman.remote.{module}"), func)
    runroot = str(g.runroot) if g.runroot else None
    client = Client(resolve(g.url, g.connection, g.identity, runroot))
    try:
        if "latest" in options or "filter" in options:
            from pdman.cli import targets

            # --latest and --filter as a local run reads them, answered by the service
            if not targets.apply(target, g, options, latest=lambda: _latest_id(client),
                                 matching=lambda f: _matching_ids(client, f)):
                return 0
        return int(handler(client, **options) or 0)
    finally:
        client.close()
