"""Pulling into a throw-away store over httpx.MockTransport: layers shared and stored
once, verification failures leave nothing behind, crash leftovers are repaired."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import layers_corpus as corpus
from fake_registry import FakeRegistry, simple_layer
from pdman.engine import images as engine
from pdman.engine.context import EngineContext
from pdman.entities.images import PullEvent, PullOptions
from pdman.errors import DigestMismatchError, ImageNotFound, LayerError
from pdman.storage import image_records

BASE = simple_layer({"etc/os-release": b"base\n", "bin/sh": b"#!shell\n"})
APP = simple_layer({"app/run": b"app\n"})
OTHER = simple_layer({"other/x": b"other\n"})


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineContext]:
    conf = tmp_path / "registries.conf"
    conf.write_text('unqualified-search-registries = ["reg.test"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    c = EngineContext.create(tmp_path / "root", tmp_path / "run")
    yield c
    c.close()


@pytest.fixture
def reg() -> FakeRegistry:
    r = FakeRegistry(bearer=True)
    r.push_image("base", "1", [BASE])
    r.push_image("app", "latest", [BASE, APP])
    return r


def pull(ctx: EngineContext, reg: FakeRegistry, ref: str, **kw: object) -> object:
    return engine.pull(ctx, PullOptions(reference=ref, **kw), transport=reg.transport())  # type: ignore[arg-type]


def blob_gets(reg: FakeRegistry, data: bytes) -> int:
    from fake_registry import digest_of

    d = digest_of(data)
    return sum(1 for r in reg.requests if r.url.path.endswith(f"/blobs/{d}"))


def store_listing(ctx: EngineContext) -> dict[str, list[str]]:
    p = ctx.paths
    return {name: sorted(os.listdir(path)) if os.path.isdir(path) else []
            for name, path in (("layers", p.layers), ("l", p.links), ("tmp", p.tmp))}


def test_pull_registers_image_layers_links_and_blobs(ctx: EngineContext,
                                                     reg: FakeRegistry) -> None:
    events: list[PullEvent] = []
    report = pull(ctx, reg, "reg.test/app", progress=events.append)
    rec = engine.resolve_image(ctx, "reg.test/app:latest")
    assert rec.id == report.image_id  # type: ignore[attr-defined]
    assert rec.names == ["reg.test/app:latest"]
    assert rec.repo_digests and rec.repo_digests[0].startswith("reg.test/app@sha256:")
    assert len(rec.layers) == 2 and rec.architecture == "amd64"
    links = engine.image_rootfs_layers(ctx, rec.id)
    assert len(links) == 2 and all(len(link) == 26 for link in links)
    for link, diff_id in zip(links, rec.layers):
        target = os.readlink(os.path.join(ctx.paths.links, link))
        assert target == f"../layers/{diff_id.partition(':')[2]}/diff"
    top = os.path.join(ctx.paths.links, links[-1], "app/run")
    assert open(top, "rb").read() == b"app\n"
    assert engine.image_lowerdir(ctx, rec.id) == f"l/{links[1]}:l/{links[0]}"
    assert store_listing(ctx)["tmp"] == []
    blobs = os.listdir(os.path.join(ctx.paths.blobs, "sha256"))
    assert len(blobs) == 4  # 2 layers, config, manifest
    kinds = [e.kind for e in events]
    assert kinds[0] == "trying" and "manifest" in kinds and kinds.count("blob-done") == 2


def test_shared_base_layer_is_stored_once(ctx: EngineContext, reg: FakeRegistry) -> None:
    pull(ctx, reg, "reg.test/base:1")
    events: list[PullEvent] = []
    report = pull(ctx, reg, "app", progress=events.append)  # short name via search list
    assert report.layers_fetched == 1 and report.layers_present == 1  # type: ignore[attr-defined]
    assert blob_gets(reg, BASE) == 1
    assert [e.kind for e in events].count("blob-skipped") == 1
    assert len(store_listing(ctx)["layers"]) == 2
    users = image_records.layer_users(ctx.catalog)
    assert sorted(users.values()) == [1, 2]
    tree = engine.image_tree(ctx, "reg.test/app")
    assert tree["Layers"][0]["SharedWith"][0]["Names"] == ["reg.test/base:1"]
    assert tree["Layers"][1]["SharedWith"] == []


def test_platform_selection_from_an_index(ctx: EngineContext) -> None:
    reg = FakeRegistry()
    amd = reg.push_image("multi", "", [simple_layer({"etc/platform": b"amd64\n"})])
    arm = reg.push_image("multi", "", [simple_layer({"etc/platform": b"arm64\n"})],
                         platform=("linux", "arm64", "v8"))
    index = reg.push_index("multi", "latest", [(amd, ("linux", "amd64", "")),
                                               (arm, ("linux", "arm64", "v8"))])
    r1 = pull(ctx, reg, "reg.test/multi")
    r2 = pull(ctx, reg, "reg.test/multi", platform="linux/arm64")
    assert r1.image_id == amd["config_digest"].partition(":")[2]  # type: ignore[attr-defined]
    assert r2.image_id == arm["config_digest"].partition(":")[2]  # type: ignore[attr-defined]
    rec = image_records.get(ctx.catalog, r2.image_id)  # type: ignore[attr-defined]
    assert rec.digest == index and f"reg.test/multi@{arm['digest']}" in rec.repo_digests
    link = engine.image_rootfs_layers(ctx, rec.id)[0]
    assert open(os.path.join(ctx.paths.links, link, "etc/platform")).read() == "arm64\n"
    # the tag moved to the arm64 image: the amd64 one has no name left
    assert image_records.get(ctx.catalog, r1.image_id).names == []  # type: ignore[attr-defined]


def test_pull_by_digest_names_the_digest(ctx: EngineContext, reg: FakeRegistry) -> None:
    d = reg.push_image("app", "", [APP])["digest"]
    report = pull(ctx, reg, f"reg.test/app@{d}")
    rec = engine.resolve_image(ctx, f"reg.test/app@{d}")
    assert rec.id == report.image_id and rec.names == [f"reg.test/app@{d}"]  # type: ignore[attr-defined]
    rows = engine.list_images(ctx, __import__("pdman.entities.images").entities.images
                              .ListImagesOptions())
    assert [(r.Repository, r.Tag) for r in rows] == [("reg.test/app", "<none>")]


def _nothing_left(ctx: EngineContext) -> None:
    assert image_records.list_images(ctx.catalog) == []
    assert ctx.catalog.query("SELECT * FROM layers") == []
    listing = store_listing(ctx)
    assert listing["layers"] == [] and listing["l"] == [] and listing["tmp"] == []
    blobs = os.path.join(ctx.paths.blobs, "sha256")
    assert not os.path.isdir(blobs) or os.listdir(blobs) == []


def test_corrupt_blob_stores_nothing(ctx: EngineContext, reg: FakeRegistry) -> None:
    from fake_registry import digest_of

    reg.corrupt.add(digest_of(APP))
    with pytest.raises(DigestMismatchError) as e:
        pull(ctx, reg, "reg.test/app")
    assert digest_of(APP) in e.value.message
    # the good base layer may have been published (it is complete); the image is not
    assert image_records.list_images(ctx.catalog) == []
    assert store_listing(ctx)["tmp"] == []
    assert not os.path.exists(os.path.join(ctx.paths.blobs, "sha256",
                                           digest_of(APP).partition(":")[2]))


def test_config_lying_about_diff_ids_is_caught(ctx: EngineContext) -> None:
    reg = FakeRegistry()
    reg.push_image("liar", "latest", [APP], config_extra={"rootfs": {
        "type": "layers", "diff_ids": ["sha256:" + "0" * 64]}})
    with pytest.raises(DigestMismatchError, match="diff_id|names sha256:0000"):
        pull(ctx, reg, "reg.test/liar")
    _nothing_left(ctx)


def test_hostile_layer_registers_nothing(ctx: EngineContext) -> None:
    reg = FakeRegistry()
    evil = corpus.gz(corpus.tar([corpus.entry("../../evil", data=b"x")]))
    reg.push_image("evil", "latest", [evil])
    with pytest.raises(LayerError, match="outside the layer") as e:
        pull(ctx, reg, "reg.test/evil")
    from fake_registry import digest_of

    assert digest_of(evil) in e.value.message  # the error names the layer
    _nothing_left(ctx)
    assert not (Path(ctx.paths.root).parent / "evil").exists()


def test_missing_image_and_search_list(ctx: EngineContext, reg: FakeRegistry) -> None:
    with pytest.raises(ImageNotFound, match="manifest unknown"):
        pull(ctx, reg, "nope")


def test_leftovers_of_a_killed_pull_are_repaired(ctx: EngineContext, reg: FakeRegistry) -> None:
    from fake_registry import digest_of

    pull(ctx, reg, "reg.test/base:1")
    base = engine.resolve_image(ctx, "reg.test/base:1")
    # a pull killed after publishing a layer dir but before its row; and garbage in tmp/
    app_diff = json.loads(reg.blobs[reg.push_image("app", "latest", [BASE, APP])
                                    ["config_digest"]])["rootfs"]["diff_ids"][1]
    stale = os.path.join(ctx.paths.layers, app_diff.partition(":")[2], "diff")
    os.makedirs(stale)
    open(os.path.join(stale, "half"), "w").close()
    os.makedirs(os.path.join(ctx.paths.tmp, "pull-dead", "x"))
    # and a blob stored by it: used without downloading again
    blob_dir = os.path.join(ctx.paths.blobs, "sha256")
    with open(os.path.join(blob_dir, digest_of(APP).partition(":")[2]), "wb") as f:
        f.write(APP)
    before = blob_gets(reg, APP)
    pull(ctx, reg, "reg.test/app")
    assert blob_gets(reg, APP) == before
    assert not os.path.exists(os.path.join(stale, "half"))
    assert os.path.exists(os.path.join(stale, "app/run"))
    assert store_listing(ctx)["tmp"] == []
    assert engine.resolve_image(ctx, "reg.test/base:1").id == base.id


def test_credentials_from_auth_file(ctx: EngineContext, tmp_path: Path) -> None:
    import base64

    reg = FakeRegistry(bearer=True, users={"u": "p"})
    reg.push_image("private", "latest", [APP])
    (tmp_path / "auth.json").write_text(json.dumps({"auths": {"reg.test": {
        "auth": base64.b64encode(b"u:p").decode()}}}))
    pull(ctx, reg, "reg.test/private")
    from pdman.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        pull(ctx, reg, "reg.test/private", creds="u:wrong")


def test_manifest_without_media_type(ctx: EngineContext) -> None:
    reg = FakeRegistry()
    reg.drop_media_type = True
    reg.push_image("umoci", "latest", [APP])
    report = pull(ctx, reg, "reg.test/umoci")
    rec = image_records.get(ctx.catalog, report.image_id)  # type: ignore[attr-defined]
    assert rec.manifest_media_type == "application/vnd.oci.image.manifest.v1+json"


def test_plain_progress_lines_like_podman(ctx: EngineContext, reg: FakeRegistry) -> None:
    import io

    from pdman.cli.pull_progress import PlainProgress

    out = io.StringIO()
    pull(ctx, reg, "reg.test/base:1", progress=PlainProgress(out))
    pull(ctx, reg, "reg.test/app", progress=PlainProgress(out))
    lines = out.getvalue().splitlines()
    assert lines[0] == "Trying to pull reg.test/base:1..."
    assert lines[1] == "Getting image source signatures"
    assert any(x.startswith("Copying blob sha256:") and x.endswith(" done") for x in lines)
    assert any(x.endswith(" skipped: already exists") for x in lines)
    assert any(x.startswith("Copying config sha256:") for x in lines)
    assert lines[-1] == "Writing manifest to image destination"


def test_an_ambiguous_short_name_is_asked_once_and_remembered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reg: FakeRegistry) -> None:
    """short-name-mode enforcing (the default) with two search registries: a pull
    with someone to ask (a terminal) pulls the pick and records it in the alias
    cache; the next pull, with nobody to ask, follows the alias."""
    conf = tmp_path / "two.conf"
    conf.write_text('unqualified-search-registries = ["other.test", "reg.test"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    c = EngineContext.create(tmp_path / "root2", tmp_path / "run2")
    try:
        asked: list[list[str]] = []

        def choose(short: str, names: list[str]) -> str:
            asked.append(names)
            return "reg.test/app"

        report = pull(c, reg, "app", choose_registry=choose)
        assert asked == [["other.test/app", "reg.test/app"]]
        assert report.reference == "reg.test/app:latest"   # type: ignore[attr-defined]
        assert not any(r.url.host == "other.test" for r in reg.requests)
        cache = tmp_path / "config/containers/short-name-aliases.conf"
        assert '"app" = "reg.test/app"' in cache.read_text()
        assert pull(c, reg, "app").reference == "reg.test/app:latest"  # type: ignore[attr-defined]
        assert len(asked) == 1
    finally:
        c.close()
