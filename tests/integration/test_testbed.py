"""The test bed itself, checked the way a user would: over HTTP, with urllib.

If these fail, every other integration test would fail for the bed's sake, not
pdman's; they also pin down the facts other tests rely on (which image is an
index, which layer is shared, where the whiteouts are).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from tests.bed.images import LAYERS_EXPECTED, MANY_LAYERS, PLATFORM_MARKER

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = (f"{MT_INDEX}, {MT_OCI_MANIFEST}, {MT_DOCKER_V2}, "
          "application/vnd.docker.distribution.manifest.list.v2+json")
IMAGES = ["busybox", "debian", "nginx", "layers", "many"]

_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only


def get(host: str, path: str, auth: tuple[str, str] | None = None,
        accept: str | None = None) -> tuple[int, Message, bytes]:
    """GET from a test registry: (status, headers (case-insensitive), body)."""
    assert host.startswith("127.0.0.1:"), host
    req = urllib.request.Request(f"http://{host}{path}")
    if accept:
        req.add_header("Accept", accept)
    if auth:
        req.add_header("Authorization",
                       "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with _LOCAL.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class Repo:
    """Reads one image from the plain registry."""

    def __init__(self, host: str, name: str, tag: str) -> None:
        self.host, self.name, self.tag = host, name, tag

    def manifest(self, ref: str | None = None) -> tuple[str, Any]:
        status, headers, body = get(self.host, f"/v2/{self.name}/manifests/{ref or self.tag}",
                                    accept=ACCEPT)
        assert status == 200, (self.name, ref, status, body[:200])
        assert headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
        return headers["Content-Type"], json.loads(body)

    def blob(self, digest: str) -> bytes:
        status, _, body = get(self.host, f"/v2/{self.name}/blobs/{digest}")
        assert status == 200, (self.name, digest, status)
        assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
        return body

    def image_manifest(self) -> Any:
        media_type, manifest = self.manifest()
        if media_type == MT_INDEX:
            amd64 = next(m for m in manifest["manifests"]
                         if m["platform"]["architecture"] == "amd64")
            media_type, manifest = self.manifest(amd64["digest"])
        return manifest

    def config(self) -> Any:
        return json.loads(self.blob(self.image_manifest()["config"]["digest"]))

    def layer_tar(self, digest: str) -> tarfile.TarFile:
        return tarfile.open(fileobj=io.BytesIO(gzip.decompress(self.blob(digest))))


@pytest.fixture(scope="module")
def repos(testbed: Any) -> dict[str, Repo]:
    from tests.bed.images import IMAGES as RECIPES
    return {n: Repo(testbed.registry, n, RECIPES[n].tag) for n in IMAGES}


def test_v2_answers_on_both_registries(testbed: Any) -> None:
    assert get(testbed.registry, "/v2/")[0] == 200
    status, headers, _ = get(testbed.auth_registry, "/v2/")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic ")
    creds = (testbed.auth_user, testbed.auth_password)
    assert get(testbed.auth_registry, "/v2/", auth=creds)[0] == 200
    assert get(testbed.auth_registry, "/v2/", auth=(testbed.auth_user, "wrong"))[0] == 401


@pytest.mark.parametrize("auth", [False, True], ids=["plain", "auth"])
def test_catalog_lists_every_image(testbed: Any, auth: bool) -> None:
    host = testbed.auth_registry if auth else testbed.registry
    creds = (testbed.auth_user, testbed.auth_password) if auth else None
    status, _, body = get(host, "/v2/_catalog", auth=creds)
    assert status == 200
    assert set(IMAGES) <= set(json.loads(body)["repositories"])


def test_image_refs_name_the_plain_registry(testbed: Any) -> None:
    assert testbed.image("busybox") == f"{testbed.registry}/busybox:latest"
    assert testbed.image("debian") == f"{testbed.registry}/debian:bookworm"
    assert testbed.image("busybox:schema2", auth=True) == \
        f"{testbed.auth_registry}/busybox:schema2"


def test_busybox_latest_is_an_oci_index_for_amd64_and_arm64(repos: dict[str, Repo]) -> None:
    busybox = repos["busybox"]
    media_type, index = busybox.manifest()
    assert media_type == MT_INDEX
    platforms = {f"{m['platform']['os']}/{m['platform']['architecture']}": m
                 for m in index["manifests"]}
    assert set(platforms) == {"linux/amd64", "linux/arm64"}
    for platform, desc in platforms.items():
        media_type, manifest = busybox.manifest(desc["digest"])
        assert media_type == MT_OCI_MANIFEST
        config = json.loads(busybox.blob(manifest["config"]["digest"]))
        assert f"{config['os']}/{config['architecture']}" == platform
        assert config["config"]["Cmd"] == ["sh"]
        # the marker tells a test inside a container which manifest was picked
        layer = busybox.layer_tar(manifest["layers"][0]["digest"])
        marker = layer.extractfile("etc/pdman-platform")
        assert marker is not None and marker.read() == PLATFORM_MARKER[platform]


def test_busybox_schema2_is_a_docker_v2_manifest(testbed: Any, repos: dict[str, Repo]) -> None:
    status, headers, body = get(testbed.registry, "/v2/busybox/manifests/schema2",
                                accept=MT_DOCKER_V2)
    assert status == 200
    assert headers["Content-Type"] == MT_DOCKER_V2
    manifest = json.loads(body)
    assert manifest["mediaType"] == MT_DOCKER_V2
    assert [lay["mediaType"] for lay in manifest["layers"]] == \
        ["application/vnd.docker.image.rootfs.diff.tar.gzip"]
    # the same amd64 layer as in the index: converting changed no bytes of it
    assert manifest["layers"][0]["digest"] == \
        repos["busybox"].image_manifest()["layers"][0]["digest"]


def test_nginx_is_built_on_the_very_debian_layer(repos: dict[str, Repo]) -> None:
    debian = repos["debian"].image_manifest()["layers"]
    nginx = repos["nginx"].image_manifest()["layers"]
    assert len(debian) == 1
    assert len(nginx) == 3
    assert nginx[0]["digest"] == debian[0]["digest"]


def test_nginx_upper_layers_hold_whiteouts(repos: dict[str, Repo]) -> None:
    nginx = repos["nginx"]
    top = nginx.image_manifest()["layers"][2]["digest"]
    names = {m.name: m for m in nginx.layer_tar(top)}
    assert "etc/.wh.motd" in names  # images.NGINX_DELETES, in the debian layer below
    assert names["var/log/nginx/access.log"].linkname == "/dev/stdout"
    assert names["var/log/nginx/error.log"].linkname == "/dev/stderr"


def test_nginx_config(repos: dict[str, Repo]) -> None:
    manifest = repos["nginx"].image_manifest()
    config = repos["nginx"].config()
    assert config["config"]["ExposedPorts"] == {"80/tcp": {}}
    assert config["config"]["StopSignal"] == "SIGQUIT"
    assert config["config"]["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert any(e.startswith("PATH=") for e in config["config"]["Env"])
    real = [h for h in config["history"] if not h.get("empty_layer")]
    assert len(real) == len(manifest["layers"])


def test_many_has_128_layers(repos: dict[str, Repo]) -> None:
    manifest = repos["many"].image_manifest()
    assert len(manifest["layers"]) == MANY_LAYERS == 128
    assert len(repos["many"].config()["rootfs"]["diff_ids"]) == 128


@pytest.mark.parametrize("name", IMAGES)
def test_diff_ids_are_the_uncompressed_layer_digests(repos: dict[str, Repo], name: str) -> None:
    repo = repos[name]
    manifest = repo.image_manifest()
    diff_ids = repo.config()["rootfs"]["diff_ids"]
    for layer, diff_id in zip(manifest["layers"], diff_ids, strict=True):
        assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        plain = gzip.decompress(repo.blob(layer["digest"]))
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id


def _apply(view: dict[str, tuple[tarfile.TarInfo, bytes]], tar: tarfile.TarFile) -> None:
    """A reference applier (OCI image spec, "Applying changesets") over a dict view."""
    for m in tar:
        path = "/" + m.name.rstrip("/")
        parent, _, base = path.rpartition("/")
        if base == ".wh..wh..opq":
            for p in [p for p in view if p.startswith(parent + "/")]:
                del view[p]
        elif base.startswith(".wh."):
            gone = f"{parent}/{base[4:]}"
            for p in [p for p in view if p == gone or p.startswith(gone + "/")]:
                del view[p]
        elif m.type == tarfile.LNKTYPE:
            view[path] = (m, view["/" + m.linkname][1])
        else:
            f = tar.extractfile(m) if m.isreg() else None
            view[path] = (m, f.read() if f else b"")


def test_layers_image_gives_the_documented_view(repos: dict[str, Repo]) -> None:
    repo = repos["layers"]
    view: dict[str, tuple[tarfile.TarInfo, bytes]] = {}
    for layer in repo.image_manifest()["layers"]:
        _apply(view, repo.layer_tar(layer["digest"]))
    kinds = {tarfile.DIRTYPE: "dir", tarfile.REGTYPE: "file", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "file"}
    for path, want in LAYERS_EXPECTED.items():
        if want is None:
            assert path not in view, path
            continue
        got, content = view[path]
        assert kinds[got.type] == want["type"], path
        assert (got.uid, got.gid) == (want["uid"], want["gid"]), path
        if "mode" in want:
            assert got.mode == want["mode"], path
        if "link" in want:
            assert got.linkname == want["link"], path
        if "hardlink" in want:
            assert got.type == tarfile.LNKTYPE and "/" + got.linkname == want["hardlink"]
        if "content" in want:
            assert content == want["content"], path
        if "mtime" in want:
            assert got.mtime == want["mtime"], path
        for key, value in want.get("xattrs", {}).items():
            assert got.pax_headers[f"SCHILY.xattr.{key}"].encode() == value, path
    # busybox's own files are still there underneath
    assert view["/bin/busybox"][0].type == tarfile.REGTYPE


def test_auth_registry_serves_manifests_only_with_credentials(testbed: Any) -> None:
    path = "/v2/nginx/manifests/latest"
    assert get(testbed.auth_registry, path, accept=ACCEPT)[0] == 401
    status, headers, _ = get(testbed.auth_registry, path, accept=ACCEPT,
                             auth=(testbed.auth_user, testbed.auth_password))
    assert status == 200
    assert headers["Content-Type"] == MT_OCI_MANIFEST
