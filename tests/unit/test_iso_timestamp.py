"""`images`' created times without datetime: the same seconds as datetime's."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from pdman.cli.humanize import iso_timestamp


def test_same_seconds_as_datetime() -> None:
    rng = random.Random(19)
    for _ in range(20000):
        when = dt.datetime.fromtimestamp(rng.uniform(-1e9, 4e9), dt.timezone.utc)
        zone = dt.timezone(dt.timedelta(hours=rng.randint(-12, 12), minutes=rng.choice([0, 30])))
        for text in (when.isoformat(), when.isoformat().replace("+00:00", "Z"),
                     when.astimezone(zone).isoformat(),
                     when.replace(microsecond=0).isoformat().replace("+00:00", "Z")):
            assert iso_timestamp(text) == pytest.approx(dt.datetime.fromisoformat(text.replace(
                "Z", "+00:00")).timestamp(), abs=1e-6), text


def test_nanoseconds_as_images_carry_them() -> None:
    assert iso_timestamp("2024-05-01T12:00:00.123456789Z") == pytest.approx(
        dt.datetime(2024, 5, 1, 12, 0, 0, 123456, dt.timezone.utc).timestamp(), abs=1e-6)


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "2024-05-01T25:00:00Z"])
def test_not_a_time(text: str) -> None:
    with pytest.raises(ValueError):
        iso_timestamp(text)


@pytest.mark.parametrize("text,expected", [
    ("2024-05-01t12:00:00z", "2024-05-01T12:00:00+00:00"),
    ("2024-05-01 12:00:00+0200", "2024-05-01T12:00:00+02:00"),
    ("2024-05-01T12:00:00.5-0130", "2024-05-01T12:00:00.500000-01:30"),
])
def test_other_rfc3339_spellings(text: str, expected: str) -> None:
    assert iso_timestamp(text) == pytest.approx(dt.datetime.fromisoformat(expected).timestamp(),
                                                abs=1e-6)


@pytest.mark.parametrize("text", ["2024-05-01T12:00:00+2:00", "2024-0a-01T12:00:00Z",
                                  "2024-05-01T12:00:60Z"])
def test_malformed_rfc3339(text: str) -> None:
    with pytest.raises(ValueError):
        iso_timestamp(text)
