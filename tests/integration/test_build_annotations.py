"""`pdman build --annotation`: the annotations go into the built image's OCI manifest,
`image inspect` shows them (its Annotations, as podman's), and they travel with the
manifest's bytes: push (the registry serves that very manifest, same digest), pull back,
`save`, `manifest create`, and podman 4.3 pulling the image sees them too."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_build import Run, context, inspect, pd  # noqa: F401 (fixture)
from tests.integration.test_build_interop import podman  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


def _registry_manifest(ref: str) -> tuple[bytes, str]:
    """The manifest bytes the registry stores under the tag (asked for as OCI) and the
    digest it gives them."""
    host, _, rest = ref.partition("/")
    name, _, tag = rest.rpartition(":")
    req = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{tag}",
                                 headers={"Accept": OCI_MANIFEST})
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 (loopback)
        return answer.read(), answer.headers.get("Docker-Content-Digest", "")


def test_annotations_through_inspect_push_pull_save_and_lists(
        pd: Run, busybox: str, testbed: Any, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo x > /x\n"})
    ref = f"{testbed.registry}/annotated:{uuid.uuid4().hex[:8]}"
    pd("build", "-q", "-t", ref, "--annotation", "org.example.one=1",
       "--annotation", "org.example.two=zwei=2", "--annotation", "org.example.empty", str(ctx))
    built = inspect(pd, ref)
    assert built["ManifestType"] == OCI_MANIFEST
    notes = built["Annotations"]
    assert notes["org.example.one"] == "1" and notes["org.example.two"] == "zwei=2"
    assert notes["org.example.empty"] == ""
    # the base it was built FROM, as buildah names it
    assert notes[BASE_NAME] == busybox
    assert notes[BASE_DIGEST].startswith("sha256:")

    # push: the registry holds the very manifest, annotations included, same digest
    pd("push", ref)
    raw, served_digest = _registry_manifest(ref)
    assert json.loads(raw)["annotations"] == notes
    assert served_digest == built["Digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()

    # save: the OCI archive's manifest is the same one
    archive = tmp_path / "img.tar"
    pd("save", "--format", "oci-archive", "-o", str(archive), ref)
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        digest = index["manifests"][0]["digest"]
        saved = tar.extractfile(f"blobs/sha256/{digest[7:]}").read()  # type: ignore[union-attr]
    assert digest == built["Digest"] and json.loads(saved)["annotations"] == notes

    # a manifest list takes the annotated manifest as its instance
    pd("manifest", "create", "annolist", ref)
    listed = json.loads(pd("manifest", "inspect", "annolist").stdout)
    assert [m["digest"] for m in listed["manifests"]] == [built["Digest"]]

    # gone from the store (manifest blob too), pulled back: the same annotations
    pd("manifest", "rm", "annolist")
    pd("rmi", "-f", ref)
    assert pd("image", "exists", ref, check=False).returncode == 1
    pd("pull", "-q", ref)
    pulled = inspect(pd, ref)
    assert pulled["Annotations"] == notes and pulled["Digest"] == built["Digest"]
    assert pulled["Id"] == built["Id"]


def test_annotations_of_a_cached_build_and_the_base(pd: Run, busybox: str,
                                                    tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo y > /y\n"})
    first = pd("build", "-q", "-t", "anno:1", "--annotation", "a=1", str(ctx)).stdout.split()
    # the cached rebuild is the same image (config), under a manifest with the new
    # annotations: podman 4.3 would keep a=1 and drop b=2
    again = pd("build", "-q", "-t", "anno:2", "--annotation", "b=2", str(ctx)).stdout.split()
    assert again == first
    notes = inspect(pd, "anno:2")["Annotations"]
    assert notes.get("b") == "2" and "a" not in notes
    # FROM an annotated image: its annotations are inherited, the base is named
    pd("build", "-q", "-t", "anno:3", "--annotation", "c=3", str(ctx))
    child = context(tmp_path / "child", {"Containerfile": "FROM anno:3\nRUN echo z > /z\n"})
    pd("build", "-q", "-t", "anno:child", str(child))
    base = inspect(pd, "anno:3")
    notes = inspect(pd, "anno:child")["Annotations"]
    assert notes["c"] == "3"
    assert notes[BASE_NAME] == "localhost/anno:3" and notes[BASE_DIGEST] == base["Digest"]
    # FROM scratch: the base annotations are there, empty, as buildah writes them
    scratch = context(tmp_path / "scratch", {"Containerfile": "FROM scratch\nCOPY f /f\n",
                                             "f": "f"})
    pd("build", "-q", "-t", "anno:scratch", str(scratch))
    assert inspect(pd, "anno:scratch")["Annotations"] == {BASE_NAME: "", BASE_DIGEST: ""}


def test_docker_format_has_no_annotations(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo d > /d\n"})
    done = pd("build", "-q", "-t", "anno:docker", "--format", "docker", "--annotation", "a=1",
              str(ctx))
    assert "--annotation" in done.stderr and "docker" in done.stderr
    img = inspect(pd, "anno:docker")
    assert img["Annotations"] == {}
    assert img["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    done = pd("build", "--annotation", "=x", str(ctx), check=False)
    assert done.returncode == 125 and "--annotation" in done.stderr


def test_podman_sees_the_annotations(pd: Run, podman: list[str],  # noqa: F811 (fixture)
                                     busybox: str, testbed: Any, registry_env: dict[str, str],
                                     tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo p > /p\n"})
    ref = f"{testbed.registry}/annotated-for-podman:{uuid.uuid4().hex[:8]}"
    pd("build", "-q", "-t", ref, "--annotation", "org.example.who=pdman", str(ctx))
    pd("push", ref)
    env = {k: v for k, v in registry_env.items() if k != "REGISTRY_AUTH_FILE"}
    for args in (("pull", "-q", "--tls-verify=false", ref),
                 ("image", "inspect", "--format", "{{json .Annotations}}", ref)):
        done = subprocess.run([*podman, *args], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == inspect(pd, ref)["Annotations"]
