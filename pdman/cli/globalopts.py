"""Global options and the call into a handler: shared by the fast path and Typer.
Hot path: no imports beyond the stdlib's `importlib`."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from pdman.engine.context import EngineContext


class GlobalOptions:
    """Options of `pdman` itself, before the command name."""

    __slots__ = ("root", "runroot", "log_level", "events_backend")

    def __init__(self, root: "str | Path | None" = None, runroot: "str | Path | None" = None,
                 log_level: str = "warn", events_backend: "str | None" = None) -> None:
        self.root = root
        self.runroot = runroot
        self.log_level = log_level
        self.events_backend = events_backend
        if events_backend:
            from pdman.engine import events

            events.choose_logger(events_backend)

    def context(self) -> "EngineContext":
        """The engine context these options name (store and runtime directories)."""
        from pdman.engine.context import EngineContext

        return EngineContext.create(self.root, self.runroot)


def call_handler(target: str, g: GlobalOptions, options: "dict[str, Any]") -> int:
    """Run handler `target` ("module.func" under pdman.cli.handlers)."""
    module, _, func = target.rpartition(".")
    if "latest" in options or "filter" in options:
        from pdman.cli import targets

        if not targets.apply(target, g, options):
            return 0
    handler = getattr(importlib.import_module(f"pdman.cli.handlers.{module}"), func)
    result = handler(g, **options)
    return int(result or 0)
