"""Class 5 of issue #12: who a published port's client is.

A container's service must not take a client of a published port for one of its
own local processes: services that trust loopback (Redis' protected mode, admin
endpoints) would be open to whoever reaches the host port -- podman's
CVE-2021-20199, where rootlessport connected to the container's 127.0.0.1. Here a
container runs two TCP servers: one on 0.0.0.0 that tells each client the address
it sees it come from, one on 127.0.0.1 only that hands out a secret. Through the
published ports, the first must never answer 127.0.0.1 or ::1, and the second must
not be reachable at all (as with docker and podman).

Clients connect from the host's loopback and, where the host has one, from its own
non-loopback address (the test bed's traffic rule: that address is the host's own,
the packets never leave it), through each way pdman publishes a port: pasta, and
slirp4netns with pdman-portfwd (the default port_handler) or slirp4netns's stack.

pasta: a remote client reaches the container through pasta's tap with its own
address. A client on the host's loopback is spliced by pasta releases before
`--host-lo-to-ns-lo` existed (Debian 12's 2023-03) to the container's loopback, so
there it is 127.0.0.1 and reaches loopback-only services: no pasta option of those
releases changes it, and that case is an expected failure (strict: it turns into
a failure once a pasta that maps such clients to a non-loopback address is
installed, and the xfail must go). Later releases do so by default (pdman never
passes `--host-lo-to-ns-lo`). From the host's own non-loopback address pasta, with
`--no-map-gw` (podman's default and pdman's), forwards nothing at all.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.bed.runner import run_pdman

SERVER = ('use IO::Socket::INET; use IO::Select; $| = 1; $SIG{PIPE} = "IGNORE"; '
          'my $pub = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 7000, '
          'Listen => 16, ReuseAddr => 1) or die "listen 7000: $!"; '
          'my $lo = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 7001, '
          'Listen => 16, ReuseAddr => 1) or die "listen 7001: $!"; '
          'print "listening\\n"; my $sel = IO::Select->new($pub, $lo); '
          'while (1) { for my $s ($sel->can_read) { my $c = $s->accept or next; '
          'print {$c} ($s == $lo ? "loopback-only secret\\n" : "peer " . $c->peerhost . "\\n"); '
          'close $c; } }')

BACKENDS = ["pasta", "slirp4netns", "slirp4netns:port_handler=slirp4netns"]
#: (network, host address the ports are published on: "" for every address)
PUBLISHED = [(net, ip) for net in BACKENDS for ip in ("", "127.0.0.1")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def host_address() -> str | None:
    """An IPv4 address of this host other than loopback, if it has one."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            addr = fields[fields.index("inet") + 1].split("/")[0]
            if not ipaddress.ip_address(addr).is_loopback:
                return addr
    return None


def ask(addr: str, port: int) -> bytes:
    """What the server says to a client of addr:port, read to EOF; b"" when the
    connection is refused, closed or reset without a word."""
    try:
        with socket.create_connection((addr, port), timeout=10) as s:
            chunks = []
            while chunk := s.recv(4096):
                chunks.append(chunk)
            return b"".join(chunks)
    except (ConnectionError, OSError):
        return b""


def peer_seen(addr: str, port: int, timeout: float = 30.0) -> str:
    """The client address the container's public server reports, once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        answer = ask(addr, port)
        if answer.startswith(b"peer "):
            return answer.decode().split()[1]
        assert time.monotonic() < deadline, f"no answer through {addr}:{port}: {answer!r}"
        time.sleep(0.1)


@pytest.fixture
def debian(testbed: Any, registry_env: dict[str, str]) -> str:
    ref: str = testbed.image("debian")
    run_pdman("pull", "-q", ref, env=registry_env)
    return ref


@pytest.fixture
def server(registry_env: dict[str, str], debian: str) -> Iterator[Any]:
    started: list[str] = []

    def start(network: str, host_ip: str = "") -> tuple[int, int]:
        public, private = free_port(), free_port()
        name = f"probe{len(started)}"
        at = f"{host_ip}:" if host_ip else ""
        run_pdman("run", "-d", "--name", name, "--network", network,
                  "-p", f"{at}{public}:7000", "-p", f"{at}{private}:7001", debian,
                  "perl", "-e", SERVER, env=registry_env)
        started.append(name)
        return public, private

    yield start
    for name in started:
        run_pdman("rm", "-f", name, env=registry_env, check=False)


def check_client(addr: str, public: int, private: int) -> str:
    peer = peer_seen(addr, public)
    assert not ipaddress.ip_address(peer).is_loopback, (
        f"a client of {addr}:{public} reached the container as {peer}: services that trust "
        "loopback would take it for a local process")
    # the public server answers, so the container listens on 7001 as well by now
    assert b"secret" not in ask(addr, private), (
        f"a service listening on the container's loopback only answered through {addr}:{private}")
    return peer


def pasta_splices_loopback() -> bool:
    """Whether this pasta predates `--host-lo-to-ns-lo` (and so splices loopback
    clients to the container's loopback, with no way to stop it)."""
    try:
        out = subprocess.run(["pasta", "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--host-lo-to-ns-lo" not in out.stdout + out.stderr


@pytest.mark.parametrize("network, host_ip", PUBLISHED)
def test_loopback_client_is_not_the_containers_loopback(server: Any, network: str,
                                                        host_ip: str, request: Any) -> None:
    if network == "pasta" and not host_ip and pasta_splices_loopback():
        reason = ("this pasta (before --host-lo-to-ns-lo) splices host-loopback clients of a "
                  "port published on every address to the container's loopback; no option "
                  "of it changes that (ports published on 127.0.0.1 go through pdman-portfwd)")
        print("XFAIL reason:", reason)
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    public, private = server(network, host_ip)
    peer = check_client("127.0.0.1", public, private)
    if network == "slirp4netns":
        assert peer == "10.0.2.100"       # pdman-portfwd connects from the container's tap
    elif network.endswith("port_handler=slirp4netns"):
        assert peer == "10.0.2.2"         # slirp4netns's stack: the host, as seen inside


# (pasta with --no-map-gw forwards nothing from the host's own address: see above)
@pytest.mark.parametrize("network", BACKENDS[1:])
def test_client_on_the_hosts_address_is_not_loopback(server: Any, network: str) -> None:
    addr = host_address()
    if addr is None:
        print("SKIP reason: this host has no non-loopback IPv4 address to connect from")
        pytest.skip("no non-loopback IPv4 address on this host")
    public, private = server(network)
    check_client(addr, public, private)
