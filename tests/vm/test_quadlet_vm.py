"""Containers as systemd user units (issue 16), in the guest's real user manager: a
Quadlet `.container` file turned into a service by pdman's generator (linked into
/etc/systemd/user-generators by tier.sh, as root, with `pdman systemd install-generator
--user`), `--sdnotify=container` with a container that sends its own READY=1 late, and
a `generate systemd --new` unit.

The guest has no network device and no pasta/slirp4netns, so the web server uses the
host's network (`Network=host`) on 127.0.0.1 rather than a published port. The units
get the test's store through `[Service] Environment=` (passed through by the
generator). Start-to-READY times are printed (pytest -rP shows them), not asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vm.conftest import Pd

QUADLET_DIR = Path.home() / ".config/containers/systemd"
USER_UNITS = Path.home() / ".config/systemd/user"
PORT = 18080


def systemctl(*args: str, check: bool = True, timeout: float = 400,
              ) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check and done.returncode != 0:
        status = subprocess.run(["systemctl", "--user", "status", "--no-pager", "-l", *args[1:]],
                                capture_output=True, text=True, check=False)
        journal = subprocess.run(["journalctl", "--user", "--no-pager", "-n", "60"],
                                 capture_output=True, text=True, check=False)
        pytest.fail(f"systemctl --user {' '.join(args)} exited {done.returncode}\n"
                    f"{done.stderr}\n{status.stdout}\n{journal.stdout}", pytrace=False)
    return done


def store_environment(pd_env: dict[str, str]) -> str:
    return " ".join(f"{k}={pd_env[k]}" for k in
                    ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF"))


@pytest.fixture
def units() -> Iterator[list[Path]]:
    """Unit and Quadlet files a test writes; stopped and removed afterwards."""
    written: list[Path] = []
    QUADLET_DIR.mkdir(parents=True, exist_ok=True)
    USER_UNITS.mkdir(parents=True, exist_ok=True)
    try:
        yield written
    finally:
        for path in written:
            service = path.stem + ".service" if path.suffix == ".container" else path.name
            systemctl("stop", service, check=False)
            path.unlink(missing_ok=True)
        systemctl("daemon-reload", check=False)


def timed_start(service: str) -> float:
    began = time.monotonic()
    systemctl("start", service)
    return time.monotonic() - began


def get(url: str, deadline: float = 60) -> str:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)


def test_the_generator_is_installed_for_user_managers() -> None:
    link = Path("/etc/systemd/user-generators/pdman-user-generator")
    assert link.is_symlink(), "tier.sh runs `pdman systemd install-generator --user` as root"
    assert os.path.basename(os.readlink(link)) == "pdman-systemd-generator"


def test_a_quadlet_container_starts_answers_logs_and_stops(
        pd: Pd, pd_env: dict[str, str], busybox: str, units: list[Path]) -> None:
    path = QUADLET_DIR / "web.container"
    units.append(path)
    path.write_text(f"""\
[Unit]
Description=busybox httpd under Quadlet

[Container]
Image={busybox}
ContainerName=web
Network=host
Label=test=quadlet
# httpd as PID 1 ignores SIGTERM: the default 10 s before SIGKILL is only waiting
StopTimeout=1
Exec=sh -c 'mkdir -p /www && echo hello-quadlet > /www/index.html && \\
  echo httpd-starting && exec httpd -f -vv -p 127.0.0.1:{PORT} -h /www'

[Service]
Environment={store_environment(pd_env)}
TimeoutStartSec=300
""")
    systemctl("daemon-reload")
    generated = Path(os.environ["XDG_RUNTIME_DIR"], "systemd/generator/web.service")
    assert generated.exists(), "the generator wrote no web.service"
    assert "--sdnotify=conmon" in generated.read_text()
    took = timed_start("web")                 # Type=notify: returns on READY=1
    print(f"Quadlet web.service start-to-READY: {took:.2f} s")
    assert systemctl("is-active", "web").stdout.strip() == "active"
    doc = pd("inspect", "--format", "{{.State.Running}} {{.State.ConmonPid}}", "web").stdout.split()
    assert doc[0] == "true"
    main_pid = systemctl("show", "-p", "MainPID", "--value", "web").stdout.strip()
    assert main_pid == doc[1], "the unit's main process is the container's monitor"
    assert get(f"http://127.0.0.1:{PORT}/index.html") == "hello-quadlet\n"
    deadline = time.monotonic() + 60
    while True:                                # journald writes asynchronously
        journal = subprocess.run(["journalctl", "--user", "-u", "web", "--no-pager"],
                                 capture_output=True, text=True, check=False).stdout
        if "httpd-starting" in journal or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "httpd-starting" in journal, journal
    systemctl("stop", "web")
    assert systemctl("is-active", "web", check=False).stdout.strip() == "inactive"
    assert "web" not in pd("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not Path(os.environ["XDG_RUNTIME_DIR"], "web.cid").exists()


def test_sdnotify_container_makes_the_start_wait_for_the_containers_ready(
        pd: Pd, pd_env: dict[str, str], busybox: str, units: list[Path],
        tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    path = QUADLET_DIR / "late.container"
    units.append(path)
    # busybox has no systemd-notify: logger's syslog() sends one datagram to /dev/log,
    # linked to the notify socket; systemd ignores the syslog prefix line
    path.write_text(f"""\
[Container]
Image={busybox}
ContainerName=late
Network=none
Notify=true
Volume={marks}:/marks
# sleep as PID 1 ignores SIGTERM: the default 10 s before SIGKILL is only waiting
StopTimeout=1
Exec=sh -c 'sleep 5 && touch /marks/ready-sent && ln -sf /run/notify/notify.sock /dev/log \\
  && logger "late\\nREADY=1" && exec sleep 600'

[Service]
Environment={store_environment(pd_env)}
TimeoutStartSec=300
""")
    systemctl("daemon-reload")
    systemctl("start", "--no-block", "late")
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and not (marks / "ready-sent").exists():
        seen = systemctl("is-active", "late", check=False).stdout.strip()
        if seen == "activating":
            break
        time.sleep(0.2)
    assert seen == "activating" and not (marks / "ready-sent").exists(), \
        "the unit must be activating until the container says READY=1"
    took = timed_start("late")                # waits for the job already queued
    assert (marks / "ready-sent").exists(), "start returned before the container's READY=1"
    assert systemctl("is-active", "late").stdout.strip() == "active"
    print(f"--sdnotify=container late.service: READY {took:.2f} s after the wait began")
    systemctl("stop", "late")
    assert "late" not in pd("ps", "-a", "--format", "{{.Names}}").stdout.split()


def test_generate_systemd_new_unit_runs_the_container(
        pd: Pd, pd_env: dict[str, str], busybox: str, units: list[Path]) -> None:
    # sleep as PID 1 ignores SIGTERM: the unit's stop needs no 10 s before SIGKILL
    pd("create", "--name", "gen", "--network", "none", "--label", "made=create",
       "--stop-timeout", "1", busybox, "sleep", "600")
    env_args = [a for k in ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF")
                for a in ("-e", f"{k}={pd_env[k]}")]
    text = pd("generate", "systemd", "--new", "--name", *env_args, "gen").stdout
    path = USER_UNITS / "container-gen.service"
    units.append(path)
    path.write_text(text)
    systemctl("daemon-reload")
    took = timed_start("container-gen.service")
    print(f"generate systemd --new container-gen.service start-to-READY: {took:.2f} s")
    doc = json.loads(pd("inspect", "gen").stdout)[0]
    assert doc["State"]["Running"] and doc["Config"]["Labels"].get("made") == "create"
    pid = int(doc["State"]["Pid"])
    cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    assert "/container-gen.service" in cgroup, cgroup
    systemctl("stop", "container-gen.service")
    assert "gen" not in pd("ps", "-a", "--format", "{{.Names}}").stdout.split()


def test_generate_systemd_new_pod_units(pd: Pd, pd_env: dict[str, str], busybox: str,
                                        units: list[Path]) -> None:
    """`generate systemd --new --files POD` in the real user manager: starting the pod's
    unit starts its members' units (Wants=), the pod unit's main process is the infra
    container's monitor, and stopping it stops the members' units (BindsTo=) and
    removes the pod and its containers."""
    pd("pod", "create", "--name", "gvp", "--network", "none")
    for member in ("gvp-a", "gvp-b"):
        pd("create", "--pod", "gvp", "--name", member, busybox, "sleep", "600")
    env_args = [a for k in ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF")
                for a in ("-e", f"{k}={pd_env[k]}")]
    docs = json.loads(pd("generate", "systemd", "--new", "--name", "--format", "json",
                         *env_args, "gvp").stdout)
    assert sorted(docs) == ["container-gvp-a", "container-gvp-b", "pod-gvp"]
    USER_UNITS.mkdir(parents=True, exist_ok=True)
    for unit in ("container-gvp-a", "container-gvp-b", "pod-gvp"):   # the pod's stops last
        path = USER_UNITS / f"{unit}.service"
        units.append(path)
        path.write_text(docs[unit])
    pd("pod", "rm", "-f", "gvp")                    # the unit makes the pod afresh
    systemctl("daemon-reload")
    took = timed_start("pod-gvp.service")
    print(f"generate systemd --new pod-gvp.service start-to-READY: {took:.2f} s")
    deadline = time.monotonic() + 300
    while True:                                     # Wants= queued the members' starts
        states = [systemctl("is-active", f"container-{m}.service", check=False).stdout.strip()
                  for m in ("gvp-a", "gvp-b")]
        if states == ["active", "active"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert states == ["active", "active"], states
    infra = pd("pod", "inspect", "gvp", "--format", "{{.InfraContainerID}}").stdout.strip()
    monitor = pd("inspect", "--format", "{{.State.ConmonPid}}", infra).stdout.strip()
    main_pid = systemctl("show", "-p", "MainPID", "--value", "pod-gvp.service").stdout.strip()
    assert main_pid == monitor, "the pod unit's main process is the infra's monitor"
    names = pd("ps", "--filter", "pod=gvp", "--format", "{{.Names}}").stdout.split()
    assert {"gvp-a", "gvp-b"} <= set(names), names
    systemctl("stop", "pod-gvp.service")
    for m in ("gvp-a", "gvp-b"):
        assert systemctl("is-active", f"container-{m}.service",
                         check=False).stdout.strip() == "inactive"
    assert pd("pod", "ps", "-q").stdout.strip() == ""
    assert pd("ps", "-a", "--filter", "name=gvp", "-q").stdout.strip() == ""
