"""Pure logic of the transfer verbs: --change instructions, manifest conversion, and the
registry upload protocol (against httpx.MockTransport)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from pdman.engine.image_transfer import apply_changes
from pdman.errors import UsageError
from pdman.image import manifest
from pdman.image.push import _convert
from pdman.image.registry import RegistryClient


def test_changes_in_dockerfile_syntax() -> None:
    config: dict = {"config": {"Env": ["PATH=/bin", "FOO=old"]}}
    apply_changes(config, ['CMD ["nginx", "-g", "daemon off;"]', "ENTRYPOINT /start.sh",
                           "ENV FOO=bar BAZ=\"a b\"", "WORKDIR /srv", "EXPOSE 80 53/udp",
                           "LABEL a=1", "USER 1000", "CMD=echo hi"])
    c = config["config"]
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/start.sh"]
    assert c["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert c["Env"] == ["PATH=/bin", "FOO=bar", "BAZ=a b"]
    assert c["WorkingDir"] == "/srv" and c["User"] == "1000"
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["Labels"] == {"a": "1"}
    with pytest.raises(UsageError):
        apply_changes(config, ["RUN rm -rf /"])


def test_media_types_convert_between_docker_and_oci() -> None:
    gz = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert _convert(gz, manifest.OCI_MANIFEST) == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert _convert(_convert(gz, manifest.OCI_MANIFEST), manifest.DOCKER_MANIFEST) == gz
    with pytest.raises(UsageError):
        _convert("application/vnd.oci.image.layer.v1.tar+zstd", manifest.DOCKER_MANIFEST)


def test_upload_skips_present_blobs_and_puts_the_manifest() -> None:
    stored: dict[str, bytes] = {"sha256:" + "a" * 64: b"x"}
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(f"{req.method} {req.url.path}")
        path = req.url.path
        if path == "/v2/":
            return httpx.Response(200)
        if req.method == "HEAD":
            return httpx.Response(200 if path.rsplit("/", 1)[1] in stored else 404)
        if req.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u1?_state=s"})
        if req.method == "PUT" and "/blobs/uploads/" in path:
            body = req.read()
            assert req.url.params["_state"] == "s"
            digest = req.url.params["digest"]
            assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
            stored[digest] = body
            return httpx.Response(201)
        if req.method == "PUT" and "/manifests/" in path:
            assert req.headers["content-type"] == manifest.OCI_MANIFEST
            return httpx.Response(201)
        return httpx.Response(500)

    data = b"layer bytes"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with RegistryClient("reg.test", transport=httpx.MockTransport(handler)) as client:
        assert client.blob_exists("r", "sha256:" + "a" * 64)
        assert not client.blob_exists("r", digest)
        client.upload_blob("r", digest, len(data), lambda: iter([data[:4], data[4:]]))
        raw = json.dumps({"schemaVersion": 2}).encode()
        assert client.put_manifest("r", "v1", raw, manifest.OCI_MANIFEST) == \
            "sha256:" + hashlib.sha256(raw).hexdigest()
    assert stored[digest] == data
    assert "PUT /v2/r/manifests/v1" in seen
