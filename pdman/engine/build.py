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

import datetime as _dt
import json
import os
import shutil
import sys
import tarfile
import tempfile
from typing import Any, TextIO

from pdman.build import plan
from pdman.build.ignore import IgnoreRules
from pdman.build.parser import Containerfile, Instruction, Stage, parse
from pdman.build.plan import StageState
from pdman.engine.context import EngineContext
from pdman.entities.build import BuildOptions, BuildReport
from pdman.errors import BuildFileError, BuildStepFailed, PdmanError, UsageError


class _Build:
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


def _ignore_rules(context_dir: str) -> IgnoreRules:
    for name in (".containerignore", ".dockerignore"):
        path = os.path.join(context_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                return IgnoreRules.from_text(f.read())
    return IgnoreRules([])


def _context_dir(ctx: EngineContext, options: BuildOptions) -> tuple[str, str]:
    """(context directory, a temporary directory to remove afterwards or "")."""
    if options.context == "-":
        os.makedirs(ctx.paths.tmp, mode=0o700, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="build-context-", dir=ctx.paths.tmp)
        try:
            with tarfile.open(fileobj=sys.stdin.buffer, mode="r|*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UsageError(f"the build context on stdin is not a usable tar archive: {exc}",
                             hint="pipe a tar archive of the context directory") from None
        return tmp, tmp
    if not os.path.isdir(options.context):
        raise UsageError(f"the build context {options.context} is not a directory",
                         hint="give the context directory (or - for a tar on stdin)")
    return os.path.abspath(options.context), ""


# -- the verb -------------------------------------------------------------------------

def build(ctx: EngineContext, options: BuildOptions) -> BuildReport:
    from pdman.image.ingest import LayerIngest

    context_dir, tmp_context = _context_dir(ctx, options)
    try:
        text, path = _read_containerfile(options, context_dir)
        cf = parse(text, path if path == "<stdin>" else os.path.basename(path))
        escape = cf.escape
        rules = _ignore_rules(context_dir)
        gargs = plan.global_args(cf, options.build_args)
        needed = plan.needed_stages(cf, options.target, gargs)
        total = sum(1 + len(cf.stages[i].instructions) for i in needed)
        names = [_target_name(t) for t in options.tags]
        with LayerIngest(ctx, "build") as ingest:
            b = _Build(ctx, options, cf, context_dir, rules, gargs, ingest, escape, total)
            for i in needed:
                last = i == needed[-1]
                b.results[i] = _build_stage(b, cf.stages[i], final=last)
        final = b.results[needed[-1]]
    finally:
        if tmp_context:
            shutil.rmtree(tmp_context, ignore_errors=True)
    image_id = final.image_id
    from pdman.storage import image_records

    if names:
        b.say("COMMIT " + " ".join(options.tags))
    for name in names:
        image_records.add_name(ctx.catalog, image_id, name)
    b.say(f"--> {image_id[:12]}")
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


def _declared_args(cf: Containerfile) -> set[str]:
    from pdman.build.expand import key_values

    out: set[str] = set(plan.PREDEFINED_ARGS)
    for ins in [*cf.meta_args, *(i for s in cf.stages for i in s.instructions)]:
        if ins.keyword == "ARG":
            out.update(k for k, _ in key_values(ins.args, {}, "ARG"))
    return out


def _target_name(tag: str) -> str:
    from pdman.engine.image_transfer import target_name

    return target_name(tag)[0]


# -- 3. stages ------------------------------------------------------------------------

def _base_state(b: _Build, stage: Stage) -> StageState:
    from pdman.build.expand import expand_word

    base = expand_word(stage.base, b.gargs, b.escape)
    idx = plan.stage_index(b.cf, base)
    if idx is not None and idx < stage.index:
        prev = b.results[idx]
        state = StageState(prev.config, prev.key, prev.image_id, b.gargs,
                           b.options.build_args, b.escape)
        return state
    if base == "scratch":
        from pdman.image.manifest import host_platform

        p = host_platform()
        return StageState(plan.scratch_config(p.architecture, p.os), plan.step_key("", "scratch"),
                          "", b.gargs, b.options.build_args, b.escape)
    image = _image(b, base)
    return StageState(image.config, plan.step_key("", "image " + image.id), image.id,
                      b.gargs, b.options.build_args, b.escape)


def _image(b: _Build, name: str) -> Any:
    from pdman.engine import images
    from pdman.entities.images import PullOptions

    return images.ensure_image(b.ctx, name, b.options.pull,
                               PullOptions(reference=name, quiet=b.options.quiet))


def _build_stage(b: _Build, stage: Stage, final: bool) -> StageState:
    b.step += 1
    b.say(f"STEP {b.step}/{b.total}: {stage.original}")
    state = _base_state(b, stage)
    for ins in stage.instructions:
        b.step += 1
        b.say(f"STEP {b.step}/{b.total}: {ins.original}")
        try:
            if ins.keyword in plan.LAYER_STEPS:
                if ins.keyword == "RUN":
                    _run_step(b, state, ins)
                else:
                    _copy_step(b, state, ins)
            else:
                created_by = plan.apply_metadata(state, ins)
                _history(state, b.now(), created_by, empty=True)
                state.key = plan.step_key(state.key, created_by)
        except BuildFileError as exc:
            if exc.message.startswith(b.cf.path + ":"):
                raise
            raise BuildFileError(f"{b.where(ins)}: {exc.message}", hint=exc.hint) from None
    if final and b.options.labels:
        labels = dict(state.c.get("Labels") or {})
        labels.update(b.options.labels)
        state.c["Labels"] = labels
        state.dirty = True
        state.key = plan.step_key(state.key, "labels " + json.dumps(b.options.labels, sort_keys=True))
    _materialize(b, state)
    return state


def _history(state: StageState, created: str, created_by: str, empty: bool) -> None:
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if empty:
        entry["empty_layer"] = True
    state.config["history"] = [*(state.config.get("history") or []), entry]


def _stored_layers(b: _Build, diff_ids: list[str]) -> list[Any]:
    from pdman.errors import StorageError

    out = []
    for d in diff_ids:
        have = b.ingest.present(d)
        if have is None:
            raise StorageError(f"layer {d[:19]} has no stored blob",
                               hint="pull the base image again, or build with --no-cache")
        out.append(have)
    return out


def _register(b: _Build, state: StageState, new_layer: Any = None) -> str:
    from pdman.image.ingest import register_image

    diff_ids = list((state.config.get("rootfs") or {}).get("diff_ids") or [])
    layers = _stored_layers(b, diff_ids)
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


def _cached(b: _Build, state: StageState, key: str) -> bool:
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


def _remember(b: _Build, key: str, image_id: str) -> None:
    if b.options.layers:
        from pdman.storage import build_cache

        build_cache.record(b.ctx.catalog, key, image_id)


def _materialize(b: _Build, state: StageState) -> str:
    """The stage's config so far as an image (a RUN's base, a stage's result)."""
    if state.image_id and not state.dirty:
        return state.image_id
    if _cached(b, state, state.key):
        return state.image_id
    image_id = _register(b, state)
    _remember(b, state.key, image_id)
    return image_id


def _links(b: _Build, image_id: str) -> list[str]:
    from pdman.storage import image_records

    if not image_id:
        return []
    links = [layer.link for layer in image_records.layers_of(b.ctx.catalog, image_id)]
    links.reverse()
    return links


# -- RUN -------------------------------------------------------------------------------

def _run_argv(state: StageState, ins: Instruction) -> list[str]:
    form = ins.exec_form
    if form is not None:
        return form
    script = ins.args
    if ins.heredocs:
        only = ins.args.strip()
        doc = ins.heredocs[0]
        if len(ins.heredocs) == 1 and only.lstrip("<-").strip("'\"") == doc.name:
            return [*state.shell, doc.content]          # RUN <<EOF: the body is the script
        # RUN cmd <<EOF ...: the shell reads the heredocs itself
        script = ins.args + "\n" + "".join(d.content + d.name + "\n" for d in ins.heredocs)
    return [*state.shell, script]


def _run_step(b: _Build, state: StageState, ins: Instruction) -> None:
    argv = _run_argv(state, ins)
    created_by = state.arg_prefix() + " ".join(argv)
    key = plan.step_key(state.key, "RUN " + json.dumps(argv), state.arg_prefix())
    if _cached(b, state, key):
        b.say(f"--> {state.image_id[:12]}")
        return
    base = _materialize(b, state)
    layer = _run_container(b, state, ins, base, argv)
    b.runs += 1
    _history(state, b.now(), created_by, empty=False)
    image_id = _register(b, state, layer)
    state.key = key
    _remember(b, key, image_id)
    b.say(f"--> {image_id[:12]}")


def _run_container(b: _Build, state: StageState, ins: Instruction, base: str,
                   argv: list[str]) -> Any:
    from pdman.engine import containers
    from pdman.entities.create import CreateOptions, StartIO
    from pdman.image.commit_layer import write_upper_tar

    if not base:
        raise BuildFileError(f"{b.where(ins)}: RUN needs a base image with a shell, and this "
                             "stage starts FROM scratch with nothing in it",
                             hint="COPY a program into the stage first, or start FROM an image")
    c = state.c
    opts = CreateOptions(image=base, command=argv, entrypoint="", env=state.run_env(),
                         workdir=c.get("WorkingDir") or "/", user=c.get("User") or "0",
                         pull="never", network=b.options.network, log_driver="passthrough",
                         labels=["io.pdman.build=1"])
    rec = containers.create(b.ctx, opts)
    saved = _quiet_stdio() if b.options.quiet else None
    try:
        try:
            code = containers.start_attached(b.ctx, rec, StartIO(attach=True))
        finally:
            if saved is not None:
                _restore_stdio(saved)
        if code != 0:
            raise BuildStepFailed(
                f"building at STEP \"{ins.original[:200]}\" ({b.cf.path}:{ins.line}): "
                f"the command exited with status {code}",
                hint="fix the command; the steps before it are cached")
        tar_path = os.path.join(b.ingest.area, f"run-{rec.id[:12]}.tar")
        write_upper_tar(b.ctx, rec, tar_path)
        if b.options.timestamp is not None:
            _clamp_mtimes(tar_path, b.options.timestamp)
        from pdman.engine.image_transfer import gzip_chunks

        try:
            return b.ingest.add(gzip_chunks(tar_path), what=f"the layer of {ins.original[:60]}")
        finally:
            os.unlink(tar_path)
    finally:
        containers.remove(b.ctx, containers.RemoveOptions(name=rec.id, force=True, volumes=True))


def _quiet_stdio() -> tuple[int, int]:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    return saved


def _restore_stdio(saved: tuple[int, int]) -> None:
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    os.close(saved[0])
    os.close(saved[1])


def _clamp_mtimes(path: str, mtime: int) -> None:
    """--timestamp: every entry's mtime is the timestamp, so the layer is reproducible."""
    out = path + ".ts"
    with tarfile.open(path, "r") as src, \
            tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            m.mtime = mtime
            m.pax_headers = {k: v for k, v in m.pax_headers.items()
                             if k not in ("mtime", "atime", "ctime")}
            dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    os.replace(out, path)


# -- COPY / ADD ------------------------------------------------------------------------

def _owner(b: _Build, state: StageState, spec: str) -> tuple[int | None, int | None]:
    if not spec:
        return None, None
    from pdman.build.expand import expand_word
    from pdman.runtime import users
    from pdman.runtime.spec import layer_paths

    spec = expand_word(spec, state.env(), b.escape)
    user, _, group = spec.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group or user)
    who = users.resolve(layer_paths(b.ctx.paths, _links(b, state.image_id)), user,
                        group)
    return who.uid, who.gid


def _dest_is_dir(b: _Build, links: list[str], dest: str) -> bool:
    if not links:
        return False
    from pdman.engine.container_files import call_on_image

    return call_on_image(b.ctx, links, _is_dir_at, dest)


def _is_dir_at(root_fd: int, path: str) -> bool:
    import stat

    from pdman.storage import fdtree

    try:
        parent, name = fdtree.resolve(root_fd, path)
    except OSError:
        return False
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=parent).st_mode) if name != "." else True
    except OSError:
        return False
    finally:
        os.close(parent)


def _copy_step(b: _Build, state: StageState, ins: Instruction) -> None:
    import posixpath

    from pdman.build import sources
    from pdman.build.expand import expand_word, expand_words

    env = state.env()
    form = ins.exec_form
    words = [expand_word(w, env, b.escape) for w in form] if form is not None \
        else expand_words(ins.args, env, b.escape)
    if len(words) < 2:
        raise BuildFileError(f"{b.where(ins)}: {ins.keyword} needs a source and a destination",
                             hint=f"write {ins.keyword} SRC... DEST")
    srcs, dest = words[:-1], words[-1]
    if not dest.startswith("/"):
        workdir = state.c.get("WorkingDir") or "/"
        dest = posixpath.join(workdir, dest) + ("/" if dest.endswith("/") or dest == "." else "")
    from_ref = expand_word(ins.flag("from"), env, b.escape)
    chmod = ins.flag("chmod")
    try:
        mode = int(chmod, 8) if chmod else None
    except ValueError:
        raise BuildFileError(f"{b.where(ins)}: --chmod={chmod} is not an octal mode",
                             hint="write e.g. --chmod=755") from None
    uid, gid = _owner(b, state, ins.flag("chown"))
    area = tempfile.mkdtemp(prefix="copy-", dir=b.ingest.area)
    try:
        raw, final_tar = os.path.join(area, "raw.tar"), os.path.join(area, "layer.tar")
        single = len(srcs) == 1 and not set("*?[") & set(srcs[0]) and not dest.endswith("/")
        dest_is_dir = single and _dest_is_dir(b, _links(b, state.image_id), dest)
        if ins.heredocs:
            docs = os.path.join(area, "heredocs")
            os.mkdir(docs)
            names = {f"<<{d.name}": d for d in ins.heredocs}
            names.update({f"<<-{d.name}": d for d in ins.heredocs})
            picked = []
            for s in srcs:
                doc = names.get(s.replace("'", "").replace('"', ""))
                if doc is None:
                    raise BuildFileError(f"{b.where(ins)}: heredocs cannot be mixed with "
                                         "files", hint="copy files with another COPY")
                with open(os.path.join(docs, doc.name), "w") as f:
                    f.write(doc.content)
                picked.append(doc.name)
            root = os.open(docs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, picked, dest, dest_is_dir, None, raw)
            finally:
                os.close(root)
            if mode is None:
                mode = 0o644
        elif from_ref:
            links = _links(b, _source_image(b, ins, from_ref))
            if not links:
                raise BuildFileError(f"{b.where(ins)}: --from={from_ref} has no files",
                                     hint="copy from a stage or image that has layers")
            from pdman.engine.container_files import call_on_image

            call_on_image(b.ctx, links, sources.collect, srcs, dest, dest_is_dir, None, raw,
                          False, False)
        else:
            root = os.open(b.context_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, srcs, dest, dest_is_dir, b.rules, raw, True,
                                ins.keyword == "ADD")
            finally:
                os.close(root)
        content = sources.finalize(raw, final_tar, uid, gid, mode, b.options.timestamp)
        kind = "dir" if len(srcs) > 1 or any(s.endswith("/") or s == "." for s in srcs) else "file"
        created_by = f"/bin/sh -c #(nop) {ins.keyword} {kind}:{content[7:]} in {dest} "
        flags = json.dumps(sorted((k, v) for k, v in ins.flags.items()))
        key = plan.step_key(state.key, f"{ins.keyword} {flags} {json.dumps(words)}", content)
        if _cached(b, state, key):
            b.say(f"--> {state.image_id[:12]}")
            return
        from pdman.engine.image_transfer import gzip_chunks

        layer = b.ingest.add(gzip_chunks(final_tar), what=f"the layer of {ins.original[:60]}")
    finally:
        shutil.rmtree(area, ignore_errors=True)
    _history(state, b.now(), created_by, empty=False)
    image_id = _register(b, state, layer)
    state.key = key
    _remember(b, key, image_id)
    b.say(f"--> {image_id[:12]}")


def _source_image(b: _Build, ins: Instruction, ref: str) -> str:
    idx = plan.stage_index(b.cf, ref)
    if idx is not None:
        if idx not in b.results:
            raise BuildFileError(f"{b.where(ins)}: stage {ref} is not built before this one",
                                 hint="COPY --from names an earlier stage")
        return _materialize(b, b.results[idx])
    return str(_image(b, ref).id)


__all__ = ["build"]
