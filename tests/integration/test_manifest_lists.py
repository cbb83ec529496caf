"""`pdman manifest`: lists made locally from local images and registry references,
pushed to the test registry, pulled back, and read by podman (the reference)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


pytestmark = pytest.mark.usefixtures("remove_store_first")


def inspect(pd: Run, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(pd("manifest", "inspect", name).stdout)
    return doc


def test_a_local_list_is_created_annotated_and_removed(pd: Run, busybox: str) -> None:
    list_id = pd("manifest", "create", "mylist").stdout.strip()
    assert len(list_id) == 64 and all(c in "0123456789abcdef" for c in list_id)
    assert pd("manifest", "exists", "mylist").returncode == 0
    assert pd("manifest", "exists", "localhost/mylist:latest").returncode == 0
    assert pd("manifest", "exists", "nolist", check=False).returncode == 1
    assert inspect(pd, "mylist") == {"schemaVersion": 2, "mediaType": DOCKER_LIST,
                                     "manifests": []}

    assert pd("manifest", "add", "mylist", busybox).stdout.strip() == list_id
    [entry] = inspect(pd, "mylist")["manifests"]
    # the image's own manifest: the amd64 entry of the registry's index it came from
    host, _, rest = busybox.partition("/")
    repo, _, tag = rest.partition(":")
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": OCI_INDEX})
    with urllib.request.urlopen(req, timeout=30) as resp:
        index = json.loads(resp.read())
    [amd64] = [m for m in index["manifests"] if m["platform"]["architecture"] == "amd64"]
    assert (entry["digest"], entry["size"]) == (amd64["digest"], amd64["size"])
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}

    annotated = pd("manifest", "annotate", "--annotation", "team=infra", "--arch", "arm64",
                   "--variant", "v8", "--os-version", "1", "mylist", entry["digest"])
    assert annotated.stdout.strip() == list_id
    [entry] = inspect(pd, "mylist")["manifests"]
    assert entry["platform"] == {"architecture": "arm64", "os": "linux", "variant": "v8",
                                 "os.version": "1"}
    assert entry["annotations"] == {"team": "infra"}

    again = pd("manifest", "create", "mylist", check=False)
    assert again.returncode == 125 and "already associated" in again.stderr
    assert pd("manifest", "create", "--amend", "mylist").stdout.strip() == list_id
    taken = pd("manifest", "create", busybox.rsplit("/", 1)[0] + "/busybox:latest", check=False)
    assert taken.returncode != 0

    assert pd("manifest", "remove", "mylist", entry["digest"]).stdout.strip() == list_id
    assert inspect(pd, "mylist")["manifests"] == []
    missing = pd("manifest", "remove", "mylist", entry["digest"], check=False)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr

    removed = pd("manifest", "rm", "mylist")
    assert removed.stdout.split("\n")[:2] == ["Untagged: localhost/mylist:latest",
                                              f"Deleted: {list_id}"]
    gone = pd("manifest", "rm", "mylist", check=False)
    assert gone.returncode == 1 and "image not known" in gone.stderr
    # the list's image stays
    assert pd("image", "exists", busybox).returncode == 0


def _podman(tmp_path: Path, runroot: Path) -> list[str]:
    exe = shutil.which("podman")
    if exe is None:
        pytest.fail("podman is not installed (packaging/install-deps.sh installs it)")
    return [exe, "--root", str(tmp_path / "proot"), "--runroot", str(runroot)]


def test_a_list_of_local_and_registry_images_is_pushed_and_pulled(
        pd: Run, busybox: str, testbed: Any, registry_env: dict[str, str],
        tmp_path: Path) -> None:
    # busybox:latest in the registry is an index: linux/amd64 and linux/arm64
    added = pd("manifest", "create", "multi", f"docker://{busybox}", "--all")
    list_id = added.stdout.strip()
    entries = inspect(pd, "multi")["manifests"]
    assert sorted(e["platform"]["architecture"] for e in entries) == ["amd64", "arm64"]
    # the local image replaces the registry's amd64 entry (same manifest digest): its
    # blobs then come from local storage, arm64's from the registry
    assert pd("manifest", "add", "multi", busybox).stdout.strip() == list_id
    assert len(inspect(pd, "multi")["manifests"]) == 2

    dest = f"{testbed.registry}/lists/multi:v1"
    digestfile = tmp_path / "digest"
    pd("manifest", "push", "--digestfile", str(digestfile), "multi", f"docker://{dest}")
    digest = digestfile.read_text()
    assert digest.startswith("sha256:")

    # podman (the reference) reads the pushed list
    runroot = Path(tempfile.mkdtemp(prefix="prun-"))
    podman = _podman(tmp_path, runroot)
    try:
        seen = subprocess.run([*podman, "manifest", "inspect", dest], capture_output=True,
                              text=True, env=registry_env, timeout=120)
        assert seen.returncode == 0, seen.stderr
        doc = json.loads(seen.stdout)
        assert doc["mediaType"] == DOCKER_LIST
        assert {e["digest"] for e in doc["manifests"]} == {e["digest"] for e in entries}
    finally:
        subprocess.run([*podman, "unshare", "rm", "-rf", str(tmp_path / "proot"), str(runroot)],
                       capture_output=True, env=registry_env, timeout=120)
        shutil.rmtree(runroot, ignore_errors=True)

    # pull of the list: each platform, blobs from the new repository
    pd("rmi", "-a", "-f")
    pd("pull", "-q", dest)
    arm = pd("pull", "-q", "--platform", "linux/arm64", dest).stdout.strip().splitlines()[-1]
    assert json.loads(pd("image", "inspect", arm).stdout)[0]["Architecture"] == "arm64"
    # pdman's inspect of a list that is not local asks the registry
    assert inspect(pd, dest)["manifests"] == doc["manifests"]

    # --format oci, --rm
    pd("manifest", "create", "again", busybox)
    pd("manifest", "push", "--format", "oci", "--rm", "-q", "again", f"{testbed.registry}/lists/oci")
    assert inspect(pd, f"{testbed.registry}/lists/oci")["mediaType"] == OCI_INDEX
    assert pd("manifest", "exists", "again", check=False).returncode == 1
