"""One build's state from step to step, and what the steps share: the layer cache
(storage/build_cache.py), registering the images steps make, base images."""

from __future__ import annotations

import datetime as _dt
import json
import sys

from pdman.build.ignore import IgnoreRules
from pdman.build.parser import Containerfile, Instruction
from pdman.build.plan import StageState
from pdman.engine.context import EngineContext
from pdman.entities.build import BuildOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


class BuildSession:
    """What one build carries from step to step."""

    def __init__(self, ctx: EngineContext, options: BuildOptions, cf: Containerfile,
                 context_dir: str, rules: IgnoreRules, gargs: dict[str, str],
                 ingest: Any, escape: str, total: int) -> None:
        self.ctx = ctx
        self.options = options
        self.cf = cf
        self.context_dir = context_dir
        self.rules = rules
        self.gargs = gargs
        self.ingest = ingest
        self.escape = escape
        self.total = total
        self.step = 0
        self.results: dict[int, StageState] = {}
        self.cached = 0
        self.runs = 0
        self.use_cache = options.layers and not options.no_cache
        self.out: TextIO = options.out or sys.stdout

    def say(self, text: str) -> None:
        if not self.options.quiet:
            print(text, file=self.out, flush=True)

    def now(self) -> str:
        if self.options.timestamp is not None:
            t = _dt.datetime.fromtimestamp(self.options.timestamp, _dt.timezone.utc)
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def where(self, ins: Instruction) -> str:
        return f"{self.cf.path}:{ins.line}: {ins.keyword}"


def image(b: BuildSession, name: str, platform: str = "") -> Any:
    """A base or --from image, pulled per --pull (FROM --platform picks the platform)."""
    from pdman.engine import images
    from pdman.entities.images import PullOptions

    return images.ensure_image(b.ctx, name, b.options.pull,
                               PullOptions(reference=name, platform=platform,
                                           quiet=b.options.quiet))


def history(state: StageState, created: str, created_by: str, empty: bool) -> None:
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if empty:
        entry["empty_layer"] = True
    state.config["history"] = [*(state.config.get("history") or []), entry]


def stored_layers(b: BuildSession, diff_ids: list[str]) -> list[Any]:
    from pdman.errors import StorageError

    out = []
    for d in diff_ids:
        have = b.ingest.present(d)
        if have is None:
            raise StorageError(f"layer {d[:19]} has no stored blob",
                               hint="pull the base image again, or build with --no-cache")
        out.append(have)
    return out


def register(b: "BuildSession", state: StageState, new_layer: Any = None) -> str:
    from pdman.image.ingest import register_image

    diff_ids = list((state.config.get("rootfs") or {}).get("diff_ids") or [])
    layers = stored_layers(b, diff_ids)
    if new_layer is not None:
        layers.append(new_layer)
        diff_ids.append(new_layer.diff_id)
    state.config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    state.config["created"] = (state.config.get("history") or [{}])[-1].get("created") or b.now()
    image = register_image(b.ctx, json.dumps(state.config).encode(), layers, [])
    state.image_id = image.id
    state.config = json.loads(json.dumps(image.config))
    state.dirty = False
    return image.id


def cached(b: BuildSession, state: StageState, key: str) -> bool:
    """A cache hit: the state becomes the cached image's."""
    if not b.use_cache:
        return False
    from pdman.storage import build_cache, image_records

    image_id = build_cache.lookup(b.ctx.catalog, key)
    if image_id is None:
        return False
    rec = image_records.get(b.ctx.catalog, image_id)
    if any(b.ingest.present(d) is None for d in rec.layers):
        return False
    state.config = json.loads(json.dumps(rec.config))
    state.image_id = rec.id
    state.key = key
    state.dirty = False
    b.cached += 1
    b.say(f"--> Using cache {rec.id}")
    return True


def remember(b: BuildSession, key: str, image_id: str) -> None:
    if b.options.layers:
        from pdman.storage import build_cache

        build_cache.record(b.ctx.catalog, key, image_id)


def materialize(b: BuildSession, state: StageState) -> str:
    """The stage's config so far as an image (a RUN's base, a stage's result)."""
    if state.image_id and not state.dirty:
        return state.image_id
    if cached(b, state, state.key):
        return state.image_id
    image_id = register(b, state)
    remember(b, state.key, image_id)
    return image_id


def source_image(b: BuildSession, ins: Instruction, ref: str) -> str:
    """The image a COPY --from or a RUN --mount from= names: an earlier stage's
    (materialized) or an image's, pulled per --pull."""
    from pdman.build import plan
    from pdman.errors import BuildFileError

    idx = plan.stage_index(b.cf, ref)
    if idx is not None:
        if idx not in b.results:
            raise BuildFileError(f"{b.where(ins)}: stage {ref} is not built before this one",
                                 hint="COPY --from names an earlier stage")
        return materialize(b, b.results[idx])
    return str(image(b, ref).id)


def links(b: BuildSession, image_id: str) -> list[str]:
    from pdman.storage import image_records

    if not image_id:
        return []
    links = [layer.link for layer in image_records.layers_of(b.ctx.catalog, image_id)]
    links.reverse()
    return links


__all__ = ["BuildSession", "cached", "history", "image", "links", "materialize", "register",
           "remember", "source_image"]
