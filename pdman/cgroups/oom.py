"""OOM kills, counted from the container's cgroup (memory.events `oom_kill`), not
guessed from the exit status: a SIGKILL may come from elsewhere, and an OOM kill may
end as 143 when systemd stops the scope (SIGTERM) while the kernel's SIGKILL is on
its way.

The count must be read while the cgroup exists, and systemd removes a scope's cgroup
as soon as its last process is gone: so a watcher thread holds memory.events open
from the start and reads it each time the kernel flags a change (kernfs files signal
POLLPRI on change), the way conmon watches it. At the end `stop()` gives the count.
"""

from __future__ import annotations

import os
import select
import threading

from pdman.cgroups import cgroupfs


def parse_oom_kills(text: str) -> int:
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class OomWatch:
    """Watch one cgroup's memory.events; `stop()` returns the oom_kill count seen."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.count = 0
        self._fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self._fd = os.open(os.path.join(cgroupfs.fs_path(rel), "memory.events"),
                               os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return  # no memory controller here: nothing to watch
        self._read()
        self._thread = threading.Thread(target=self._run, name="pdman-oom-watch", daemon=True)
        self._thread.start()

    def _read(self) -> bool:
        try:
            data = os.pread(self._fd, 4096, 0)
        except OSError:
            return False  # the cgroup is gone
        self.count = max(self.count, parse_oom_kills(data.decode(errors="replace")))
        return True

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLPRI | select.POLLERR)
        while not self._stop.is_set():
            if poller.poll(250) and not self._read():
                return

    def stop(self) -> int:
        """Stop watching; the number of OOM kills in the cgroup (a last look included)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._fd >= 0:
            self._read()
            os.close(self._fd)
            self._fd = -1
        return self.count


__all__ = ["OomWatch", "parse_oom_kills"]
