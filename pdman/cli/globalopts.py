"""Global options and the call into a handler: shared by the fast path and Typer.
Hot path: no imports beyond the stdlib's."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from pdman.engine.context import EngineContext


class GlobalOptions:
    """Options of `pdman` itself, before the command name."""

    __slots__ = ("root", "runroot", "log_level", "events_backend", "url", "connection",
                 "identity", "remote")

    def __init__(self, root: "str | Path | None" = None, runroot: "str | Path | None" = None,
                 log_level: str = "warn", events_backend: "str | None" = None,
                 url: "str | None" = None, connection: "str | None" = None,
                 identity: "str | None" = None, remote: bool = False,
                 noout: bool = False) -> None:
        self.root = root
        self.runroot = runroot
        self.log_level = log_level
        self.events_backend = events_backend
        if events_backend:
            from pdman.engine import events

            events.choose_logger(events_backend)
        # the remote client (pdman/remote/): --url, --connection, --identity, --remote
        self.url = url
        self.connection = connection
        self.identity = identity
        self.remote = remote
        if noout:
            # podman's --noout: the command's stdout goes to /dev/null (at the fd, so a
            # container's output that pdman passes on goes there too); stderr stays
            import os

            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.close(fd)

    def is_remote(self) -> bool:
        """Whether verbs go to an API service: --url, --connection or --remote, or
        CONTAINER_HOST / CONTAINER_CONNECTION in the environment (podman's rule).
        `os` is loaded by the interpreter's start-up already: no import cost here."""
        import os

        return bool(self.url or self.connection or self.remote
                    or os.environ.get("CONTAINER_HOST") or os.environ.get("CONTAINER_CONNECTION"))

    def context(self) -> "EngineContext":
        """The engine context these options name (store and runtime directories)."""
        from pdman.engine.context import EngineContext

        return EngineContext.create(self.root, self.runroot)


def call_handler(target: str, g: GlobalOptions, options: "dict[str, Any]") -> int:
    """Run handler `target` ("module.func" under pdman.cli.handlers); in remote mode,
    its counterpart that speaks the Docker API (pdman/remote/dispatch.py)."""
    if g.is_remote():
        from pdman.remote.dispatch import call_remote

        return call_remote(target, g, options)
    module, _, func = target.rpartition(".")
    if "latest" in options or "filter" in options:
        from pdman.cli import targets

        if not targets.apply(target, g, options):
            return 0
    # __import__ rather than importlib.import_module: importlib costs a hot command ~0.7 ms
    handler = getattr(__import__(f"pdman.cli.handlers.{module}", fromlist=[func]), func)
    result = handler(g, **options)
    return int(result or 0)
