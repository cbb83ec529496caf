"""testcontainers-python against `pdman system service`: a container started the way
a CI test starts its dependencies, reached on its mapped (random) host port."""

from __future__ import annotations


import pytest

from tests.bed.apiservice import Service, service  # noqa: F401 - the fixture
from tests.bed.runner import http_get


def test_testcontainers_reaches_the_mapped_port(service: Service, busybox: str,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{service.sock}")
    # Ryuk, testcontainers' reaper, is an image from Docker Hub: not reachable here
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    # the test machine may itself be a container: testcontainers would then assume
    # docker-in-docker and look for a gateway; the service is on this host
    monkeypatch.setenv("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    tc = pytest.importorskip("testcontainers.core.container",
                             reason="testcontainers is in the test extras")
    container = tc.DockerContainer(busybox).with_exposed_ports(8080).with_command(
        ["sh", "-c", "mkdir /www && echo tc-ok > /www/index.html && httpd -f -p 8080 -h /www"])
    with container:
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(8080))
        assert host in ("localhost", "127.0.0.1") and port > 0
        _, body = http_get(f"http://127.0.0.1:{port}/")
        assert body.decode().strip() == "tc-ok"
    status, _, _ = service.request("GET", f"/containers/{container.get_wrapped_container().id}/json")
    assert status == 404        # stopped and removed when the block ends
