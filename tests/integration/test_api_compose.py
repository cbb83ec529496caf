"""docker-compose (Debian's 1.29, which speaks the Docker API through docker-py)
against `pdman system service`: a two-service app with a named network, depends_on, a
published port and a named volume; ps, logs, exec, then `down -v` leaving nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bed.apiservice import Service, service  # noqa: F401 - the fixture
from tests.bed.runner import http_get, run_pdman


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("no docker-compose: run packaging/install-deps.sh (Debian's docker-compose)",
                    pytrace=False)
    return found


def test_compose_two_services(service: Service, busybox: str, tmp_path: Path) -> None:  # noqa: F811
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    project = tmp_path / "app"
    project.mkdir()
    (project / "docker-compose.yml").write_text(f"""
version: "3.7"
services:
  db:
    image: {busybox}
    command: ["sh", "-c", "echo db-ready; echo stored > /data/value; mkdir /www; echo from-db > /www/index.html; exec httpd -f -p 8080 -h /www"]
    volumes: ["appdata:/data"]
    networks: [backend]
  web:
    image: {busybox}
    depends_on: [db]
    command: ["sh", "-c", "mkdir -p /www && echo web-ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:{port}:8080"]
    networks: [backend]
networks:
  backend: {{}}
volumes:
  appdata: {{}}
""")
    env = dict(service.docker_env, COMPOSE_PROJECT_NAME="pdmanapp")

    def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([compose_binary(), *args], cwd=project, env=env, text=True,
                              capture_output=True, timeout=180, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"docker-compose {' '.join(args)} exited {done.returncode}\n"
                        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}", pytrace=False)
        return done

    compose("up", "-d")
    _, body = http_get(f"http://127.0.0.1:{port}/")
    assert body.decode().strip() == "web-ok"
    ps = compose("ps").stdout
    assert "pdmanapp_db_1" in ps and "pdmanapp_web_1" in ps
    assert "db-ready" in compose("logs", "db").stdout
    # the web container reaches db by its service name, on the named network
    fetch = "for i in $(seq 50); do wget -q -O- http://db:8080/ && exit 0; sleep 0.2; done; exit 1"
    assert compose("exec", "-T", "web", "sh", "-c", fetch).stdout.strip() == "from-db"
    assert compose("exec", "-T", "db", "cat", "/data/value").stdout == "stored\n"
    compose("down", "-v")
    assert run_pdman("ps", "-aq", env=service.env).stdout.strip() == ""
    assert "pdmanapp" not in run_pdman("volume", "ls", env=service.env).stdout
    assert "pdmanapp" not in run_pdman("network", "ls", env=service.env).stdout
