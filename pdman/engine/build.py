"""`pdman build`: an image from a Containerfile, one options object in, one report out.

The flow, top-down, as `run` reads:

1. read the Containerfile (-f, or Containerfile before Dockerfile in the context) and
   parse it (build/parser.py); read the ignore rules (build/ignore.py);
2. plan: the global ARGs, and the stages the target needs (build/plan.py) -- others
   are not built;
3. per stage: the base (an image, pulled per --pull; `scratch`; or an earlier stage),
   then each instruction:
   - metadata-only ones change the config (build/plan.py) and add an empty-layer
     history entry;
   - RUN runs in an ordinary pdman container made from the stage's image so far
     (engine/containers.py: create + start_attached), and its writable layer becomes
     the step's layer the way `commit` makes one (image/commit_layer.py);
   - COPY/ADD read their sources through directory fds (build/sources.py) into a
     layer tarball, stored through the same ingest as commit and load;
   each layer step registers an intermediate image and records it in the layer cache
   under the step's key: the parent's key, the expanded instruction (build args
   included) and, for COPY/ADD, the hash of the sources' content and metadata;
4. the last stage's image gets the tags; --iidfile.

A failed step removes its container and makes no image; pdman's own errors exit 125,
a failed RUN exits 1 (BuildStepFailed), as `podman build` does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile

from pdman.build import plan
from pdman.build.ignore import IgnoreRules
from pdman.build.parser import Containerfile, Instruction, Stage, parse
from pdman.build.plan import StageState
from pdman.engine.build_session import BuildSession, history, image, materialize
from pdman.engine.build_steps import copy_step, run_step
from pdman.engine.context import EngineContext
from pdman.entities.build import BuildOptions, BuildReport
from pdman.errors import BuildFileError, UsageError
from pdman.image.annotations import BASE_DIGEST, BASE_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# -- 1. the Containerfile and the context ----------------------------------------------

def _read_containerfile(options: BuildOptions, context_dir: str) -> tuple[str, str]:
    if options.containerfile == "-":
        return sys.stdin.read(), "<stdin>"
    if options.containerfile:
        path = options.containerfile
    else:
        for name in ("Containerfile", "Dockerfile"):
            path = os.path.join(context_dir, name)
            if os.path.isfile(path):
                break
        else:
            raise UsageError(f"no Containerfile or Dockerfile in {context_dir}",
                             hint="add one, or name it with -f FILE")
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}",
                         hint="check the -f path") from None
    except UnicodeDecodeError:
        raise BuildFileError(f"{path}: not UTF-8 text", hint="is it a Containerfile?") from None


def _ignore_rules(context_dir: str, ignorefile: str = "") -> IgnoreRules:
    if ignorefile:
        try:
            with open(ignorefile, encoding="utf-8", errors="replace") as f:
                return IgnoreRules.from_text(f.read())
        except OSError as exc:
            raise UsageError(f"--ignorefile {ignorefile}: {exc.strerror}",
                             hint="name a readable file of ignore rules") from None
    for name in (".containerignore", ".dockerignore"):
        path = os.path.join(context_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                return IgnoreRules.from_text(f.read())
    return IgnoreRules([])


def _context_dir(options: BuildOptions, area: str) -> tuple[str, str]:
    """(context directory, a temporary directory to remove afterwards or ""); a context
    sent on stdin is unpacked into the build's private tmp area (pdman's tmp/ is swept
    of anything outside such an area)."""
    if options.context == "-":
        tmp = tempfile.mkdtemp(prefix="context-", dir=area)
        from pdman.build.sources import extract_context

        try:
            extract_context(sys.stdin.buffer, tmp)
        except (tarfile.TarError, OSError, BuildFileError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UsageError(f"the build context on stdin is not a usable tar archive: {exc}",
                             hint="pipe a tar archive of the context directory") from None
        return tmp, tmp
    from pdman.engine.build_remote import fetch_context, is_remote

    if is_remote(options.context):
        return fetch_context(options.context, area)
    if not os.path.isdir(options.context):
        raise UsageError(f"the build context {options.context} is not a directory",
                         hint="give the context directory, - for a tar on stdin, or a URL")
    return os.path.abspath(options.context), ""


def _named_contexts(b: BuildSession, area: str) -> list[str]:
    """--build-context NAME=VALUE: a directory, an http(s) or git URL (fetched as the main
    context is), or docker-image://REF / container-image://REF (an image, pulled per
    --pull); FROM NAME, COPY --from=NAME and RUN --mount from=NAME use it where no stage
    has that name. Returns the temporary directories made."""
    from pdman.engine.build_remote import fetch_context, is_remote

    made: list[str] = []
    for name, value in b.options.build_contexts.items():
        for prefix in ("docker-image://", "container-image://"):
            if value.startswith(prefix):
                b.contexts[name] = ("image", value[len(prefix):])
                break
        else:
            if "://" in value and not is_remote(value):
                raise UsageError(f"--build-context {name}={value}: unsupported source",
                                 hint="give a directory, an http(s) or git URL, or "
                                      "docker-image://REF")
            if is_remote(value):
                path, tmp = fetch_context(value, area)
                made.append(tmp)
            elif os.path.isdir(value):
                path = os.path.abspath(value)
            else:
                raise UsageError(f"--build-context {name}={value}: not a directory",
                                 hint="give a directory, a URL, or docker-image://REF")
            b.contexts[name] = ("dir", path)
    return made


# -- the verb -------------------------------------------------------------------------

def build(ctx: EngineContext, options: BuildOptions) -> BuildReport:
    from pdman.image.ingest import LayerIngest

    if options.context == "-" and options.containerfile == "-":
        raise UsageError("the context and the Containerfile cannot both come from stdin",
                         hint="give -f FILE with a context on stdin, or put it in the archive")
    names = [_target_name(t) for t in options.tags]
    if options.outputs:
        from pdman.engine.build_output import parse_output

        if sum(parse_output(o)[1] == "-" for o in options.outputs) > 1:
            raise UsageError("only one --output can write to stdout", hint="name a file")
    if options.platform:
        from pdman.image.manifest import wanted_platform

        wanted_platform(options.platform)       # a malformed one fails before any work
    if options.manifest:
        _check_list_name(options.manifest, names)
    # lazy: a build whose steps all come from the cache starts no extraction process
    with LayerIngest(ctx, "build", lazy=True) as ingest:
        context_dir, tmp_context = _context_dir(options, ingest.area)
        temps: list[str] = []
        try:
            text, path = _read_containerfile(options, context_dir)
            cf = parse(text, path if path == "<stdin>" else os.path.basename(path))
            rules = _ignore_rules(context_dir, options.ignorefile)
            gargs = plan.global_args(cf, options.build_args)
            needed = plan.needed_stages(cf, options.target, gargs)
            if not options.skip_unused_stages:
                needed = list(range(needed[-1] + 1))    # every stage up to the target
            total = sum(1 + len(cf.stages[i].instructions) for i in needed)
            b = BuildSession(ctx, options, cf, context_dir, rules, gargs, ingest, cf.escape,
                             total)
            temps += _named_contexts(b, ingest.area)
            jobs = options.jobs if options.jobs > 0 else len(needed)
            if jobs > 1 and len(needed) > 1:
                from pdman.engine.build_jobs import build_stages

                build_stages(b, needed, jobs, _start_stage, _finish_stage)
            else:
                for i in needed:
                    b.results[i] = _build_stage(b, cf.stages[i], final=i == needed[-1])
            final = b.results[needed[-1]]
            if options.squash:
                from pdman.engine.build_squash import squash

                b.say("--> squashing" + (" every layer" if options.squash == "all" else
                                         " the new layers"))
                squash(b, final, final.base_layers, final.base_history, options.squash == "all")
            _annotate(b, final)
            if options.outputs:
                from pdman.engine.build_output import write_outputs

                write_outputs(b, final.image_id)
        finally:
            for tmp in [tmp_context, *temps]:
                if tmp:
                    shutil.rmtree(tmp, ignore_errors=True)
    image_id = final.image_id
    from pdman.storage import image_records

    b.say(" ".join(["COMMIT", *options.tags]))
    for name in names:
        image_records.add_name(ctx.catalog, image_id, name)
    b.say(f"--> {image_id[:11]}")
    if options.manifest:
        from pdman.engine import manifests

        # --manifest: the image joins the list, which is made if there is none
        manifests.create(ctx, options.manifest, [image_id], amend=True)
    from pdman.engine import events

    events.emit(ctx.paths, "image", "build", id=image_id, name=names[0] if names else "")
    for name in names:
        b.say(f"Successfully tagged {name}")
    print(image_id, file=b.out, flush=True)
    if options.iidfile:
        with open(options.iidfile, "w") as f:
            f.write("sha256:" + image_id)
    used = set(options.build_args) - _declared_args(cf)
    if used:
        print("WARN[0000] missing \"" + "\", \"".join(sorted(used)) + "\" build argument(s). "
              "Try adding \"ARG <name>\" to the Containerfile", file=sys.stderr)
    return BuildReport(image_id, names, needed, b.cached, b.runs)


def _check_list_name(name: str, tags: list[str]) -> None:
    """--manifest NAME names a list, never one of the image's own names (a list and an
    image cannot share a name): refused before the build rather than after it."""
    from pdman.engine.manifests import list_name

    full = list_name(name)
    if full in tags:
        raise UsageError(f"--manifest {name} and --tag {name} name the same thing",
                         hint="a manifest list and the image in it need different names")


def _annotate(b: BuildSession, final: StageState) -> None:
    """The image's manifest carries what its base's had (and the base's name and digest,
    as buildah writes them) with --annotation's on top. A cached image gets them too (its
    manifest is rewritten; the config, so the ID, is the same): podman 4.3 reuses a
    cached image with the annotations it was first built with."""
    o = b.options
    if o.format == "docker":
        if o.annotations:
            # podman 4.3 drops them without a word
            print("WARN[0000] --annotation: a docker format manifest has no annotations, "
                  "they are left out (build with --format oci to keep them)",
                  file=sys.stderr, flush=True)
        return
    if final.image_id == final.base_id:
        # no step made an image (FROM IMAGE alone, --identity-label=false): the base
        # image's manifest is its registry's and stays as it is
        if o.annotations:
            print("WARN[0000] --annotation: the build made no new image (the result is "
                  f"its base image {final.image_id[:12]}), its manifest is left as it is",
                  file=sys.stderr, flush=True)
        return
    from pdman.image.annotations import set_annotations

    set_annotations(b.ctx, final.image_id, {**final.annotations, **o.annotations})


def _declared_args(cf: Containerfile) -> set[str]:
    from pdman.build.expand import key_values

    out: set[str] = set(plan.PREDEFINED_ARGS)
    for ins in [*cf.meta_args, *(i for s in cf.stages for i in s.instructions)]:
        if ins.keyword == "ARG":
            out.update(k for k, _ in key_values(ins.args, {}, "ARG"))
    return out


def _target_name(tag: str) -> str:
    from pdman.image.reference import target_name

    return target_name(tag)[0]


#: the label naming the builder, as buildah's io.buildah.version (--identity-label)
IDENTITY_LABEL = "io.pdman.version"


# -- 3. stages ------------------------------------------------------------------------

def _base_state(b: BuildSession, stage: Stage) -> StageState:
    from pdman.build.expand import expand_word

    base = expand_word(stage.base, b.gargs, b.escape)
    if stage.index == 0 and b.options.from_image:
        base = b.options.from_image                 # --from: the first FROM's image
    idx = plan.stage_index(b.cf, base)
    if idx is not None and idx < stage.index:
        prev = b.results[idx]
        state = StageState(prev.config, prev.key, prev.image_id, b.gargs,
                           b.options.build_args, b.escape)
        state.annotations = dict(prev.annotations)
        state.base_id = ""                          # an image of this build's
        return state
    kind, named = b.contexts.get(base, ("image", base))
    if kind == "dir":
        raise BuildFileError(f"{b.cf.path}:{stage.line}: FROM {base}: that build context is "
                             "a directory", hint="--build-context NAME=docker-image://REF "
                                                 "gives FROM an image")
    base = named
    platform = expand_word(stage.platform, b.gargs, b.escape) or b.options.platform
    if base == "scratch":
        from pdman.image.manifest import wanted_platform

        p = wanted_platform(platform)
        config = plan.scratch_config(p.architecture, p.os)
        if p.variant:
            config["variant"] = p.variant
        key = plan.step_key("", "scratch" + (" " + str(p) if platform else "") + _format_key(b))
        state = StageState(config, key, "", b.gargs, b.options.build_args, b.escape)
        state.annotations = {BASE_DIGEST: "", BASE_NAME: ""}
        return state
    rec = image(b, base, platform)
    state = StageState(rec.config, plan.step_key("", "image " + rec.id + _format_key(b)), rec.id,
                       b.gargs, b.options.build_args, b.escape)
    state.annotations = _base_annotations(b, rec, base)
    return state


def _base_annotations(b: BuildSession, rec: Any, base: str) -> dict[str, str]:
    """What an image built FROM `rec` inherits in its manifest, as buildah: the base's
    own annotations, and its name and manifest digest."""
    from pdman.image.annotations import manifest_annotations, manifest_digest

    out = manifest_annotations(b.ctx.paths.blobs, rec)
    names = [n for n in rec.names if "@" not in n]
    short = base if ":" in base.rpartition("/")[2] else base + ":latest"
    name = next((n for n in names if n == base or n == short or n.endswith("/" + short)),
                base)
    out[BASE_NAME] = name
    out[BASE_DIGEST] = manifest_digest(b.ctx.paths.blobs, rec)
    return out


def _format_key(b: BuildSession) -> str:
    """The images a --format docker build makes are other images than oci's: their keys
    differ from the base on."""
    return " format docker" if b.options.format == "docker" else ""


def _execute(b: BuildSession, state: StageState, ins: Instruction) -> None:
    try:
        if ins.keyword in plan.LAYER_STEPS:
            if ins.keyword == "RUN":
                run_step(b, state, ins)
            else:
                copy_step(b, state, ins)
        else:
            created_by = plan.apply_metadata(state, ins)
            history(state, b.now(), created_by, empty=True)
            state.key = plan.step_key(state.key, created_by)
    except BuildFileError as exc:
        if exc.message.startswith(b.cf.path + ":"):
            raise
        raise BuildFileError(f"{b.where(ins)}: {exc.message}", hint=exc.hint) from None


def _onbuild_triggers(b: BuildSession, state: StageState, stage: Stage) -> None:
    """docker's ONBUILD: the base image's triggers run first, as if written right after
    FROM; the new image does not inherit them."""
    triggers = list(state.c.get("OnBuild") or [])
    if not triggers:
        return
    state.c["OnBuild"] = None
    state.dirty = True
    state.key = plan.step_key(state.key, "onbuild " + json.dumps(triggers))
    for text in triggers:
        parsed = parse("FROM scratch\n" + text, f"{b.cf.path}:{stage.line}: ONBUILD")
        for ins in parsed.stages[0].instructions:
            if ins.keyword in ("FROM", "ONBUILD", "MAINTAINER"):
                raise BuildFileError(f"{b.cf.path}:{stage.line}: the base image's ONBUILD "
                                     f"{ins.keyword} is not allowed",
                                     hint="rebuild the base image without it")
            ins.line = stage.line
            b.say(f"--> ONBUILD {ins.original}")
            _execute(b, state, ins)


def _start_stage(b: BuildSession, i: int) -> StageState:
    """The stage's FROM: its base image (pulled per --pull), an earlier stage, scratch."""
    stage = b.cf.stages[i]
    b.step += 1
    b.say(f"STEP {b.step}/{b.total}: {stage.original}")
    return _base_state(b, stage)


def _build_stage(b: BuildSession, stage: Stage, final: bool) -> StageState:
    return _finish_stage(b, stage.index, _start_stage(b, stage.index), final)


def _finish_stage(b: BuildSession, i: int, state: StageState, final: bool) -> StageState:
    """The stage's instructions after its FROM; its image made."""
    stage = b.cf.stages[i]
    if b.options.identity_label:
        _identity(state)
    if b.options.env:
        _set_env(state, b.options.env)
    _onbuild_triggers(b, state, stage)
    for ins in stage.instructions:
        b.step += 1
        b.say(f"STEP {b.step}/{b.total}: {ins.original}")
        _execute(b, state, ins)
    dirty = state.dirty                 # the Containerfile's own last steps changed it
    if final and b.options.labels:
        labels = dict(state.c.get("Labels") or {})
        labels.update(b.options.labels)
        state.c["Labels"] = labels
        state.dirty = True
        state.key = plan.step_key(state.key, "labels " + json.dumps(b.options.labels, sort_keys=True))
    if final and b.options.omit_history and state.config.get("history"):
        state.config["history"] = []
        state.dirty = True
        state.key = plan.step_key(state.key, "omit history")
    if final and b.options.unsetenv:
        gone = set(b.options.unsetenv)
        state.c["Env"] = [e for e in state.c.get("Env") or [] if e.partition("=")[0] not in gone]
        state.dirty = True
        state.key = plan.step_key(state.key, "unsetenv " + json.dumps(sorted(gone)))
    # the commit's own changes (--label, the identity label...) are no Containerfile
    # step: a cache hit for them alone is not reported as one
    materialize(b, state, step=dirty or not final)
    return state


def _identity(state: StageState) -> None:
    """The builder's label, set where the stage starts (as buildah sets its
    io.buildah.version): every image of the stage has it, no extra image at the end."""
    from pdman import __version__

    labels = dict(state.c.get("Labels") or {})
    if labels.get(IDENTITY_LABEL) != __version__:
        labels[IDENTITY_LABEL] = __version__
        state.c["Labels"] = labels
        state.dirty = True
        state.key = plan.step_key(state.key, f"identity {__version__}")


def _set_env(state: StageState, env: list[str]) -> None:
    """build --env: as an ENV right after FROM, in every stage (podman's)."""
    have = list(state.c.get("Env") or [])
    for item in env:
        key = item.partition("=")[0]
        have = [e for e in have if e.partition("=")[0] != key] + [item]
    state.c["Env"] = have
    state.dirty = True
    state.key = plan.step_key(state.key, "env " + json.dumps(env))



__all__ = ["build"]
