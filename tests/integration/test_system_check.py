"""After a crash: `system check` finds what was left half-done, `--repair` mends it, and
the store keeps working (DESIGN §3: reset is never the answer to a crash)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.bed.runner import run_pdman


def test_check_finds_and_repairs_crash_leftovers(busybox: str, registry_env: dict[str, str]) -> None:
    root = Path(registry_env["PDMAN_ROOT"])
    assert run_pdman("system", "check", env=registry_env).stdout == "No problems found\n"
    # what killed processes leave behind
    (root / "tmp" / "unpack-dead").mkdir(parents=True)
    (root / "tmp" / "unpack-dead" / "half").write_bytes(b"x" * 100)
    (root / "layers" / ("ab" * 32) / "diff").mkdir(parents=True)
    (root / "containers" / ("cd" * 32) / "upper").mkdir(parents=True)
    os.symlink("../layers/gone/diff", root / "l" / "DANGLINGLINK")

    found = run_pdman("system", "check", env=registry_env, check=False)
    assert found.returncode == 1
    for kind in ("tmp-garbage", "orphan-layer", "orphan-container-dir", "dangling-link"):
        assert kind in found.stdout

    fixed = run_pdman("system", "check", "--repair", env=registry_env)
    assert fixed.returncode == 0
    assert not (root / "layers" / ("ab" * 32)).exists()
    assert not (root / "containers" / ("cd" * 32)).exists()
    assert not os.path.lexists(root / "l" / "DANGLINGLINK")
    assert [p.name for p in (root / "tmp").iterdir()] == []
    assert run_pdman("system", "check", env=registry_env).stdout == "No problems found\n"
    # the real image survived the repair
    assert run_pdman("run", "--rm", busybox, "echo", "ok", env=registry_env).stdout == "ok\n"


def test_reset_removes_everything(busybox: str, registry_env: dict[str, str]) -> None:
    run_pdman("create", busybox, "true", env=registry_env)
    refused = run_pdman("system", "reset", env=registry_env, check=False)
    assert refused.returncode == 125 and "--force" in refused.stderr
    run_pdman("system", "reset", "--force", env=registry_env)
    assert not Path(registry_env["PDMAN_ROOT"]).exists()
    assert run_pdman("images", "-q", env=registry_env).stdout == ""
