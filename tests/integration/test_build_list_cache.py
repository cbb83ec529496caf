"""`pdman build --manifest LIST` (the image joins a manifest list, made if missing, and
the list pushes as an index of the built images), `--cache-ttl` (only young enough
cached steps are used; 0 is --no-cache), and the compatibility flags `--compress` and
`-D/--disable-compression`."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_build import Run, context, inspect, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_manifest_collects_the_built_images(pd: Run, busybox: str, testbed: Any,
                                            tmp_path: Path) -> None:
    one = context(tmp_path / "one", {"Containerfile": f"FROM {busybox}\nRUN echo 1 > /v\n"})
    two = context(tmp_path / "two", {"Containerfile": f"FROM {busybox}\nRUN echo 2 > /v\n"})
    assert pd("manifest", "exists", "built-list", check=False).returncode == 1
    pd("build", "-q", "-t", "member:1", "--manifest", "built-list", str(one))
    listed = json.loads(pd("manifest", "inspect", "built-list").stdout)
    first = inspect(pd, "member:1")
    assert listed["mediaType"] == DOCKER_LIST
    assert [m["digest"] for m in listed["manifests"]] == [first["Digest"]]
    assert listed["manifests"][0]["platform"]["os"] == "linux"
    # a second build joins the same list; an image without a tag joins too
    second_id = pd("build", "-q", "--manifest", "built-list", str(two)).stdout.split()[-1]
    second = inspect(pd, second_id)
    listed = json.loads(pd("manifest", "inspect", "built-list").stdout)
    assert [m["digest"] for m in listed["manifests"]] == [first["Digest"], second["Digest"]]
    # the list is a real one: pushed with its images, the registry serves the index
    ref = f"{testbed.registry}/built-list:{uuid.uuid4().hex[:8]}"
    pd("manifest", "push", "built-list", ref)
    host, _, rest = ref.partition("/")
    name, _, tag = rest.rpartition(":")
    req = urllib.request.Request(f"http://{host}/v2/{name}/manifests/{tag}",
                                 headers={"Accept": DOCKER_LIST})
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 (loopback)
        index = json.loads(answer.read())
    assert [m["digest"] for m in index["manifests"]] == [first["Digest"], second["Digest"]]
    # a list and an image cannot share a name: refused before anything is built
    done = pd("build", "-t", "same", "--manifest", "same", str(one), check=False)
    assert done.returncode == 125 and "--manifest" in done.stderr
    assert "STEP" not in done.stdout


def test_cache_ttl(pd: Run, busybox: str, tmp_path: Path) -> None:
    # the RUN prints "ran-2" when it runs (its STEP line shows the unexpanded text)
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo ran-$((1+1))\n"})

    def ran(*flags: str) -> bool:
        out = pd("build", *flags, str(ctx)).stdout
        assert ("ran-2" in out) != ("Using cache" in out), out
        return "ran-2" in out

    assert ran()
    assert not ran("--cache-ttl", "1h")           # made just now: young enough
    assert ran("--cache-ttl", "0")                # 0: --no-cache, as buildah's
    time.sleep(2.5)                               # every cache entry is now older than 2s
    assert ran("--cache-ttl", "2s")
    assert not ran()                              # without a TTL any age does
    done = pd("build", "--cache-ttl", "soon", str(ctx), check=False)
    assert done.returncode == 125 and "--cache-ttl" in done.stderr


def test_compress_flags_are_accepted(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN echo c > /c\n"})
    plain = pd("build", "-q", "--timestamp", "0", str(ctx)).stdout.split()[-1]
    # podman: --compress is a legacy no-op, -D only concerns its uncompressed local
    # layers; the image is the same
    for flags in (("--compress",), ("-D",), ("--disable-compression=false",)):
        built = pd("build", "-q", "--timestamp", "0", *flags, str(ctx)).stdout.split()[-1]
        assert built == plain
    assert pd("run", "--rm", plain, "cat", "/c").stdout == "c\n"
