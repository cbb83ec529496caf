"""Human-readable durations and sizes, as podman prints them."""

from __future__ import annotations

import time


def ago(timestamp: float, now: float | None = None) -> str:
    """`3 seconds ago`, `About a minute ago`, `2 hours ago` (docker's go-units wording)."""
    return duration((now or time.time()) - timestamp) + " ago"


def duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def size(n: float) -> str:
    """Decimal units with 3 significant digits: `4.26 MB`, `117 kB` (podman's style)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    if i == 0:
        return f"{int(n)} B"
    text = f"{n:.3g}"
    return f"{text} {units[i]}"


def container_size(rw: int, rootfs: int) -> str:
    """podman's SIZE column of `ps --size`: `5.01kB (virtual 1.99MB)`."""
    return f"{size(rw).replace(' ', '')} (virtual {size(rootfs).replace(' ', '')})"


def iso_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as images carry it
    ("2024-05-01T12:00:00.123456789Z", "...+02:00"), without importing datetime on
    `images`' path (~2 ms); other ISO 8601 forms go to datetime. ValueError when it is
    none."""
    import re

    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?"
                     r"(?:([Zz])|([+-])(\d\d):?(\d\d))", text)
    if m is None:
        import datetime as dt

        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise ValueError(f"not a valid time: {text!r}")
    # days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    ts = days * 86400 + hour * 3600 + minute * 60 + second
    if m.group(7):
        ts += float("0" + m.group(7)[:7])            # microseconds, as datetime keeps
    if m.group(9):
        offset = int(m.group(10)) * 3600 + int(m.group(11)) * 60
        ts -= offset if m.group(9) == "+" else -offset
    return float(ts)
