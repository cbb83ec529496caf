"""Named destinations of `pdman system connection`, kept in the user's config:
$XDG_CONFIG_HOME/pdman/connections.json (mode 0600: it names hosts and key paths).

    {"default": "NAME", "connections": {"NAME": {"uri": "...", "identity": "..."}}}
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

import json
import os
from pathlib import Path

from pdman.errors import PdmanError, UsageError


class ConnectionNotFound(PdmanError):
    """A connection name that is not recorded."""

    reference = "connection-not-found"

    def __init__(self, name: str) -> None:
        super().__init__(f'"{name}" destination is not defined. See "pdman system connection '
                         'add ..." to create a connection')


def store_path() -> Path:
    from pdman.config import config_home

    return config_home() / "pdman" / "connections.json"


def load() -> dict[str, Any]:
    path = store_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"default": "", "connections": {}}
    except (OSError, ValueError) as exc:
        raise UsageError(f"reading {path}: {exc}",
                         hint="fix or remove the file; `pdman system connection add` "
                              "writes a new one") from None
    if not isinstance(data, dict) or not isinstance(data.get("connections"), dict):
        raise UsageError(f"reading {path}: not a connections file",
                         hint="fix or remove the file")
    data.setdefault("default", "")
    return data


def save(data: dict[str, Any]) -> None:
    """Write atomically (a temporary file renamed over), mode 0600 from the start."""
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def get(name: str) -> dict[str, str]:
    conn = load()["connections"].get(name)
    if conn is None:
        raise ConnectionNotFound(name)
    return dict(conn)


def default() -> "tuple[str, dict[str, str]] | None":
    data = load()
    name = data.get("default") or ""
    if name and name in data["connections"]:
        return name, dict(data["connections"][name])
    return None
