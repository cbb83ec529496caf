"""pasta's start-up overlaps the container's own set-up (runtime/spawn.py: the child
is released once its ID maps are written, builds its root while pasta starts, and
waits right before its exec until pdman says the network is configured -- sync 9
of native/pdman.h). What a user checks:

- the command sees its network configured from its first instruction, every time;
- a pasta that fails leaves no container process and no pasta behind, and its
  error reaches the user as before.

A container process or a pasta left behind would outlive the pdman that made it:
`pdman run` is started under a child subreaper here, which inherits every orphan of
it (pasta daemonizes, the monitor of `run -d` is a grandchild): once pdman exited,
the subreaper must have no live descendant left.
"""

from __future__ import annotations

import errno
import shutil
import socket
import subprocess
import sys
import pytest

from tests.bed.runner import run_pdman

#: runs ARGV under a child subreaper; prints its exit code, then one line per process
#: still alive below it after it exited (its orphans were reparented to us)
SUBREAPER = r"""
import ctypes, os, subprocess, sys, time
PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.write(proc.stderr.decode(errors="replace"))
print(proc.returncode)
me = str(os.getpid())
def children():
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fields[1] == me:
            out.append((int(pid), fields[0], cmd))
    return out
time.sleep(0.2)          # a process that is still on its way out
while True:              # reap what pdman's children left to us
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
for pid, state, cmd in children():
    print(f"{pid} {state} {cmd}")
"""


def run_under_subreaper(env: dict[str, str], *args: str) -> tuple[int, list[str], str]:
    exe = shutil.which("pdman", path=env["PATH"])
    assert exe is not None
    proc = subprocess.run([sys.executable, "-c", SUBREAPER, exe, *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    code, *left = proc.stdout.splitlines()
    return int(code), left, proc.stderr


def test_first_instruction_sees_its_network_configured(busybox: str,
                                                       registry_env: dict[str, str]) -> None:
    """`ip` as the container's command (no shell before it): the interface pasta made
    is up with its address when it first looks, run after run."""
    for _ in range(8):
        out = run_pdman("run", "--rm", busybox, "ip", "-o", "-4", "addr", "show", "up",
                        env=registry_env).stdout
        configured = [ln for ln in out.splitlines()
                      if " inet " in ln and not ln.split()[1].startswith("lo")]
        assert configured, out
    # the same from the first read of /sys: the tap exists and is up
    for _ in range(4):
        out = run_pdman("run", "--rm", busybox, "cat", "/proc/net/route",
                        env=registry_env).stdout
        assert len(out.splitlines()) > 1, out   # a route through pasta's interface


@pytest.mark.parametrize("mode", ["--rm", "-d"])
def test_failing_pasta_leaves_no_container_and_no_pasta(busybox: str,
                                                         registry_env: dict[str, str],
                                                         mode: str) -> None:
    code, left, err = run_under_subreaper(
        registry_env, "run", mode, "--name", "nopasta", "--network", "pasta:--no-such-option",
        busybox, "sleep", "60")
    assert code == 125, err
    assert "pasta could not set up the container's network" in err, err
    assert "no-such-option" in err, err
    assert left == [], left             # no container process, no pasta, no monitor
    ps = run_pdman("ps", "--filter", "name=^nopasta$", "--format", "{{.State}}",
                   env=registry_env).stdout.split()
    assert "running" not in ps
    run_pdman("rm", "-f", "nopasta", env=registry_env, check=False)


@pytest.mark.parametrize("host_ip", ["", "127.0.0.1:"])
def test_published_port_bound_when_run_d_returns(busybox: str, registry_env: dict[str, str],
                                                 host_ip: str) -> None:
    """The ports lock and pasta's wait still end before `run -d` returns, though its
    command starts once it sees its routes (Watched.settle): the port is taken on the
    host at once -- by pasta, or on a loopback address by pdman's forwarder."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_pdman("run", "-d", "--name", "early", "-p", f"{host_ip}{port}:80", busybox, "sleep", "60",
              env=registry_env)
    try:
        with socket.socket() as taken, pytest.raises(OSError) as exc:
            taken.bind(("127.0.0.1", port))
        assert exc.value.errno == errno.EADDRINUSE
    finally:
        run_pdman("rm", "-f", "early", env=registry_env)


# -- the command starts once it sees its network configured (spec.network_watch) --------
# With no published port, `run` does not wait for pasta to be ready (~40 ms into its
# start): the container goes on as soon as the default routes pasta writes are in its
# namespace (~10 ms), pasta runs in the foreground and is recorded at once.

def _host_default_routes() -> tuple[bool, bool]:
    with open("/proc/net/route") as f:
        v4 = any(ln.split()[1] == "00000000" and ln.split()[7] == "00000000"
                 for ln in f.readlines()[1:])
    with open("/proc/net/ipv6_route") as f:
        v6 = any(ln.split()[0] == "0" * 32 and ln.split()[1] == "00" and ln.split()[9] != "lo"
                 for ln in f)
    return v4, v6


def _default_routes(out: str) -> tuple[bool, bool]:
    """(IPv4, IPv6) default route in `cat /proc/net/route /proc/net/ipv6_route`."""
    lines = [ln.split() for ln in out.splitlines()]
    v4 = any(len(f) > 7 and f[1] == "00000000" and f[7] == "00000000" and f[0] != "Iface"
             for f in lines)
    v6 = any(len(f) > 9 and f[0] == "0" * 32 and f[1] == "00" and f[9] != "lo" for f in lines)
    return v4, v6


def _output(env: dict[str, str], mode: str, *argv: str) -> str:
    """What `run MODE ARGV` printed: itself (`--rm`), or its log once it exited (`-d`)."""
    if mode == "--rm":
        return run_pdman("run", "--rm", *argv, env=env).stdout
    cid = run_pdman("run", "-d", *argv, env=env).stdout.strip()
    try:
        run_pdman("wait", cid, env=env)
        return run_pdman("logs", cid, env=env).stdout
    finally:
        run_pdman("rm", "-f", cid, env=env)


@pytest.mark.parametrize("mode", ["--rm", "-d"])
def test_first_instruction_sees_every_default_route(busybox: str, registry_env: dict[str, str],
                                                    mode: str) -> None:
    """The routes of both families pasta copies from the host are there when the
    command first looks -- IPv6 is configured last, so a container let go after IPv4
    alone would miss it. Detached too: `run -d` watches as the foreground does."""
    host = _host_default_routes()
    assert host[0], "the test bed's host has an IPv4 default route"
    for _ in range(8 if mode == "--rm" else 4):
        out = _output(registry_env, mode, busybox, "cat", "/proc/net/route",
                      "/proc/net/ipv6_route")
        assert _default_routes(out) == host, out


def test_run_rm_leaves_no_pasta_behind(busybox: str, registry_env: dict[str, str]) -> None:
    """The foreground pasta of a container that is gone before pasta is ready (`true`)
    is stopped with it: nothing outlives `run --rm`, run after run."""
    for _ in range(3):
        code, left, err = run_under_subreaper(registry_env, "run", "--rm", busybox, "true")
        assert code == 0, err
        assert left == [], left


def _wrapped_pasta(tmp_path, registry_env: dict[str, str], *args: str) -> dict[str, str]:
    """An environment whose `pasta` is the real one with `args` first."""
    real = shutil.which("pasta", path=registry_env["PATH"]) or shutil.which(
        "pasta", path="/usr/bin:/bin")
    assert real is not None
    wrapper = tmp_path / "bin" / "pasta"
    wrapper.parent.mkdir()
    wrapper.write_text(f"#!/bin/sh\nexec {real} {' '.join(args)} \"$@\"\n")
    wrapper.chmod(0o755)
    return {**registry_env, "PATH": f"{wrapper.parent}:{registry_env['PATH']}"}


def test_pasta_configuring_less_than_expected_still_starts_the_command(
        busybox: str, registry_env: dict[str, str], tmp_path) -> None:
    """pasta told `-4` never writes the IPv6 route the container watches for: it then
    starts once pasta is ready (sync 9), with its IPv4 network, instead of hanging."""
    if not _host_default_routes()[1]:
        pytest.skip("the host has no IPv6 default route: pasta configures IPv4 only anyway")
    env = _wrapped_pasta(tmp_path, registry_env, "-4")
    for _ in range(3):
        proc = run_pdman("run", "--rm", busybox, "cat", "/proc/net/route", "/proc/net/ipv6_route",
                         env=env, timeout=60)
        assert _default_routes(proc.stdout) == (True, False), proc.stdout


@pytest.mark.parametrize("mode", ["--rm", "-d", "-d -p"])
def test_pasta_failing_while_watched_leaves_nothing(busybox: str, registry_env: dict[str, str],
                                                    tmp_path, mode: str) -> None:
    """A pasta that fails at its start (here an option it does not know, given by a
    wrapper, so that pdman still watches) is reported, and leaves no container process
    and no pasta -- nor a monitor (`-d`), nor a held ports lock (`-p`)."""
    env = _wrapped_pasta(tmp_path, registry_env, "--no-such-option")
    extra = mode.split()
    if "-p" in extra:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            extra.append(f"{probe.getsockname()[1]}:80")
    code, left, err = run_under_subreaper(env, "run", *extra, "--name", "watchfail", busybox,
                                          "sleep", "60")
    assert code == 125, err
    assert "pasta could not set up the container's network" in err, err
    assert "no-such-option" in err, err
    assert left == [], left
    run_pdman("rm", "-f", "watchfail", env=registry_env, check=False)
    if "-p" in extra:       # the port and the ports lock are free again: the real pasta
        run_pdman("run", *extra, "--name", "watchok", busybox, "sleep", "60", env=registry_env)
        run_pdman("rm", "-f", "-t", "0", "watchok", env=registry_env)
