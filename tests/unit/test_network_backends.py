"""The backends' host checks and the per-container state files: pure logic on
temporary paths, no namespaces."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pdman.config import Paths
from pdman.errors import HostSupportError
from pdman.network import backends, state


def test_missing_tun_device_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(backends, "TUN", str(tmp_path / "tun"))
    with pytest.raises(HostSupportError) as err:
        backends.check_tun()
    assert "does not exist" in err.value.message and "--network none" in (err.value.hint or "")


def test_unusable_tun_device_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a directory cannot be opened for writing, whoever runs the test (root included)
    monkeypatch.setattr(backends, "TUN", str(tmp_path))
    with pytest.raises(HostSupportError) as err:
        backends.check_tun()
    assert f"cannot open {tmp_path}" in err.value.message
    assert "chmod 0666" in (err.value.hint or "")


def test_state_round_trip_and_liveness(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "root", tmp_path / "run")
    cid = "ab" * 32
    st = state.NetState(cid, pid=os.getpid(), pid_start=0, uses_infra=True,
                        helpers=[state.Helper("pasta", 1, 2)],
                        links=[state.Link("n" * 64, "vabababab12345", "eth0", "10.89.0.2")])
    state.save(paths, st)
    open(state.helper_file(paths, cid, "pasta.pid"), "w").close()
    (loaded,) = state.list_all(paths)
    assert loaded == st and loaded.live()
    gone = state.NetState("cd" * 32, pid=2**22 + 7)      # beyond pid_max: never alive
    assert not gone.live()
    claimed = state.claim(paths, "ef" * 32, uses_infra=True)
    assert claimed.owner == os.getpid() and claimed.live()
    state.remove(paths, cid)
    assert sorted(s.container_id for s in state.list_all(paths)) == ["ef" * 32]
    assert not any(name.startswith(cid[:16]) for name in os.listdir(os.path.dirname(state.path(paths, cid))))


def test_a_pasta_killed_before_it_was_recorded_is_found_by_its_pid_file(tmp_path: Path) -> None:
    """pdman records pasta once it is ready; if pdman dies in between, teardown finds
    it through its pid file -- and never takes a reused PID for it."""
    import subprocess
    import time

    from pdman.network import pasta

    pidfile = str(tmp_path / "c.pasta.pid")
    stand_in = subprocess.Popen(["sh", "-c", "sleep 30; :", pidfile],  # names the pid file
                                start_new_session=True)
    try:
        for _ in range(500):                                 # until it has exec'd
            with open(f"/proc/{stand_in.pid}/cmdline", "rb") as f:
                if pidfile.encode() in f.read():
                    break
            time.sleep(0.002)
        with open(pidfile, "w") as f:
            f.write(f"{stand_in.pid}\n")
        found = pasta.unrecorded(pidfile)
        assert found is not None and found[0] == stand_in.pid and found[1] > 0
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")                       # alive, but not that pasta
        assert pasta.unrecorded(pidfile) is None
    finally:
        os.killpg(stand_in.pid, 9)
        stand_in.wait()
    assert pasta.unrecorded(str(tmp_path / "missing.pid")) is None


def test_a_tool_runs_while_the_caller_works_on() -> None:
    from pdman.network import procs

    running = procs.Running(["/bin/sh", "-c", "sleep 1; echo done >&2; exit 3"])
    assert os.waitpid(running.pid, os.WNOHANG) == (0, 0)    # returned while it runs
    assert running.wait() == (3, "done\n")
    assert running.wait() == (3, "done\n")                  # collected once
    assert procs.Running(["/bin/sleep", "5"]).wait(timeout=0.2)[1].endswith("(killed after 0 s)")
