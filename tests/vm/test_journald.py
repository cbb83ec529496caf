"""The journald log driver on a real systemd host (issue 5): the host tier has no
journald and skips its test, this one runs where journald does."""

from __future__ import annotations

import time

from tests.vm.conftest import Pd

# the guest has no network device
RUN = ("run", "--network", "none")


SCRIPT = "echo to-journal; echo err-journal >&2"


def journal_logs(pd: Pd, name: str) -> tuple[str, str]:
    deadline = time.monotonic() + 30
    while True:                              # journald writes asynchronously
        logs = pd("logs", name)
        if "to-journal" in logs.stdout and "err-journal" in logs.stderr or \
                time.monotonic() > deadline:
            return logs.stdout, logs.stderr
        time.sleep(0.5)


def test_log_driver_journald_keeps_streams_apart(pd: Pd, busybox: str) -> None:
    pd(*RUN, "-d", "--name", "jd", "--log-driver", "journald", busybox, "sh", "-c", SCRIPT)
    assert pd("wait", "jd").stdout == "0\n"
    assert journal_logs(pd, "jd") == ("to-journal\n", "err-journal\n")
    assert pd("inspect", "--format", "{{.HostConfig.LogConfig.Type}}", "jd").stdout == \
        "journald\n"
    pd("rm", "jd")


def test_a_foreground_run_logs_to_journald_too(pd: Pd, busybox: str) -> None:
    run = pd(*RUN, "--name", "jfg", "--log-driver", "journald", busybox, "sh", "-c", SCRIPT)
    assert (run.stdout, run.stderr) == ("to-journal\n", "err-journal\n")
    assert journal_logs(pd, "jfg") == ("to-journal\n", "err-journal\n")
    pd("rm", "jfg")
