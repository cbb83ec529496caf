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

import os
from typing import Any

from pdman.config import Paths
from pdman.storage.jsonfile import JsonRecordFile


class ManifestListStore(JsonRecordFile):
    def __init__(self, paths: Paths) -> None:
        super().__init__(os.path.join(paths.root, "manifests"), "lists.json")

    def save(self, record: "dict[str, Any]") -> None:
        """Add or replace a list (the caller holds the lock)."""
        everything = self.all()
        everything[record["ID"]] = record
        self._save(everything)

    def delete(self, list_id: str) -> None:
        everything = self.all()
        everything.pop(list_id, None)
        self._save(everything)


__all__ = ["ManifestListStore"]
