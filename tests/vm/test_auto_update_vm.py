"""`pdman auto-update` with a real systemd user manager (issue 16): a unit that runs a
container of a registry image moves to a newly pushed image, and rolls back when the
new image fails to start.

The unit is written by hand in the shape podman's `generate systemd --new` gives
(`run --replace --rm` in the foreground, PODMAN_SYSTEMD_UNIT=%n), so this test does not
depend on pdman's own unit generation. Its container's PID 1 exits on SIGTERM (a
trap): a PID 1 that ignores it would make every restart of the unit wait out
TimeoutStopSec (each restart is the same stop, so only waiting is saved). Every pdman
command costs seconds under emulation: the test runs as few as it can."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vm.conftest import Pd

UNIT = "pdman-autoupdate-test.service"


def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                          timeout=300, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"systemctl --user {' '.join(args)}: {done.stderr}", pytrace=False)
    return done


def running(pd: Pd, name: str, timeout: float = 180) -> dict[str, Any]:
    """The inspect document of the container `name` once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = pd("container", "inspect", name, check=False)
        if done.returncode == 0:
            doc = json.loads(done.stdout)[0]
            if doc["State"]["Running"]:
                return doc  # type: ignore[no-any-return]
        time.sleep(0.25)
    status = systemctl("status", "--no-pager", UNIT, check=False).stdout
    pytest.fail(f"container {name} does not run:\n{status}", pytrace=False)


def running_image(pd: Pd, name: str) -> str:
    """The image ID of the container `name` once it runs."""
    return str(running(pd, name)["Image"]).removeprefix("sha256:")


def image_id(pd: Pd, name: str) -> str:
    return pd("image", "inspect", "--format", "{{.Id}}", name).stdout.strip().removeprefix("sha256:")


def test_auto_update_moves_to_a_new_image_and_rolls_back(pd: Pd, pd_env: dict[str, str],
                                                         busybox: str) -> None:
    registry = busybox.split("/", 1)[0]
    image = f"{registry}/autoup:latest"
    pd("push", "-q", busybox, image)
    pd("pull", "-q", image)                 # the local image carries the registry's digest
    first = image_id(pd, image)

    exe = shutil.which("pdman")
    units = Path.home() / ".config/systemd/user"
    units.mkdir(parents=True, exist_ok=True)
    env_lines = "".join(f"Environment={k}={pd_env[k]}\n" for k in
                        ("PDMAN_ROOT", "PDMAN_RUNROOT", "CONTAINERS_REGISTRIES_CONF"))
    (units / UNIT).write_text(
        "[Unit]\nDescription=pdman auto-update test\n\n[Service]\n"
        "Environment=PODMAN_SYSTEMD_UNIT=%n\n" + env_lines +
        f"ExecStart={exe} run --replace --rm --network none --name autoup "
        f"--label io.containers.autoupdate=registry {image} "
        """sh -c 'trap "exit 0" TERM; sleep 100000 & wait'\n"""
        "Restart=no\nTimeoutStopSec=60\n")
    systemctl("daemon-reload")
    try:
        systemctl("start", UNIT)
        assert running_image(pd, "autoup") == first

        # nothing new in the registry
        out = json.loads(pd("auto-update", "--format", "json").stdout)
        assert [(r["Unit"], r["Updated"]) for r in out] == [(UNIT, "false")]

        # a new image is pushed under the same name: the unit moves to it
        pd("commit", "--change", "LABEL version=2", "autoup", f"{registry}/autoup-v2:latest")
        pd("push", "-q", f"{registry}/autoup-v2:latest", image)
        dry = json.loads(pd("auto-update", "--dry-run", "--format", "json").stdout)
        assert [r["Updated"] for r in dry] == ["pending"]
        out = json.loads(pd("auto-update", "--format", "json").stdout)
        assert [(r["Unit"], r["Image"], r["Policy"], r["Updated"]) for r in out] == \
            [(UNIT, image, "registry", "true")]
        doc = running(pd, "autoup")
        second = str(doc["Image"]).removeprefix("sha256:")
        assert second != first and second == image_id(pd, image)
        labels = doc["Config"]["Labels"]
        assert labels.get("version") == "2" and labels["PODMAN_SYSTEMD_UNIT"] == UNIT
        assert systemctl("is-active", UNIT, check=False).stdout.strip() == "active"

        # a broken image (its entrypoint does not exist) is pushed: the restarted unit
        # fails, auto-update names the image again the one that worked and restarts it
        pd("commit", "--change", 'ENTRYPOINT ["/does/not/exist"]', "autoup",
           f"{registry}/autoup-bad:latest")
        pd("push", "-q", f"{registry}/autoup-bad:latest", image)
        done = pd("auto-update", check=False)
        assert done.returncode == 125, done.stdout + done.stderr
        row = next(line for line in done.stdout.splitlines() if line.startswith(UNIT))
        assert row.split()[-1] == "failed"
        assert "rolled back" in done.stderr and "Traceback" not in done.stderr
        assert running_image(pd, "autoup") == second
        assert image_id(pd, image) == second
        assert systemctl("is-active", UNIT, check=False).stdout.strip() == "active"
        # with --rollback=false it would have stayed down; the events say what happened
        evs = [json.loads(line) for line in pd(
            "events", "--no-stream", "--format", "json", "--filter", "type=image").stdout.splitlines()]
        assert ("pull", image) in [(e["Status"], e.get("Name")) for e in evs]
    finally:
        systemctl("stop", UNIT, check=False)
        (units / UNIT).unlink(missing_ok=True)
        systemctl("daemon-reload", check=False)
        systemctl("reset-failed", UNIT, check=False)
