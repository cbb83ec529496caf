"""The journald log driver on a real systemd host (issue 5), and the journald events
backend (issue 16): the host tier has no journald and skips its tests, these run where
journald does."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

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


def test_events_logger_journald_writes_and_reads_the_journal(
        pd: Pd, pd_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    """containers.conf `events_logger = "journald"`: events are journal entries (found
    with journalctl, none in the file log), and `pdman events` reads them back, also
    the exit that the container's monitor records (it inherits the configuration)."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nevents_logger = "journald"\n')
    env = dict(pd_env, CONTAINERS_CONF=str(conf))
    pd(*RUN, "-d", "--name", "evj", busybox, "sh", "-c", "sleep 1; exit 3", env=env)
    assert pd("wait", "evj", env=env).stdout == "3\n"
    want = ["create", "init", "start", "died"]
    deadline = time.monotonic() + 60
    while True:                              # journald writes asynchronously
        out = pd("events", "--no-stream", "--filter", "container=evj", "--format",
                 "{{.Status}} {{.Name}} {{.ContainerExitCode}}", env=env).stdout.splitlines()
        statuses = [line.split()[0] for line in out]
        if all(s in statuses for s in want) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert all(s in statuses for s in want), out
    assert "died evj 3" in out
    raw = subprocess.run(["journalctl", "--no-pager", "-o", "json", f"_UID={os.getuid()}",
                          "SYSLOG_IDENTIFIER=pdman-events", "PDMAN_NAME=evj"],
                         capture_output=True, text=True, check=False).stdout
    entries = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert {e["PDMAN_EVENT_STATUS"] for e in entries} >= set(want)
    assert json.loads(next(e for e in entries if e["PDMAN_EVENT_STATUS"] == "died")
                      ["PDMAN_EVENT"])["ContainerExitCode"] == 3
    log = Path(pd_env["PDMAN_RUNROOT"], "events", "events.log")
    assert not log.exists() or "evj" not in log.read_text()
    # the same store with the default logger sees none of them: they are not in its file
    assert "evj" not in pd("events", "--no-stream", "--filter", "container=evj").stdout
    pd("rm", "evj", env=env)
