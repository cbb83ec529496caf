"""The catalog's JSON columns, read and written without importing `json`.

`import json` costs every command that reads or writes a record ~4 ms here:
`json.decoder` and `json.encoder` import `re` (and `re` imports `enum`) for the
patterns of their pure-Python fallbacks. The work itself is done by CPython's C codec
(`_json`: what `json.loads` and a one-shot `json.dumps` use underneath), which needs
none of that: this module drives it directly, with json's defaults. Malformed text
still raises ValueError (json.JSONDecodeError, from inside the scanner); a value JSON
cannot hold raises TypeError, as json.dumps does.

    from pdman.storage.catalog_json import dumps, loads
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
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
    memo: "dict[str, str]" = {}


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


__all__ = ["dumps", "loads"]
