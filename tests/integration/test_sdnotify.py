"""`run --sdnotify` against a notify socket the test binds itself (systemd's side of
sd_notify: a Unix datagram socket named by NOTIFY_SOCKET), as the unprivileged user:
what pdman and the container send, and what neither may send. The same with a real
systemd user manager is in tests/vm/test_quadlet_vm.py.

busybox has no systemd-notify: the container sends its datagram with `logger`, whose
syslog() writes one datagram to /dev/log -- made a link to the notify socket. systemd
reads a notification line by line, so the syslog prefix is a line it ignores.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

NONE = ("--network", "none")
SEND_READY = ("ln -sf /run/notify/notify.sock /dev/log && echo \"$NOTIFY_SOCKET\" && "
              "logger \"$(printf 'from-container\\nREADY=1')\" && exec sleep 600")


@pytest.fixture
def notify_socket() -> Iterator[socket.socket]:
    d = tempfile.mkdtemp(prefix="pdnotify-")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(Path(d) / "notify")
    s.bind(path)
    s.settimeout(60)
    try:
        yield s
    finally:
        s.close()
        Path(path).unlink(missing_ok=True)
        Path(d).rmdir()


def _env(registry_env: dict[str, str], sock: socket.socket) -> dict[str, str]:
    return dict(registry_env, NOTIFY_SOCKET=sock.getsockname())


def _pending(sock: socket.socket) -> list[str]:
    sock.settimeout(0.5)
    out = []
    try:
        while True:
            out.append(sock.recv(4096).decode())
    except (TimeoutError, socket.timeout):
        return out


def _monitor_pid(env: dict[str, str], name: str) -> int:
    doc = json.loads(run_pdman("inspect", name, env=env).stdout)[0]
    return int(doc["State"]["ConmonPid"])


def test_conmon_sends_mainpid_of_the_monitor_and_ready(
        registry_env: dict[str, str], busybox: str, notify_socket: socket.socket) -> None:
    env = _env(registry_env, notify_socket)
    run_pdman("run", "-d", *NONE, "--name", "sdc", busybox, "sh", "-c",
              "echo NOTIFY=${NOTIFY_SOCKET:-unset}; exec sleep 600", env=env)
    message = notify_socket.recv(4096).decode()
    assert message == f"MAINPID={_monitor_pid(env, 'sdc')}\nREADY=1\n"
    assert "NOTIFY=unset" in run_pdman("logs", "sdc", env=env).stdout  # not passed in
    run_pdman("rm", "-f", "sdc", env=env)


def test_container_mode_relays_the_containers_ready_with_the_monitors_pid(
        registry_env: dict[str, str], busybox: str, notify_socket: socket.socket) -> None:
    """`run -d` returns only after the container's READY=1, which it relays from its own
    PID (the sender, logger, is gone by then: systemd would drop its message)."""
    env = _env(registry_env, notify_socket)
    run_pdman("run", "-d", *NONE, "--name", "sdk", "--sdnotify=container", busybox, "sh", "-c",
              "sleep 2; " + SEND_READY, env=env)
    notify_socket.settimeout(0)                 # already there when `run -d` returned
    lines = notify_socket.recv(4096).decode().splitlines()
    assert "from-container" in lines[0]                             # what it sent
    assert lines[1:] == ["READY=1", f"MAINPID={_monitor_pid(env, 'sdk')}"]
    assert run_pdman("logs", "sdk", env=env).stdout.startswith("/run/notify/notify.sock")
    run_pdman("rm", "-f", "sdk", env=env)
    assert _pending(notify_socket) == []


def test_ignore_sends_nothing(registry_env: dict[str, str], busybox: str,
                              notify_socket: socket.socket) -> None:
    env = _env(registry_env, notify_socket)
    run_pdman("run", "-d", *NONE, "--name", "sdi", "--sdnotify=ignore", busybox, "sh", "-c",
              "echo NOTIFY=${NOTIFY_SOCKET:-unset}; exec sleep 600", env=env)
    run_pdman("rm", "-f", "sdi", env=env)
    assert _pending(notify_socket) == []


def test_bad_modes_and_healthy_without_a_healthcheck_are_refused(
        registry_env: dict[str, str], busybox: str) -> None:
    bad = run_pdman("run", "--rm", *NONE, "--sdnotify=sometimes", busybox, "true",
                    env=registry_env, check=False)
    assert bad.returncode == 125 and "invalid --sdnotify 'sometimes'" in bad.stderr
    healthy = run_pdman("run", "--rm", *NONE, "--sdnotify=healthy", busybox, "true",
                        env=registry_env, check=False)
    assert healthy.returncode == 125 and "needs a healthcheck" in healthy.stderr
    assert run_pdman("ps", "-aq", env=registry_env).stdout == ""


def test_healthy_says_ready_after_the_first_passing_healthcheck(
        registry_env: dict[str, str], busybox: str, notify_socket: socket.socket,
        tmp_path: Path) -> None:
    """MAINPID once the container runs; READY=1 only once a probe has passed, which
    here cannot happen before the container has made /tmp/ready (2 s in)."""
    env = _env(registry_env, notify_socket)
    run_pdman("run", "-d", *NONE, "--name", "sdh", "--sdnotify=healthy",
              "--health-cmd", "test -e /tmp/ready", "--health-interval", "1s",
              busybox, "sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 600", env=env)
    notify_socket.settimeout(0)                 # both are there when `run -d` returned
    first = notify_socket.recv(4096).decode()
    second = notify_socket.recv(4096).decode()
    assert first == f"MAINPID={_monitor_pid(env, 'sdh')}\n"
    assert second == "READY=1\n"
    health = run_pdman("inspect", "--format", "{{.State.Health.Status}}", "sdh", env=env)
    assert health.stdout == "healthy\n"
    run_pdman("rm", "-f", "sdh", env=env)
    assert _pending(notify_socket) == []


def test_healthy_fails_the_start_when_the_container_exits_unhealthy(
        registry_env: dict[str, str], busybox: str, notify_socket: socket.socket) -> None:
    env = _env(registry_env, notify_socket)
    run = run_pdman("run", "-d", *NONE, "--name", "sdx", "--sdnotify=healthy",
                    "--health-cmd", "false", "--health-interval", "1s", busybox, "sleep", "3",
                    env=env, check=False)
    assert run.returncode != 0 and "exited before its healthcheck passed" in run.stderr
    assert "READY=1\n" not in _pending(notify_socket)
    run_pdman("rm", "-f", "sdx", env=env)


def test_rm_cidfile_removes_the_file_and_replace_takes_over_a_stale_one(
        registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    """What a Quadlet unit's ExecStart/ExecStopPost do on each start and stop."""
    cid = tmp_path / "web.cid"
    env = registry_env
    first = run_pdman("run", "-d", *NONE, "--name", "q", f"--cidfile={cid}", "--replace",
                      "--rm", busybox, "sleep", "600", env=env).stdout.strip()
    # a unit killed without its ExecStopPost: the next start replaces container and file
    second = run_pdman("run", "-d", *NONE, "--name", "q", f"--cidfile={cid}", "--replace",
                       "--rm", busybox, "sleep", "600", env=env).stdout.strip()
    assert second != first and cid.read_text() == second
    run_pdman("rm", "-v", "-f", "-i", "-t", "1", f"--cidfile={cid}", env=env)
    assert not cid.exists()
    assert run_pdman("ps", "-aq", env=env).stdout == ""
    run_pdman("rm", "-v", "-f", "-i", f"--cidfile={cid}", env=env)   # ExecStopPost: no-op


def test_a_foreground_run_says_ready_with_its_own_pid(
        registry_env: dict[str, str], busybox: str, notify_socket: socket.socket) -> None:
    """`ExecStart=pdman run IMAGE` without -d: pdman stays the unit's main process."""
    import shutil
    import subprocess

    env = _env(registry_env, notify_socket)
    cmd = [str(shutil.which("pdman", path=env.get("PATH"))), "run", "--rm", *NONE, busybox,
           "sleep", "3"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        message = notify_socket.recv(4096).decode()
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert message == f"MAINPID={proc.pid}\nREADY=1\n"
