"""Records kept in one JSON file of the store (`secrets.json`, `lists.json`): few, small,
never on a hot path. Every read-modify-write holds the directory's `lock` (flock), so
concurrent pdman processes cannot lose an update; writes are atomic and 0600."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pdman.runtime import statefiles


class JsonRecordFile:
    """ID -> record in `directory/filename`; `made` is the directory `locked` creates
    (0700; a subdirectory of `directory` to create both)."""

    def __init__(self, directory: str, filename: str, made: "str | None" = None) -> None:
        self.dir = directory
        self.meta_path = os.path.join(directory, filename)
        self._made = made or directory

    @contextmanager
    def locked(self) -> Iterator[None]:
        os.makedirs(self._made, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def all(self) -> "dict[str, dict[str, Any]]":
        """ID -> record, in creation order."""
        try:
            with open(self.meta_path, encoding="utf-8") as f:
                data: dict[str, dict[str, Any]] = json.load(f)
        except FileNotFoundError:
            return {}
        return data

    def _save(self, everything: "dict[str, dict[str, Any]]") -> None:
        """Replace every record (the caller holds the lock)."""
        statefiles.write_atomic(self.meta_path, json.dumps(everything, indent=1), 0o600)


__all__ = ["JsonRecordFile"]
