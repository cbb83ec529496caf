"""Exec sessions of the API service (`POST /containers/{id}/exec`), kept as one small
JSON file each under the runroot: docker's clients inspect a session after it ended
(its exit code), possibly from another connection and after a socket-activated
service idled out and was started again, or from a second service on the same store.
A session goes when its container does (pruned by the next exec create)."""

from __future__ import annotations

import json
import os

from pdman.config import Paths
from pdman.runtime import statefiles

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def _dir(paths: Paths) -> str:
    return os.path.join(paths.runroot, "exec-sessions")


def _path(paths: Paths, exec_id: str) -> str:
    if not exec_id or not all(c in "0123456789abcdef" for c in exec_id):
        raise ValueError(f"not an exec session ID: {exec_id!r}")
    return os.path.join(_dir(paths), exec_id + ".json")


def save(paths: Paths, doc: "dict[str, Any]") -> None:
    os.makedirs(_dir(paths), mode=0o700, exist_ok=True)
    statefiles.write_atomic(_path(paths, doc["id"]), json.dumps(doc), 0o600)


def load(paths: Paths, exec_id: str) -> "dict[str, Any] | None":
    try:
        with open(_path(paths, exec_id), encoding="utf-8") as f:
            doc: dict[str, Any] = json.load(f)
    except (OSError, ValueError):
        return None
    return doc


def prune(paths: Paths, live_containers: "Iterable[str]") -> list[str]:
    """Remove the sessions of containers that are gone; their IDs."""
    live = set(live_containers)
    gone = []
    try:
        names = os.listdir(_dir(paths))
    except FileNotFoundError:
        return gone
    for name in names:
        if not name.endswith(".json"):
            continue
        full = os.path.join(_dir(paths), name)
        try:
            with open(full, encoding="utf-8") as f:
                owner = json.load(f).get("container_id", "")
        except (OSError, ValueError):
            owner = ""
        if owner not in live:
            try:
                os.unlink(full)
            except FileNotFoundError:
                pass
            gone.append(name[:-5])
    return gone


__all__ = ["load", "prune", "save"]
