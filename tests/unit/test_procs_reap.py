"""A helper killed without waiting (the foreground pasta of `run --rm`) does not stay a
zombie of a long-lived pdman: a later kill or spawn reaps it."""

from __future__ import annotations

import os
import time

import pytest

from pdman.network import procs


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_killed_children_are_reaped_later(tmp_path) -> None:
    for attempt in range(10):
        first = procs.spawn_daemon(["/bin/sleep", "30"], str(tmp_path / f"a{attempt}.log"))
        procs.kill(first, procs.start_time(first))
        deadline = time.monotonic() + 5
        while _state(first) not in ("Z", "gone") and time.monotonic() < deadline:
            time.sleep(0.01)
        if _state(first) == "Z":            # dead, not reaped: kill did not wait for it
            break
    else:                                   # always gone at once: nothing left to check
        pytest.skip("the killed child was always reaped by kill itself (it died at once)")
    second = procs.spawn_daemon(["/bin/sleep", "30"], str(tmp_path / "b.log"))
    assert _state(first) == "gone"          # reaped by the next spawn
    procs.kill(second, procs.start_time(second))
    os.waitpid(second, 0)
