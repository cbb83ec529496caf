"""Showing a pull's progress: rich bars per layer on a terminal, podman's plain lines
otherwise, nothing with -q. Events arrive from the download threads.

    with pull_progress(quiet) as sink:
        report = pull(ctx, PullOptions(ref, progress=sink))

Also used by `run`/`create` when they pull a missing image.
"""

from __future__ import annotations

import _thread  # threading.Lock's own type, without importing threading: `run` imports
import sys      # this module on its hot path

TYPE_CHECKING = False
if TYPE_CHECKING:      # `run` imports this module on its hot path: no typing at run time
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from typing import TextIO

    from pdman.entities.images import PullEvent

    Sink = Callable[[PullEvent], None]


def _short(digest: str) -> str:
    return digest.partition(":")[2][:12]


class PlainProgress:
    """podman's output when stderr is not a terminal."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.lock = _thread.allocate_lock()
        self.started = False

    def _line(self, text: str) -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def __call__(self, e: PullEvent) -> None:
        if e.kind == "trying":
            self._line(f"Trying to pull {e.text}...")
        elif e.kind == "warning":
            self._line(f"WARNING: {e.text}")
        elif e.kind == "resolved" and not self.started:
            self.started = True
            self._line("Getting image source signatures")
        elif e.kind == "blob-skipped":
            self._line(f"Copying blob {e.text} skipped: already exists")
        elif e.kind == "blob-done":
            self._line(f"Copying blob {e.text} done")
        elif e.kind == "config":
            self._line(f"Copying config {e.text} done")
        elif e.kind == "manifest":
            self._line("Writing manifest to image destination")


class RichProgress(PlainProgress):
    """A bar per layer (rich, loaded only here)."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TransferSpeedColumn)

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("Copying blob {task.description}"), BarColumn(),
                                 DownloadColumn(), TransferSpeedColumn(),
                                 console=self.console, transient=False)
        self.tasks: dict[str, object] = {}
        self.totals: dict[str, int] = {}
        self.progress.start()

    def _line(self, text: str) -> None:
        with self.lock:
            self.progress.console.print(text, markup=False, highlight=False)

    def __call__(self, e: PullEvent) -> None:
        if e.kind == "blob-start":
            with self.lock:
                self.totals[e.text] = e.size
                self.tasks[e.text] = self.progress.add_task(_short(e.text), total=e.size or None)
        elif e.kind == "blob-progress":
            task = self.tasks.get(e.text)
            if task is not None:
                self.progress.advance(task, e.size)  # type: ignore[arg-type]
        elif e.kind == "blob-done":
            task = self.tasks.get(e.text)
            if task is not None:
                with self.lock:
                    self.progress.update(task, description=f"{_short(e.text)} done",  # type: ignore[arg-type]
                                         completed=self.totals.get(e.text, 0))
        elif e.kind == "resolved" and not self.started:
            self.started = True
            self._line("Getting image source signatures")
        else:
            super().__call__(e)

    def close(self) -> None:
        self.progress.stop()


def pull_progress(quiet: bool) -> "AbstractContextManager[Sink | None]":
    """`pull`'s display (contextlib imported here, not on `run`'s path)."""
    from contextlib import contextmanager

    return contextmanager(_pull_progress)(quiet)


def _pull_progress(quiet: bool) -> "Iterator[Sink | None]":
    if quiet:
        yield None
        return
    if sys.stderr.isatty():
        rich = RichProgress()
        try:
            yield rich
        finally:
            rich.close()
        return
    yield PlainProgress()


__all__ = ["PlainProgress", "RichProgress", "pull_progress", "pull_progress_if_needed"]


class _OnFirstEvent:
    """A sink that builds the real display at the first event: `run` pulls only when the
    image is missing, and must not pay for rich (or start a live display on the
    terminal it is about to hand to the container) when it does not."""

    def __init__(self) -> None:
        self.lock = _thread.allocate_lock()
        self.sink: PlainProgress | None = None

    def __call__(self, e: PullEvent) -> None:
        with self.lock:
            if self.sink is None:
                self.sink = RichProgress() if sys.stderr.isatty() else PlainProgress()
        self.sink(e)

    def close(self) -> None:
        if isinstance(self.sink, RichProgress):
            self.sink.close()


class pull_progress_if_needed:  # noqa: N801 - used as `with pull_progress_if_needed(q)`
    """`run`'s progress display, made at the first pull event (a plain class rather than
    @contextmanager: `run` does not import contextlib for it)."""

    __slots__ = ("sink",)

    def __init__(self, quiet: bool) -> None:
        self.sink = None if quiet else _OnFirstEvent()

    def __enter__(self) -> "_OnFirstEvent | None":
        return self.sink

    def __exit__(self, *exc: object) -> None:
        if self.sink is not None:
            self.sink.close()
