"""The layer steps of `build`: RUN in an ordinary pdman container (create +
start_attached, its writable layer read as `commit` reads it), COPY/ADD through
build/sources.py. Each step is keyed for the cache before it does any work."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile

from pdman.build import plan
from pdman.build.parser import Instruction
from pdman.build.plan import StageState
from pdman.engine.build_session import (BuildSession, cached, history, image, links,
                                        materialize, named_dir, register, remember,
                                        source_image)
from pdman.errors import BuildFileError, BuildStepFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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


#: the options each layer step understands so far; any other is refused, never ignored
SUPPORTED_FLAGS = {"RUN": {"network", "mount"}, "COPY": {"from", "chown", "chmod", "link"},
                   "ADD": {"chown", "chmod", "link", "checksum"}}


def check_flags(b: BuildSession, ins: Instruction) -> None:
    unknown = sorted(set(ins.flags) - SUPPORTED_FLAGS[ins.keyword])
    if unknown:
        raise BuildFileError(f"{b.where(ins)}: --{unknown[0]} is not supported yet",
                             hint=f"{ins.keyword} takes "
                                  + ", ".join(f"--{f}" for f in sorted(SUPPORTED_FLAGS[ins.keyword])))


def _run_network(b: BuildSession, ins: Instruction) -> str:
    value = ins.flag("network")
    if not value:
        return b.options.network
    if value not in ("default", "none", "host"):
        raise BuildFileError(f"{b.where(ins)}: --network={value}: use default, none or host",
                             hint="RUN --network=none runs the step without a network")
    return "" if value == "default" else value


def _run_mounts(b: BuildSession, state: StageState, ins: Instruction) -> Any:
    specs = ins.flags.get("mount") or []
    if not specs:
        return None
    from pdman.build.expand import expand_word
    from pdman.build.mounts import parse_mounts
    from pdman.engine.build_mounts import PreparedMounts

    env = state.env()
    try:
        mounts = parse_mounts([expand_word(s, env, b.escape) for s in specs],
                              state.c.get("WorkingDir") or "/")
    except BuildFileError as exc:
        raise BuildFileError(f"{b.where(ins)}: {exc.message}", hint=exc.hint) from None
    return PreparedMounts(b, ins, mounts)


def run_step(b: BuildSession, state: StageState, ins: Instruction) -> None:
    check_flags(b, ins)
    network = _run_network(b, ins)
    argv = _run_argv(state, ins)
    created_by = state.arg_prefix() + " ".join(argv)
    mounts = _run_mounts(b, state, ins)
    try:
        extra = state.arg_prefix() + network
        if b.options.run_options or b.options.unsetenv:
            # what the step ran with (--add-host, --volume, ...) decides what it made
            extra += "\nrun options " + json.dumps([b.options.run_options, b.options.unsetenv],
                                                   sort_keys=True)
        if mounts is not None:
            extra += "\nmounts " + mounts.key_text
        key = plan.step_key(state.key, "RUN " + json.dumps(argv), extra)
        if cached(b, state, key):
            b.say(f"--> {state.image_id[:11]}")
            return
        # the files are those of the last image made; the config so far (ENV, WORKDIR,
        # USER) goes to the container as options, so a failing RUN leaves no image behind
        base = state.image_id
        if mounts is not None:
            mounts.prepare()
        layer = _run_container(b, state, ins, base, argv, network, mounts)
    finally:
        if mounts is not None:
            mounts.close()
    b.runs += 1
    history(state, b.now(), created_by, empty=False)
    image_id = register(b, state, layer)
    state.key = key
    remember(b, key, image_id)
    b.say(f"--> {image_id[:11]}")


def _run_container(b: BuildSession, state: StageState, ins: Instruction, base: str,
                   argv: list[str], network: str, mounts: Any = None) -> Any:
    from pdman.engine import containers
    from pdman.entities.create import CreateOptions, StartIO
    from pdman.image.commit_layer import write_upper_tar

    if not base:
        raise BuildFileError(f"{b.where(ins)}: RUN needs a base image with a shell, and this "
                             "stage starts FROM scratch with nothing in it",
                             hint="COPY a program into the stage first, or start FROM an image")
    from pdman.engine.build_output import check_runnable

    check_runnable(state.config)
    c = state.c
    opts = CreateOptions(image=base, command=argv, entrypoint="", env=state.run_env(),
                         workdir=c.get("WorkingDir") or "/", user=c.get("User") or "0",
                         pull="never", network=network, log_driver="passthrough",
                         labels=["io.pdman.build=1"],
                         mounts=list(mounts.specs) if mounts is not None else [],
                         # the step's /etc/passwd is the image's: what RUN writes there
                         # lands in the layer (no bound copy with a user added)
                         passwd=False, unsetenv=list(b.options.unsetenv),
                         interactive=b.options.stdin,
                         # build's RUN options (--add-host, --cap-add, --volume, ...)
                         **b.options.run_options)
    rec = containers.create(b.ctx, opts)
    saved = _quiet_stdio() if b.options.quiet else _stdout_to_stderr() if b.stdout_taken \
        else None
    try:
        try:
            code = containers.start_attached(b.ctx, rec, StartIO(attach=True,
                                                                 interactive=b.options.stdin))
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
        _tidy_layer(tar_path, b.options.timestamp,
                    (mounts.targets if mounts is not None else frozenset())
                    | _option_targets(b.options.run_options))
        from pdman.engine.image_transfer import gzip_chunks

        try:
            return b.ingest.add(gzip_chunks(tar_path), what=f"the layer of {ins.original[:60]}")
        finally:
            os.unlink(tar_path)
    finally:
        containers.remove(b.ctx, containers.RemoveOptions(name=rec.id, force=True, volumes=True))


def _option_targets(run_options: dict[str, Any]) -> frozenset[str]:
    """The mount points --volume and --device made in the step's root: left out of its
    layer like a RUN --mount's (layer names: no leading slash)."""
    out = set()
    for spec in run_options.get("volumes") or []:
        parts = str(spec).split(":")
        if len(parts) >= 2 and parts[1].startswith("/"):
            out.add(parts[1].strip("/"))
        elif parts[0].startswith("/") and len(parts) == 1:
            out.add(parts[0].strip("/"))            # -v /path: an anonymous volume
    for spec in run_options.get("devices") or []:
        parts = str(spec).split(":")
        target = parts[1] if len(parts) >= 2 and parts[1].startswith("/") else parts[0]
        out.add(target.strip("/"))
    return frozenset(p for p in out if p)


def _quiet_stdio() -> tuple[int, int]:
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    return saved


def _stdout_to_stderr() -> tuple[int, int]:
    """`--output -`: the archive owns stdout, so a RUN's output goes to stderr."""
    sys.stdout.flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(2, 1)
    return saved


def _restore_stdio(saved: tuple[int, int]) -> None:
    os.dup2(saved[0], 1)
    os.dup2(saved[1], 2)
    os.close(saved[0])
    os.close(saved[1])


#: files the runtime bind-mounts into every container (runtime/spec.py): where the image
#: lacks them, the mount target is an empty file in the writable layer, which is the
#: runtime's doing, not the RUN command's (the command's writes go to the mounted file)
MOUNT_TARGETS = frozenset({"etc/hostname", "etc/hosts", "etc/resolv.conf", "run/.containerenv"})


def _tidy_layer(path: str, mtime: int | None, mount_points: "set[str] | frozenset[str]") -> None:
    """Leave the runtime's mount targets, the RUN's --mount points, and directories made
    only to hold them out of a RUN's layer, as podman does; with --timestamp every mtime
    is the timestamp, so the layer is reproducible."""
    with tarfile.open(path, "r") as src:
        members = src.getmembers()
        kept = [m for m in members
                if not (m.name in MOUNT_TARGETS and m.isreg() and m.size == 0)
                and not (m.name in mount_points and (m.isdir() or (m.isreg() and m.size == 0)))]
        dropped = {m.name for m in members if m not in kept}
        holders: set[str] = set()
        for name in dropped:
            while "/" in name:
                name = name.rpartition("/")[0]
                holders.add(name)
        holders = {d for d in holders
                   if not any(k.name.startswith(d + "/") for k in kept)}
        kept = [m for m in kept if not (m.isdir() and m.name in holders)]
        if len(kept) == len(members) and mtime is None:
            return
        out = path + ".tidy"
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as dst:
            for m in kept:
                if mtime is not None:
                    m.mtime = mtime
                    m.pax_headers = {k: v for k, v in m.pax_headers.items()
                                     if k not in ("mtime", "atime", "ctime")}
                dst.addfile(m, src.extractfile(m) if m.isreg() else None)
    os.replace(out, path)


# -- COPY / ADD ------------------------------------------------------------------------

def _owner(b: BuildSession, state: StageState, spec: str) -> tuple[int | None, int | None]:
    if not spec:
        return None, None
    from pdman.build.expand import expand_word
    from pdman.runtime import users
    from pdman.runtime.spec import layer_paths

    spec = expand_word(spec, state.env(), b.escape)
    user, _, group = spec.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group or user)
    who = users.resolve(layer_paths(b.ctx.paths, links(b, state.image_id)), user,
                        group)
    return who.uid, who.gid


def _dest_is_dir(b: BuildSession, links: list[str], dest: str) -> bool:
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


def copy_step(b: BuildSession, state: StageState, ins: Instruction) -> None:
    import posixpath

    from pdman.build import sources
    from pdman.build.expand import expand_word, expand_words

    check_flags(b, ins)
    env = state.env()
    form = ins.exec_form
    words = [expand_word(w, env, b.escape) for w in form] if form is not None \
        else expand_words(ins.args, env, b.escape)
    if len(words) < 2:
        raise BuildFileError(f"{b.where(ins)}: {ins.keyword} needs a source and a destination",
                             hint=f"write {ins.keyword} SRC... DEST")
    srcs, dest = words[:-1], words[-1]
    from pdman.engine.build_fetch import is_url

    urls = [s for s in srcs if is_url(s)]
    if urls and (ins.keyword == "COPY" or len(urls) != len(srcs)):
        raise BuildFileError(f"{b.where(ins)}: " + (
            "COPY does not take URLs" if ins.keyword == "COPY" else
            "URL sources cannot be mixed with files in one ADD"),
            hint="use ADD URL DEST, one ADD for the URLs and another for the files")
    if ins.flag("checksum") and not urls:
        raise BuildFileError(f"{b.where(ins)}: --checksum is only for URL sources",
                             hint="ADD --checksum=sha256:HEX https://... DEST")
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
    single = len(srcs) == 1 and (bool(urls) or not set("*?[") & set(srcs[0])) \
        and not dest.endswith("/")
    dest_is_dir = single and _dest_is_dir(b, links(b, state.image_id), dest)
    if b.use_cache and ins.keyword == "COPY" and not ins.heredocs and not from_ref:
        # the key first, without writing the layer: a cached COPY writes nothing
        root = os.open(b.context_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            content = sources.context_key(root, srcs, dest, dest_is_dir, b.rules, uid, gid, mode)
        finally:
            os.close(root)
        if cached(b, state, _copy_key(state, ins, words, content)):
            b.say(f"--> {state.image_id[:11]}")
            return
    area = tempfile.mkdtemp(prefix="copy-", dir=b.ingest.area)
    try:
        raw, final_tar = os.path.join(area, "raw.tar"), os.path.join(area, "layer.tar")
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
                from pdman.build.expand import expand_heredoc

                body = expand_heredoc(doc.content, env, b.escape) if doc.expand else doc.content
                with open(os.path.join(docs, doc.name), "w") as f:
                    f.write(body)
                picked.append(doc.name)
            root = os.open(docs, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, picked, dest, dest_is_dir, None, raw)
            finally:
                os.close(root)
            if mode is None:
                mode = 0o644
        elif urls:
            from pdman.engine.build_fetch import fetch

            got = os.path.join(area, "urls")
            os.mkdir(got, 0o700)
            fetched = fetch(urls, got, expand_word(ins.flag("checksum"), env, b.escape))
            root = os.open(got, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, fetched, dest, dest_is_dir, None, raw)
            finally:
                os.close(root)
        elif from_ref and (named := named_dir(b, from_ref)) is not None:
            root = os.open(named, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, srcs, dest, dest_is_dir, None, raw, True, False)
            finally:
                os.close(root)
        elif from_ref:
            source_links = links(b, source_image(b, ins, from_ref))
            if not source_links:
                raise BuildFileError(f"{b.where(ins)}: --from={from_ref} has no files",
                                     hint="copy from a stage or image that has layers")
            from pdman.engine.container_files import call_on_image

            call_on_image(b.ctx, source_links, sources.collect, srcs, dest, dest_is_dir, None, raw,
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
        key = _copy_key(state, ins, words, content)
        if cached(b, state, key):
            b.say(f"--> {state.image_id[:11]}")
            return
        from pdman.engine.image_transfer import gzip_chunks

        layer = b.ingest.add(gzip_chunks(final_tar), what=f"the layer of {ins.original[:60]}")
    finally:
        shutil.rmtree(area, ignore_errors=True)
    history(state, b.now(), created_by, empty=False)
    image_id = register(b, state, layer)
    state.key = key
    remember(b, key, image_id)
    b.say(f"--> {image_id[:11]}")


def _copy_key(state: StageState, ins: Instruction, words: list[str], content: str) -> str:
    flags = json.dumps(sorted((k, v) for k, v in ins.flags.items()))
    return plan.step_key(state.key, f"{ins.keyword} {flags} {json.dumps(words)}", content)


__all__ = ["copy_step", "run_step"]
