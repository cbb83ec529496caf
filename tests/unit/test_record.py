"""`Record`, the plain options class of the hot path (pdman/record.py)."""

from __future__ import annotations

import pytest

from pdman.entities.create import CreateOptions
from pdman.record import Record


class Sample(Record):
    _required = ("name",)
    _lists = ("items",)

    name: str
    items: list[str]
    size: int = 3


def test_defaults_lists_and_equality() -> None:
    a, b = Sample("x"), Sample(name="x")
    assert a == b and a.size == 3 and a.items == []
    a.items.append("y")
    assert b.items == [] and a != b                   # each instance has its own list
    assert Sample("x", items=("p",), size=4) == Sample("x", items=["p"], size=4)
    assert vars(Sample("x")) == {"name": "x", "items": [], "size": 3}
    c = a.replace(size=9)
    assert (c.name, c.items, c.size, a.size) == ("x", ["y"], 9, 3)


def test_mistakes_are_type_errors() -> None:
    with pytest.raises(TypeError, match="needs 'name'"):
        Sample()
    with pytest.raises(TypeError, match="no field 'colour'"):
        Sample("x", colour="red")
    with pytest.raises(TypeError, match="no field 'colour'"):
        Sample("x").replace(colour="red")
    with pytest.raises(TypeError):
        Sample("x", "y")


def test_create_options_behave_as_the_dataclass_did() -> None:
    o = CreateOptions("busybox", command=["true"], remove=True)
    assert o.image == "busybox" and o.command == ["true"] and o.remove
    assert o.env == [] and o.pull == "missing" and o.network == "" and o.pull_progress is None
    assert CreateOptions("busybox").env is not CreateOptions("busybox").env
