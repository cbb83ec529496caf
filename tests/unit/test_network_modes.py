"""`--network` values (pdman/network/modes.py): podman 4's per-network options and
repeated `--network`, as podman-compose 1.x writes them."""

from __future__ import annotations

import pytest

from pdman.errors import UsageError
from pdman.network.modes import join, parse


def test_a_network_with_aliases() -> None:
    m = parse("app_default:alias=web,alias=www")
    assert m.kind == "bridge"
    assert m.networks == ("app_default",)
    assert m.aliases == (("web", "www"),)


def test_several_networks_each_with_its_aliases() -> None:
    m = parse(join(["front:alias=web", "back", "bridge:alias=w"]))
    assert m.networks == ("front", "back", "podman")
    assert m.aliases == (("web",), (), ("w",))


def test_plain_names_and_modes_are_unchanged() -> None:
    assert parse("a,b").networks == ("a", "b")
    assert parse("pasta:--mtu,1400").options == ("--mtu", "1400")
    assert parse("container:abc").target == "abc"
    assert join(["pasta:--mtu,1400"]) == "pasta:--mtu,1400"
    assert join(None) == ""


@pytest.mark.parametrize("values", [["host", "net1"], ["net1", "pasta"],
                                    ["container:x", "net1"]])
def test_a_mode_stands_alone(values: list[str]) -> None:
    with pytest.raises(UsageError, match="conflicts with bridge"):
        join(values)


@pytest.mark.parametrize("value, words", [
    ("net1:ip=10.89.0.9", "not built yet"),
    ("net1:mac=aa:bb:cc:dd:ee:ff", "not built yet"),
    ("net1:colour=red", "unknown bridge network option"),
    ("alias=web", "invalid --network"),
    ("net1,net1:alias=x", "named twice"),
])
def test_bad_values(value: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse(value)
