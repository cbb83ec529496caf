"""User-defined networks as root (issue 18): the rootless design (a bridge per network
in a network namespace of pdman's own, held by `pdman-netns:RUNROOT`; per container a
veth on it, and its own pasta for the way out and published ports), without a user
namespace. Containers find each other by name; `run -d -p` on such a network answers
with the client's own address seen; `rm` and `network rm` leave no interface, address,
process or namespace behind.

Root pass only (PDMAN_TEST_PASS=root), under test_root_mode.py's rules: throw-away
stores, everything inside network namespaces the test made (the holder's namespace is
pdman's; the host's network is never touched).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.test_root_mode import (  # noqa: F401
    _fetch_in,
    _free_port,
    _processes_with,
    busybox,
    client_netns,
    in_netns,
    netns,
    root_env,
)

pytestmark = pytest.mark.root_mode


def _links(netns: Path) -> list[str]:
    out = subprocess.run(["nsenter", f"--net={netns}", "ip", "-o", "link"], text=True,
                         capture_output=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _addresses(netns: Path) -> list[str]:
    out = subprocess.run(["nsenter", f"--net={netns}", "ip", "-o", "-4", "addr"], text=True,
                         capture_output=True, check=True).stdout
    return sorted(line.split()[3] for line in out.splitlines())


def _holders(runroot: str) -> list[str]:
    return [p for p in _processes_with(f"pdman-netns:{runroot}") if "infinity" in p]


def test_user_network_name_resolution_and_rm_leaves_nothing(  # type: ignore[no-untyped-def]
        busybox: str, in_netns, netns: Path, root_env: dict[str, str]) -> None:
    runroot = root_env["PDMAN_RUNROOT"]
    links, addresses = _links(netns), _addresses(netns)
    in_netns("network", "create", "rootnet")
    in_netns("run", "-d", "--name", "web", "--network", "rootnet", "--network-alias", "www",
             busybox, "sh", "-c", "echo hello-from-web > /index.html; exec httpd -f -p 80 -h /")
    try:
        # no user namespace: the host's, as root's default
        pid = int(in_netns("inspect", "web", "--format", "{{.State.Pid}}").stdout)
        assert Path(f"/proc/{pid}/ns/user").stat().st_ino == Path("/proc/self/ns/user").stat().st_ino
        assert len(_holders(runroot)) == 1, "no network namespace holder for the bridges"
        for name in ("web", "www"):
            out = in_netns("run", "--rm", "--network", "rootnet", busybox, "sh", "-c",
                           "for i in 1 2 3 4 5 6 7 8 9 10; do "
                           f"wget -q -O - http://{name}/index.html && exit 0; sleep 0.3; "
                           "done; exit 1").stdout
            assert out.strip() == "hello-from-web", out
        # the bridges and veths are in pdman's namespace, never in the one pdman runs in
        assert _links(netns) == links and _addresses(netns) == addresses
    finally:
        in_netns("rm", "-f", "web", check=False)
    assert _holders(runroot) == [], "the bridges' namespace outlived its last container"
    assert _processes_with(runroot) == [], "a network helper outlived rm"
    in_netns("network", "rm", "rootnet")
    assert _links(netns) == links and _addresses(netns) == addresses
    assert in_netns("ps", "-aq").stdout == ""
    assert "rootnet" not in in_netns("network", "ls").stdout


def test_published_port_on_user_network_sees_client(  # type: ignore[no-untyped-def]
        busybox: str, in_netns, netns: Path, client_netns: Path,
        root_env: dict[str, str]) -> None:
    """`run -d -p` as root on a user-defined network answers on the host's address, and
    the server logs the client's own address (rootful podman keeps it too)."""
    port = _free_port()
    in_netns("network", "create", "pubnet")
    in_netns("run", "-d", "--name", "pub", "--network", "pubnet", "-p", f"{port}:80", busybox,
             "sh", "-c", "echo hello > /index.html; exec httpd -f -v -p 80 -h /")
    try:
        assert _fetch_in(client_netns, f"http://198.51.100.2:{port}/index.html").strip() == "hello"
        log = in_netns("logs", "pub").stderr + in_netns("logs", "pub").stdout
        assert "response:200" in log and "198.51.100.9" in log, log
    finally:
        in_netns("rm", "-f", "pub", check=False)
        in_netns("network", "rm", "pubnet", check=False)
    assert _processes_with(root_env["PDMAN_RUNROOT"]) == [], "a network helper outlived rm"


def test_nginx_run_d_p_as_root_logs_the_clients_address(  # type: ignore[no-untyped-def]
        testbed, in_netns, client_netns: Path, root_env: dict[str, str]) -> None:
    """The issue's words: `run -d -p` as root answering on the host's address, with the
    client's address in nginx's access log (the default network as root: pasta)."""
    from tests.bed.runner import run_pdman

    nginx = testbed.image("nginx")
    run_pdman("pull", "-q", nginx, env=root_env)         # the registry: host loopback
    port = _free_port()
    in_netns("run", "-d", "--name", "web", "-p", f"{port}:80", nginx)
    try:
        assert "nginx" in _fetch_in(client_netns, f"http://198.51.100.2:{port}/")
        log = in_netns("logs", "web").stdout
        assert '198.51.100.9 - - [' in log and '"GET / HTTP/1.1" 200' in log, log
    finally:
        in_netns("rm", "-f", "web", check=False)
    assert _processes_with(root_env["PDMAN_RUNROOT"]) == [], "a network helper outlived rm"
