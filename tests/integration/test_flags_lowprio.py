"""podman 4.3's options of lower priority (issue #13): each with what a user checks."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(autouse=True)
def _remove_store(pdman_env: dict[str, str]) -> Iterator[None]:
    yield
    from pdman.storage.extractor import remove_trees

    remove_trees([pdman_env["PDMAN_ROOT"]])


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Run:
    from tests.bed.runner import run_pdman

    def run(*args: object, **kw: Any) -> "subprocess.CompletedProcess[str]":
        kw.setdefault("env", registry_env)
        return run_pdman(*args, **kw)
    return run


def image_doc(pd: Run, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(pd("image", "inspect", name).stdout)[0]
    return doc


def test_commit_squash_format_iidfile_include_volumes(pd: Run, busybox: str,
                                                      tmp_path: Path) -> None:
    pd("run", "--name", "c1", "--network", "none", "-v", "/data", "-v", f"{tmp_path}:/mnt",
       busybox, "sh", "-c", "echo squashed > /hello && rm /bin/vi")
    base_layers = len(image_doc(pd, busybox)["RootFS"]["Layers"])
    iid = tmp_path / "iid"
    image_id = pd("commit", "--squash", "--format", "docker", "--iidfile", iid,
                  "--include-volumes", "c1", "flat:1").stdout.strip()
    assert iid.read_text() == "sha256:" + image_id
    doc = image_doc(pd, "flat:1")
    assert len(doc["RootFS"]["Layers"]) == 1 and base_layers >= 1
    assert doc["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert sorted(doc["Config"]["Volumes"]) == ["/data", "/mnt"]
    out = pd("run", "--rm", "--network", "none", "flat:1", "sh", "-c",
             "cat /hello; test -e /bin/vi && echo present || echo absent").stdout.split()
    assert out == ["squashed", "absent"]
    # without the options: one more layer on the image's, OCI, no volumes
    pd("commit", "c1", "layered:1")
    doc = image_doc(pd, "layered:1")
    assert len(doc["RootFS"]["Layers"]) == base_layers + 1
    assert doc["ManifestType"] == "application/vnd.oci.image.manifest.v1+json"
    assert not doc["Config"].get("Volumes")
    bad = pd("commit", "--format", "qcow", "c1", check=False)
    assert bad.returncode == 125 and "Traceback" not in bad.stderr


def test_pull_all_tags_and_login_verbose(pd: Run, testbed: Any, tmp_path: Path) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://{testbed.registry}/v2/busybox/tags/list",
                                timeout=30) as resp:
        tags = json.loads(resp.read())["tags"]
    assert len(tags) >= 2, tags
    ids = pd("pull", "--all-tags", "-q", f"{testbed.registry}/busybox").stdout.split()
    assert len(ids) == len(tags)
    names = pd("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert sorted(names) == sorted(f"{testbed.registry}/busybox:{t}" for t in tags)
    tagged = pd("pull", "-a", f"{testbed.registry}/busybox:latest", check=False)
    assert tagged.returncode == 125 and "--all-tags" in tagged.stderr

    authfile = tmp_path / "auth.json"
    out = pd("login", "-v", "--authfile", authfile, "-u", testbed.auth_user,
             "--password-stdin", testbed.auth_registry, input=testbed.auth_password + "\n")
    assert out.stdout.splitlines() == [f"Used: {authfile}", "Login Succeeded!"]
    quiet = pd("login", "--authfile", authfile, "-u", testbed.auth_user, "--password-stdin",
               testbed.auth_registry, input=testbed.auth_password + "\n")
    assert quiet.stdout.splitlines() == ["Login Succeeded!"]


def test_save_uncompressed_and_multi_image(pd: Run, busybox: str, tmp_path: Path) -> None:
    import hashlib
    import tarfile

    archive = tmp_path / "plain.tar"
    pd("save", "--format", "oci-archive", "--uncompressed", "-o", archive, busybox)
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        digest = index["manifests"][0]["digest"].partition(":")[2]
        doc = json.load(tar.extractfile(f"blobs/sha256/{digest}"))  # type: ignore[arg-type]
        assert doc["layers"]
        for layer in doc["layers"]:
            assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
            data = tar.extractfile("blobs/sha256/" + layer["digest"].partition(":")[2]).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
            assert len(data) == layer["size"]
            assert data[257:262] == b"ustar"       # a plain tar, not gzip
    image_id = json.loads(pd("image", "inspect", busybox).stdout)[0]["Id"]
    pd("rmi", "-f", busybox)
    loaded = pd("load", "-i", archive)
    assert image_id[:12] in loaded.stdout or busybox in loaded.stdout
    assert pd("run", "--rm", "--network", "none", busybox, "echo", "ok").stdout.strip() == "ok"

    pd("tag", busybox, "other:1")
    multi = tmp_path / "multi.tar"
    pd("save", "-m", "-o", multi, busybox, "other:1")
    with tarfile.open(multi) as tar:
        entries = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    tags = [t for e in entries for t in e["RepoTags"]]
    assert sorted(tags) == sorted([busybox, "localhost/other:1"])
    refused = pd("save", "--compress", "-o", tmp_path / "x.tar", busybox, check=False)
    assert refused.returncode == 125 and "oci-dir" in refused.stderr


def test_push_compression_format(pd: Run, busybox: str, testbed: Any) -> None:
    dest = f"{testbed.registry}/lowprio/bb:gz"
    pd("push", "--compression-format", "gzip", "--compress", busybox, dest)
    assert pd("manifest", "inspect", dest).returncode == 0
    zstd = pd("push", "--compression-format", "zstd", busybox, dest, check=False)
    assert zstd.returncode == 125 and "gzip" in zstd.stderr
