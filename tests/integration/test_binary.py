"""The single-file pdman (packaging/build-binary.sh), run as an unprivileged user with no
Python on its PATH and a bare environment, against the real registry.

The binary comes from $PDMAN_BINARY (tests/run builds it, as root, before the suite),
else this session builds it (cached by source hash under ~/.cache/pdman-test-binary).
`packaging/smoke-no-python.sh` runs the same smoke test in a Debian root that has no
Python at all; it needs root, so tests/run runs it, not pytest.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 900  # a first build: venv, PyInstaller, packing (~1 min on this machine kind)
#: what a user's login environment holds; everything else is dropped (env -i)
KEEP = ("HOME", "USER", "LOGNAME", "LANG", "XDG_RUNTIME_DIR", "PDMAN_ROOT", "PDMAN_RUNROOT",
        "REGISTRY_AUTH_FILE", "CONTAINERS_REGISTRIES_CONF")


@pytest.fixture(scope="session")
def single_file() -> Path:
    given = os.environ.get("PDMAN_BINARY")
    if given:
        if not os.access(given, os.X_OK):
            pytest.fail(f"PDMAN_BINARY={given} is not an executable file", pytrace=False)
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pdman-test-binary"
    cmd = ["bash", str(REPO / "packaging" / "build-binary.sh"), "--out", str(cache / "dist")]
    env = dict(os.environ, PDMAN_BINARY_BUILD=str(cache / "build"))
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"building the single file took over {BUILD_TIMEOUT} s: {' '.join(cmd)}",
                    pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n{done.stdout}{done.stderr}",
                    pytrace=False)
    return cache / "dist" / "pdman"


@pytest.fixture(scope="session")
def bundle_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """XDG_CACHE_HOME of this session: the first run unpacks into it."""
    return tmp_path_factory.mktemp("xdg-cache")


def _bare_env(base: dict[str, str], bin_dir: Path, cache: Path) -> dict[str, str]:
    env = {k: base[k] for k in KEEP if k in base}
    env.update(PATH=str(bin_dir), XDG_CACHE_HOME=str(cache))
    assert shutil.which("python3", path=env["PATH"]) is None
    assert shutil.which("python", path=env["PATH"]) is None
    return env


@pytest.fixture
def bin_dir(tmp_path: Path, single_file: Path) -> Path:
    """PATH for these tests: `pdman` (the single file) and nothing else."""
    d = tmp_path / "bin"
    d.mkdir()
    (d / "pdman").symlink_to(single_file)
    return d


@pytest.fixture
def env(registry_env: dict[str, str], bin_dir: Path, bundle_cache: Path) -> dict[str, str]:
    return _bare_env(registry_env, bin_dir, bundle_cache)


@pytest.fixture
def busybox(testbed: Any, env: dict[str, str]) -> Iterator[str]:
    ref = testbed.image("busybox")
    run_pdman("pull", "-q", ref, env=env)
    yield ref


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def _bundle_dirs(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "pdman").iterdir() if not p.name.startswith("."))


# ---- the launcher: unpack once, exec in place ----


def test_version_and_info_without_python(env: dict[str, str]) -> None:
    from pdman import __version__

    assert pd(env, "--version").stdout == f"pdman version {__version__}\n"
    info = pd(env, "info", "--format", "{{.host.rootless}}")
    assert info.stdout.strip() == "true"


def test_unpacked_once_and_reused(tmp_path: Path, bin_dir: Path, pdman_env: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    env = _bare_env(pdman_env, bin_dir, cache)
    pd(env, "--version")
    [bundle] = _bundle_dirs(cache)
    marker = bundle / ".pdman-payload"
    assert len(marker.read_text()) == 64
    assert bundle.name.endswith(marker.read_text()[:16])
    before = marker.stat().st_mtime_ns, (bundle / "pdman").stat().st_ino
    pd(env, "ps")
    assert (marker.stat().st_mtime_ns, (bundle / "pdman").stat().st_ino) == before
    assert not [p for p in (cache / "pdman").iterdir() if ".tmp-" in p.name]


def test_concurrent_first_runs_all_succeed(tmp_path: Path, bin_dir: Path,
                                           pdman_env: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    env = _bare_env(pdman_env, bin_dir, cache)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: pd(env, "--version", check=False), range(6)))
    assert [r.returncode for r in results] == [0] * 6, [r.stderr for r in results]
    assert len(_bundle_dirs(cache)) == 1
    assert not [p for p in (cache / "pdman").iterdir() if ".tmp-" in p.name]


def test_damaged_file_is_refused(tmp_path: Path, single_file: Path, pdman_env: dict[str, str]) -> None:
    damaged = tmp_path / "bin" / "pdman"
    damaged.parent.mkdir()
    data = bytearray(single_file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the payload: the launcher is a few dozen KB
    damaged.write_bytes(bytes(data))
    damaged.chmod(0o755)
    cache = tmp_path / "cache"
    done = pd(_bare_env(pdman_env, damaged.parent, cache), "--version", check=False)
    assert done.returncode == 125
    assert "damaged" in done.stderr
    assert not (cache / "pdman").exists() or _bundle_dirs(cache) == []


def test_no_parent_process_stays(busybox: str, env: dict[str, str], bundle_cache: Path) -> None:
    """The PID the caller (a shell, systemd) started is pdman itself, running from the
    unpacked bundle; signals sent to it reach the container, its exit status is the
    container's."""
    script = 'trap "exit 42" TERM; sleep 60 & wait'
    proc = subprocess.Popen([str(Path(env["PATH"]) / "pdman"), "run", "--rm", "--network", "none",
                             busybox, "sh", "-c", script], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        exe = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            exe = os.readlink(f"/proc/{proc.pid}/exe")
            if exe.startswith(str(bundle_cache)) and _container_running(env):
                break
            time.sleep(0.1)
        assert exe.startswith(str(bundle_cache / "pdman")), exe
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 42, err


def _container_running(env: dict[str, str]) -> bool:
    return pd(env, "ps", "-q", check=False).stdout.strip() != ""


# ---- the smoke test a server would run ----


def test_pull_run_ps_images_rm(testbed: Any, env: dict[str, str]) -> None:
    ref = testbed.image("busybox")
    pull = pd(env, "pull", "-q", ref)
    assert len(pull.stdout.strip()) == 64
    assert pd(env, "run", "--rm", "--network", "none", ref, "echo", "hello").stdout == "hello\n"
    assert pd(env, "run", "--rm", "--network", "none", ref, "sh", "-c", "exit 7",
              check=False).returncode == 7
    pd(env, "run", "--name", "kept", "--network", "none", ref, "true")
    assert "kept" in pd(env, "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert "busybox" in pd(env, "images").stdout
    pd(env, "rm", "kept")
    assert pd(env, "ps", "-aq").stdout == ""


def test_build_from_the_binary(busybox: str, env: dict[str, str], tmp_path: Path) -> None:
    """`build` works from the single file (its packaging once dropped pdman/build/, a
    directory named like the build tree it excluded)."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nCOPY greeting /greeting\n")
    (ctx / "greeting").write_text("built by the single file\n")
    pd(env, "build", "-q", "-t", "localhost/binbuild:1", str(ctx))
    out = pd(env, "run", "--rm", "--network", "none", "localhost/binbuild:1", "cat", "/greeting")
    assert out.stdout == "built by the single file\n"
    pd(env, "rmi", "localhost/binbuild:1")


def test_detached_logs_stop(busybox: str, env: dict[str, str]) -> None:
    script = 'echo started; trap "echo stopping; exit 3" TERM; while :; do sleep 0.1; done'
    cid = pd(env, "run", "-d", "--name", "bg", "--network", "none", busybox, "sh", "-c", script).stdout.strip()
    assert len(cid) == 64
    try:
        deadline = time.monotonic() + 20
        while "started" not in pd(env, "logs", "bg").stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pd(env, "ps", "--format", "{{.Names}} {{.Status}}").stdout.startswith("bg Up")
        # the monitor runs from the unpacked bundle, after the CLI that started it exited
        monitors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p).startswith(
            str(Path(env["XDG_CACHE_HOME"]) / "pdman"))]
        assert monitors, "no process runs from the unpacked bundle"
        pd(env, "stop", "bg")
        assert pd(env, "logs", "bg").stdout == "started\nstopping\n"
        assert pd(env, "inspect", "bg", "--format", "{{.State.ExitCode}}").stdout.strip() == "3"
    finally:
        pd(env, "rm", "-f", "bg", check=False)


@pytest.mark.parametrize("network", ["pasta", "slirp4netns"])
def test_published_port_answers(testbed: Any, env: dict[str, str], network: str) -> None:
    """`run -d -p` with nginx: the first HTTP answer on 127.0.0.1 (the network helper,
    pasta or slirp4netns, runs from the host with the caller's environment; slirp4netns's
    TCP ports through pdman-portfwd, from the unpacked bundle)."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pd(env, "run", "-d", "--name", "web", "--network", network, "-p", f"127.0.0.1:{port}:80",
       testbed.image("nginx"))
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body, deadline = "", time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                body = opener.open(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert "Welcome to nginx" in body
        if network == "slirp4netns":
            bundle = str(Path(env["XDG_CACHE_HOME"]) / "pdman")
            assert [p for p in Path("/proc").iterdir() if p.name.isdigit() and
                    _cmdline(p).startswith(bundle) and _cmdline(p).endswith("/pdman-portfwd")]
    finally:
        pd(env, "rm", "-f", "web", check=False)


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def test_host_tools_do_not_see_the_bundle_libraries(busybox: str, env: dict[str, str],
                                                    tmp_path: Path) -> None:
    """newuidmap/newgidmap run with the caller's environment, not the bootloader's
    LD_LIBRARY_PATH: wrappers first on PATH record what they were given. (A fresh
    runroot: the first container of a runroot sets up its user namespace with them.)"""
    record = tmp_path / "tool-env"
    for tool in ("newuidmap", "newgidmap"):
        real = shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin")
        if real is None:
            pytest.skip(f"{tool} not installed: pdman runs with a single-ID mapping here")
        wrapper = Path(env["PATH"]) / tool
        wrapper.write_text(f'#!/bin/sh\n/usr/bin/env >> {record}\necho --- >> {record}\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
    runroot = tmp_path / "run"
    users_lib = "/opt/pdman-test/lib"  # the user's own: kept for the tools they run
    tool_env = dict(env, PDMAN_RUNROOT=str(runroot), LD_LIBRARY_PATH=users_lib)
    try:
        pd(tool_env, "run", "--rm", "--network", "none", busybox, "true")
    finally:
        pd(tool_env, "rm", "-fa", check=False)
    seen = record.read_text()
    assert seen.count("---") >= 2, "the wrappers were not run"
    assert "_PYI_" not in seen and "_internal" not in seen, seen
    assert seen.count(f"LD_LIBRARY_PATH={users_lib}\n") == seen.count("---"), seen


def test_completion_from_the_binary(env: dict[str, str]) -> None:
    script = pd(env, "completion", "bash").stdout
    assert "_PDMAN_COMPLETE=complete_bash" in script
    done = pd(dict(env, COMP_WORDS="pdman ps --no-t", COMP_CWORD="2", _PDMAN_COMPLETE="complete_bash"), "ps")
    assert done.stdout.split() == ["--no-trunc"]


# ---- anywhere a service starts it (issue 18) ----


def test_bare_environment_like_a_system_unit(busybox: str, single_file: Path,
                                             env: dict[str, str]) -> None:
    """`env -i PATH=/usr/bin:/bin /path/to/pdman`: no HOME, XDG_CACHE_HOME, USER,
    XDG_RUNTIME_DIR. The launcher unpacks into the user database's home
    (~/.cache/pdman) and pdman finds its store from flags."""
    import pwd

    flags = ["--root", env["PDMAN_ROOT"], "--runroot", env["PDMAN_RUNROOT"]]

    def bare(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["env", "-i", "PATH=/usr/bin:/bin", str(single_file), *args],
                              text=True, capture_output=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    from pdman import __version__

    assert bare("--version").stdout == f"pdman version {__version__}\n"
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert list((Path(home) / ".cache" / "pdman").glob(f"{__version__}-*/pdman"))
    assert bare(*flags, "ps").stdout.startswith("CONTAINER ID")
    assert bare(*flags, "run", "--rm", "--network", "none", busybox,
                "echo", "hi").stdout == "hi\n"
