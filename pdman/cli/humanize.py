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
