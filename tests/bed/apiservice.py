"""The API service for tests: start `pdman system service` on a socket in the test's
runroot, point the real docker CLI (or an SDK) at it, stop it afterwards.

    service       (function fixture) a running service (--time 0) and the docker CLI
    Service       .docker(...), .request(method, path, body), .env, .sock
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def docker_binary() -> str:
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no docker CLI: run packaging/install-deps.sh (Debian's docker.io)",
                pytrace=False)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


class Service:
    """A running `pdman system service` and the docker CLI pointed at it."""

    def __init__(self, env: dict[str, str], sock: str, proc: subprocess.Popen[str]) -> None:
        self.env, self.sock, self.proc = env, sock, proc
        self.docker_env = dict(env, DOCKER_HOST=f"unix://{sock}")

    def docker(self, *args: object, check: bool = True, timeout: float = 120,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [docker_binary(), *map(str, args)]
        done = subprocess.run(cmd, env=self.docker_env, text=True, capture_output=True,
                              timeout=timeout, input=input, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n--- stdout\n{done.stdout}"
                        f"--- stderr\n{done.stderr}", pytrace=False)
        return done

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        conn = UnixHTTPConnection(self.sock)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


def start_service(env: dict[str, str], *extra: str, sock: str | None = None) -> tuple[subprocess.Popen[str], str]:
    sock = sock or os.path.join(env["PDMAN_RUNROOT"], "api.sock")
    exe = shutil.which("pdman", path=env.get("PATH"))
    assert exe, "pdman not on PATH"
    # its output to a file: a pipe nobody reads while the test runs could fill and block it
    log = open(os.path.join(env["PDMAN_RUNROOT"], "service.log"), "a")
    proc = subprocess.Popen([exe, "system", "service", *extra, f"unix://{sock}"], env=env,
                            text=True, stdout=log, stderr=log)
    log.close()
    deadline = time.monotonic() + 30
    while not os.path.exists(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"the service did not start (exit {proc.returncode}):\n"
                        f"{service_log(env)}", pytrace=False)
        time.sleep(0.02)
    return proc, sock


def service_log(env: dict[str, str]) -> str:
    try:
        return Path(env["PDMAN_RUNROOT"], "service.log").read_text()
    except OSError:
        return ""


def stop_service(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def service(registry_env: dict[str, str], tmp_path: Path) -> Iterator[Service]:
    env = dict(registry_env, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    proc, sock = start_service(env, "--time", "0")
    svc = Service(env, sock, proc)
    try:
        yield svc
    finally:
        stop_service(proc)
        err = service_log(env)
        print(err)
        assert "Traceback" not in err, "the service hit an internal error"


