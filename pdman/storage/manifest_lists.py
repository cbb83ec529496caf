"""The user's manifest lists (`pdman manifest`): image indexes being put together
locally before a push.

    <root>/manifests/lists.json   ID -> {"ID", "Name", "Created", "Index", "Sources"}
    <root>/manifests/lock         flock held by every read-modify-write

`Index` is the list itself (an OCI image index or Docker manifest list, as JSON);
`Sources` maps each instance's manifest digest to where its blobs are: a local image
(`{"image": ID}`) or a registry reference (`{"ref": "REGISTRY/REPO@DIGEST"}`). The
instances' manifest bytes live in the blob store, so a push sends the very bytes whose
digests the list names. A JSON file, not the catalog: lists are few, small, and never
on a hot path.
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


class ManifestListStore:
    def __init__(self, paths: Paths) -> None:
        self.dir = os.path.join(paths.root, "manifests")
        self.meta_path = os.path.join(self.dir, "lists.json")

    @contextmanager
    def locked(self) -> Iterator[None]:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def all(self) -> "dict[str, dict[str, Any]]":
        """ID -> list record, in creation order."""
        try:
            with open(self.meta_path, encoding="utf-8") as f:
                data: dict[str, dict[str, Any]] = json.load(f)
        except FileNotFoundError:
            return {}
        return data

    def save(self, record: "dict[str, Any]") -> None:
        """Add or replace a list (the caller holds the lock)."""
        everything = self.all()
        everything[record["ID"]] = record
        statefiles.write_atomic(self.meta_path, json.dumps(everything, indent=1), 0o600)

    def delete(self, list_id: str) -> None:
        everything = self.all()
        everything.pop(list_id, None)
        statefiles.write_atomic(self.meta_path, json.dumps(everything, indent=1), 0o600)


__all__ = ["ManifestListStore"]
