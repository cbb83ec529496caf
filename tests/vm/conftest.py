"""Fixtures of the VM tier: these tests run INSIDE the guest that tests/vm/harness.py
boots (systemd as PID 1, cgroup v2, a lingering user logged in through pam_systemd),
as that unprivileged user. On any other machine they are skipped with the reason.

  session_env   the login session's environment (XDG_RUNTIME_DIR, D-Bus) checked
  guest_registry (session) docker-registry on the guest's 127.0.0.1, serving the host
                test bed's busybox and nginx (from the harness's share; the guest has
                no network)
  pd_env        (session) a throw-away pdman store with busybox pulled once (every
                pull and every process costs ~35x more under emulation)
  busybox, nginx  the image references (nginx is pulled by the tests that use it)
  pd(*args)     run the real `pdman` binary
  background    start a `pdman run` that keeps running, and clean it up
  request_reboot(why)  ask tier.sh to reboot the guest after this boot's tests

Two boots: tier.sh runs the tests of a boot with PDMAN_VM_BOOT=1; if one of them called
request_reboot, it reboots the guest and runs the tests marked `after_reboot` with
PDMAN_VM_BOOT=2 (each boot runs only its own: the others are deselected). A test that
must survive the reboot keeps its state outside pytest's temporary directories.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARE = os.environ.get("PDMAN_VM_SHARE", "")
BOOT = int(os.environ.get("PDMAN_VM_BOOT", "1") or 1)
REBOOT_ASKED = Path.home() / ".pdman-vm-reboot"     # tier.sh reads it (as root)


#: tier.sh's second pass, as root (a system unit's world): only tests marked vm_root
ROOT_PASS = os.environ.get("PDMAN_VM_PASS") == "root"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_reboot: runs in the guest's second boot, "
                                       "after a test of the first called request_reboot")
    config.addinivalue_line(
        "markers", "vm_root: runs as root in the guest (tier.sh's root pass, "
        "PDMAN_VM_PASS=root); deselected in the user's pass")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARE and Path(SHARE, "registry").is_dir():
        keep, drop = [], []
        for item in items:
            later = item.get_closest_marker("after_reboot") is not None
            as_root = item.get_closest_marker("vm_root") is not None
            (keep if later == (BOOT == 2) and as_root == ROOT_PASS else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        return
    skip = pytest.mark.skip(reason="the VM tier runs inside the guest that "
                                   "`python3 -m tests.vm.harness` boots (tests/run does)")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def guest_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.bed.registry import Registry

    root = tmp_path_factory.mktemp("registry")
    shutil.copytree(Path(SHARE, "registry"), root / "storage", symlinks=True)
    reg = Registry.start(root, timeout=60)
    try:
        yield reg.host
    finally:
        reg.stop()


def _pdman() -> str:
    exe = shutil.which("pdman")
    assert exe, "pdman is not on PATH in the guest (tier.sh installs it into /opt/pdman-venv)"
    return exe


@pytest.fixture(scope="session")
def pd_env(guest_registry: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    base = tmp_path_factory.mktemp("pdman")
    conf = base / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{guest_registry}"\ninsecure = true\n')
    runroot = Path(tempfile.mkdtemp(prefix="pdrun-"))
    env = dict(os.environ, PDMAN_ROOT=str(base / "root"), PDMAN_RUNROOT=str(runroot),
               CONTAINERS_REGISTRIES_CONF=str(conf))
    env.pop("INVOCATION_ID", None)
    done = subprocess.run([_pdman(), "pull", "-q", f"{guest_registry}/busybox:latest"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"pull failed:\n{done.stdout}\n{done.stderr}"
    try:
        yield env
    finally:
        subprocess.run([_pdman(), "rm", "-fa"], env=env, capture_output=True, timeout=120,
                       check=False)
        try:
            from pdman.runtime.idmap import run_in_userns

            run_in_userns(shutil.rmtree, str(base / "root"), True)
        except Exception as exc:  # noqa: BLE001 -- a leftover dir must not fail the tier
            print(f"could not remove {base}: {exc}", file=sys.stderr)
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox(guest_registry: str) -> str:
    return f"{guest_registry}/busybox:latest"


@pytest.fixture(scope="session")
def nginx(guest_registry: str) -> str:
    """The host test bed's nginx (Debian's nginx-light, its own config: port 80, the
    default page, the access log on stdout; bash but no curl or wget)."""
    return f"{guest_registry}/nginx:latest"


Pd = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def pd(pd_env: dict[str, str]) -> Pd:
    def run(*args: object, check: bool = True, timeout: float = 240,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [_pdman(), *map(str, args)]
        done = subprocess.run(cmd, env=env or pd_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n--- stdout\n{done.stdout}"
                        f"--- stderr\n{done.stderr}", pytrace=False)
        return done
    return run


def inspect(pd: Pd, name: str) -> dict[str, Any]:
    return json.loads(pd("inspect", name).stdout)[0]  # type: ignore[no-any-return]


def wait_running(pd: Pd, name: str, timeout: float = 120) -> dict[str, Any]:
    """Until the container runs its command; its inspect document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = pd("inspect", name, check=False)
        if done.returncode == 0:
            doc = json.loads(done.stdout)[0]
            if doc["State"]["Running"] and doc["State"]["Pid"]:
                return doc  # type: ignore[no-any-return]
        time.sleep(0.5)
    pytest.fail(f"container {name} did not start within {timeout:.0f} s", pytrace=False)


def cgroup_of(pid: int) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    pytest.fail(f"process {pid} has no cgroup v2 path", pytrace=False)


class Background:
    """`pdman run --network none ...` left running in the foreground of a child process
    (the guest has no network device)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[str]] = []

    def __call__(self, *args: object, env: dict[str, str] | None = None,
                 ) -> subprocess.Popen[str]:
        proc = subprocess.Popen([_pdman(), "run", "--network", "none", *map(str, args)],
                                env=env or self.env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(60)


@pytest.fixture
def background(pd_env: dict[str, str]) -> Iterator[Background]:
    bg = Background(pd_env)
    try:
        yield bg
    finally:
        bg.close()


def request_reboot(why: str) -> None:
    """Ask tier.sh to reboot the guest once this boot's tests are done, and to run the
    `after_reboot` tests then."""
    with open(REBOOT_ASKED, "a") as f:
        f.write(why + "\n")
