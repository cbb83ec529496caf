"""run/create's pull options of issue #13 as a podman user checks them: --arch/--os/
--variant pick a platform of a multi-platform image (and re-pull over a local image of
another platform, as podman 4.3 does), a platform the index lacks is a clear error,
--authfile names the credentials of the pull, and `import --arch/--os/--variant` record
the platform in the image's config."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from typing import Any

from tests.bed.images import PLATFORM_MARKER
from tests.compat.test_scripts import _pd


def _image_of(pd: Any, container: str) -> dict[str, Any]:
    image_id = pd("inspect", "--format", "{{.Image}}", container).stdout.strip()
    return json.loads(pd("image", "inspect", image_id).stdout)[0]  # type: ignore[no-any-return]


def test_run_create_pick_the_platform_of_an_index(registry_env: dict[str, str],
                                                  testbed: Any) -> None:
    pd = _pd(registry_env)
    ref = testbed.image("busybox")           # an index: linux/amd64 and linux/arm64 (v8)
    pd("create", "-q", "--arch", "arm64", "--name", "arm", ref, "true")
    doc = _image_of(pd, "arm")
    assert (doc["Architecture"], doc["Os"], doc.get("Variant")) == ("arm64", "linux", "v8")
    pd("create", "-q", "--os", "linux", "--arch", "arm64", "--variant", "v8", "--name", "arm8",
       ref, "true")
    assert _image_of(pd, "arm8")["Id"] == doc["Id"]   # present: not pulled again
    # the local image is arm64 now: asking for amd64 pulls that one over it, and it runs
    out = pd("run", "--rm", "-q", "--arch", "amd64", ref, "cat", "/etc/pdman-platform")
    assert out.stdout.encode() == PLATFORM_MARKER["linux/amd64"]
    never = pd("create", "--pull", "never", "--arch", "arm64", ref, "true", check=False)
    assert never.returncode == 125 and "image not known" in never.stderr
    # a platform the index does not have: a clear error naming what it has
    bad = pd("create", "--arch", "s390x", ref, "true", check=False)
    assert bad.returncode == 125
    assert "no image found in image index for architecture s390x" in bad.stderr
    assert "linux/arm64" in bad.stderr
    bad = pd("run", "--rm", "--platform", "linux/arm64", "--arch", "arm64", ref, "true",
             check=False)
    assert bad.returncode == 125 and "cannot be combined" in bad.stderr


def test_run_create_authfile(registry_env: dict[str, str], testbed: Any,
                             tmp_path: Path) -> None:
    pd = _pd(registry_env)
    ref = testbed.image("busybox:schema2", auth=True)
    denied = pd("run", "--rm", ref, "true", check=False)
    assert denied.returncode == 125 and "authentication" in denied.stderr.lower()
    authfile = tmp_path / "creds.json"
    token = base64.b64encode(f"{testbed.auth_user}:{testbed.auth_password}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {testbed.auth_registry: {"auth": token}}}))
    assert pd("run", "--rm", "-q", "--authfile", str(authfile), ref,
              "echo", "in").stdout == "in\n"
    # create pulls with it too (the image removed first, so the pull happens)
    pd("rmi", ref)
    pd("create", "-q", "--authfile", str(authfile), "--name", "c", ref, "true")
    assert pd("image", "exists", ref).returncode == 0
    missing = pd("run", "--rm", "--authfile", str(tmp_path / "none.json"), ref, "true",
                 check=False)
    assert missing.returncode == 125
    assert f"checking authfile: stat {tmp_path / 'none.json'}" in missing.stderr


def test_import_records_the_platform(registry_env: dict[str, str], tmp_path: Path) -> None:
    pd = _pd(registry_env)
    (tmp_path / "hello").write_text("hi\n")
    tarball = tmp_path / "root.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(tmp_path / "hello", arcname="hello")
    pd("import", "-q", "--arch", "arm64", "--os", "linux", "--variant", "v8", str(tarball),
       "arm:1")
    doc = json.loads(pd("image", "inspect", "arm:1").stdout)[0]
    assert (doc["Architecture"], doc["Os"], doc.get("Variant")) == ("arm64", "linux", "v8")
    pd("import", "-q", "--arch", "s390x", str(tarball), "other:1")
    doc = json.loads(pd("image", "inspect", "other:1").stdout)[0]
    assert (doc["Architecture"], doc["Os"], doc.get("Variant")) == ("s390x", "linux", None)
    pd("import", "-q", str(tarball), "host:1")
    assert json.loads(pd("image", "inspect", "host:1").stdout)[0]["Architecture"] == "amd64"
