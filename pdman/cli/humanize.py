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


def _rfc3339(text: str) -> "tuple[int, int, int, int, int, int, str, int] | None":
    """`YYYY-MM-DD(T|t| )HH:MM:SS[.digits](Z|z|+HH:MM|+HHMM|-...)` taken apart (year,
    month, day, hour, minute, second, ".digits" or "", UTC offset in seconds), by
    position rather than with `re` (whose import `images` would pay: ~3 ms)."""
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or \
            text[13] != ":" or text[16] != ":":
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(p.isdecimal() for p in parts):
        return None
    rest = text[19:]
    fraction = ""
    if rest[:1] == ".":
        end = 1
        while end < len(rest) and rest[end].isdecimal():
            end += 1
        if end == 1:
            return None
        fraction, rest = rest[:end], rest[end:]
    if rest in ("Z", "z"):
        offset = 0
    elif len(rest) in (5, 6) and rest[0] in "+-" and (len(rest) == 5 or rest[3] == ":") \
            and rest[1:3].isdecimal() and rest[-2:].isdecimal():
        offset = int(rest[1:3]) * 3600 + int(rest[-2:]) * 60
        if rest[0] == "-":
            offset = -offset
    else:
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    return year, month, day, hour, minute, second, fraction, offset


def iso_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time as images carry it
    ("2024-05-01T12:00:00.123456789Z", "...+02:00"), without importing datetime on
    `images`' path (~2 ms), nor `re`; other ISO 8601 forms go to datetime. ValueError when it is
    none."""
    fields = _rfc3339(text)
    if fields is None:
        import datetime as dt

        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    year, month, day, hour, minute, second, fraction, offset = fields
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60):
        raise ValueError(f"not a valid time: {text!r}")
    # days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    ts = days * 86400 + hour * 3600 + minute * 60 + second - offset
    if fraction:
        ts += float("0" + fraction[:7])            # microseconds, as datetime keeps
    return float(ts)
