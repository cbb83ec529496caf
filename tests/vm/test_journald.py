"""The journald log driver on a real systemd host (issue 5): the host tier has no
journald and skips its test, this one runs where journald does."""

from __future__ import annotations

import time

from tests.vm.conftest import Pd

# the guest has no network device
RUN = ("run", "--network", "none")


def test_log_driver_journald_keeps_streams_apart(pd: Pd, busybox: str) -> None:
    pd(*RUN, "-d", "--name", "jd", "--log-driver", "journald", busybox, "sh", "-c",
       "echo to-journal; echo err-journal >&2")
    assert pd("wait", "jd").stdout == "0\n"
    deadline = time.monotonic() + 30
    while True:                              # journald writes asynchronously
        logs = pd("logs", "jd")
        if "to-journal" in logs.stdout and "err-journal" in logs.stderr or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert logs.stdout == "to-journal\n" and logs.stderr == "err-journal\n"
    assert pd("inspect", "--format", "{{.HostConfig.LogConfig.Type}}", "jd").stdout == \
        "journald\n"
    pd("rm", "jd")
