"""IPAM (subnet and address choice), `--network` parsing and the helpers' command
lines: pure logic."""

from __future__ import annotations

import ipaddress

import pytest

from pdman.errors import ConflictError, UsageError
from pdman.network import ipam, modes, pasta, slirp

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address


def test_first_free_subnet_of_the_pool() -> None:
    assert ipam.free_subnet([]) == N("10.89.0.0/24")
    assert ipam.free_subnet([N("10.89.0.0/24"), N("10.89.1.0/24")]) == N("10.89.2.0/24")
    # a host network overlapping the pool's start is skipped
    assert ipam.free_subnet([N("10.89.0.0/23")]) == N("10.89.2.0/24")


def test_pool_exhausted() -> None:
    with pytest.raises(ConflictError, match="in use"):
        ipam.free_subnet([N("10.89.0.0/16")])


def test_parse_subnet() -> None:
    assert ipam.parse_subnet("10.99.0.7/24") == N("10.99.0.0/24")
    for bad in ("10.99.0.0/31", "fd00::/64", "nonsense", "10.0.0.0/33"):
        with pytest.raises(UsageError):
            ipam.parse_subnet(bad)


def test_gateway() -> None:
    net = N("10.99.0.0/24")
    assert ipam.gateway_of(net) == A("10.99.0.1")
    assert ipam.gateway_of(net, "10.99.0.254") == A("10.99.0.254")
    for bad in ("10.98.0.1", "10.99.0.0", "10.99.0.255", "x"):
        with pytest.raises(UsageError):
            ipam.gateway_of(net, bad)


def test_allocate_skips_gateway_and_used() -> None:
    net = N("10.89.0.0/24")
    gw = A("10.89.0.1")
    assert ipam.allocate(net, gw, []) == A("10.89.0.2")
    assert ipam.allocate(net, gw, ["10.89.0.2", "10.89.0.4"]) == A("10.89.0.3")
    assert ipam.allocate(net, A("10.89.0.2"), []) == A("10.89.0.1")


def test_allocate_full_subnet() -> None:
    net = N("10.89.0.0/30")              # hosts .1 and .2
    with pytest.raises(ConflictError, match="no free address"):
        ipam.allocate(net, A("10.89.0.1"), ["10.89.0.2"])


@pytest.mark.parametrize(("value", "want"), [
    ("", modes.Mode("default")),
    ("private", modes.Mode("default")),
    ("none", modes.Mode("none")),
    ("host", modes.Mode("host")),
    ("pasta", modes.Mode("pasta")),
    ("pasta:--mtu,1500", modes.Mode("pasta", options=("--mtu", "1500"))),
    ("slirp4netns:mtu=1500,enable_ipv6=true",
     modes.Mode("slirp4netns", options=("mtu=1500", "enable_ipv6=true"))),
    ("container:web", modes.Mode("container", target="web")),
    ("net1", modes.Mode("bridge", networks=("net1",), aliases=((),))),
    ("net1,net2", modes.Mode("bridge", networks=("net1", "net2"), aliases=((), ()))),
    ("bridge", modes.Mode("bridge", networks=("podman",), aliases=((),))),
])
def test_network_modes(value: str, want: modes.Mode) -> None:
    assert modes.parse(value) == want


@pytest.mark.parametrize("value", ["container:", "none:x", "ns:/proc/1/ns/net", "net1,net1", "net1:x"])
def test_bad_network_modes(value: str) -> None:
    with pytest.raises(UsageError):
        modes.parse(value)


def test_pasta_argv_forwards_exactly_the_published_ports() -> None:
    published = [
        {"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"},
        {"host_ip": "127.0.0.1", "host_port": 9000, "container_port": 90, "protocol": "tcp"},
        {"host_ip": "127.0.0.1", "host_port": 9001, "container_port": 91, "protocol": "tcp"},
        {"host_ip": "", "host_port": 5353, "container_port": 53, "protocol": "udp"},
    ]
    argv = pasta.argv("/usr/bin/pasta", 42, published, [], "/run/p.pid", ifname="tap0")
    assert argv[0] == "/usr/bin/pasta" and argv[-1] == "42"
    pairs = list(zip(argv, argv[1:]))
    assert ("-t", "8080:80") in pairs and ("-t", "127.0.0.1/9000-9001:90-91") in pairs
    assert ("-u", "5353:53") in pairs
    assert ("-T", "none") in pairs and ("-U", "none") in pairs
    assert ("--ns-ifname", "tap0") in pairs and "--config-net" in argv and "--no-map-gw" in argv


def test_pasta_argv_without_ports_forwards_none() -> None:
    argv = pasta.argv("pasta", 1, [], [], "/p")
    pairs = list(zip(argv, argv[1:]))
    assert ("-t", "none") in pairs and ("-u", "none") in pairs


def test_pasta_user_options_win() -> None:
    argv = pasta.argv("pasta", 1, [], ["-T", "8000", "--map-gw"], "/p")
    assert "--no-map-gw" not in argv and "--map-gw" not in argv
    assert argv.count("-T") == 1


def test_slirp_options() -> None:
    opts = slirp.parse_options(["mtu=1500", "cidr=10.5.0.0/24", "allow_host_loopback=true"])
    argv = slirp.argv("slirp4netns", 7, opts, "/s", 9)
    assert "--mtu=1500" in argv and "--cidr=10.5.0.0/24" in argv
    assert "--disable-host-loopback" not in argv
    assert argv[-2:] == ["7", "tap0"]
    assert slirp.guest_address(opts) == "10.5.0.100"
    assert slirp.dns_address(["cidr=10.5.0.0/24"]) == "10.5.0.3"
    with pytest.raises(UsageError):
        slirp.parse_options(["bogus=1"])
