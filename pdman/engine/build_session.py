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
        # --cache-ttl=0 is --no-cache, as buildah's
        self.use_cache = options.layers and not options.no_cache and options.cache_ttl != 0
        #: --build-context NAME -> ("dir", PATH) or ("image", REFERENCE)
        self.contexts: dict[str, tuple[str, str]] = {}
        # `--output -` writes the archive to stdout: the progress goes to stderr
        self.stdout_taken = any(o == "-" or o.endswith("dest=-") for o in options.outputs)
        self.out: TextIO = options.out or (sys.stderr if self.stdout_taken else sys.stdout)

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

    platform = platform or b.options.platform
    o = b.options
    pull_options = PullOptions(reference=name, platform=platform, quiet=o.quiet,
                               tls_verify=o.tls_verify, authfile=o.authfile, creds=o.creds)
    rec = _with_retries(b, lambda: images.ensure_image(b.ctx, name, o.pull, pull_options))
    if platform and b.options.pull != "always":
        from pdman.engine.build_output import matches, platform_of

        if not matches(rec.config, platform):
            # the local image of that name is another platform's: that one, from the index
            if b.options.pull == "never":
                from pdman.errors import ImageNotFound

                raise ImageNotFound(f"{name}: the local image is {platform_of(rec.config)}, "
                                    f"not {platform}",
                                    hint="pull it with --platform, or allow pulling")
            rec = _with_retries(b, lambda: images.ensure_image(b.ctx, name, "always",
                                                               pull_options))
    return rec


def _with_retries(b: BuildSession, pull: Any) -> Any:
    """--retry/--retry-delay: a pull that failed on the registry's side (unreachable, an
    error answer) is tried again, as podman's; a missing image or refused credentials
    are not."""
    import time

    from pdman.errors import AuthenticationError, RegistryError

    attempt = 0
    while True:
        try:
            return pull()
        except AuthenticationError:
            raise
        except RegistryError as exc:
            if attempt >= b.options.retry:
                raise
            attempt += 1
            print(f"WARN[0000] Failed, retrying in {b.options.retry_delay:g}s "
                  f"({attempt}/{b.options.retry}). Error: {exc.message}", file=sys.stderr,
                  flush=True)
            time.sleep(b.options.retry_delay)


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
    from pdman.image import manifest

    kind = manifest.DOCKER_MANIFEST if b.options.format == "docker" else manifest.OCI_MANIFEST
    image = register_image(b.ctx, json.dumps(state.config).encode(), layers, [],
                           manifest_type=kind)
    state.image_id = image.id
    state.config = json.loads(json.dumps(image.config))
    state.dirty = False
    return image.id


def cached(b: BuildSession, state: StageState, key: str, step: bool = True) -> bool:
    """A cache hit: the state becomes the cached image's. `step`: a Containerfile step's
    (said and counted); not the commit of a stage's final config (--label, the identity
    label), which podman does not report as a cached step."""
    if not b.use_cache:
        return False
    from pdman.storage import build_cache, image_records

    image_id = build_cache.lookup(b.ctx.catalog, key, b.options.cache_ttl)
    if image_id is None:
        return False
    rec = image_records.get(b.ctx.catalog, image_id)
    if any(b.ingest.present(d) is None for d in rec.layers):
        return False
    state.config = json.loads(json.dumps(rec.config))
    state.image_id = rec.id
    state.key = key
    state.dirty = False
    if step:
        b.cached += 1
        b.say(f"--> Using cache {rec.id}")
    return True


def remember(b: BuildSession, key: str, image_id: str) -> None:
    if b.options.layers:
        from pdman.storage import build_cache

        build_cache.record(b.ctx.catalog, key, image_id)


def materialize(b: BuildSession, state: StageState, step: bool = True) -> str:
    """The stage's config so far as an image (a RUN's base, a stage's result)."""
    if state.image_id and not state.dirty:
        return state.image_id
    if cached(b, state, state.key, step):
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
    kind, value = b.contexts.get(ref, ("image", ref))
    if kind == "dir":
        raise BuildFileError(f"{b.where(ins)}: the build context {ref} is a directory here",
                             hint="COPY --from and RUN --mount from= read it; FROM needs an "
                                  "image")
    return str(image(b, value).id)


def named_dir(b: BuildSession, ref: str) -> str | None:
    """The directory a --build-context NAME=DIR (or URL) gives `ref`, unless a stage is
    named so (stages first); None when it names none."""
    from pdman.build import plan

    if plan.stage_index(b.cf, ref) is not None:
        return None
    kind, value = b.contexts.get(ref, ("", ""))
    return value if kind == "dir" else None


def links(b: BuildSession, image_id: str) -> list[str]:
    from pdman.storage import image_records

    if not image_id:
        return []
    links = [layer.link for layer in image_records.layers_of(b.ctx.catalog, image_id)]
    links.reverse()
    return links


__all__ = ["BuildSession", "cached", "history", "image", "links", "materialize",
           "named_dir", "register", "remember", "source_image"]
