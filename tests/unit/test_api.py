"""The API service's pure parts: URIs, versions, the error mapping, the peer check,
HTTP parsing (chunked bodies, hijacking), and docker's create body -> CreateOptions."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from pdman.api import containers as capi, http, router, server
from pdman.errors import (ConflictError, ContainerNotFound, ImageNotFound, PdmanError,
                          UsageError)


def test_parse_uri() -> None:
    assert server.parse_uri("unix:///run/user/1/pdman/pdman.sock") == \
        ("unix", "/run/user/1/pdman/pdman.sock")
    assert server.parse_uri("/tmp/x.sock") == ("unix", "/tmp/x.sock")
    assert server.parse_uri("tcp://127.0.0.1:2375") == ("tcp", ("127.0.0.1", 2375))
    for bad in ("unix://relative", "tcp://127.0.0.1", "http://x:1", "tcp://h:99999"):
        with pytest.raises(UsageError):
            server.parse_uri(bad)


def test_versions() -> None:
    assert router.split_version("/v1.41/containers/json") == ("1.41", "/containers/json")
    assert router.split_version("/containers/json") == ("1.44", "/containers/json")
    assert router.split_version("/v1.24/_ping") == ("1.24", "/_ping")
    with pytest.raises(UsageError, match="too new"):
        router.split_version("/v1.45/version")
    with pytest.raises(UsageError, match="too old"):
        router.split_version("/v1.12/version")


def test_one_error_mapping() -> None:
    cases = [(ContainerNotFound("no such container x"), 404),
             (ImageNotFound("no such image"), 404), (ConflictError("in use"), 409),
             (UsageError("bad"), 400), (PdmanError("engine"), 500),
             (router.Unsupported("no"), 501), (RuntimeError("bug"), 500)]
    for exc, status in cases:
        code, body = router.error_body(exc)
        assert code == status and isinstance(body["message"], str) and body["message"]


def test_peer_check_allows_the_owner_only() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert server.peer_uid(a) == os.getuid()
        assert server.peer_allowed(a)
        assert not server.peer_allowed(a, owner=os.getuid() + 1)
    finally:
        a.close()
        b.close()


def test_socket_is_private(tmp_path: object) -> None:
    base = os.path.join(str(tmp_path), "run")
    path = os.path.join(base, "pdman.sock")
    sock = server.listen_unix(path)
    try:
        assert os.stat(path).st_mode & 0o777 == 0o600
        assert os.stat(base).st_mode & 0o777 == 0o700
    finally:
        sock.close()
    os.chmod(base, 0o777)           # a directory others may write to is refused
    with pytest.raises(UsageError, match="not private"):
        server.listen_unix(path)


def _roundtrip(raw: bytes) -> tuple[http.Request | None, bytes]:
    a, b = socket.socketpair()
    a.sendall(raw)
    a.shutdown(socket.SHUT_WR)
    conn = http.Connection(b)
    req = conn.next_request()
    body = req.body() if req else b""
    conn.close()
    a.close()
    return req, body


def test_chunked_request_body_and_query() -> None:
    req, body = _roundtrip(b"PUT /v1.41/containers/x/archive?path=%2Ftmp&noOverwriteDirNonDir=1 "
                           b"HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert req is not None and req.method == "PUT" and req.arg("path") == "/tmp"
    assert req.flag("noOverwriteDirNonDir") and body == b"hello world"


def test_hijack_answers_101_then_raw_bytes() -> None:
    a, b = socket.socketpair()
    a.sendall(b"POST /containers/x/attach?stream=1 HTTP/1.1\r\nHost: d\r\n"
              b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    conn = http.Connection(b)
    req = conn.next_request()
    assert req is not None
    raw = conn.hijack(req, "application/vnd.docker.raw-stream")
    raw.sendall(http.frame(1, b"hi\n"))
    conn.close()
    data = b""
    while chunk := a.recv(4096):
        data += chunk
    a.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 UPGRADED") and b"Upgrade: tcp" in head
    assert rest == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"


def test_dispatch_routes_and_answers_json() -> None:
    router.load()
    a, b = socket.socketpair()
    a.sendall(b"GET /v1.43/_ping HTTP/1.1\r\nHost: d\r\n\r\n"
              b"GET /nowhere HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
    conn = http.Connection(b)

    def serve() -> None:
        while conn.keep_alive and (req := conn.next_request()) is not None:
            router.dispatch(None, req, conn)  # type: ignore[arg-type]
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    data = b""
    while chunk := a.recv(4096):
        data += chunk
    t.join()
    a.close()
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200") and first.endswith(b"OK")
    assert second.startswith(b"404") and b"page not found" in second


def test_routes_match_segment_by_segment() -> None:
    def fit(pattern: str, path: str) -> "dict[str, str] | None":
        found: list[dict[str, str]] = []

        @router.route("GET", pattern)
        def handler() -> None:
            pass

        _m, segments, rest, _h = router._ROUTES.pop()
        params = router.match(segments, rest, path)
        if params is not None:
            found.append(params)
        return found[0] if found else None

    assert fit("/containers/{name}/json", "/containers/abc/json") == {"name": "abc"}
    assert fit("/containers/{name}/json", "/containers//json") is None
    assert fit("/containers/{name}/json", "/containers/a/b/json") is None
    assert fit("/containers/json", "/containers/json/") is None
    name = "127.0.0.1:5000/library/busybox:latest"
    assert fit("/images/{name:path}/json", f"/images/{name}/json") == {"name": name}
    assert fit("/images/{name:path}/json", "/images/json") is None
    assert fit("/images/{name:path}", f"/images/{name}") == {"name": name}
    assert fit("/images/{name:path}", "/images/") is None
    assert fit("/images/{name:path}/json", "/images/a/json/json") == {"name": "a/json"}
    assert router.split_version("/v1.43/containers/json") == ("1.43", "/containers/json")
    assert router.split_version("/version") == (router.API_VERSION, "/version")
    assert router.split_version("/vx.1/_ping") == (router.API_VERSION, "/vx.1/_ping")


def test_a_request_target_without_query_or_escapes_needs_no_urllib() -> None:
    a, b = socket.socketpair()
    a.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n"
              b"GET /images/a%2Fb/json?all=1&x= HTTP/1.1\r\nHost: d\r\n\r\n")
    conn = http.Connection(b)
    first, second = conn.next_request(), conn.next_request()
    assert first is not None and (first.path, first.query) == ("/_ping", {})
    assert second is not None and second.path == "/images/a/b/json"
    assert second.query == {"all": ["1"], "x": [""]}
    a.close()
    b.close()


def test_create_body_maps_to_the_cli_options() -> None:
    opts = capi.create_options({
        "Image": "busybox", "Cmd": ["httpd", "-f"], "Env": ["A=1"], "Tty": True,
        "OpenStdin": True, "WorkingDir": "/www", "User": "1000", "Labels": {"k": "v"},
        "Entrypoint": ["/bin/sh", "-c"],
        "HostConfig": {"Binds": ["/tmp:/data:ro"], "NetworkMode": "default",
                       "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9000"}],
                                        "53/udp": [{"HostIp": "", "HostPort": ""}]},
                       "AutoRemove": True, "Memory": 64 << 20, "NanoCpus": 500_000_000,
                       "PidsLimit": 50, "CapAdd": ["NET_ADMIN"], "CapDrop": ["ALL"],
                       "RestartPolicy": {"Name": "no"}, "LogConfig": {"Type": "json-file"},
                       "Mounts": [{"Type": "tmpfs", "Target": "/scratch"}],
                       "ConsoleSize": [24, 80], "IpcMode": "private", "BlkioWeight": 0}},
        "data")
    assert opts.name == "data" and opts.image == "busybox"
    assert opts.entrypoint == "/bin/sh" and opts.command == ["-c", "httpd", "-f"]
    assert opts.tty and opts.interactive and opts.remove and opts.pull == "never"
    assert opts.volumes == ["/tmp:/data:ro"] and opts.network == ""
    assert sorted(opts.publish) == ["127.0.0.1:9000:8080/tcp", "53/udp"]
    assert (opts.memory, opts.cpus, opts.pids_limit) == (str(64 << 20), 0.5, 50)
    assert opts.labels == ["k=v"] and opts.mounts == ["type=tmpfs,target=/scratch"]
    assert opts.log_driver == "k8s-file"


@pytest.mark.parametrize("host", [{"Devices": [{"PathOnHost": "/dev/sda"}]},
                                  {"PidMode": "host"}, {"Sysctls": {"a": "b"}}])
def test_unsupported_host_config_is_refused(host: dict[str, object]) -> None:
    with pytest.raises(UsageError, match="not supported"):
        capi.create_options({"Image": "busybox", "HostConfig": host}, None)


def test_restart_policy_and_healthcheck_from_docker_json() -> None:
    opts = capi.create_options({
        "Image": "busybox",
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2_000_000_000,
                        "Timeout": 0, "Retries": 4},
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}}, None)
    assert opts.restart == "on-failure:3"
    assert (opts.health_cmd, opts.health_interval, opts.health_timeout, opts.health_retries) \
        == ('["CMD-SHELL", "true"]', "2000000000ns", None, 4)
    opts = capi.create_options({"Image": "busybox", "Healthcheck": {"Test": ["NONE"]},
                                "HostConfig": {"RestartPolicy": {"Name": "always"}}}, None)
    assert opts.restart == "always" and opts.no_healthcheck


def test_filters_from_docker_json() -> None:
    class Req:
        def arg(self, name: str) -> str:
            return json.dumps({"status": ["running", "exited"], "label": {"a=b": True}})

    assert capi.filters_of(Req()) == ("status=running", "status=exited", "label=a=b")  # type: ignore[arg-type]


def test_config_volumes_are_anonymous_unless_bound() -> None:
    opts = capi.create_options({"Image": "busybox", "Volumes": {"/v": {}, "/anon": {}},
                                "HostConfig": {"Binds": ["named:/v:rw"]}}, None)
    assert opts.volumes == ["named:/v:rw", "/anon"]


def test_label_filters_all_match_other_keys_any() -> None:
    from pdman.engine.containers import filter_containers
    from pdman.entities.containers import ContainerSummary

    def row(name: str, labels: dict[str, str], state: str = "running") -> ContainerSummary:
        return ContainerSummary(ID=name * 8, Names=[name], Image="i", ImageID="x", Command=[],
                                Created=0, State=state, Status="", ExitCode=None, Pid=0,
                                Ports=[], Labels=labels, StartedAt=0, ExitedAt=0)

    rows = [row("web", {"project": "p", "service": "web"}),
            row("db", {"project": "p", "service": "db"}, "exited")]
    # compose looks a service up by project AND service
    found = filter_containers(rows, ("label=project=p", "label=service=web"))
    assert [r.Names[0] for r in found] == ["web"]
    found = filter_containers(rows, ("status=running", "status=exited", "label=project=p"))
    assert [r.Names[0] for r in found] == ["web", "db"]


def test_a_sigterm_that_lands_on_a_connection_thread_still_ends_the_service(tmp_path) -> None:
    """systemd's SIGTERM may be delivered to any thread of the service: the accept loop
    must wake up and end, not sleep on in select() (a bench run hung that way)."""
    import subprocess
    import sys

    script = f"""
import os, signal, socket, sys, threading, time
from pdman.api import server
from pdman.config import Paths
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind({str(tmp_path / 's.sock')!r})
listener.listen()
def hit():
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)   # this thread, not main
    time.sleep(30)
threading.Thread(target=hit, daemon=True).start()
server.Service(listener, Paths({str(tmp_path / 'root')!r}, {str(tmp_path / 'run')!r}), 0).run()
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(server.__file__))))
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"the service did not end on SIGTERM: {err}")
    assert proc.returncode == 0, err
