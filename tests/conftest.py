"""Fixtures shared by the suites that run the real binary (tests/integration,
tests/security, tests/compat): real registries, throw-away stores, the real binary.

The suite runs as an unprivileged user (DESIGN §9) against images that root built
beforehand (`sudo python3 -m tests.bed.images build`). Fixtures:

  testbed       (session) both registries started and filled; `.registry`,
                `.auth_registry`, `.auth_user`, `.auth_password`, `.image(name)`
  pdman_env     (function) os.environ plus throw-away PDMAN_ROOT / PDMAN_RUNROOT /
                REGISTRY_AUTH_FILE; starts no registry
  registry_env  (function) pdman_env plus CONTAINERS_REGISTRIES_CONF marking the
                test registries insecure (they speak plain HTTP on 127.0.0.1)
  pdman         (function) `pdman("pull", ref)` = run_pdman(..., env=pdman_env)
  pd            (function) the same with registry_env: a throw-away store that trusts
                the test registries (a module that needs other defaults, such as a
                longer timeout, overrides it with tests.bed.runner's
                `runner_with(registry_env, timeout=...)`)
  remove_store_first  (function) removes the test's store at teardown before
                pdman_env's own cleanup (which then finds none); modules that want it
                say `pytestmark = pytest.mark.usefixtures("remove_store_first")`

and the plain helper `run_pdman(*args, env=..., check=...)`, from tests.bed.runner.

Environment: PDMAN_TESTBED_CACHE (the image cache), PDMAN_TESTBED_SAVED (where a
filled registry storage is kept between sessions; default ~/.cache/pdman-testbed/
registry; "off" to push every session).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# `tests` has no __init__.py: make the repo root importable however pytest was started
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.bed import images, registry
from tests.bed.runner import run_pdman, runner_with  # re-exported for tests

__all__ = ["RegistryBed", "run_pdman", "runner_with"]

HERE = Path(__file__).resolve().parent
#: the suites that run the real binary as an unprivileged user; tests/unit needs
#: neither, and tests/vm has its own conftest (it runs inside the guest)
INTEGRATION_DIRS = tuple(HERE / d for d in ("integration", "security", "compat"))


#: tests/run's second pass, as root: only the tests marked root_mode run in it
ROOT_PASS = os.environ.get("PDMAN_TEST_PASS") == "root"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: runs the real binary against the real registry as an "
        "unprivileged user")
    config.addinivalue_line(
        "markers", "root_mode: runs pdman as real root (tests/run's root pass, "
        "PDMAN_TEST_PASS=root); skipped in the unprivileged pass")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(d in Path(str(item.fspath)).resolve().parents for d in INTEGRATION_DIRS):
            item.add_marker(pytest.mark.integration)
    if ROOT_PASS:
        # the root pass runs the root-mode tests alone: the rest ran as the test user
        keep = [i for i in items if i.get_closest_marker("root_mode")]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
        return
    skip = pytest.mark.skip(reason="root-mode test: runs as root in tests/run's root pass "
                                   "(PDMAN_TEST_PASS=root)")
    for item in items:
        if item.get_closest_marker("root_mode"):
            item.add_marker(skip)


@dataclass(frozen=True)
class RegistryBed:
    """The running registries, as tests name them in image references."""

    registry: str            # "127.0.0.1:PORT", no auth
    auth_registry: str       # "127.0.0.1:PORT", basic auth with the pair below
    auth_user: str
    auth_password: str
    registries_conf: Path    # marks both insecure (plain HTTP)
    filled: str              # "pushed" this session, or "saved" (copied from an earlier one)

    def image(self, name: str, auth: bool = False) -> str:
        """'busybox' -> '127.0.0.1:PORT/busybox:latest'; a given tag is kept."""
        if ":" not in name:
            name = f"{name}:{images.IMAGES[name].tag}"
        return f"{self.auth_registry if auth else self.registry}/{name}"


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryBed]:
    cache = images.cache_dir()
    lacking = images.missing(cache)
    if lacking:
        # fail, never skip: a suite that silently skips its registry tests proves nothing
        pytest.fail(f"test images missing from {cache}: {', '.join(lacking)}.\n"
                    "Build them once, as root, from the repo root:\n"
                    "    sudo python3 -m tests.bed.images build\n"
                    "(set PDMAN_TESTBED_CACHE to use another cache dir)", pytrace=False)
    saved_env = os.environ.get("PDMAN_TESTBED_SAVED")
    saved = (None if saved_env == "off"
             else Path(saved_env) if saved_env else registry.default_saved_dir())
    root = tmp_path_factory.mktemp("registries")
    bed = registry.start_bed(root, cache, saved)
    try:
        conf = root / "registries.conf"
        conf.write_text("".join(f'[[registry]]\nlocation = "{r.host}"\ninsecure = true\n\n'
                                for r in (bed.plain, bed.auth)))
        yield RegistryBed(bed.plain.host, bed.auth.host, registry.AUTH_USER,
                          registry.AUTH_PASSWORD, conf, bed.how)
    finally:
        bed.stop()


@pytest.fixture
def pdman_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    # The runroot holds Unix sockets, whose paths must stay under 108 bytes: a
    # short dir in /tmp rather than pytest's long per-test path.
    runroot = Path(tempfile.mkdtemp(prefix="pdrun-"))
    env = dict(os.environ)
    env.update(PDMAN_ROOT=str(tmp_path / "pdman-root"), PDMAN_RUNROOT=str(runroot),
               REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))
    try:
        yield env
    finally:
        _remove_store(env, tmp_path / "pdman-root")
        shutil.rmtree(runroot, ignore_errors=True)


def _remove_store(env: dict[str, str], root: Path) -> None:
    """Leave nothing behind: containers a test left running are removed, and the store
    is deleted inside the user namespace, since layers hold files owned by subordinate
    IDs that the test user cannot delete directly."""
    if not root.exists():
        return
    if (root / "catalog.db").exists():
        run_pdman("pod", "rm", "-fa", env=env, check=False, timeout=60)
        run_pdman("rm", "-fa", env=env, check=False, timeout=60)
    try:
        from pdman.runtime.idmap import run_in_userns

        run_in_userns(shutil.rmtree, str(root), True)
    except Exception as exc:  # a leftover tmp dir must not fail the test that passed
        print(f"could not remove {root}: {exc}", file=sys.stderr)


@pytest.fixture
def registry_env(pdman_env: dict[str, str], testbed: RegistryBed) -> dict[str, str]:
    return dict(pdman_env, CONTAINERS_REGISTRIES_CONF=str(testbed.registries_conf))


@pytest.fixture
def busybox(testbed: RegistryBed, registry_env: dict[str, str]) -> str:
    """The busybox test image, pulled into the test's store; its reference."""
    ref = testbed.image("busybox")
    run_pdman("pull", "-q", ref, env=registry_env)
    return ref


@pytest.fixture
def pdman(pdman_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    return runner_with(pdman_env)


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`pdman ARGS` with a throw-away store that trusts the test registries (insecure)."""
    return runner_with(registry_env)


@pytest.fixture
def remove_store_first(pdman_env: dict[str, str]) -> Iterator[None]:
    """Stores hold files of subordinate IDs, which only the user namespace can remove
    (pytest's own cleanup cannot): removed in one user namespace, at once, before
    pdman_env's cleanup."""
    yield
    from pdman.storage.extractor import remove_trees

    remove_trees([pdman_env["PDMAN_ROOT"]])
