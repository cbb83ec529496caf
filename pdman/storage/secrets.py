"""The user's secrets (`pdman secret`), with podman's `file` driver layout:

    <root>/secrets/                 0700
    <root>/secrets/secrets.json     metadata of every secret (ID, name, driver, labels, times)
    <root>/secrets/filedriver/ID    the data, 0600, one file per secret

A secret's data never goes into the catalog, a container's configuration or an image:
containers get a copy at create (engine/secrets.py). Every read-modify-write holds
`secrets/lock` (flock), so concurrent pdman processes cannot lose an update.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pdman.config import Paths
from pdman.runtime import statefiles


class SecretStore:
    def __init__(self, paths: Paths) -> None:
        self.dir = os.path.join(paths.root, "secrets")
        self.data_dir = os.path.join(self.dir, "filedriver")
        self.meta_path = os.path.join(self.dir, "secrets.json")

    @contextmanager
    def locked(self) -> Iterator[None]:
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def all(self) -> "dict[str, dict[str, Any]]":
        """ID -> metadata, in creation order."""
        try:
            with open(self.meta_path, encoding="utf-8") as f:
                data: dict[str, dict[str, Any]] = json.load(f)
        except FileNotFoundError:
            return {}
        return data

    def _save(self, meta: "dict[str, dict[str, Any]]") -> None:
        statefiles.write_atomic(self.meta_path, json.dumps(meta, indent=1), 0o600)

    def add(self, meta: "dict[str, Any]", data: bytes) -> None:
        """Store a new secret (the caller holds the lock and checked the name)."""
        path = os.path.join(self.data_dir, meta["ID"])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        everything = self.all()
        everything[meta["ID"]] = meta
        self._save(everything)

    def delete(self, secret_id: str) -> None:
        everything = self.all()
        everything.pop(secret_id, None)
        self._save(everything)
        try:
            os.unlink(os.path.join(self.data_dir, secret_id))
        except FileNotFoundError:
            pass

    def data(self, secret_id: str) -> bytes:
        with open(os.path.join(self.data_dir, secret_id), "rb") as f:
            return f.read()


__all__ = ["SecretStore"]
