"""push, save/load, commit, import: the real `pdman` against the real registries of the
test bed, as the unprivileged test user."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]
ACCEPT = ", ".join(["application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])


pytestmark = pytest.mark.usefixtures("remove_store_first")


def registry_manifest(host: str, repo: str, tag: str) -> tuple[str, bytes]:
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return "sha256:" + hashlib.sha256(raw).hexdigest(), raw


def local_digest(pd: Run, image: str) -> str:
    return json.loads(pd("image", "inspect", image).stdout)[0]["Digest"]


def test_push_keeps_the_digests_and_skips_present_blobs(pd: Run, testbed: Any) -> None:
    for name in ("busybox:schema2", "nginx"):
        src = testbed.image(name)
        pd("pull", "-q", src)
        stamp = str(time.time_ns())
        dest = f"{testbed.registry}/pushed-{stamp}/{name.split(':')[0]}:copy"
        t0 = time.monotonic()
        out = pd("push", src, dest)
        took = time.monotonic() - t0
        print(f"push {name}: {took:.2f}s")
        digest, _ = registry_manifest(testbed.registry, f"pushed-{stamp}/{name.split(':')[0]}",
                                      "copy")
        src_repo, _, src_tag = src.partition("/")[2].rpartition(":")
        original, _ = registry_manifest(testbed.registry, src_repo, src_tag)
        if name == "busybox:schema2":
            assert digest == original
        else:  # nginx is an index: the platform manifest is what gets pushed, unchanged
            assert digest in json.loads(pd("image", "inspect", src).stdout)[0]["RepoDigests"][-1]
        assert "Writing manifest" in out.stderr
        again = pd("push", src, dest)
        assert "already exists" in again.stderr and "Copying blob" in again.stderr


def test_push_to_the_auth_registry(pd: Run, testbed: Any) -> None:
    src = testbed.image("busybox:schema2")
    pd("pull", "-q", src)
    dest = f"{testbed.auth_registry}/authpush-{time.time_ns()}/busybox:1"
    denied = pd("push", "-q", src, dest, check=False)
    assert denied.returncode == 125 and "authentication" in denied.stderr.lower()
    pd("push", "-q", "--creds", f"{testbed.auth_user}:{testbed.auth_password}", src, dest)
    pd("login", "-u", testbed.auth_user, "--password-stdin", testbed.auth_registry,
       input=testbed.auth_password + "\n")
    pd("push", "-q", src, dest)
    pd("rmi", src)
    pd("pull", "-q", dest)


def test_push_unknown_image(pd: Run, testbed: Any) -> None:
    r = pd("push", "no-such-image", f"{testbed.registry}/x:1", check=False)
    assert r.returncode == 125 and "no-such-image" in r.stderr


def test_save_load_round_trip_both_formats(pd: Run, testbed: Any, tmp_path: Path,
                                           registry_env: dict[str, str]) -> None:
    busybox, nginx = testbed.image("busybox:schema2"), testbed.image("nginx")
    pd("pull", "-q", busybox)
    pd("pull", "-q", nginx)
    ids = {i: json.loads(pd("image", "inspect", i).stdout)[0]["Id"] for i in (busybox, nginx)}
    both = tmp_path / "both.tar"
    pd("save", "-o", both, busybox, nginx)
    oci = tmp_path / "bb-oci.tar"
    pd("save", "--format", "oci-archive", "-o", oci, busybox)
    pd("rmi", busybox, nginx)
    out = pd("load", "-i", both).stdout
    assert f"Loaded image: {busybox}" in out and f"Loaded image: {nginx}" in out
    for name, image_id in ids.items():
        assert json.loads(pd("image", "inspect", name).stdout)[0]["Id"] == image_id
    assert pd("run", "--rm", "--network", "none", nginx, "cat", "/etc/debian_version").stdout
    pd("rmi", busybox)
    with open(oci, "rb") as f:  # from stdin
        out = subprocess.run(["pdman", "load"], stdin=f, env=registry_env,
                             capture_output=True, text=True, check=True).stdout
    assert f"Loaded image: {busybox}" in out
    assert pd("run", "--rm", "--network", "none", busybox, "echo", "hi").stdout.strip() == "hi"


def test_load_archives_written_by_skopeo(pd: Run, tmp_path: Path) -> None:
    from tests.bed import images

    src = images.layout_dir("busybox", images.cache_dir())
    env = dict(os.environ, TMPDIR=str(tmp_path))
    for transport in ("docker-archive", "oci-archive"):
        archive = tmp_path / f"skopeo-{transport}.tar"
        dest = f"{transport}:{archive}:skopeo/busybox:{transport}"
        subprocess.run(["skopeo", "copy", "-q", f"oci:{src}", dest], env=env, check=True,
                       capture_output=True)
        out = pd("load", "-i", archive).stdout
        assert "Loaded image:" in out, out
        name = out.split("Loaded image:")[1].split()[0]
        assert pd("run", "--rm", "--network", "none", name, "echo", "ok").stdout.strip() == "ok"


def test_commit_keeps_changes_and_deletions(pd: Run, testbed: Any) -> None:
    src = testbed.image("busybox:schema2")
    pd("pull", "-q", src)
    pd("run", "--name", "c1", "--network", "none", src, "sh", "-c",
       "echo committed > /hello && rm /bin/vi && mkdir -p /d && chown 1000:1000 /hello")
    image_id = pd("commit", "-m", "my change", "-a", "me", "--change", "CMD [\"cat\", \"/hello\"]",
                  "--change", "ENV FOO=bar", "--change", "WORKDIR /d", "c1", "mine:1").stdout.strip()
    assert len(image_id) == 64
    assert pd("run", "--rm", "--network", "none", "mine:1").stdout.strip() == "committed"
    probe = pd("run", "--rm", "--network", "none", "mine:1", "sh", "-c",
               "test -e /bin/vi && echo present || echo absent; pwd; echo $FOO; "
               "stat -c %u /hello").stdout.split()
    assert probe == ["absent", "/d", "bar", "1000"]
    history = pd("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}",
                 "mine:1").stdout.splitlines()
    assert history[0].startswith("pdman commit") and history[0].endswith("|my change")
    r = pd("commit", "no-such-container", check=False)
    assert r.returncode == 125 and "no-such-container" in r.stderr


def test_import_an_exported_rootfs(pd: Run, testbed: Any, tmp_path: Path) -> None:
    src = testbed.image("busybox:schema2")
    pd("pull", "-q", src)
    pd("create", "--name", "e1", src, "true")
    tarball = tmp_path / "rootfs.tar"
    pd("export", "-o", tarball, "e1")
    image_id = pd("import", "--change", "CMD [\"echo\", \"imported\"]", "-m", "from tar",
                  tarball, "imported:1").stdout.strip()
    assert image_id
    assert pd("run", "--rm", "--network", "none", "imported:1").stdout.strip() == "imported"
    doc = json.loads(pd("image", "inspect", "imported:1").stdout)[0]
    assert len(doc["RootFS"]["Layers"]) == 1
