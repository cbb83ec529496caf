"""`pdman auto-update --dry-run` on the host (no systemd here: nothing is restarted),
against the real test registry: which containers have a newer image, by policy."""

from __future__ import annotations

import json
import subprocess
import uuid

from tests.bed.runner import run_pdman

NONE = ("--network", "none")


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def dry_run(env: dict[str, str]) -> dict[str, dict[str, str]]:
    out = pd(env, "auto-update", "--dry-run", "--format", "json", check=False).stdout
    return {r["ContainerName"]: r for r in json.loads(out)}


def test_dry_run_reports_pending_for_a_newer_image(registry_env: dict[str, str], busybox: str,
                                                   testbed: object) -> None:
    env = registry_env
    registry = busybox.split("/", 1)[0]
    name = f"{registry}/autoupdate-{uuid.uuid4().hex[:8]}:latest"
    pd(env, "tag", busybox, name)
    pd(env, "push", "-q", name)
    pd(env, "rmi", name)
    pd(env, "pull", "-q", name)                  # the local image has the registry's digest
    unit_env = dict(env, PODMAN_SYSTEMD_UNIT="web.service")
    run_pdman("run", "-d", *NONE, "--name", "reg", "--label", "io.containers.autoupdate=registry",
              name, "sleep", "300", env=unit_env)
    run_pdman("run", "-d", *NONE, "--name", "loc", "--label", "io.containers.autoupdate=local",
              name, "sleep", "300",
              env=dict(env, PODMAN_SYSTEMD_UNIT="loc.service"))
    pd(env, "run", "-d", *NONE, "--name", "nolabel", name, "sleep", "300")
    pd(env, "run", "-d", *NONE, "--name", "nounit", "--label", "io.containers.autoupdate=local",
       name, "sleep", "300")
    # the unit is recorded as podman records it
    labels = json.loads(pd(env, "inspect", "reg").stdout)[0]["Config"]["Labels"]
    assert labels["PODMAN_SYSTEMD_UNIT"] == "web.service"

    seen = dry_run(env)
    assert set(seen) == {"reg", "loc", "nounit"}
    assert (seen["reg"]["Unit"], seen["reg"]["Policy"], seen["reg"]["Updated"]) == \
        ("web.service", "registry", "false")
    assert seen["reg"]["Image"] == name
    assert (seen["loc"]["Policy"], seen["loc"]["Updated"]) == ("local", "false")
    assert seen["nounit"]["Updated"] == "failed"

    # a new image under the same name, in the registry only: registry policy pending
    pd(env, "commit", "reg", f"{registry}/autoupdate-next:latest")
    pd(env, "push", "-q", f"{registry}/autoupdate-next:latest", name)
    seen = dry_run(env)
    assert seen["reg"]["Updated"] == "pending"
    assert seen["loc"]["Updated"] == "false"       # the local store has not changed
    # ... and locally: the local policy is pending too
    pd(env, "tag", f"{registry}/autoupdate-next:latest", name)
    seen = dry_run(env)
    assert (seen["reg"]["Updated"], seen["loc"]["Updated"]) == ("pending", "pending")

    # nothing was changed by the dry run: the containers still run their old image
    ids = {c: json.loads(pd(env, "inspect", c).stdout)[0]["Image"] for c in ("reg", "loc")}
    assert len(set(ids.values())) == 1

    # podman's table
    table = pd(env, "auto-update", "--dry-run", check=False).stdout.splitlines()
    assert table[0].split() == ["UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED"]
    row = next(line for line in table if line.startswith("web.service"))
    assert row.split()[-1] == "pending" and "(reg)" in row
    # a container without a unit is an error, with podman's exit code
    done = pd(env, "auto-update", "--dry-run", check=False)
    assert done.returncode == 125 and "PODMAN_SYSTEMD_UNIT" in done.stderr
    assert "Traceback" not in done.stderr
