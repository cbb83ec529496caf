"""JSON without importing `json`: the catalog's columns, and `inspect`'s output.

`import json` costs every command that reads or writes a record ~4 ms here:
`json.decoder` and `json.encoder` import `re` (and `re` imports `enum`) for the
patterns of their pure-Python fallbacks. The work itself is done by CPython's C codec
(`_json`: what `json.loads` and a one-shot `json.dumps` use underneath), which needs
none of that: this module drives it directly, with json's defaults. Malformed text
still raises ValueError (json.JSONDecodeError, from inside the scanner); a value JSON
cannot hold raises TypeError, as json.dumps does.

    from pdman.cjson import dumps, dumps_indented, loads

`dumps_indented` is json.dumps(value, indent=N, default=...) -- what `inspect` prints --
written out here, because the C encoder of this Python does not indent.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

try:
    from _json import encode_basestring_ascii as _encode_str
    from _json import make_encoder as _make_encoder
    from _json import make_scanner as _make_scanner
except ImportError:                 # an interpreter without the C accelerator
    _make_scanner = _make_encoder = _encode_str = None


class _Context:
    """What json.decoder.JSONDecoder gives the C scanner, with json.loads' defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                      "NaN": float("nan")}.__getitem__


_scan = _make_scanner(_Context()) if _make_scanner is not None else None
_WHITESPACE = " \t\n\r"


def loads(text: "str | bytes") -> "Any":
    """json.loads for a whole document."""
    if _scan is None:
        import json

        return json.loads(text)
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    doc = text.strip(_WHITESPACE)
    try:
        value, end = _scan(doc, 0)
    except StopIteration as exc:
        raise ValueError(f"not JSON: expecting a value at character {exc.value}") from None
    if end != len(doc):
        raise ValueError(f"not JSON: extra data at character {end}")
    return value


def _unserializable(value: object) -> None:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: "Any") -> str:
    """json.dumps(value) with its defaults: ", " and ": ", ASCII, NaN allowed."""
    if _make_encoder is None:
        import json

        return json.dumps(value)
    # a fresh encoder per call: its `markers` (the circular-reference check) is per use
    encode = _make_encoder({}, _unserializable, _encode_str, None, ": ", ", ", False, False,
                           True)
    return "".join(encode(value, 0))


def dumps_indented(value: "Any", indent: int = 4,
                   default: "Callable[[Any], Any] | None" = None) -> str:
    """json.dumps(value, indent=indent, default=default): the same text."""
    if _encode_str is None:
        import json

        return json.dumps(value, indent=indent, default=default)
    out: list[str] = []
    _pretty(value, out, "\n", " " * indent, default, set())
    return "".join(out)


def _float(f: float) -> str:
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "Infinity" if f > 0 else "-Infinity"
    return float.__repr__(f)


def _key(k: object) -> str:
    """A dict key as json.dumps turns it into a string (the same order of checks)."""
    if isinstance(k, str):
        return k
    if isinstance(k, float):
        return _float(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        return int.__repr__(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def _pretty(o: "Any", out: list[str], newline: str, step: str,
            default: "Callable[[Any], Any] | None", seen: "set[int]") -> None:
    # the checks in json.encoder's order: str before int, bool before int
    if isinstance(o, str):
        out.append(_encode_str(o))     # type: ignore[misc]
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float(o))
    elif isinstance(o, (list, tuple, dict)):
        if not o:
            out.append("{}" if isinstance(o, dict) else "[]")
            return
        if id(o) in seen:
            raise ValueError("Circular reference detected")
        seen.add(id(o))
        inner = newline + step
        if isinstance(o, dict):
            out.append("{")
            for i, (k, v) in enumerate(o.items()):
                out.append((inner if i == 0 else "," + inner) + _encode_str(_key(k)) + ": ")
                _pretty(v, out, inner, step, default, seen)
            out.append(newline + "}")
        else:
            out.append("[")
            for i, item in enumerate(o):
                out.append(inner if i == 0 else "," + inner)
                _pretty(item, out, inner, step, default, seen)
            out.append(newline + "]")
        seen.discard(id(o))
    else:
        if default is None:
            _unserializable(o)
        if id(o) in seen:
            raise ValueError("Circular reference detected")
        seen.add(id(o))
        _pretty(default(o), out, newline, step, default, seen)    # type: ignore[misc]
        seen.discard(id(o))


__all__ = ["dumps", "dumps_indented", "loads"]
