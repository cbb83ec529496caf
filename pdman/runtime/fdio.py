"""Whole reads and writes on raw file descriptors (pipes between pdman's processes)."""

from __future__ import annotations

import os


def read_all(fd: int) -> bytes:
    """Everything until EOF."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    """All of `data`, across short writes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
