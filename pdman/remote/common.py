"""Helpers the remote handlers share: docker's filters, option checks, name lists."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

import json

from pdman.errors import RemoteError, UsageError


def filters_param(filters: "list[str] | None") -> dict[str, str]:
    """`--filter KEY=VALUE` (repeatable) as docker's `filters` query parameter."""
    out: dict[str, list[str]] = {}
    for f in filters or []:
        key, eq, value = f.partition("=")
        if not eq:
            raise UsageError(f"invalid filter {f!r}", hint="use KEY=VALUE")
        out.setdefault(key, []).append(value)
    return {"filters": json.dumps(out)} if out else {}


def refuse_unsupported(command: str, options: dict[str, Any], supported: "set[str]") -> None:
    """Options a remote verb cannot carry over the Docker API: refused by name when
    set to anything but their default (read from the CLI's spec), never ignored."""
    from pdman.cli.spec_data import SPEC

    spec = SPEC["commands"].get(command)
    if spec is None:
        return
    by_name = {p["name"]: p for p in spec["params"]}
    for name, value in options.items():
        if name in supported or name not in by_name:
            continue
        p = by_name[name]
        default = p["default"]
        if value == default or (value in (None, [], ()) and default in (None, [], ())):
            continue
        opt = (p.get("opts") or [name])[0]
        raise RemoteError(f"`{command} {opt}` is not supported through a remote connection",
                          hint="run the command on the service's host, or without this option")


def short_id(ident: str, no_trunc: bool = False) -> str:
    ident = ident.removeprefix("sha256:")
    return ident if no_trunc else ident[:12]


def each_name(names: "list[str]", action: Any, not_found_exit: int | None = None,
              ignore_missing: bool = False) -> int:
    """podman's way with many names (see cli/handlers/common.each), with its exit code
    for a missing object (`rm`: 1) and --ignore."""
    from pdman.cli.handlers.common import each
    from pdman.errors import NotFoundError

    def one(name: str) -> Any:
        try:
            return action(name)
        except NotFoundError as exc:
            if ignore_missing:
                return None
            if not_found_exit is not None:
                exc.exit_code = not_found_exit
            raise

    return each(names, one)
