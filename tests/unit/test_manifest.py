"""Manifest parsing and platform selection."""

from __future__ import annotations

import json

import pytest

from pdman.errors import RegistryError, UsageError
from pdman.image import manifest
from pdman.image.manifest import Platform

D = "sha256:" + "a" * 64
E = "sha256:" + "b" * 64
F = "sha256:" + "c" * 64


def index(*platforms: dict[str, str]) -> bytes:
    digests = [D, E, F]
    return json.dumps({"schemaVersion": 2, "mediaType": manifest.OCI_INDEX, "manifests": [
        {"mediaType": manifest.OCI_MANIFEST, "digest": digests[i], "size": 10, "platform": p}
        for i, p in enumerate(platforms)]}).encode()


def test_choose_host_and_requested_platform() -> None:
    idx = manifest.parse(index({"os": "linux", "architecture": "amd64"},
                               {"os": "linux", "architecture": "arm64", "variant": "v8"}),
                         "", "x")
    assert isinstance(idx, manifest.Index)
    assert manifest.choose(idx, Platform("linux", "amd64"), "x").digest == D
    assert manifest.choose(idx, Platform("linux", "arm64"), "x").digest == E
    assert manifest.choose(idx, Platform("linux", "arm64", "v8"), "x").digest == E
    with pytest.raises(RegistryError, match="no image found.*arm.*v7"):
        manifest.choose(idx, Platform("linux", "arm", "v7"), "x")


def test_exact_variant_preferred() -> None:
    idx = manifest.parse(index({"os": "linux", "architecture": "arm", "variant": "v6"},
                               {"os": "linux", "architecture": "arm", "variant": "v7"}), "", "x")
    assert manifest.choose(idx, Platform("linux", "arm", "v7"), "x").digest == E


def test_wanted_platform() -> None:
    host = manifest.host_platform()
    assert manifest.wanted_platform() == host
    assert manifest.wanted_platform("linux/arm64") == Platform("linux", "arm64", "")
    assert manifest.wanted_platform("linux/arm/v7") == Platform("linux", "arm", "v7")
    assert manifest.wanted_platform(arch="aarch64").architecture == "arm64"
    assert manifest.wanted_platform(os="windows").os == "windows"
    with pytest.raises(UsageError):
        manifest.wanted_platform("linux")
    with pytest.raises(UsageError):
        manifest.wanted_platform("linux/amd64", arch="arm64")


def test_manifest_without_media_type_uses_content_type_or_shape() -> None:
    raw = json.dumps({"schemaVersion": 2, "config": {"digest": D, "size": 1},
                      "layers": [{"digest": E, "size": 2,
                                  "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}]}
                     ).encode()
    m = manifest.parse(raw, manifest.DOCKER_MANIFEST + "; charset=utf-8", "x")
    assert isinstance(m, manifest.Manifest) and m.media_type == manifest.DOCKER_MANIFEST
    m = manifest.parse(raw, "application/octet-stream", "x")
    assert isinstance(m, manifest.Manifest) and m.media_type == manifest.OCI_MANIFEST
    assert m.layers[0].digest == E
    assert manifest.parse(index({"os": "linux", "architecture": "amd64"}),
                          "text/plain", "x").media_type == manifest.OCI_INDEX


def test_schema1_is_refused_clearly() -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(RegistryError, match="schema 1") as e:
        manifest.parse(raw, manifest.DOCKER_SCHEMA1_SIGNED, "docker://r/x:1")
    assert "docker://r/x:1" in e.value.message and e.value.hint


def test_bad_descriptors_are_registry_errors() -> None:
    raw = json.dumps({"schemaVersion": 2, "mediaType": manifest.OCI_MANIFEST,
                      "config": {"digest": "sha256:short", "size": 1}, "layers": []}).encode()
    with pytest.raises(RegistryError, match="bad digest"):
        manifest.parse(raw, "", "x")
    with pytest.raises(RegistryError, match="not JSON"):
        manifest.parse(b"<html>", "", "x")


def test_layer_compression() -> None:
    def desc(mt: str) -> manifest.Descriptor:
        return manifest.Descriptor(mt, D, 1)
    assert manifest.layer_compression(desc(
        "application/vnd.docker.image.rootfs.diff.tar.gzip"), "x") == "gzip"
    assert manifest.layer_compression(desc(
        "application/vnd.oci.image.layer.v1.tar+zstd"), "x") == "zstd"
    assert manifest.layer_compression(desc("application/vnd.oci.image.layer.v1.tar"), "x") == ""
    with pytest.raises(RegistryError, match="unsupported media type"):
        manifest.layer_compression(desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip"
                                        ".x"), "x")
