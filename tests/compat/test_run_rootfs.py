"""run/create --rootfs (issue #13), as podman 4.3's: IMAGE is an exploded root
filesystem directory; PATH runs in it and writes there, PATH:O runs an overlay on it
whose changes stay in the container's storage; the container has no image (inspect's
Image and ImageName are empty, Rootfs names the directory)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.compat.test_scripts import _pd


def _exploded(pd, busybox: str, where: Path) -> Path:  # type: ignore[no-untyped-def]
    """The busybox image's files as a plain directory of the user's."""
    pd("create", "--name", "src", busybox, "true")
    tarball = where / "rootfs.tar"
    pd("export", "-o", str(tarball), "src")
    pd("rm", "src")
    root = where / "root"
    root.mkdir()
    with tarfile.open(tarball) as tar:
        tar.extractall(root)  # noqa: S202 - our own export
    return root


def test_rootfs_runs_a_directory(registry_env: dict[str, str], busybox: str,
                                 tmp_path: Path) -> None:
    pd = _pd(registry_env)
    root = _exploded(pd, busybox, tmp_path)
    # PATH: written in place
    out = pd("run", "--rm", "--rootfs", str(root), "sh", "-c",
             "echo hi > /made; id -u; ls /bin/busybox").stdout
    assert out.split() == ["0", "/bin/busybox"]
    assert (root / "made").read_text() == "hi\n"
    # PATH:O: an overlay; the directory is left as it was
    out = pd("run", "--rm", "--rootfs", f"{root}:O", "sh", "-c",
             "cat /made; echo x > /overlaid; rm /made; ls /overlaid").stdout
    assert out.split() == ["hi", "/overlaid"]
    assert not (root / "overlaid").exists() and (root / "made").exists()
    # no image: podman's inspect and ps show none
    pd("create", "--name", "r", "--rootfs", f"{root}:O", "echo", "from", "rootfs")
    doc = json.loads(pd("inspect", "r").stdout)[0]
    assert (doc["Image"], doc["ImageName"], doc["Rootfs"]) == ("", "", f"{root}:O")
    assert pd("ps", "-a", "--format", "{{.Names}} [{{.Image}}]").stdout == "r []\n"
    assert pd("start", "-a", "r").stdout == "from rootfs\n"
    pd("rm", "r")
    assert (root / "bin" / "busybox").exists()      # rm leaves the directory alone


def test_rootfs_errors(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    pd = _pd(registry_env)
    bad = pd("run", "--rm", "--rootfs", str(tmp_path / "none"), "true", check=False)
    assert bad.returncode == 125
    assert f"--rootfs {tmp_path / 'none'}: no such file or directory" in bad.stderr
    (tmp_path / "file").write_text("")
    bad = pd("run", "--rm", "--rootfs", str(tmp_path / "file"), "true", check=False)
    assert bad.returncode == 125 and "is not a directory" in bad.stderr
    root = _exploded(pd, busybox, tmp_path)
    bad = pd("run", "--rm", "--rootfs", str(root), check=False)
    assert bad.returncode == 125 and "no command specified" in bad.stderr
    pd("create", "--name", "r", "--rootfs", f"{root}:O", "true")
    bad = pd("commit", "r", "made:1", check=False)
    assert bad.returncode == 125 and "--rootfs" in bad.stderr


def test_rootfs_in_a_store_that_never_pulled(pdman_env: dict[str, str], tmp_path: Path) -> None:
    """No image at all: the store's layer links directory does not exist yet."""
    import shutil

    busybox = shutil.which("busybox")
    if not busybox:   # busybox-static, of packaging/install-deps.sh
        import pytest

        pytest.skip("needs the host's static busybox (packaging/install-deps.sh installs "
                    "busybox-static) to build a root filesystem without an image")
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    pd = _pd(pdman_env)
    out = pd("run", "--rm", "--network", "none", "--rootfs", f"{root}:O", "/bin/busybox",
             "echo", "ran").stdout
    assert out == "ran\n"

