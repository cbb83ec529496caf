"""docker-py 7 (the Docker SDK for Python) against `pdman system service`: a scripted
scenario over the same ground as the docker CLI tests, as an SDK user writes it."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.bed.runner import http_get, run_pdman
from tests.bed.apiservice import Service, service  # noqa: F401 - the fixture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dockerpy_scenario(service: Service, busybox: str, testbed: Any, tmp_path: Any) -> None:  # noqa: F811
    docker = pytest.importorskip("docker", reason="docker-py is in the test extras")
    client = docker.DockerClient(base_url=f"unix://{service.sock}", version="auto", timeout=60)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == "1.44"

        # pull with the SDK, then run in the foreground: output and removal
        image = client.images.pull(busybox)
        assert busybox in image.tags
        out = client.containers.run(busybox, ["sh", "-c", "echo from-sdk"], remove=True)
        assert out == b"from-sdk\n"
        with pytest.raises(docker.errors.ContainerError) as failed:
            client.containers.run(busybox, ["sh", "-c", "exit 7"], remove=True)
        assert failed.value.exit_status == 7

        # detached, with a published port, labels, env; list, logs, exec, stop, remove
        port = _free_port()
        c = client.containers.run(
            busybox, ["sh", "-c", "mkdir /www && echo $GREETING > /www/index.html && "
                      "echo started && httpd -f -p 8080 -h /www"],
            detach=True, name="sdk-web", ports={"8080/tcp": ("127.0.0.1", port)},
            environment={"GREETING": "hello-sdk"}, labels={"suite": "api"})
        _, body = http_get(f"http://127.0.0.1:{port}/")
        assert body.decode().strip() == "hello-sdk"
        listed = client.containers.list(filters={"label": "suite=api"})
        assert [x.name for x in listed] == ["sdk-web"]
        c.reload()
        assert c.status == "running" and c.attrs["Config"]["Labels"]["suite"] == "api"
        assert b"started" in c.logs()
        code, output = c.exec_run(["sh", "-c", "echo in-exec; exit 3"])
        assert (code, output) == (3, b"in-exec\n")
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        c.remove()
        with pytest.raises(docker.errors.NotFound):
            client.containers.get("sdk-web")

        # volumes and networks
        vol = client.volumes.create("sdk-vol")
        assert vol.name in [v.name for v in client.volumes.list()]
        net = client.networks.create("sdk-net")
        assert "sdk-net" in [n.name for n in client.networks.list()]
        out = client.containers.run(busybox, ["sh", "-c", "echo kept > /v/f; cat /v/f"],
                                    volumes={"sdk-vol": {"bind": "/v", "mode": "rw"}},
                                    network="sdk-net", remove=True)
        assert out == b"kept\n"
        net.remove()
        vol.remove()

        # what was made through the SDK is the CLI's too
        client.containers.create(busybox, ["true"], name="sdk-made")
        assert "sdk-made" in run_pdman("ps", "-a", "--format", "{{.Names}}", env=service.env).stdout
        client.containers.get("sdk-made").remove()
    finally:
        client.close()
