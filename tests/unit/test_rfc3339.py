"""`inspect`'s timestamps without datetime: the same text as datetime's isoformat."""

from __future__ import annotations

import datetime as dt
import random

from pdman.engine.containers import _rfc3339


def test_same_text_as_datetime() -> None:
    rng = random.Random(19)
    stamps = [1.5, 1764780000.0, 1764780000.123456, 1764780000.9999996, 1764780000.0000004,
              *(rng.uniform(1e9, 4e9) for _ in range(20000))]
    for ts in stamps:
        want = dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")
        assert _rfc3339(ts) == want, ts


def test_unset_is_docker_zero_time() -> None:
    assert _rfc3339(0) == "0001-01-01T00:00:00Z"
