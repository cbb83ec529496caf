"""An image's manifest annotations (pdman/image/annotations.py) on a real store in a
temporary directory: set on the image's OCI manifest, read back as `inspect` reads
them, deterministic bytes, and a Docker manifest refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pdman.engine.context import EngineContext
from pdman.errors import StorageError
from pdman.image import manifest
from pdman.image.annotations import manifest_annotations, manifest_digest, set_annotations
from pdman.image.ingest import register_image
from pdman.image.push import image_manifest
from pdman.storage import image_records
from pdman.storage.blobs import BlobStore

CONFIG = {"architecture": "amd64", "os": "linux", "config": {},
          "rootfs": {"type": "layers", "diff_ids": []}}


@pytest.fixture
def ctx(tmp_path: Path) -> EngineContext:
    return EngineContext.create(tmp_path / "root", tmp_path / "run")


def _image(ctx: EngineContext, kind: str = manifest.OCI_MANIFEST) -> str:
    return register_image(ctx, json.dumps(CONFIG).encode(), [], [], manifest_type=kind).id


def test_set_then_read_and_publish(ctx: EngineContext) -> None:
    image_id = _image(ctx)
    rec = image_records.get(ctx.catalog, image_id)
    assert manifest_annotations(ctx.paths.blobs, rec) == {}
    first = rec.digest
    new = set_annotations(ctx, image_id, {"b": "2", "a": "1"})
    rec = image_records.get(ctx.catalog, image_id)
    assert rec.digest == new != first
    assert manifest_annotations(ctx.paths.blobs, rec) == {"a": "1", "b": "2"}
    assert manifest_digest(ctx.paths.blobs, rec) == new
    # what push, save and manifest lists publish is that manifest
    raw, doc = image_manifest(ctx, rec)
    assert json.loads(raw)["annotations"] == {"a": "1", "b": "2"}
    assert doc.annotations == {"a": "1", "b": "2"}
    # the same annotations, in any order, give the same bytes; none gives the first
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    assert not blobs.has(first)                  # the manifest replaced: nothing names it
    assert set_annotations(ctx, image_id, {"a": "1", "b": "2"}) == new
    assert set_annotations(ctx, image_id, {}) == first
    assert blobs.has(first) and not blobs.has(new)


def test_a_manifest_a_list_names_is_kept(ctx: EngineContext) -> None:
    from pdman.engine import manifests

    image_id = _image(ctx)
    first = image_records.get(ctx.catalog, image_id).digest
    manifests.create(ctx, "keeps", [image_id])
    set_annotations(ctx, image_id, {"a": "1"})
    assert BlobStore(ctx.paths.blobs, ctx.paths.tmp).has(first)
    listed = json.loads(manifests.inspect(ctx, "keeps"))
    assert [m["digest"] for m in listed["manifests"]] == [first]


def test_a_docker_manifest_has_none(ctx: EngineContext) -> None:
    image_id = _image(ctx, manifest.DOCKER_MANIFEST)
    rec = image_records.get(ctx.catalog, image_id)
    assert manifest_annotations(ctx.paths.blobs, rec) == {}
    assert set_annotations(ctx, image_id, {}) == rec.digest
    with pytest.raises(StorageError, match="no annotations"):
        set_annotations(ctx, image_id, {"a": "1"})
