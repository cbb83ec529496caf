"""The Docker-compatible API service (`pdman system service`) driven by the REAL docker
CLI, as the unprivileged test user, against the test registry.

The docker CLI is Debian's (`docker.io`, installed by packaging/install-deps.sh, at
/usr/bin/docker) when present, else whichever `docker` is on PATH. It negotiates the
API version through /_ping and /version like against dockerd. Every test starts its
own service on a socket in its own runroot and stops it at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bed.apiservice import (Service, docker_binary, service, service_log,  # noqa: F401
                                  start_service, stop_service)
from tests.bed.runner import http_get, run_pdman, wait_for


@pytest.fixture
def image(service: Service, busybox: str) -> str:
    return busybox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------

def test_ping_version_and_prefixes(service: Service) -> None:
    status, headers, body = service.request("GET", "/_ping")
    assert (status, body) == (200, b"OK") and headers["Api-Version"] == "1.44"
    status, headers, body = service.request("HEAD", "/_ping")
    assert status == 200 and body == b""
    for prefix in ("", "/v1.41", "/v1.44"):
        status, _, body = service.request("GET", prefix + "/version")
        doc = json.loads(body)
        assert status == 200 and doc["ApiVersion"] == "1.44" and doc["MinAPIVersion"] == "1.24"
    status, _, body = service.request("GET", "/v1.99/version")
    assert status == 400 and "too new" in json.loads(body)["message"]
    status, _, body = service.request("GET", "/containers/nosuch/json")
    assert status == 404 and "nosuch" in json.loads(body)["message"]
    # what pdman cannot do is refused, never ignored
    status, _, body = service.request("POST", "/containers/create",
                                      {"Image": "busybox", "HostConfig": {"Devices": [
                                          {"PathOnHost": "/dev/kmsg"}]}})
    assert status == 400 and "Devices" in json.loads(body)["message"]
    status, _, body = service.request("POST", "/build")       # no context: docker's 400
    assert status == 400 and "tar archive" in json.loads(body)["message"]
    out = service.docker("version", "--format", "{{.Server.APIVersion}}").stdout
    assert out.strip() == "1.44"
    info = service.docker("info", "--format", "{{.Driver}} {{.OSType}}").stdout
    assert info.strip() == "overlay linux"


def other_docker_clis() -> list[str]:
    """Every distinct docker CLI on this machine (Debian's 20.10 speaks API 1.41; a
    newer one negotiates down to 1.44)."""
    found = []
    for candidate in ("/usr/bin/docker", "/usr/local/bin/docker", shutil.which("docker")):
        if candidate and os.access(candidate, os.X_OK) and \
                os.path.realpath(candidate) not in map(os.path.realpath, found):
            found.append(candidate)
    return found


def test_every_docker_cli_here_runs_a_container(service: Service, image: str) -> None:
    clis = other_docker_clis()
    print("docker CLIs:", clis)
    for cli in clis:
        done = subprocess.run([cli, "run", "--rm", image, "echo", "via", cli],
                              env=service.docker_env, text=True, capture_output=True,
                              timeout=120, check=False)
        assert (done.returncode, done.stdout) == (0, f"via {cli}\n"), done.stderr


def test_run_interactive_with_a_tty(service: Service, image: str) -> None:
    import pexpect

    child = pexpect.spawn(docker_binary(), ["run", "-it", "--rm", image, "sh"],
                          env=service.docker_env, timeout=30, encoding="utf-8")
    try:
        child.sendline("echo $((6*7))")       # typed even if the first prompt came early
        child.expect("42")
        child.sendline("exit 4")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 4


def test_run_rm_prints_and_returns_the_exit_code(service: Service, image: str) -> None:
    done = service.docker("run", "--rm", image, "echo", "hi")
    assert done.stdout == "hi\n"
    done = service.docker("run", "--rm", image, "sh", "-c", "echo out; echo err >&2; exit 3",
                          check=False)
    assert done.returncode == 3
    assert done.stdout == "out\n" and "err" in done.stderr
    # --rm: nothing left behind, as the CLI sees it too
    assert run_pdman("ps", "-aq", env=service.env).stdout.strip() == ""


def test_run_detached_with_port_answers_http(service: Service, image: str) -> None:
    port = free_port()
    cid = service.docker(
        "run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:8080", image, "sh", "-c",
        "mkdir /www && echo hello-from-api > /www/index.html && httpd -f -p 8080 -h /www"
    ).stdout.strip()
    assert len(cid) == 64

    assert http_get(f"http://127.0.0.1:{port}/")[1].decode().strip() == "hello-from-api"
    ps = service.docker("ps", "--format", "{{.Names}} {{.Ports}} {{.State}}").stdout
    assert f"web 127.0.0.1:{port}->8080/tcp running" in ps
    # the CLI sees what the API made
    assert "web" in run_pdman("ps", "--format", "{{.Names}}", env=service.env).stdout
    doc = json.loads(service.docker("inspect", "web").stdout)[0]
    assert doc["Id"] == cid and doc["Name"] == "/web" and doc["State"]["Running"] is True
    assert doc["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"] == str(port)
    service.docker("stop", "-t", "1", "web")
    assert json.loads(service.docker("inspect", "web").stdout)[0]["State"]["Status"] == "exited"
    service.docker("rm", "web")
    assert service.docker("ps", "-aq").stdout.strip() == ""


def test_logs_follow_streams_until_exit(service: Service, image: str) -> None:
    cid = service.docker("run", "-d", image, "sh", "-c",
                         "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo bad >&2"
                         ).stdout.strip()
    done = service.docker("logs", "-f", cid)
    assert done.stdout == "line1\nline2\nline3\n" and done.stderr == "bad\n"
    tail = service.docker("logs", "--tail", "2", cid)
    assert (tail.stdout, tail.stderr) == ("line3\n", "bad\n")
    assert service.docker("wait", cid).stdout.strip() == "0"


def test_exec_interactive_on_a_real_pty(service: Service, image: str) -> None:
    import pexpect

    service.docker("run", "-d", "--name", "box", image, "sleep", "300")
    child = pexpect.spawn(docker_binary(), ["exec", "-it", "box", "sh"], env=service.docker_env,
                          timeout=30, encoding="utf-8")
    try:
        child.expect("# ")
        child.sendline("echo $((6*7)); test -t 0 && echo on-a-terminal")
        child.expect("42")
        child.expect("on-a-terminal")
        child.sendline("exit 5")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5
    done = service.docker("exec", "box", "sh", "-c", "echo piped; exit 2", check=False)
    assert (done.returncode, done.stdout) == (2, "piped\n")
    done = service.docker("exec", "box", "no-such-command", check=False)
    assert done.returncode == 127 and "no-such-command" in done.stderr
    service.docker("rm", "-f", "box")


def test_images_pull_tag_push_inspect(service: Service, testbed: Any, tmp_path: Path) -> None:
    ref = testbed.image("busybox")
    out = service.docker("pull", ref).stdout
    assert "Digest: sha256:" in out
    images = service.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert ref in images
    doc = json.loads(service.docker("image", "inspect", ref).stdout)[0]
    assert doc["Id"].startswith("sha256:") and ref in doc["RepoTags"]
    copy = f"{testbed.registry}/api-pushed:v1"
    service.docker("tag", ref, copy)
    service.docker("push", copy)
    service.docker("rmi", copy)
    service.docker("pull", copy)
    assert copy in service.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    done = service.docker("pull", f"{testbed.registry}/no-such-image:v1", check=False)
    assert done.returncode != 0


def test_cp_both_ways_stats_network_volume_df(service: Service, image: str, tmp_path: Path) -> None:
    service.docker("run", "-d", "--name", "files", image, "sleep", "300")
    src = tmp_path / "in.txt"
    src.write_text("into the container\n")
    service.docker("cp", str(src), "files:/tmp/")
    assert service.docker("exec", "files", "cat", "/tmp/in.txt").stdout == "into the container\n"
    service.docker("exec", "files", "sh", "-c", "echo out of it > /tmp/out.txt")
    service.docker("cp", "files:/tmp/out.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "out of it\n"
    stats = service.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}",
                           "files").stdout
    assert stats.startswith("files ")
    service.docker("commit", "files", "api-committed:v1")
    assert service.docker("run", "--rm", "api-committed:v1", "cat", "/tmp/in.txt").stdout == \
        "into the container\n"
    service.docker("rm", "-f", "files")

    service.docker("volume", "create", "apivol")
    assert "apivol" in service.docker("volume", "ls", "--format", "{{.Name}}").stdout
    service.docker("run", "--rm", "-v", "apivol:/data", image, "sh", "-c", "echo kept > /data/f")
    assert service.docker("run", "--rm", "-v", "apivol:/data", image,
                          "cat", "/data/f").stdout == "kept\n"
    df = service.docker("system", "df").stdout
    assert "Images" in df and "Local Volumes" in df


def test_network_name_resolution(service: Service, image: str) -> None:
    service.docker("network", "create", "apinet")
    service.docker("run", "-d", "--network", "apinet", "--name", "server", image, "sh", "-c",
                   "mkdir /www && echo from-server > /www/index.html && httpd -f -p 8080 -h /www")
    fetch = "for i in $(seq 50); do wget -q -O- http://server:8080/ && exit 0; sleep 0.2; done; exit 1"
    done = service.docker("run", "--rm", "--network", "apinet", image, "sh", "-c", fetch)
    assert done.stdout.strip() == "from-server"
    service.docker("rm", "-f", "server")
    service.docker("network", "rm", "apinet")


def test_containers_outlive_the_service_and_idle_exit(registry_env: dict[str, str], busybox: str,
                                                      tmp_path: Path) -> None:
    env = dict(registry_env, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    proc, sock = start_service(env, "--time", "0")
    svc = Service(env, sock, proc)
    try:
        svc.docker("run", "-d", "--name", "survivor", busybox, "sleep", "300")
    finally:
        stop_service(proc)
    assert not os.path.exists(sock)          # a clean stop removes its socket
    state = json.loads(run_pdman("inspect", "survivor", env=env).stdout)[0]["State"]
    assert state["Running"] is True           # the container did not depend on it
    run_pdman("run", "-d", "--name", "from-cli", busybox, "sleep", "300", env=env)
    # a service with an idle timeout exits by itself once nobody is connected...
    proc, sock = start_service(env, "--time", "1")
    svc = Service(env, sock, proc)
    names = svc.docker("ps", "--format", "{{.Names}}").stdout.split()
    assert sorted(names) == ["from-cli", "survivor"]   # ...and sees what the CLI made
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stop_service(proc)
        pytest.fail("the service did not exit when idle")
    assert proc.returncode == 0
    run_pdman("rm", "-f", "survivor", "from-cli", env=env)


def test_socket_activation_serves_the_passed_socket(registry_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    """systemd's way (pdman.socket): the socket exists before the service; the first
    connection starts it with the socket in LISTEN_FDS; it exits when idle."""
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        pytest.skip("systemd-socket-activate (Debian's systemd package) is not installed")
    env = dict(registry_env, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    sock = os.path.join(env["PDMAN_RUNROOT"], "activated.sock")
    exe = shutil.which("pdman", path=env.get("PATH"))
    assert exe
    with open(os.path.join(env["PDMAN_RUNROOT"], "service.log"), "a") as log:
        proc = subprocess.Popen([tool, "-l", sock, exe, "system", "service", "--time", "1"],
                                env=env, stdout=log, stderr=log)
    try:
        wait_for(lambda: os.path.exists(sock))
        svc = Service(env, sock, proc)
        status, headers, body = svc.request("GET", "/_ping")
        assert (status, body) == (200, b"OK")
        assert svc.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip() == "1.44"
        assert proc.wait(timeout=30) == 0      # idle: the service exits by itself
    finally:
        stop_service(proc)
    assert "Traceback" not in service_log(env)


def test_events_stream_container_changes(service: Service, image: str) -> None:
    until = int(time.time()) + 6
    events = subprocess.Popen([docker_binary(), "events", "--until", str(until), "--filter",
                               "type=container", "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                              env=service.docker_env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        service.docker("run", "-d", "--name", "evented", image, "sleep", "1.5")
        out, err = events.communicate(timeout=60)
    finally:
        if events.poll() is None:
            events.kill()
            events.communicate()
    lines = out.splitlines()
    assert "create evented" in lines and "start evented" in lines and "die evented" in lines, err
    service.docker("rm", "evented")


def test_events_since_until_replay_the_log(service: Service, image: str) -> None:
    since = time.time() - 1
    service.docker("run", "--rm", "--name", "replayed", image, "true")
    service.docker("volume", "create", "replayvol")
    service.docker("volume", "rm", "replayvol")
    until = time.time() + 1
    out = service.docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                         "--filter", "container=replayed",
                         "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").stdout
    actions = [line.split()[1] for line in out.splitlines()]
    assert actions[:3] == ["create", "init", "start"], out
    assert {"die", "destroy"} <= set(actions) and actions[-1] == "destroy", out
    out = service.docker("events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                         "--filter", "type=volume", "--format", "{{json .}}").stdout
    docs = [json.loads(line) for line in out.splitlines()]
    assert [(d["Action"], d["Actor"]["ID"]) for d in docs] == [("create", "replayvol"),
                                                             ("destroy", "replayvol")]
    assert all(d["scope"] == "local" and d["timeNano"] // 10 ** 9 == d["time"] for d in docs)
    # the same log as `pdman events`
    pd_out = run_pdman("events", "--no-stream", "--filter", "volume=replayvol", "--format",
                       "{{.Status}}", env=service.env).stdout
    assert pd_out.splitlines() == ["create", "remove"]
