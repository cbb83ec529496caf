"""Start a container process and wait for it: the runtime's two verbs.

    pid = spawn_container(spec, id_mapping)   # clone → ID maps → release
    status = wait(pid)                        # exit code, 128+N on signal N

Steps of the parent that need Python (network, cgroup) run between the ID
maps and the release through `before_release(pid)`; the child waits there at
sync 1 (native/pdman.h). A step that can overlap the ID maps (pasta setting up
the network namespace) starts in `start_early(pid)`, which returns the function
that waits for it.

With `spec.network_late` that wait overlaps the child's own work too: the child
is released (cgroup first) as soon as the maps are written, builds its root
while pasta starts, and waits right before its exec for the word that the
network is configured (sync 9), which comes once `finish` returned:

    spawn -> start_early (pasta starts) -> ID maps -> before_release -> sync 2
          -> finish (pasta ready, ports bound)   | child: mounts, pivot_root, ...
          -> sync 9 -> exec

With `spec.network_watch` as well (pasta in the foreground, no published port:
network/pasta.py), the child does not wait for pasta to be ready: it goes on as
soon as it sees the default routes pasta writes in its namespace (native
pdman_wait_network), ~10 ms into pasta's start instead of ~40. `start_early`
returns the running pasta then (a pasta.Watched, recorded already), and the
parent waits for whichever comes first: the child's execve, pasta ready (sync 9:
pasta configured something else than expected), pasta's exit (its failure).
"""

from __future__ import annotations

import os
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from pdman.runtime import idmap, native
from pdman.runtime.idmap import IdMapping
from pdman.runtime.native import SpawnSpec


def spawn_container(
    spec: SpawnSpec,
    id_mapping: IdMapping,
    *,
    start_early: Callable[[int], Callable[[], None]] | None = None,
    before_release: Callable[[int], None] | None = None,
) -> int:
    """Start the container's command as PID 1 of its namespaces; its PID.

    Returns once the command was exec'd. On any failure the child is killed
    and reaped, and the PdmanError says why (CommandNotFoundError → 127,
    CommandNotExecutableError → 126, RuntimeFailure → 125). The function
    `start_early` returned is called in every case once the maps are written
    (or failed), so that what it started is known to whoever cleans up.
    """
    late = spec.network_late = bool(spec.network_late and start_early is not None)
    child = native.spawn(spec)
    try:
        finish = start_early(child.pid) if start_early is not None else None
        try:
            if spec.join_userns is None:  # a joined user namespace is mapped already
                idmap.write_maps(child.pid, id_mapping)
            if late:
                if before_release is not None:
                    before_release(child.pid)
                native.release_early(child)   # sync 2: its mounts overlap pasta's start
        except BaseException:
            if finish is not None:
                _quietly(finish)
                if hasattr(finish, "close"):
                    finish.close()
            raise
        if late and spec.network_watch and hasattr(finish, "ready"):
            _await_watched(child, finish, spec.timeout)
            return child.pid
        if finish is not None:
            finish()                          # the network is configured, ports bound
        if before_release is not None and not late:
            before_release(child.pid)
    except BaseException:
        native.abort(child)                   # never past sync 9: the command never ran
        raise
    if late and spec.network_watch:           # the child may have gone on by itself
        native.network_seen(child, spec.timeout)
    elif late:
        native.network_ready(child, spec.timeout)
    else:
        native.release(child, spec.timeout)
    return child.pid


def _await_watched(child: "native.SpawnedChild", watched: "Any", timeout: float) -> None:
    """Return once the child exec'd, having gone on by itself (it saw its network) or
    after sync 9 (pasta was ready first); raise pasta's failure if it exited."""
    import select
    import time

    fd = native.sync_fd(child)
    deadline = time.monotonic() + (timeout or 30.0)
    try:
        while True:
            ready, _, _ = select.select([fd, watched], [], [], 0.005)
            if fd in ready:                   # the child's execve or its error
                native.wait_exec(child, timeout)
                # published ports (a detached start): bound before the start returns
                watched.settle(deadline - time.monotonic())
                return
            if ready:                         # pasta exited: always a failure
                watched()
                from pdman.errors import RuntimeFailure

                raise RuntimeFailure("pasta exited before the container's network was set up")
            if watched.ready():
                native.network_seen(child, timeout)
                watched.settle(deadline - time.monotonic())
                return
            if time.monotonic() > deadline:
                from pdman.errors import RuntimeFailure

                raise RuntimeFailure(f"the container's network was not set up in {timeout or 30:.0f} s",
                                     hint="see its pasta log beside the container's network state")
    finally:
        watched.close()


def _quietly(fn: Callable[[], None]) -> None:
    """Run `fn` on an error path: the error being raised is the one to report."""
    from pdman.errors import PdmanError

    try:
        fn()
    except PdmanError:
        pass


def exit_status(wait_status: int) -> int:
    """A waitpid status as a shell reports it: the code, or 128+N."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.waitstatus_to_exitcode(wait_status)


def wait(pid: int) -> int:
    """Wait for a container process started by this process; its exit status."""
    while True:
        _, status = os.waitpid(pid, 0)  # EINTR is retried (PEP 475)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            return exit_status(status)


__all__ = ["exit_status", "spawn_container", "wait"]
