"""pdman.cjson: JSON through CPython's C codec, without importing json."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdman.cjson import loads

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_values, st.booleans())
def test_same_value_as_json_loads(value: object, indent: bool) -> None:
    text = json.dumps(value, indent=2 if indent else None)
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


def test_what_the_catalog_holds() -> None:
    doc = '{"Env": ["PATH=/usr/bin"], "Labels": {"a": "\\u00e9"}, "n": 1.5e3, "x": null}'
    assert loads(doc) == json.loads(doc)
    assert loads("  [1, 2]\n") == [1, 2]
    assert math.isnan(loads("NaN")) and loads("-Infinity") == float("-inf")


@pytest.mark.parametrize("text", ["", "   ", "{", '{"a": 1} x', "[1,]", "'a'", '"\\x"', "[1] [2]"])
def test_malformed_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)


def test_neither_imports_json() -> None:
    code = ("import sys; from pdman.cjson import dumps, dumps_indented, loads; "
            "loads(dumps({'a': [1]})); dumps_indented({'b': [2.5, None]}); "
            "print('json' in sys.modules, 're' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr


@settings(max_examples=300, deadline=None)
@given(_values)
def test_same_text_as_json_dumps(value: object) -> None:
    from pdman.cjson import dumps

    assert dumps(value) == json.dumps(value)


def test_dumps_refuses_what_json_refuses() -> None:
    from pdman.cjson import dumps

    with pytest.raises(TypeError):
        dumps({"a": object()})
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        dumps(loop)
    assert dumps([float("nan")]) == "[NaN]"


class _Odd:
    def __str__(self) -> str:
        return "odd \u00e9"


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.builds(_Odd),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text() | st.integers() | st.booleans() | st.none()
                      | st.floats(allow_nan=False), inner, max_size=4),
    max_leaves=25), st.sampled_from([2, 4]))
def test_indented_same_text_as_json_dumps(value: object, indent: int) -> None:
    from pdman.cjson import dumps_indented

    assert dumps_indented(value, indent=indent, default=str) == \
        json.dumps(value, indent=indent, default=str)


def test_indented_refuses_what_json_refuses() -> None:
    from pdman.cjson import dumps_indented

    with pytest.raises(TypeError):
        dumps_indented({"a": object()})
    with pytest.raises(TypeError):
        dumps_indented({(1, 2): "tuple key"})
    loop: dict[str, object] = {}
    loop["me"] = loop
    with pytest.raises(ValueError):
        dumps_indented(loop)
