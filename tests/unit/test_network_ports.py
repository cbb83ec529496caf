"""Port specs (-p/-P), their display, and the host-side checks -- pure logic, plus
binds on 127.0.0.1 only (the conflict check binds as the backend would)."""

from __future__ import annotations

import socket

import pytest

from pdman.errors import ConflictError, UsageError
from pdman.network import ports


def one(spec: str) -> dict[str, object]:
    (p,) = ports.parse_publish(spec)
    return p


@pytest.mark.parametrize(("spec", "want"), [
    ("80", ("", 0, 80, "tcp")),
    ("8080:80", ("", 8080, 80, "tcp")),
    ("127.0.0.1:8080:80", ("127.0.0.1", 8080, 80, "tcp")),
    ("127.0.0.1::80", ("127.0.0.1", 0, 80, "tcp")),
    ("8080:80/udp", ("", 8080, 80, "udp")),
    ("[::1]:8080:80/tcp", ("::1", 8080, 80, "tcp")),
    (" 9000:90/UDP ", ("", 9000, 90, "udp")),
])
def test_single_port_forms(spec: str, want: tuple[str, int, int, str]) -> None:
    p = one(spec)
    assert (p["host_ip"], p["host_port"], p["container_port"], p["protocol"]) == want


def test_ranges_expand_pairwise() -> None:
    got = ports.parse_publish("8000-8002:80-82")
    assert [(p["host_port"], p["container_port"]) for p in got] == [(8000, 80), (8001, 81), (8002, 82)]


def test_container_range_without_host_ports_gets_one_free_port_each() -> None:
    got = ports.parse_publish("80-81")
    assert [(p["host_port"], p["container_port"]) for p in got] == [(0, 80), (0, 81)]


def test_host_range_for_one_container_port_picks_from_the_range() -> None:
    (p,) = ports.parse_publish("127.0.0.1:18000-18010:80")
    assert p["host_port"] == 0 and p["range"] == [18000, 18010]


def test_both_protocols() -> None:
    got = ports.parse_publish("53:53/tcp,udp")
    assert sorted(p["protocol"] for p in got) == ["tcp", "udp"]


@pytest.mark.parametrize("spec", [
    "", "abc", "0:80", "70000:80", "80-79", "8000-8001:80-82", "1.2.3:80:80",
    "1:2:3:4", "80/sctp", "[::1:80:80", "[::1]80:80",
])
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        ports.parse_publish(spec)


def test_publish_all_adds_exposed_ports_not_given_with_p() -> None:
    got = ports.parse_all(["8080:80"], True, ["80/tcp", "443/tcp", "53/udp", "9/sctp"])
    assert sorted((p["container_port"], p["protocol"], p["host_port"]) for p in got) == [
        (53, "udp", 0), (80, "tcp", 8080), (443, "tcp", 0)]


def test_same_host_port_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="published twice"):
        ports.parse_all(["8080:80", "8080:81"], False, [])
    # the same number for two protocols is two bindings
    assert len(ports.parse_all(["8080:80/tcp", "8080:80/udp"], False, [])) == 2


def test_format_compresses_consecutive_ports() -> None:
    got = ports.parse_publish("127.0.0.1:9000-9002:90-92/udp") + ports.parse_publish("8080:80")
    assert ports.format_ports(got) == ("0.0.0.0:8080->80/tcp, "
                                       "127.0.0.1:9000-9002->90-92/udp")
    assert ports.format_ports([]) == ""
    assert ports.format_ports(ports.parse_publish("[::1]:8080:80")) == "[::1]:8080->80/tcp"


def test_port_lines() -> None:
    got = ports.parse_publish("8080:80") + ports.parse_publish("5353:53/udp")
    assert ports.port_lines(got) == ["53/udp -> 0.0.0.0:5353", "80/tcp -> 0.0.0.0:8080"]
    assert ports.port_lines(got, "80") == ["0.0.0.0:8080"]
    assert ports.port_lines(got, "53/udp") == ["0.0.0.0:5353"]
    assert ports.port_lines(got, "53") == []


def test_allocate_fixes_free_host_ports() -> None:
    got = ports.allocate(ports.parse_all(["127.0.0.1::80", "127.0.0.1::81/udp"], False, []))
    assert all(1024 <= p["host_port"] <= 65535 for p in got)
    assert all("range" not in p for p in got)


def test_a_port_in_use_is_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(ConflictError, match=f"127.0.0.1:{port}: bind: address already in use"):
            ports.allocate(ports.parse_publish(f"127.0.0.1:{port}:80"))
        # a wildcard binding conflicts with it too, as the backend's would
        with pytest.raises(ConflictError, match=f"0.0.0.0:{port}: bind"):
            ports.check_free(ports.parse_publish(f"{port}:80"))


def test_a_range_skips_ports_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        (p,) = ports.allocate(ports.parse_publish(f"127.0.0.1:{port}-{port + 1}:80"))
        assert p["host_port"] == port + 1
