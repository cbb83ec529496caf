"""The user's secrets (`pdman secret`), with podman's `file` driver layout:

    <root>/secrets/                 0700
    <root>/secrets/secrets.json     metadata of every secret (ID, name, driver, labels, times)
    <root>/secrets/filedriver/ID    the data, 0600, one file per secret

A secret's data never goes into the catalog, a container's configuration or an image:
containers get a copy at create (engine/secrets.py). Every read-modify-write holds
`secrets/lock` (flock), so concurrent pdman processes cannot lose an update.
"""

from __future__ import annotations

import os
from typing import Any

from pdman.config import Paths
from pdman.storage.jsonfile import JsonRecordFile


class SecretStore(JsonRecordFile):
    def __init__(self, paths: Paths) -> None:
        directory = os.path.join(paths.root, "secrets")
        self.data_dir = os.path.join(directory, "filedriver")
        super().__init__(directory, "secrets.json", made=self.data_dir)

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
