"""pdman as root on a systemd host (issue 18), inside the VM, in tier.sh's root pass:
`--memory` enforced from a system unit without `User=` (systemd's bare environment),
in the unit's own cgroup when it is delegated, refused with the fix when it is not, and
in a scope of machine.slice (the system manager's, over the system bus, as rootful
podman's) from outside a unit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.vm.conftest import Pd, cgroup_of, inspect

pytestmark = pytest.mark.vm_root

MiB = 1024 * 1024
# busybox dd allocates its block (bs) and fills it from /dev/zero: 200 MB resident
ALLOC_200MB = "dd if=/dev/zero of=/dev/null bs=200M count=1"


def _pdman() -> str:
    exe = shutil.which("pdman")
    assert exe
    return exe


def _unit(name: str, argv: list[str], out: Path, *props: str) -> list[str]:
    """systemd-run: a transient system service (no User=, systemd's environment), its
    output in `out`, waited for."""
    return ["systemd-run", f"--unit={name}", "--wait", "--collect", "--quiet",
            f"--property=StandardOutput=file:{out}", f"--property=StandardError=file:{out}",
            *[f"--property={p}" for p in props], "--", *argv]


def _store_flags(pd_env: dict[str, str]) -> list[str]:
    return ["--root", pd_env["PDMAN_ROOT"], "--runroot", pd_env["PDMAN_RUNROOT"]]


def test_root_pass_runs_as_root() -> None:
    assert os.getuid() == 0 and Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert "HOME" not in os.environ


def test_memory_enforced_in_a_delegated_system_unit(pd: Pd, pd_env: dict[str, str],
                                                    busybox: str, tmp_path: Path) -> None:
    out, gate = tmp_path / "unit.log", tmp_path / "gate"
    gate.mkdir()
    # it allocates once the test has looked at its cgroup (the file `go` appears)
    script = f"until [ -e /gate/go ]; do sleep 0.2; done; {ALLOC_200MB}; echo dd=$?"
    unit = subprocess.Popen(_unit("pdman-root-mem", [
        _pdman(), *_store_flags(pd_env), "run", "--name", "memunit", "--network", "none",
        "--memory", "64m", "-v", f"{gate}:/gate", busybox, "sh", "-c", script], out,
        "Delegate=yes"))
    try:
        pid = 0
        deadline = time.monotonic() + 180
        while not pid and time.monotonic() < deadline:
            done = pd("inspect", "memunit", "--format", "{{.State.Pid}}", check=False)
            pid = int(done.stdout.strip() or 0) if done.returncode == 0 else 0
            time.sleep(0.5)
        assert pid, f"the container never ran: {out.read_text() if out.exists() else ''}"
        cg = cgroup_of(pid)
        # a child of the unit's own (delegated) cgroup, with the limit
        assert cg.parent == Path("/sys/fs/cgroup/system.slice/pdman-root-mem.service"), cg
        assert int((cg / "memory.max").read_text()) == 64 * MiB
        (gate / "go").touch()
        assert unit.wait(timeout=300) == 0, out.read_text()
    finally:
        if unit.poll() is None:
            unit.kill()
    log = out.read_text()
    assert "dd=137" in log, log                     # the kernel killed the allocation
    assert inspect(pd, "memunit")["State"]["OOMKilled"] is True
    assert not cg.exists(), "the container's cgroup outlived it"


def test_undelegated_system_unit_refuses_limits_with_the_fix(
        pd: Pd, pd_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    out = tmp_path / "unit.log"
    done = subprocess.run(_unit("pdman-root-nodelegate", [
        _pdman(), *_store_flags(pd_env), "run", "--rm", "--network", "none", "--memory",
        "64m", busybox, "true"], out), timeout=300, check=False)
    log = out.read_text()
    assert done.returncode != 0, log
    assert "not delegated" in log and "Delegate=yes" in log, log
    assert "--cgroup-parent=machine.slice" in log and "Traceback" not in log, log


def test_memory_enforced_in_a_machine_slice_scope_outside_units(
        pd: Pd, busybox: str) -> None:
    """Root outside any unit (pd_env drops INVOCATION_ID): a transient scope of the
    system manager's in machine.slice, as rootful podman's."""
    done = pd("run", "--name", "memscope", "--network", "none", "--memory", "64m", busybox,
              "sh", "-c", f"cat /proc/self/cgroup; {ALLOC_200MB}", check=False)
    assert done.returncode == 137, done.stdout + done.stderr
    assert inspect(pd, "memscope")["State"]["OOMKilled"] is True
    units = subprocess.run(["systemctl", "list-units", "--all", "--no-legend", "pdman-*.scope"],
                           capture_output=True, text=True, check=False).stdout
    assert "pdman-" not in units, units             # the scope went with the container
    pd("run", "-d", "--name", "scoped", "--network", "none", "--memory", "32m", busybox,
       "sleep", "1000")
    try:
        pid = inspect(pd, "scoped")["State"]["Pid"]
        cg = cgroup_of(pid)
        assert cg.parent == Path("/sys/fs/cgroup/machine.slice"), cg
        assert cg.name.startswith("pdman-") and cg.name.endswith(".scope")
        assert int((cg / "memory.max").read_text()) == 32 * MiB
    finally:
        pd("rm", "-f", "scoped", check=False)
