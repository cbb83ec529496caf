"""slirp4netns's port handlers and pdman-portfwd's command line and listeners: pure
logic and sockets on 127.0.0.1, no namespaces (tests/integration/test_network.py runs
the forwarder)."""

from __future__ import annotations

import socket

import pytest

from pdman.errors import ConflictError, UsageError
from pdman.network import pasta, portfwd, slirp

TCP = {"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"}
UDP = {"host_ip": "127.0.0.1", "host_port": 5353, "container_port": 53, "protocol": "udp"}


def test_port_handler_default_is_the_forwarder_for_tcp_only() -> None:
    assert slirp.split_ports([TCP, UDP], []) == ([TCP], [UDP])
    assert slirp.split_ports([TCP, UDP], ["port_handler=rootlesskit"]) == ([TCP], [UDP])
    assert slirp.split_ports([TCP, UDP], ["mtu=1500", "port_handler=slirp4netns"]) == \
        ([], [TCP, UDP])
    assert slirp.split_ports([], []) == ([], [])


def test_unknown_port_handler_names_both() -> None:
    with pytest.raises(UsageError) as err:
        slirp.parse_options(["port_handler=bogus"])
    assert "port_handler=bogus" in err.value.message
    assert "port_handler=rootlesskit" in (err.value.hint or "")
    assert "port_handler=slirp4netns" in (err.value.hint or "")


def test_forwarder_argv() -> None:
    assert portfwd.argv("/x/pdman-portfwd", 4242, "10.0.2.100", 7, [(8, 80), (9, 443)]) == [
        "/x/pdman-portfwd", "--pid", "4242", "--addr", "10.0.2.100", "--ready-fd", "7",
        "8:80", "9:443"]


def test_forwarder_target_is_the_containers_tap_never_loopback() -> None:
    # CVE-2021-20199: through 127.0.0.1 every client would look local to the container
    assert slirp.guest_address(slirp.parse_options([])) == "10.0.2.100"
    assert slirp.guest_address(slirp.parse_options(["cidr=10.5.0.0/24"])) == "10.5.0.100"


def test_listener_binds_or_names_the_port() -> None:
    (sock,) = portfwd.listeners({"host_ip": "127.0.0.1", "host_port": 0, "container_port": 80,
                                 "protocol": "tcp"})
    with sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        port = sock.getsockname()[1]
        with pytest.raises(ConflictError) as err:
            portfwd.listeners({"host_ip": "127.0.0.1", "host_port": port, "container_port": 80,
                               "protocol": "tcp"})
    assert f"tcp4 127.0.0.1:{port}: bind: address already in use" in err.value.message
    assert err.value.exit_code == 126
    assert "-p OTHERPORT:80" in (err.value.hint or "")


def test_without_a_host_address_both_wildcards_listen() -> None:
    with socket.socket() as probe:                   # a free port, as allocate finds one
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    socks = portfwd.listeners({"host_ip": "", "host_port": port, "container_port": 80,
                               "protocol": "tcp"})
    try:
        assert socks[0].getsockname()[:2] == ("0.0.0.0", port)
        if socket.has_ipv6 and len(socks) == 2:      # a host with IPv6: :: too, v6 only
            assert socks[1].getsockname()[:2] == ("::", port)
            assert socks[1].getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        for s in socks:
            s.close()


def test_pasta_leaves_loopback_published_tcp_ports_to_the_forwarder() -> None:
    """pasta (2023-03) splices loopback clients to the container's loopback: ports
    published on a loopback address, all of whose clients are local, go through
    pdman-portfwd instead; UDP and ports on every address stay with pasta."""
    local = {"host_ip": "127.0.0.1", "host_port": 8080, "container_port": 80, "protocol": "tcp"}
    local6 = {"host_ip": "::1", "host_port": 8081, "container_port": 81, "protocol": "tcp"}
    assert pasta.split_ports([TCP, UDP, local, local6], []) == ([local, local6], [TCP, UDP])
    # the user's own -t: pasta forwards everything, as asked
    assert pasta.split_ports([TCP, local], ["-t", "8080"]) == ([], [TCP, local])
