"""Archives cross between pdman and podman both ways (podman is the reference
implementation here: Debian's, with a throw-away store)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman


def _podman(tmp_path: Path, runroot: Path) -> list[str]:
    exe = shutil.which("podman")
    if exe is None:  # packaging/install-deps.sh installs it; say so if it is absent
        pytest.fail("podman is not installed (packaging/install-deps.sh installs it)")
    return [exe, "--root", str(tmp_path / "proot"), "--runroot", str(runroot),
            "--storage-driver", "overlay"]


def test_our_archive_loads_in_podman_and_theirs_in_pdman(busybox: str, registry_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    import tempfile

    runroot = Path(tempfile.mkdtemp(prefix="prun-"))  # podman wants it under 50 characters
    podman = _podman(tmp_path, runroot)
    ours = tmp_path / "ours.tar"
    run_pdman("save", "-o", ours, busybox, env=registry_env)
    loaded = subprocess.run([*podman, "load", "-i", str(ours)], capture_output=True, text=True,
                            env=registry_env)
    assert loaded.returncode == 0, loaded.stderr
    assert busybox in loaded.stdout
    for fmt in ("docker-archive", "oci-archive"):
        theirs = tmp_path / f"theirs-{fmt}.tar"
        subprocess.run([*podman, "save", "--format", fmt, "-o", str(theirs), busybox],
                       check=True, capture_output=True, env=registry_env)
        run_pdman("rmi", "-f", busybox, env=registry_env, check=False)
        out = run_pdman("load", "-i", theirs, env=registry_env).stdout
        assert busybox in out
        assert run_pdman("run", "--rm", "--network", "none", busybox, "echo", fmt,
                         env=registry_env).stdout == f"{fmt}\n"
    subprocess.run([*podman, "unshare", "rm", "-rf", str(tmp_path / "proot"), str(runroot)],
                   env=registry_env, capture_output=True)
