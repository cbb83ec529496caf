"""pdman as real root (issue 18): root's own store, no user namespace by default (the
container's root is the host's root, as rootful podman's), the same capabilities,
seccomp filter and masked paths as a user's container, `info` saying the mode, and
runs from a bare environment (a system unit without `User=`: no HOME, USER, XDG_*).

These run as root, in tests/run's root pass (PDMAN_TEST_PASS=root; tests/conftest.py
skips them in the unprivileged pass). The host is shared, so they keep to its rules:
- every store is a throw-away one under the test's tmp dir (PDMAN_ROOT/PDMAN_RUNROOT),
  never /var/lib/pdman or /run/pdman;
- nothing writes under /sys/fs/cgroup (no limits are asked for; on this cgroup v1 host
  pdman refuses them, as rootless);
- every container with a network runs inside a network namespace this module made
  (`unshare --net=FILE`, with a veth pair as pasta's template), so that what
  pasta or slirp4netns set up, and every packet, stays there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

pytestmark = pytest.mark.root_mode

#: what `env -i PATH=/usr/bin:/bin` leaves: systemd's environment for a unit without User=
BARE_PATH = "/usr/bin:/bin"


def _pdman_exe() -> str:
    exe = shutil.which("pdman")
    assert exe, "no pdman on PATH"
    return exe


@pytest.fixture
def root_env(testbed, tmp_path: Path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Root's environment with a throw-away store; what the test left is removed."""
    assert os.geteuid() == 0, "root-mode tests run as root (tests/run's root pass)"
    runroot = Path(tempfile.mkdtemp(prefix="pdrootrun-"))
    env = dict(os.environ, PDMAN_ROOT=str(tmp_path / "store"), PDMAN_RUNROOT=str(runroot),
               REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"),
               CONTAINERS_REGISTRIES_CONF=str(testbed.registries_conf))
    try:
        yield env
    finally:
        if (tmp_path / "store" / "catalog.db").exists():
            run_pdman("rm", "-fa", env=env, check=False, timeout=60)
        shutil.rmtree(runroot, ignore_errors=True)
        shutil.rmtree(tmp_path / "store", ignore_errors=True)


@pytest.fixture
def netns(tmp_path: Path) -> Iterator[Path]:
    """A network namespace of this test's, bound on a file: lo up, and the veth pdt0
    (198.51.100.2/24, a default route: pasta copies the host's addresses and routes from
    such a template interface) whose peer pdt1 (198.51.100.9) is in a second namespace
    of the test's, `client_netns`: a client with an address of its own. (No dummy
    driver on the CI machine.) Both are removed afterwards."""
    path, client = tmp_path / "netns", tmp_path / "client-netns"
    for p in (path, client):
        p.touch()
        subprocess.run(["unshare", f"--net={p}", "true"], check=True)
    holder = subprocess.Popen(["nsenter", f"--net={client}", "sleep", "600"])
    try:
        def ns(where: Path, *cmd: str) -> None:
            subprocess.run(["nsenter", f"--net={where}", *cmd], check=True, capture_output=True)

        ns(path, "ip", "link", "set", "lo", "up")
        ns(path, "ip", "link", "add", "pdt0", "type", "veth", "peer", "name", "pdt1")
        ns(path, "ip", "link", "set", "pdt1", "netns", str(holder.pid))
        ns(path, "ip", "addr", "add", "198.51.100.2/24", "dev", "pdt0")
        ns(path, "ip", "link", "set", "pdt0", "up")
        ns(path, "ip", "route", "add", "default", "via", "198.51.100.1")
        ns(client, "ip", "link", "set", "lo", "up")
        ns(client, "ip", "addr", "add", "198.51.100.9/24", "dev", "pdt1")
        ns(client, "ip", "link", "set", "pdt1", "up")
        yield path
    finally:
        holder.kill()
        holder.wait()
        for p in (path, client):
            subprocess.run(["umount", "-l", str(p)], check=False)
            p.unlink(missing_ok=True)


@pytest.fixture
def client_netns(netns: Path) -> Path:
    return netns.parent / "client-netns"


@pytest.fixture
def in_netns(root_env: dict[str, str], netns: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`in_netns(*args)`: pdman ARGS as root, inside the test's network namespace."""
    def run(*args: object, env: dict[str, str] | None = None, check: bool = True,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        cmd = [*prefix, "nsenter", f"--net={netns}", "--", _pdman_exe(), *map(str, args)]
        done = subprocess.run(cmd, env=env or root_env, text=True, capture_output=True,
                              timeout=120, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n"
                        f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}", pytrace=False)
        return done
    return run


@pytest.fixture
def busybox(testbed, root_env: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """Pulled as root (in the host's network namespace: the registry is on its loopback;
    a pull starts no container and makes no interface)."""
    ref = testbed.image("busybox")
    run_pdman("pull", "-q", ref, env=root_env)
    return ref


def _status(text: str, field: str) -> str:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {field} in {text!r}")


# ---- the store and the mode ----


def test_info_says_root_mode_and_store(root_env: dict[str, str]) -> None:
    info = json.loads(run_pdman("info", "--format", "json", env=root_env).stdout)
    assert info["host"]["mode"] == "root"
    assert info["host"]["rootless"] is False
    assert info["host"]["security"]["rootless"] is False
    assert info["host"]["idMappings"]["uidmap"] == [
        {"container_id": 0, "host_id": 0, "size": 4294967295}]
    assert info["store"]["graphRoot"] == root_env["PDMAN_ROOT"]
    assert info["store"]["runRoot"] == root_env["PDMAN_RUNROOT"]
    st = os.stat(root_env["PDMAN_ROOT"])
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o700


def test_pull_as_root(testbed, root_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    ref = testbed.image("busybox")
    pulled = run_pdman("pull", "-q", ref, env=root_env).stdout.strip()
    assert len(pulled) == 64
    assert ref.rsplit("/", 1)[1].split(":")[0] in run_pdman("images", env=root_env).stdout
    assert (Path(root_env["PDMAN_ROOT"]) / "catalog.db").exists()


# ---- containers: root is the host's root, confined as a user's container is ----


@pytest.mark.parametrize("network", ["pasta", "slirp4netns"])
def test_run_rm_container_root_is_host_root(busybox: str, in_netns, network: str) -> None:  # type: ignore[no-untyped-def]
    host_userns = os.readlink("/proc/self/ns/user")
    out = in_netns("run", "--rm", "--network", network, busybox, "sh", "-c",
                   "cat /proc/self/uid_map; cat /proc/self/gid_map; readlink /proc/self/ns/user; "
                   "id -u; ip -4 -o addr show scope global").stdout.splitlines()
    assert out[0].split() == ["0", "0", "4294967295"], out
    assert out[1].split() == ["0", "0", "4294967295"], out
    assert out[2] == host_userns, "the container made a user namespace of its own"
    assert out[3] == "0"
    assert len(out) == 5 and "inet" in out[4], f"no address from {network}: {out}"


def test_caps_seccomp_masks_as_for_users(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    from pdman.engine.runopts import DEFAULT_CAPS
    from pdman.runtime.native import DEFAULT_MASKED_PATHS, cap_mask

    status = in_netns("run", "--rm", "--network", "none", busybox,
                      "cat", "/proc/self/status").stdout
    want = f"{cap_mask(DEFAULT_CAPS):016x}"
    assert _status(status, "CapEff") == want
    assert _status(status, "CapBnd") == want
    assert _status(status, "CapAmb") == "0" * 16
    assert _status(status, "Seccomp") == "2"
    # a user inside root's container holds no capability, as in a user's
    status = in_netns("run", "--rm", "--network", "none", "--user", "1000", busybox,
                      "cat", "/proc/self/status").stdout
    assert _status(status, "CapEff") == "0" * 16
    # masked paths are covered; /proc/sys is read-only
    mounts = in_netns("run", "--rm", "--network", "none", busybox,
                      "cat", "/proc/self/mountinfo").stdout
    points = {line.split()[4]: line.split()[5] for line in mounts.splitlines()}
    for path in DEFAULT_MASKED_PATHS:
        if os.path.exists(path):
            assert path in points, f"{path} is not masked"
    assert "ro" in points["/proc/sys"].split(",")
    # mounting needs CAP_SYS_ADMIN, which the container does not hold
    done = in_netns("run", "--rm", "--network", "none", busybox, "sh", "-c",
                    "mkdir -p /m && mount -t tmpfs none /m && echo mounted", check=False)
    assert "mounted" not in done.stdout
    assert done.returncode != 0


def test_no_new_privileges_as_for_users(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    status = in_netns("run", "--rm", "--network", "none", "--security-opt", "no-new-privileges",
                      busybox, "cat", "/proc/self/status").stdout
    assert _status(status, "NoNewPrivs") == "1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fetch_in(netns: Path, url: str) -> str:
    """GET `url` from inside the test's network namespace (busybox-free: Python's)."""
    import sys

    script = ("import sys, time, urllib.request\n"
              "o = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
              "for _ in range(100):\n"
              "    try:\n"
              "        print(o.open(sys.argv[1], timeout=2).read().decode()); break\n"
              "    except OSError:\n"
              "        time.sleep(0.2)\n")
    done = subprocess.run(["nsenter", f"--net={netns}", sys.executable, "-c", script, url],
                          text=True, capture_output=True, timeout=60, check=False)
    return done.stdout


@pytest.mark.parametrize("network,host_ip", [("pasta", "198.51.100.2"), ("pasta", "127.0.0.1"),
                                             ("slirp4netns", "127.0.0.1")])
def test_published_port_as_root(busybox: str, in_netns, netns: Path,  # type: ignore[no-untyped-def]
                                client_netns: Path, root_env: dict[str, str], network: str,
                                host_ip: str) -> None:
    """`run -d -p` as root answers on the (test namespace's) host address; a client
    from another machine (namespace) is seen with its own address, a local one never as
    the forwarder's loopback."""
    port = _free_port()
    in_netns("run", "-d", "--name", "web", "--network", network, "-p", f"{host_ip}:{port}:80",
             busybox, "sh", "-c", "echo hello > /index.html; exec httpd -f -v -p 80 -h /")
    try:
        client = netns if host_ip == "127.0.0.1" else client_netns
        assert _fetch_in(client, f"http://{host_ip}:{port}/index.html").strip() == "hello"
        log = in_netns("logs", "web").stderr + in_netns("logs", "web").stdout
        assert "response:200" in log, log
        if client == client_netns:
            assert "198.51.100.9" in log, f"the client's address was lost: {log}"
        assert "127.0.0.1" not in log, f"the container saw the forwarder as its client: {log}"
    finally:
        in_netns("rm", "-f", "web", check=False)
    assert _processes_with(root_env["PDMAN_RUNROOT"]) == [], "a network helper outlived rm"


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]


def _processes_with(text: str) -> list[str]:
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmdline = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{p.name}: {cmdline}")
    return found


def test_detached_exec_rm_leave_nothing(busybox: str, in_netns, root_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    cid = in_netns("run", "-d", "--name", "bg", busybox, "sleep", "1000").stdout.strip()
    assert len(cid) == 64
    pid = int(in_netns("inspect", "bg", "--format", "{{.State.Pid}}").stdout)
    assert os.readlink(f"/proc/{pid}/ns/user") == os.readlink("/proc/self/ns/user")
    out = in_netns("exec", "bg", "sh", "-c", "id -u; cat /proc/self/uid_map").stdout.split()
    assert out == ["0", "0", "0", "4294967295"], out
    store, runroot = root_env["PDMAN_ROOT"], root_env["PDMAN_RUNROOT"]
    assert _processes_with(runroot), "no network helper runs for the container"
    in_netns("rm", "-f", "bg")
    assert not os.path.exists(f"/proc/{pid}"), "the container's process is still there"
    assert _mounts_under(store) == [] and _mounts_under(runroot) == []
    assert _processes_with(runroot) == [] and _processes_with(cid) == []
    assert in_netns("ps", "-aq").stdout == ""


def test_nofile_limit_is_the_callers(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    """The caller's hard RLIMIT_NOFILE (20000 on the CI machine, below what rootful
    podman asks for) is the container's default, never raised above."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(hard, 4096)
    out = in_netns("run", "--rm", "--network", "none", busybox, "sh", "-c",
                   "ulimit -Hn; ulimit -Sn", prefix=("prlimit", f"--nofile={lowered}:{lowered}",
                                                     "--")).stdout.split()
    assert out == [str(lowered), str(lowered)], out


def _has_cap_sys_resource() -> bool:
    eff = int(_status(Path("/proc/self/status").read_text(), "CapEff"), 16)
    return bool(eff >> 24 & 1)


def test_ulimit_above_the_hard_limit_is_refused_clearly(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    """Root without CAP_SYS_RESOURCE (the CI machine) cannot raise a hard limit: asking
    is a clear error naming the limit, not a crash (rootful podman 4.3 cannot start any
    container here: it always asks for more than the hard 20000)."""
    import resource

    if _has_cap_sys_resource():
        pytest.skip("this root holds CAP_SYS_RESOURCE: it may raise its hard limits")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    done = in_netns("run", "--rm", "--network", "none", "--ulimit",
                    f"nofile={hard + 1}:{hard + 1}", busybox, "true", check=False)
    assert done.returncode == 125, done.stdout + done.stderr
    assert "RLIMIT_NOFILE" in done.stderr and "ulimit -H" in done.stderr
    assert "Traceback" not in done.stderr


# ---- anywhere a service starts it ----


def test_bare_environment(busybox: str, root_env: dict[str, str], netns: Path) -> None:
    """`env -i PATH=/usr/bin:/bin`: no HOME, USER, XDG_*; the store given by flags (the
    default, /var/lib/pdman, is the host's and not for tests)."""
    exe = _pdman_exe()
    flags = ["--root", root_env["PDMAN_ROOT"], "--runroot", root_env["PDMAN_RUNROOT"]]

    def bare(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["env", "-i", f"PATH={BARE_PATH}", "nsenter", f"--net={netns}",
                               "--", exe, *args], text=True, capture_output=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    assert bare("--version").stdout.startswith("pdman version ")
    assert bare(*flags, "ps").stdout.startswith("CONTAINER ID")
    assert bare(*flags, "run", "--rm", busybox, "sh", "-c", "echo hi; env").stdout.startswith("hi\n")
    assert bare(*flags, "info", "--format", "{{.host.mode}}").stdout.strip() == "root"


def test_single_file_bare_environment(busybox: str, root_env: dict[str, str],
                                      netns: Path) -> None:
    """The single file (PDMAN_BINARY, built by tests/run) from a bare environment as
    root: it unpacks into root's home from the user database, and runs a container."""
    binary = os.environ.get("PDMAN_BINARY", "")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"PDMAN_BINARY={binary!r} is not an executable file (tests/run builds "
                    "it unless PDMAN_BINARY_TIER=0)", pytrace=False)
    flags = ["--root", root_env["PDMAN_ROOT"], "--runroot", root_env["PDMAN_RUNROOT"]]

    def bare(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["env", "-i", f"PATH={BARE_PATH}", "nsenter", f"--net={netns}",
                               "--", binary, *args], text=True, capture_output=True,
                              timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    assert bare("--version").stdout.startswith("pdman version ")
    assert bare(*flags, "ps").stdout.startswith("CONTAINER ID")
    assert bare(*flags, "run", "--rm", busybox, "sh", "-c",
                "echo hi; cat /proc/self/uid_map").stdout.split() == ["hi", "0", "0", "4294967295"]
    assert bare(*flags, "info", "--format", "{{.host.mode}}").stdout.strip() == "root"


# ---- what root mode does not do yet, or not on this host: refused, never half-done ----


def test_limits_refused_on_cgroup_v1(busybox: str, in_netns) -> None:  # type: ignore[no-untyped-def]
    """On a cgroup v1 host (the CI machine's cgroups are the machine's own) a limit is
    refused before anything starts, as rootless: pdman never writes the v1 hierarchy."""
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("cgroup v2 host: limits as root are the VM tier's to test")
    done = in_netns("run", "--rm", "--network", "none", "--memory", "10m", busybox, "true",
                    check=False)
    assert done.returncode == 125, done.stdout + done.stderr
    assert "cannot enforce --memory" in done.stderr and "Traceback" not in done.stderr
    assert in_netns("ps", "-aq").stdout == ""
