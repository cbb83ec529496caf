"""pdman started the way a system unit starts it (issue 18): `env -i PATH=/usr/bin:/bin`,
so no HOME, USER, LOGNAME, XDG_RUNTIME_DIR. The home directory comes from the user
database, the runroot falls back to $TMPDIR/pdman-run-UID; nothing needs the caller's
environment. (As root: tests/integration/test_root_mode.py; the single file:
tests/integration/test_binary.py.)"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

BARE_PATH = "/usr/bin:/bin"


def _bare(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pdman")
    assert exe, "no pdman on PATH"
    done = subprocess.run(["env", "-i", f"PATH={BARE_PATH}", exe, *args], text=True,
                          capture_output=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_version_and_ps_without_home(pdman_env: dict[str, str]) -> None:
    done = _bare("--version")
    assert done.returncode == 0 and done.stdout.startswith("pdman version "), done.stderr
    flags = ["--root", pdman_env["PDMAN_ROOT"], "--runroot", pdman_env["PDMAN_RUNROOT"]]
    done = _bare(*flags, "ps")
    assert done.returncode == 0 and done.stdout.startswith("CONTAINER ID"), done.stderr


def test_run_rm_without_home(busybox: str, pdman_env: dict[str, str]) -> None:
    flags = ["--root", pdman_env["PDMAN_ROOT"], "--runroot", pdman_env["PDMAN_RUNROOT"]]
    done = _bare(*flags, "run", "--rm", busybox, "sh", "-c", "echo hi; id -u")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["hi", "0"]


def test_default_store_from_the_user_database() -> None:
    """Without HOME the store is the passwd entry's ~/.local/share/pdman (not a relative
    `~` under the current directory, not a crash); a store this test made is removed."""
    home = pwd.getpwuid(os.getuid()).pw_dir
    store = Path(home) / ".local/share/pdman"
    existed = store.exists()
    try:
        done = _bare("info", "--format", "{{.store.graphRoot}} {{.host.mode}}")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [str(store), "rootless"]
        assert (store / "catalog.db").exists()
    finally:
        if not existed:
            shutil.rmtree(store, ignore_errors=True)
