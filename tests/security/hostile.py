"""The hostile program of tests/security (hostile.c): built static with gcc once per
session, into a directory a test bind-mounts into a busybox container (`-v DIR:/h:ro`,
then `/h/hostile MODE ...`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("hostile.c")


def build(dest: Path) -> Path:
    """The directory holding the built `hostile`."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build tests/security/hostile.c "
                    "(packaging/install-deps.sh installs it)", pytrace=False)
    dest.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([gcc, "-static", "-O2", "-o", str(dest / "hostile"), str(SOURCE)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"building hostile.c failed:\n{done.stderr}", pytrace=False)
    dest.chmod(0o755)
    return dest
