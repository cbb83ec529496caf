"""Across a real reboot of the guest (issue 16): the first boot sets things up and asks
for the reboot (conftest.request_reboot); tier.sh reboots the guest (the same disk) and
the `after_reboot` tests check, in the second boot, what came back on its own (each
first-boot test asks for the reboot before it starts, so that a half-done setup still
gets its second-boot checks, which then fail).

  - pdman-restart.service (installed and enabled by packaging/install-user-units.sh):
    the container created with --restart=always is running again, one with the
    default policy is not;
  - a Quadlet `.container` for nginx (the host test bed's image, with its own config:
    port 80, the default page, the access log on stdout) with a published port
    (slirp4netns: the guest has no network device), Notify=healthy and a healthcheck
    that makes a real request (the image has bash but no curl or wget):
    `systemctl --user start` returns once it answers, its log is in the journal,
    `stop` removes it, and with `[Install] WantedBy=default.target` it answers again
    after the reboot.

These use the user's default store and runroot (no PDMAN_ROOT/PDMAN_RUNROOT), as a real
user's units do: pytest's temporary directories do not outlive the first boot's session,
and the runroot is on the tmpfs a reboot empties. The user is lingering, so its manager
(and these units) start at boot before any login. Start-to-READY times are printed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.vm.conftest import REPO, request_reboot

QUADLET = Path.home() / ".config/containers/systemd/webpub.container"
PORT = 18081


def user_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PDMAN_ROOT", "PDMAN_RUNROOT", "INVOCATION_ID"):
        env.pop(k, None)
    return env


def pdman(*args: str, check: bool = True, env: "dict[str, str] | None" = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["pdman", *args], env=env or user_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"pdman {' '.join(args)} exited {done.returncode}\n{done.stdout}\n"
                    f"{done.stderr}", pytrace=False)
    return done


def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=400, check=False)
    if check and done.returncode != 0:
        journal = subprocess.run(["journalctl", "--user", "--no-pager", "-n", "80"],
                                 capture_output=True, text=True, check=False).stdout
        pytest.fail(f"systemctl --user {' '.join(args)} exited {done.returncode}\n"
                    f"{done.stdout}{done.stderr}\n{journal}", pytrace=False)
    return done


def journal(unit: str) -> str:
    return subprocess.run(["journalctl", "--user", "-u", unit, "--no-pager", "-b"],
                          capture_output=True, text=True, check=False).stdout


def inspect(*names: str) -> list[dict[str, Any]]:
    """The containers' inspect documents, in one `pdman inspect` (each pdman command
    costs seconds under emulation)."""
    return json.loads(pdman("inspect", *names).stdout)  # type: ignore[no-any-return]


#: nginx's default page (Debian's index.nginx-debian.html)
WELCOME = "Welcome to nginx!"


def get(path: str = "/") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as r:
        return str(r.read().decode())


def wait_active(unit: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        seen = systemctl("is-active", unit, check=False).stdout.strip()
        if seen in ("active", "failed"):
            break
        time.sleep(1)
    return seen


# ---------------------------------------------------------------------------
# boot 1
# ---------------------------------------------------------------------------

def test_restart_unit_installed_and_containers_set_up(pd_env: dict[str, str],
                                                       busybox: str) -> None:
    request_reboot("pdman-restart.service: --restart=always")
    env = dict(user_env(), CONTAINERS_REGISTRIES_CONF=pd_env["CONTAINERS_REGISTRIES_CONF"])
    pdman("pull", "-q", busybox, env=env)
    done = subprocess.run(["bash", str(REPO / "packaging/install-user-units.sh")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    unit = Path.home() / ".config/systemd/user/pdman-restart.service"
    assert "start --all --filter restart-policy=always" in unit.read_text()
    assert systemctl("is-enabled", "pdman-restart.service").stdout.strip() == "enabled"
    pdman("run", "-d", "--network", "none", "--name", "always", "--restart", "always",
          busybox, "sleep", "100000")
    pdman("run", "-d", "--network", "none", "--name", "never", busybox, "sleep", "100000")
    assert all(doc["State"]["Running"] for doc in inspect("always", "never"))


def test_quadlet_nginx_with_published_port_and_notify_healthy(pd_env: dict[str, str],
                                                              nginx: str) -> None:
    request_reboot("webpub.service: enabled Quadlet unit (nginx)")
    env = dict(user_env(), CONTAINERS_REGISTRIES_CONF=pd_env["CONTAINERS_REGISTRIES_CONF"])
    began = time.monotonic()
    pdman("pull", "-q", nginx, env=env, timeout=900)   # before the unit: start is not a pull
    print(f"pdman pull nginx: {time.monotonic() - began:.2f} s")
    QUADLET.parent.mkdir(parents=True, exist_ok=True)
    # nginx with the image's own config (listen 80, the default page); it starts 3 s
    # late, so a start that returned before the healthcheck passed would find nothing
    # answering. The healthcheck is a real HTTP request (bash's /dev/tcp: the image has
    # no curl or wget) that passes only on a 200 status line.
    QUADLET.write_text(f"""\
[Unit]
Description=nginx, published on 127.0.0.1:{PORT}

[Container]
Image={nginx}
ContainerName=webpub
PublishPort=127.0.0.1:{PORT}:80
Notify=healthy
HealthCmd=bash -c 'exec 3<>/dev/tcp/127.0.0.1/80 && {{ echo "GET / HTTP/1.0"; echo; }} >&3 \\
  && head -n1 <&3 | grep -q " 200 "'
HealthInterval=1s
HealthRetries=1
StopTimeout=20
Exec=bash -c 'echo webpub-starting; sleep 3; exec nginx -g "daemon off;"'

[Service]
TimeoutStartSec=400

[Install]
WantedBy=default.target
""")
    systemctl("daemon-reload")
    generated = Path(os.environ["XDG_RUNTIME_DIR"], "systemd/generator/webpub.service")
    text = generated.read_text()
    assert "--sdnotify=healthy" in text and f"127.0.0.1:{PORT}:80" in text, text
    began = time.monotonic()
    systemctl("start", "webpub")
    took = time.monotonic() - began
    print(f"Quadlet webpub.service (nginx, slirp4netns, Notify=healthy) start-to-READY: "
          f"{took:.2f} s")
    assert WELCOME in get("/?from=webpub-test")   # at once: no retry
    (doc,) = inspect("webpub")
    assert doc["State"]["Health"]["Status"] == "healthy"
    main_pid = systemctl("show", "-p", "MainPID", "--value", "webpub").stdout.strip()
    assert main_pid == str(doc["State"]["ConmonPid"])
    # nginx's access log (stdout in the image) names the test's request
    deadline = time.monotonic() + 60
    while "GET /?from=webpub-test" not in (log := journal("webpub")) \
            and time.monotonic() < deadline:
        time.sleep(0.5)                           # journald writes asynchronously
    assert "webpub-starting" in log and "GET /?from=webpub-test" in log, log
    began = time.monotonic()
    systemctl("stop", "webpub")
    print(f"webpub.service stop: {time.monotonic() - began:.2f} s (StopTimeout=20)")
    assert systemctl("is-active", "webpub", check=False).stdout.strip() == "inactive"
    assert "webpub" not in pdman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    # enabled by its [Install] section: default.target wants it at the next boot
    wants = Path(os.environ["XDG_RUNTIME_DIR"],
                 "systemd/generator/default.target.wants/webpub.service")
    assert wants.exists()


# ---------------------------------------------------------------------------
# boot 2
# ---------------------------------------------------------------------------

@pytest.mark.after_reboot
def test_the_always_container_came_back_through_pdman_restart_service() -> None:
    assert wait_active("pdman-restart.service") == "active", journal("pdman-restart.service")
    try:
        docs = inspect("always", "never")
        always, never = docs[0]["State"], docs[1]["State"]
        assert always["Running"], (always, journal("pdman-restart.service"))
        assert not never["Running"], never
        boot = time.time() - float(Path("/proc/uptime").read_text().split()[0])
        started = dt.datetime.fromisoformat(str(always["StartedAt"]).replace("Z", "+00:00"))
        assert started.timestamp() >= boot - 1, f"started {started}, before this boot"
        cid = str(docs[0]["Id"])
        deadline = time.monotonic() + 30
        while cid[:12] not in (log := journal("pdman-restart.service")) \
                and time.monotonic() < deadline:
            time.sleep(0.5)     # journald writes asynchronously: the unit's end may be first
        assert cid[:12] in log, f"not started by that unit: {log}"
    finally:
        pdman("rm", "-f", "always", "never", check=False)
        systemctl("disable", "pdman-restart.service", check=False)


@pytest.mark.after_reboot
def test_the_enabled_web_unit_answers_after_the_reboot() -> None:
    try:
        assert wait_active("webpub.service") == "active", journal("webpub.service")
        assert WELCOME in get()
        assert inspect("webpub")[0]["State"]["Health"]["Status"] == "healthy"
        systemctl("stop", "webpub")
        assert "webpub" not in pdman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    finally:
        systemctl("stop", "webpub", check=False)
        QUADLET.unlink(missing_ok=True)
        systemctl("daemon-reload", check=False)
