"""`pdman build`'s RUN container options, taken as `pdman run` takes them: what a RUN step
sees of each (its /etc/hosts and resolv.conf, capabilities, no_new_privs, /dev/shm,
limits, environment, a bind-mounted host directory, a device, the namespaces it
shares), and what the image keeps (--env) or not (--unsetenv, the proxy variables)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.integration.test_build import Run, context, inspect, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)

PROBE = """RUN cat /etc/hosts > /p-hosts; cat /etc/resolv.conf > /p-resolv; \\
    grep CapEff /proc/self/status > /p-caps; grep NoNewPrivs /proc/self/status > /p-nnp; \\
    df -k /dev/shm | tail -1 > /p-shm; ulimit -n > /p-nofile; \\
    echo "${BUILDENV:-unset} ${GONE:-unset} ${http_proxy:-none}" > /p-env; \\
    cat /vol/in > /p-vol; echo from-run > /vol/out; hostname > /p-hostname; \\
    for n in ipc pid cgroup; do readlink /proc/self/ns/$n; done > /p-ns; \\
    test -c /dev/mynull && echo char > /p-dev; true
"""


def _read(pd: Run, image: str, path: str) -> str:
    return pd("run", "--rm", image, "cat", path).stdout


def test_run_options_reach_the_run_steps(pd: Run, busybox: str, tmp_path: Path,
                                         registry_env: dict[str, str]) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "in").write_text("host file\n")
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\n{PROBE}"})
    env = {**registry_env, "http_proxy": "http://proxy.invalid:3128",
           "no_proxy": "127.0.0.1,localhost"}
    pd("build", "-t", "runopts", "--add-host", "myhost:10.1.2.3", "--dns", "10.9.9.9",
       "--dns-search", "example.test", "--dns-option", "ndots:3", "--cap-drop", "all",
       "--security-opt", "no-new-privileges", "--shm-size", "96m",
       "--ulimit", "nofile=512:512", "--env", "BUILDENV=hello", "--env", "GONE=x",
       "--unsetenv", "GONE", "--volume", f"{vol}:/vol", "--device", "/dev/null:/dev/mynull",
       "--uts", "host", "--ipc", "host", "--pid", "host", "--cgroupns", "host", str(ctx),
       env=env)
    assert "10.1.2.3\tmyhost" in _read(pd, "runopts", "/p-hosts").replace(" ", "\t")
    resolv = _read(pd, "runopts", "/p-resolv")
    assert "nameserver 10.9.9.9" in resolv and "search example.test" in resolv
    assert "ndots:3" in resolv
    assert _read(pd, "runopts", "/p-caps").split() == ["CapEff:", "0000000000000000"]
    assert _read(pd, "runopts", "/p-nnp").split() == ["NoNewPrivs:", "1"]
    assert _read(pd, "runopts", "/p-shm").split()[1] == str(96 * 1024)
    assert _read(pd, "runopts", "/p-nofile") == "512\n"
    # --env is in the step and the image; --unsetenv and the host's proxy: the step only
    assert _read(pd, "runopts", "/p-env") == "hello unset http://proxy.invalid:3128\n"
    cfg_env = inspect(pd, "runopts")["Config"]["Env"]
    assert "BUILDENV=hello" in cfg_env
    assert not any(e.startswith(("GONE=", "http_proxy=")) for e in cfg_env)
    # the host directory: read by the step, written through, not in the layer
    assert _read(pd, "runopts", "/p-vol") == "host file\n"
    assert (vol / "out").read_text() == "from-run\n"
    assert pd("run", "--rm", "runopts", "ls", "-A", "/vol", check=False).stdout == ""
    assert _read(pd, "runopts", "/p-dev") == "char\n"
    assert _read(pd, "runopts", "/p-hostname") == socket.gethostname() + "\n"
    mine = [os.readlink(f"/proc/self/ns/{ns}") for ns in ("ipc", "pid", "cgroup")]
    assert _read(pd, "runopts", "/p-ns").split() == mine
    # --no-http-proxy: the step does not get the host's proxy variables
    pd("build", "-t", "noproxy", "--no-cache", "--no-http-proxy", "--volume", f"{vol}:/vol",
       "--device", "/dev/null:/dev/mynull", str(ctx), env=env)
    assert _read(pd, "noproxy", "/p-env") == "unset unset none\n"
    assert "myhost" not in _read(pd, "noproxy", "/p-hosts")


def test_no_hosts_keeps_the_image_hosts_file(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\n"
                                     "RUN cat /etc/hosts > /p-hosts 2>&1; true\n"})
    pd("build", "-t", "nohosts", "--no-hosts", str(ctx))
    own = pd("run", "--rm", "--no-hosts", busybox, "sh", "-c", "cat /etc/hosts 2>&1; true").stdout
    assert _read(pd, "nohosts", "/p-hosts") == own
    # the RUN options are part of the step's cache key: not the --no-hosts layer again
    done = pd("build", "-t", "withhosts", str(ctx))
    assert "Using cache" not in done.stdout
    assert _read(pd, "withhosts", "/p-hosts") != own


def test_a_bad_run_option_fails_as_run_does(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN true\n"})
    built = pd("run", "--rm", "--ulimit", "nosuch=1", busybox, "true", check=False)
    done = pd("build", "--no-cache", "--ulimit", "nosuch=1", str(ctx), check=False)
    assert built.returncode == done.returncode == 125
    assert built.stderr.strip().splitlines()[0] in done.stderr
    assert pd("ps", "-a", "-q").stdout.strip() == ""
