"""Class 4 of issue #12: the process that enters the container.

`pdman exec` forks a process from pdman (a Python interpreter holding the user's
catalog, store and sockets open) that joins the container's namespaces and becomes,
at its execve, the command. Until then its /proc/PID/exe is the host's interpreter
(or the single-file bundle's executable, which the user owns) and /proc/PID/fd the
host's files: a process in the container that opens them can read the user's files
or overwrite the executable pdman runs from (runc's CVE-2019-5736). The hostile
program watches the PIDs the container's PID namespace hands out next and tries just
that while the test runs `pdman exec` again and again; it must never succeed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman
from tests.security import hostile

EXECS = 40


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile.build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def scanner(busybox: str, registry_env: dict[str, str], hostile_dir: Path,
            tmp_path: Path) -> Iterator[tuple[str, Path]]:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    run_pdman("run", "-d", "--name", "scanner", "-v", f"{hostile_dir}:/h:ro",
              "-v", f"{out}:/out", busybox, "/h/hostile", "procscan", "/out",
              env=registry_env)
    try:
        for _ in range(300):
            if (out / "ready").exists():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the hostile scanner never started: "
                        + run_pdman("logs", "scanner", env=registry_env, check=False).stderr)
        yield "scanner", out
    finally:
        run_pdman("rm", "-f", "scanner", env=registry_env, check=False)


def _stop(name: str, out: Path, env: dict[str, str]) -> str:
    (out / "stop").touch()
    run_pdman("wait", name, env=env, timeout=60)
    return (out / "stats").read_text()


def test_exec_process_cannot_be_opened_through_proc(
        scanner: tuple[str, Path], registry_env: dict[str, str]) -> None:
    name, out = scanner
    for i in range(EXECS):
        # -w and an env var: more work between the fork and the execve
        run_pdman("exec", "-w", "/tmp", "-e", f"N={i}", name, "true", env=registry_env)
    stats = _stop(name, out, registry_env)
    hits = (out / "hits").read_text() if (out / "hits").exists() else ""
    assert hits == "", f"a container process opened the exec'ing process' exe/fds:\n{hits}"
    # not vacuous: the scanner saw the exec'd processes come and go
    seen = int(stats.split()[0].removeprefix("seen="))
    assert seen > 0, stats


def test_exec_holds_no_host_fds(busybox: str, registry_env: dict[str, str]) -> None:
    """What the exec'd command holds is what was passed on purpose: its stdio."""
    run_pdman("run", "-d", "--name", "fds", busybox, "sleep", "600", env=registry_env)
    try:
        done = run_pdman("exec", "fds", "ls", "/proc/self/fd", env=registry_env)
        fds = sorted(int(x) for x in done.stdout.split())
        # 0-2, plus the fd ls opened to list the directory
        assert fds[:3] == [0, 1, 2] and len(fds) <= 4, done.stdout
    finally:
        run_pdman("rm", "-f", "fds", env=registry_env, check=False)


def test_single_file_bundle_out_of_reach(scanner: tuple[str, Path], registry_env: dict[str, str],
                                         tmp_path: Path) -> None:
    """The same through the single-file pdman (PDMAN_BINARY, built by tests/run): before
    its execve the process is a copy of the bundle's executable under ~/.cache/pdman,
    a file of the user's -- of the container's root, in a rootless user namespace."""
    given = os.environ.get("PDMAN_BINARY", "")
    if not os.access(given, os.X_OK):
        pytest.fail(f"PDMAN_BINARY={given!r} is not an executable file (tests/run builds it "
                    "unless PDMAN_BINARY_TIER=0)", pytrace=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pdman").symlink_to(given)
    env = dict(registry_env, PATH=f"{bin_dir}:/usr/bin:/bin",
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    name, out = scanner
    for i in range(EXECS // 2):
        run_pdman("exec", "-w", "/tmp", "-e", f"N={i}", name, "true", env=env)
    stats = _stop(name, out, registry_env)
    hits = (out / "hits").read_text() if (out / "hits").exists() else ""
    assert hits == "", f"a container process opened the exec'ing process' exe/fds:\n{hits}"
    assert int(stats.split()[0].removeprefix("seen=")) > 0, stats
    bundle = next((tmp_path / "cache" / "pdman").iterdir())
    assert (bundle / "pdman").exists()
