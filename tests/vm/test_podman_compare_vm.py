"""The same container as a pdman Quadlet unit and as the unit podman 4.3's
`podman generate systemd --new --name` writes (issue 16: "record how long a Quadlet unit
takes from start to READY against the same unit run by podman 4.3's generate systemd
output"), in the guest's real user manager, as the lingering user in its login session.

The container is test_quadlet_vm.py's web server: busybox httpd on the host's network
(127.0.0.1; the guest has no network device), both with READY sent by the monitor once
the container runs (Quadlet's default Notify=, podman's `--sdnotify=conmon`), the image
already in each engine's store (pulled from the guest's registry), so a start is a
start, not a pull. Each unit is started once (a round costs ~40 s under emulation; the
full tier's other Quadlet tests time more starts); each start is timed by the test
(`systemctl --user start` returning: Type=notify, so on READY=1) and by systemd
(InactiveExit to ActiveEnter). The numbers are printed (pytest -rP shows them), never
asserted: the guest is emulated (TCG) and shared. Both containers stop with a 1 s
grace period (busybox httpd as PID 1 ignores SIGTERM, so the default 10 s is only
waiting; the stop is not what is measured).

If podman cannot run rootless in the guest, the test says why and is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vm.conftest import Pd

QUADLET_DIR = Path.home() / ".config/containers/systemd"
USER_UNITS = Path.home() / ".config/systemd/user"
POLICY = Path.home() / ".config/containers/policy.json"
NAME = "cmpweb"
PORT = 18090
EXEC = (f"mkdir -p /www && echo hello-{NAME} > /www/index.html && echo httpd-starting "
        f"&& exec httpd -f -vv -p 127.0.0.1:{PORT} -h /www")
PDMAN_UNIT = f"{NAME}.service"                  # from QUADLET_DIR/cmpweb.container
PODMAN_UNIT = f"container-{NAME}.service"       # podman generate systemd --new --name
ROUNDS = 1


def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=400, check=False)
    if check and done.returncode != 0:
        journal = subprocess.run(["journalctl", "--user", "--no-pager", "-n", "60"],
                                 capture_output=True, text=True, check=False).stdout
        pytest.fail(f"systemctl --user {' '.join(args)} exited {done.returncode}\n"
                    f"{done.stdout}{done.stderr}\n{journal}", pytrace=False)
    return done


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF", "INVOCATION_ID"):
        env.pop(k, None)
    return env


def podman(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], env=podman_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def why_podman_cannot_run(busybox: str) -> str:
    """'' when rootless podman pulls and runs a container here, else why not."""
    if shutil.which("podman") is None:
        return "podman is not installed in the guest (tests/vm/image.py PACKAGES)"
    version = podman("version", "--format", "{{.Client.Version}}")
    if version.returncode != 0:
        return f"`podman version` failed: {version.stderr.strip()[-800:]}"
    steps = [("pull", "-q", "--tls-verify=false", busybox),
             ("run", "--rm", "--network", "none", busybox, "true")]
    for step in steps:
        done = podman(*step)
        if done.returncode != 0:
            return (f"rootless podman {version.stdout.strip()} cannot run here: "
                    f"`podman {' '.join(step)}` exited {done.returncode}: "
                    f"{done.stderr.strip()[-800:]}")
    return ""


def answers() -> str:
    """The page, retried: with READY from the monitor, httpd may still be binding."""
    end = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/index.html", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def timed_start(unit: str) -> tuple[float, float]:
    """(seconds `systemctl start` took, seconds systemd counted from InactiveExit to
    ActiveEnter)."""
    began = time.monotonic()
    systemctl("start", unit)
    took = time.monotonic() - began
    props = dict(line.split("=", 1) for line in systemctl(
        "show", "-p", "InactiveExitTimestampMonotonic", "-p", "ActiveEnterTimestampMonotonic",
        unit).stdout.split())
    counted = (int(props["ActiveEnterTimestampMonotonic"])
               - int(props["InactiveExitTimestampMonotonic"])) / 1e6
    return took, counted


@pytest.fixture
def cleanup(pd: Pd) -> Iterator[None]:
    """Every unit, container, image and file the test makes goes again."""
    wrote_policy = False
    if not POLICY.exists() and not Path("/etc/containers/policy.json").exists():
        # podman refuses to pull without a signature policy; the guest's set-up may
        # have none (pdman needs none)
        POLICY.parent.mkdir(parents=True, exist_ok=True)
        POLICY.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        wrote_policy = True
    try:
        yield
    finally:
        for unit in (PDMAN_UNIT, PODMAN_UNIT):
            systemctl("stop", unit, check=False)
        (QUADLET_DIR / f"{NAME}.container").unlink(missing_ok=True)
        (USER_UNITS / PODMAN_UNIT).unlink(missing_ok=True)
        systemctl("daemon-reload", check=False)
        pd("rm", "-f", NAME, check=False)
        if shutil.which("podman"):
            podman("rm", "-f", NAME)
            podman("rmi", "-a", "-f")
        if wrote_policy:
            POLICY.unlink(missing_ok=True)


def test_quadlet_unit_and_podman_generate_systemd_unit_start_to_ready(
        pd: Pd, pd_env: dict[str, str], busybox: str, cleanup: None) -> None:
    why = why_podman_cannot_run(busybox)
    if why:
        print(f"SKIPPED: {why}")
        pytest.skip(why)
    print(f"podman: {podman('version', '--format', '{{.Client.Version}}').stdout.strip()}, "
          f"pdman: {pd('version', '--format', '{{.Client.Version}}', check=False).stdout.strip()}")

    # pdman: a Quadlet file, turned into cmpweb.service by pdman's generator
    store = " ".join(f"{k}={pd_env[k]}" for k in
                     ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF"))
    QUADLET_DIR.mkdir(parents=True, exist_ok=True)
    (QUADLET_DIR / f"{NAME}.container").write_text(f"""\
[Container]
Image={busybox}
ContainerName={NAME}
Network=host
StopTimeout=1
Exec=sh -c '{EXEC}'

[Service]
Environment={store}
TimeoutStartSec=300
""")
    # podman: the same container created, then its `generate systemd --new` unit (the
    # start timeout raised as for pdman's: podman's default 90 s is short under TCG)
    created = podman("create", "--name", NAME, "--network", "host", "--stop-timeout", "1",
                     busybox, "sh", "-c", EXEC)
    assert created.returncode == 0, created.stderr
    gen = podman("generate", "systemd", "--new", "--name", NAME)
    assert gen.returncode == 0, gen.stderr
    assert "--sdnotify=conmon" in gen.stdout and "Type=notify" in gen.stdout, gen.stdout
    USER_UNITS.mkdir(parents=True, exist_ok=True)
    (USER_UNITS / PODMAN_UNIT).write_text(
        gen.stdout.replace("[Service]\n", "[Service]\nTimeoutStartSec=300\n", 1))
    assert podman("rm", NAME).returncode == 0     # the --new unit creates its own
    systemctl("daemon-reload")
    pdman_text = Path(os.environ["XDG_RUNTIME_DIR"], "systemd/generator", PDMAN_UNIT).read_text()
    assert "--sdnotify=conmon" in pdman_text, pdman_text

    times: dict[str, list[tuple[float, float]]] = {PDMAN_UNIT: [], PODMAN_UNIT: []}
    for n in range(ROUNDS):
        for unit in (PDMAN_UNIT, PODMAN_UNIT):
            took, counted = timed_start(unit)
            times[unit].append((took, counted))
            print(f"round {n + 1}: {unit} start-to-READY {took:.2f} s (systemd: {counted:.2f} s)")
            assert answers() == f"hello-{NAME}\n", unit
            systemctl("stop", unit)
            after = systemctl("is-active", unit, check=False).stdout.strip()
            if unit == PODMAN_UNIT:
                # busybox httpd as PID 1 ignores SIGTERM: podman's stop kills it after
                # its stop timeout, and its unit, with no SuccessExitStatus=, ends "failed"
                # (podman's behaviour, not what is measured here)
                print(f"round {n + 1}: {unit} after stop: {after}")
                assert after in ("inactive", "failed"), (unit, after)
                systemctl("reset-failed", unit, check=False)
            else:
                assert after == "inactive", (unit, after)
    assert NAME not in pd("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert NAME not in podman("ps", "-a", "--format", "{{.Names}}").stdout.split()

    for label, unit in (("pdman Quadlet", PDMAN_UNIT),
                        ("podman 4.3 generate systemd --new", PODMAN_UNIT)):
        runs = ", ".join(f"{took:.2f} s (systemd: {counted:.2f} s)"
                         for took, counted in times[unit])
        print(f"start-to-READY, {label} ({unit}): {runs}")
