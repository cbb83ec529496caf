"""podman-compose against pdman, as the unprivileged user (issue #17): both the
podman-compose Debian 12 ships (1.0.3) and the current one from PyPI (1.x, a test
extra), the latter in its default pod mode and with `--in-pod=false`.

A three-service application: `web` (httpd on a published port), `client` (depends on
web and fetches it by its service name), `store` (writes into a named volume). `up -d`,
`ps`, `logs`, `exec`, then `down -v` must leave nothing of the project: no containers,
pods, volumes, networks, and no processes of the store.

podman-compose runs `podman`: 1.0.3 finds it on PATH (a `podman` shim in a directory
of the test's own, in front of PATH, that execs pdman; the host's podman is never
touched), the PyPI one is given `--podman-path`. Traffic goes only to 127.0.0.1 and
inside the project's own network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bed.runner import http_get, run_pdman, wait_for
from tests.integration.test_pods import free_port, store_processes, wait_gone

DEBIAN_COMPOSE = "/usr/bin/podman-compose"
PROJECT = "pcapp"

COMPOSE_FILE = """\
version: "3.7"
services:
  web:
    image: {image}
    command: ["sh", "-c", "mkdir -p /www && echo web-ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:{port}:8080"]
  client:
    image: {image}
    depends_on: [web]
    command: ["sh", "-c", "while true; do echo \\"client got: $$(wget -q -O - http://web:8080/)\\"; sleep 0.5; done"]
  store:
    image: {image}
    command: ["sh", "-c", "echo stored > /data/value && echo store-ready && exec sleep 1000"]
    volumes: ["appdata:/data"]
volumes:
  appdata: {{}}
"""


def compose_command(flavour: str, shim_dir: Path) -> list[str]:
    """The podman-compose command line for one flavour, pointed at pdman."""
    pdman = shutil.which("pdman")
    assert pdman, "no pdman on PATH"
    if flavour == "debian":
        if not os.access(DEBIAN_COMPOSE, os.X_OK):
            pytest.fail("no /usr/bin/podman-compose: run packaging/install-deps.sh "
                        "(Debian's podman-compose 1.0.3)", pytrace=False)
        # 1.0.3 runs `podman` from PATH: a shim of the test's own, first on PATH
        shim_dir.mkdir()
        shim = shim_dir / "podman"
        shim.write_text(f'#!/bin/sh\nexec "{pdman}" "$@"\n')
        shim.chmod(0o755)
        return [DEBIAN_COMPOSE, "-p", PROJECT]
    pypi = Path(sys.executable).parent / "podman-compose"
    if not pypi.exists():
        pytest.fail(f"no {pypi}: install pdman's test extras (podman-compose from PyPI)",
                    pytrace=False)
    cmd = [str(pypi), "--podman-path", pdman, "-p", PROJECT]
    if flavour == "pypi-no-pod":
        cmd.append("--in-pod=false")
    return cmd


def project_objects(env: dict[str, str]) -> dict[str, list[str]]:
    """What pdman holds of the project, by podman-compose's label and its names."""
    label = f"label=io.podman.compose.project={PROJECT}"

    def lines(*args: str) -> list[str]:
        return [ln for ln in run_pdman(*args, env=env).stdout.split("\n") if ln.strip()]

    return {
        "containers": lines("ps", "-a", "--filter", label, "--format", "{{.Names}}"),
        "pods": [p for p in lines("pod", "ps", "--format", "{{.Name}}") if PROJECT in p],
        "volumes": [v for v in lines("volume", "ls", "--format", "{{.Name}}") if PROJECT in v],
        "networks": [n for n in lines("network", "ls", "--format", "{{.Name}}") if PROJECT in n],
    }


@pytest.mark.parametrize("flavour", ["debian", "pypi", "pypi-no-pod"])
def test_three_services_up_ps_logs_exec_down(flavour: str, registry_env: dict[str, str],
                                            busybox: str, tmp_path: Path) -> None:
    port = free_port()
    app = tmp_path / "app"
    app.mkdir()
    (app / "docker-compose.yml").write_text(COMPOSE_FILE.format(image=busybox, port=port))
    shim_dir = tmp_path / "shim"
    cmd = compose_command(flavour, shim_dir)
    env = dict(registry_env, PATH=f"{shim_dir}:{registry_env['PATH']}")

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*cmd, *args], cwd=app, env=env, text=True, capture_output=True,
                              timeout=180, check=False)
        if done.returncode != 0:
            pytest.fail(f"podman-compose ({flavour}) {' '.join(args)} exited "
                        f"{done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}",
                        pytrace=False)
        return done

    try:
        compose("up", "-d")
        names = {f"{PROJECT}_{s}_1" for s in ("web", "client", "store")}
        objects = project_objects(env)
        assert set(objects["containers"]) == names
        assert objects["volumes"] == [f"{PROJECT}_appdata"]
        if flavour == "pypi":
            assert objects["pods"] == [f"pod_{PROJECT}"]
        # the published port answers; the client reaches web by its service name
        _, body = http_get(f"http://127.0.0.1:{port}/")
        assert body.decode().strip() == "web-ok"
        wait_for(lambda: "client got: web-ok" in compose("logs", "client").stdout, timeout=30)
        listed = compose("ps").stdout
        assert all(n in listed for n in names), listed
        assert "store-ready" in compose("logs", "store").stdout
        # (1.0.3 prints its own trace on stdout too: the file's line is one of them)
        assert "stored" in compose("exec", "store", "cat", "/data/value").stdout.splitlines()
        running = run_pdman("ps", "--filter", f"label=io.podman.compose.project={PROJECT}",
                            "--format", "{{.Names}} {{.Status}}", env=env).stdout
        assert all(f"{n} Up" in running for n in names), running

        compose("down", "-v", "-t", "1")
        left = project_objects(env)
        if flavour == "debian":
            # podman-compose 1.0.3 creates the project's network and never removes it
            # (its `down` has no network step; the same with podman): the one leftover
            assert left["networks"] == [f"{PROJECT}_default"]
            run_pdman("network", "rm", f"{PROJECT}_default", env=env)
            left["networks"] = []
        assert left == {"containers": [], "pods": [], "volumes": [], "networks": []}
        assert run_pdman("ps", "-aq", env=env).stdout.strip() == ""
        assert wait_gone(lambda: store_processes(env)) == []
    finally:
        subprocess.run([*cmd, "down", "-v", "-t", "0"], cwd=app, env=env,
                       capture_output=True, timeout=120, check=False)
