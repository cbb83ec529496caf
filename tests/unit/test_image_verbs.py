"""tag, rmi, history, tree, prune, system df, resolve: podman's semantics."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_registry import FakeRegistry, simple_layer
from pdman.engine import image_removal as removal
from pdman.engine import images as engine
from pdman.engine.context import EngineContext
from pdman.entities.images import PruneImagesOptions, PullOptions, RemoveImagesOptions
from pdman.errors import ImageNotFound, ReferenceFormatError
from pdman.storage import container_records, image_records

BASE = simple_layer({"etc/os-release": b"base\n"})
APP = simple_layer({"app/run": b"app\n" * 100})
HISTORY = [
    {"created": "2024-01-01T00:00:00Z", "created_by": "ADD base"},
    {"created": "2024-01-02T00:00:00Z", "created_by": "ENV A=1", "empty_layer": True},
    {"created": "2024-01-03T00:00:00Z", "created_by": "COPY app /app " + "x" * 60,
     "comment": "buildkit"},
]


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineContext]:
    conf = tmp_path / "registries.conf"
    conf.write_text('unqualified-search-registries = ["reg.test"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    c = EngineContext.create(tmp_path / "root", tmp_path / "run")
    reg = FakeRegistry()
    reg.push_image("base", "1", [BASE])
    reg.push_image("app", "latest", [BASE, APP], history=HISTORY)
    for ref in ("reg.test/base:1", "reg.test/app"):
        engine.pull(c, PullOptions(reference=ref), transport=reg.transport())
    yield c
    c.close()


def add_container(ctx: EngineContext, image: str) -> str:
    rec = engine.resolve_image(ctx, image)
    cid = os.urandom(32).hex()
    container_records.insert(ctx.catalog, container_records.ContainerRecord(
        id=cid, name="c" + cid[:6], image_id=rec.id, image_name=image, command=["sh"],
        created=0.0, config={}))
    return cid


def rmi(ctx: EngineContext, *names: str, **kw: bool) -> removal.RemoveImagesReport:
    return removal.remove_images(ctx, RemoveImagesOptions(tuple(names), **kw))


def test_resolve_by_name_short_name_id_and_digest(ctx: EngineContext) -> None:
    app = engine.resolve_image(ctx, "reg.test/app:latest")
    assert engine.resolve_image(ctx, "app").id == app.id           # any */app:latest
    assert engine.resolve_image(ctx, app.id[:5]).id == app.id
    assert engine.resolve_image(ctx, "sha256:" + app.id).id == app.id
    assert engine.resolve_image(ctx, app.repo_digests[0]).id == app.id
    with pytest.raises(ImageNotFound, match="nope: image not known"):
        engine.resolve_image(ctx, "nope")
    with pytest.raises(ImageNotFound):
        engine.resolve_image(ctx, "app:other")
    with pytest.raises(ReferenceFormatError):
        engine.resolve_image(ctx, "UPPER")


def test_tag_and_untag(ctx: EngineContext) -> None:
    names = engine.tag_image(ctx, "app", ["mine", "reg.test/copy:v2"])
    assert names == ["localhost/mine:latest", "reg.test/copy:v2"]
    assert engine.resolve_image(ctx, "mine").id == engine.resolve_image(ctx, "app").id
    assert engine.untag_image(ctx, "mine", ["mine"]) == ["localhost/mine:latest"]
    with pytest.raises(ImageNotFound):
        engine.resolve_image(ctx, "localhost/mine")


def test_rmi_untags_one_of_several_names_then_deletes(ctx: EngineContext) -> None:
    app = engine.resolve_image(ctx, "app")
    engine.tag_image(ctx, "app", ["second"])
    r = rmi(ctx, "second")
    assert r.untagged == ["localhost/second:latest"] and r.deleted == [] and r.exit_code == 0
    engine.tag_image(ctx, "app", ["second"])
    r = rmi(ctx, app.id[:12])
    assert r.exit_code == 125 and "more than one tag" in r.errors[0]
    r = rmi(ctx, app.id[:12], force=True)
    assert r.deleted == [app.id] and sorted(r.untagged) == \
        ["localhost/second:latest", "reg.test/app:latest"]
    # the shared base layer survives with the base image; the app layer is gone
    base = engine.resolve_image(ctx, "reg.test/base:1")
    assert [x.diff_id for x in image_records.layers_of(ctx.catalog, base.id)] == base.layers
    assert len(os.listdir(ctx.paths.layers)) == 1 and len(os.listdir(ctx.paths.links)) == 1
    link = engine.image_rootfs_layers(ctx, base.id)[0]
    assert os.path.exists(os.path.join(ctx.paths.links, link, "etc/os-release"))
    r = rmi(ctx, "base:1")
    assert r.deleted == [base.id]
    assert os.listdir(ctx.paths.layers) == [] and os.listdir(ctx.paths.links) == []
    assert ctx.catalog.query("SELECT * FROM layers") == []
    assert os.listdir(os.path.join(ctx.paths.blobs, "sha256")) == []


def test_rmi_refuses_an_image_in_use_and_missing_images(ctx: EngineContext) -> None:
    add_container(ctx, "reg.test/app:latest")
    r = rmi(ctx, "app")
    assert r.exit_code == 2 and "in use by a container" in r.errors[0]
    r = rmi(ctx, "nothere")
    assert r.exit_code == 1 and "image not known" in r.errors[0]
    assert rmi(ctx, "nothere", ignore=True).exit_code == 0
    r = rmi(ctx, "nothere", "app")
    assert r.exit_code == 2


def test_rmi_all(ctx: EngineContext) -> None:
    r = rmi(ctx, all=True)
    assert len(r.deleted) == 2 and r.exit_code == 0
    assert image_records.list_images(ctx.catalog) == []
    assert os.listdir(ctx.paths.layers) == []


def test_history(ctx: EngineContext) -> None:
    rows = engine.history(ctx, "app")
    app = engine.resolve_image(ctx, "app")
    assert [r.ID for r in rows] == [app.id, "<missing>", "<missing>"]
    assert rows[0].CreatedBy.startswith("COPY app") and rows[0].Comment == "buildkit"
    assert rows[1].Size == 0 and rows[1].CreatedBy == "ENV A=1"
    sizes = {x.diff_id: x.size for x in image_records.layers_of(ctx.catalog, app.id)}
    assert rows[0].Size == sizes[app.layers[1]] and rows[2].Size == sizes[app.layers[0]]


def test_inspect(ctx: EngineContext) -> None:
    doc = engine.inspect_image(ctx, "app")
    app = engine.resolve_image(ctx, "app")
    assert doc["Id"] == app.id and doc["RepoTags"] == ["reg.test/app:latest"]
    assert doc["RootFS"] == {"Type": "layers", "Layers": app.layers}
    assert doc["Config"]["Cmd"] == ["sh"] and doc["Architecture"] == "amd64"
    assert doc["Os"] == "linux" and doc["Size"] == app.size and len(doc["History"]) == 3
    assert doc["GraphDriver"]["Data"]["UpperDir"].endswith("/diff")


def test_prune_and_df(ctx: EngineContext) -> None:
    rows = {r.Type: r for r in removal.disk_usage(ctx)}
    sizes = [r["size"] for r in ctx.catalog.query("SELECT size FROM layers")]
    assert rows["Images"].Total == 2 and rows["Images"].Size == sum(sizes)  # shared once
    assert rows["Images"].Reclaimable == sum(sizes)
    add_container(ctx, "reg.test/base:1")
    rows = {r.Type: r for r in removal.disk_usage(ctx)}
    assert rows["Images"].Active == 1 and rows["Containers"].Total == 1
    assert rows["Images"].Reclaimable == sum(sizes) - min(sizes)
    # nothing dangling yet
    assert removal.prune_images(ctx, PruneImagesOptions()).deleted == []
    engine.untag_image(ctx, "app", [])
    report = removal.prune_images(ctx, PruneImagesOptions())
    assert len(report.deleted) == 1 and report.reclaimed > 0
    # --all keeps the image a container uses
    assert removal.prune_images(ctx, PruneImagesOptions(all=True)).deleted == []
    assert engine.resolve_image(ctx, "base:1")
