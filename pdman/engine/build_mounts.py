"""`RUN --mount=...` made real for one RUN container (build/mounts.py parses them).

- bind: the source is copied out of the context (the ignore rules applied, symlinks
  kept as links, as COPY reads it) or out of a stage/image into the build's tmp area,
  and that copy is bind-mounted -- so `rw` writes never reach the user's files, and the
  content is hashed into the step's cache key like a COPY source;
- cache: a directory under the store's `build-cache/`, named by the id's hash, kept
  between builds; made with uid/gid/mode on first use; `sharing=locked` holds a lock
  for the step, `private` takes a throw-away directory while another build holds it;
- tmpfs: the runtime's tmpfs;
- secret: the `--secret` file copied (mode 0400 unless `mode=`) into the tmp area and
  bind-mounted read-only, then removed. Neither its content nor its path reaches the
  cache key, the image config or a layer (the mount point the runtime made for it is
  left out of the layer, with every mount point, by build_steps._tidy_layer).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile

from pdman.build.mounts import RunMount
from pdman.engine.build_session import BuildSession, links, named_dir, source_image
from pdman.errors import BuildFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.build.parser import Instruction


class PreparedMounts:
    """The mounts of one RUN: `key_text` (before the cache check), then `prepare()` and
    `specs` for the container, then `close()`."""

    def __init__(self, b: BuildSession, ins: "Instruction", mounts: list[RunMount]) -> None:
        self.b = b
        self.ins = ins
        self.mounts = mounts
        self.specs: list[str] = []
        self._dirs: list[str] = []
        self._locks: list[int] = []
        self._bind_paths: dict[str, str] = {}
        parts = []
        for m in mounts:
            text = m.key_text()
            if m.kind == "bind":
                path, digest = self._bind_source(m)
                self._bind_paths[m.target] = path
                text += " content=" + digest
            parts.append(text)
        self.key_text = "\n".join(parts)

    @property
    def targets(self) -> set[str]:
        """Mount points, relative to /, as a layer tar names them."""
        return {m.target.lstrip("/") for m in self.mounts}

    def _area(self, prefix: str) -> str:
        path = tempfile.mkdtemp(prefix=prefix, dir=self.b.ingest.area)
        self._dirs.append(path)
        return path

    # -- bind -------------------------------------------------------------------------

    def _bind_source(self, m: RunMount) -> tuple[str, str]:
        from pdman.build import sources

        area = self._area("mount-")
        raw = os.path.join(area, "raw.tar")
        named = named_dir(self.b, m.from_ref) if m.from_ref else None
        if named is not None:
            root = os.open(named, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, [m.source], "/m", False, None, raw)
            finally:
                os.close(root)
        elif m.from_ref:
            image_id = source_image(self.b, self.ins, m.from_ref)
            source_links = links(self.b, image_id)
            if not source_links:
                raise BuildFileError(f"--mount from={m.from_ref} has no files",
                                     hint="mount from a stage or image that has layers")
            from pdman.engine.container_files import call_on_image

            call_on_image(self.b.ctx, source_links, sources.collect, [m.source], "/m", False,
                          None, raw, False, False)
        else:
            root = os.open(self.b.context_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                sources.collect(root, [m.source], "/m", False, self.b.rules, raw)
            finally:
                os.close(root)
        digest = sources.finalize(raw, raw + ".key", None, None, None, None)
        os.unlink(raw + ".key")
        tree = os.path.join(area, "tree")
        os.mkdir(tree, 0o755)
        with open(raw, "rb") as f:
            sources.extract_context(f, tree)
        os.unlink(raw)
        path = os.path.join(tree, "m")
        if not os.path.lexists(path):
            os.mkdir(path, 0o755)           # an empty directory source
        return path, digest

    # -- the rest, once the step is known to run ----------------------------------------

    def prepare(self) -> None:
        for m in self.mounts:
            if m.kind == "bind":
                self._add("bind", self._bind_paths[m.target], m)
            elif m.kind == "cache":
                self._add("bind", self._cache_dir(m), m)
            elif m.kind == "tmpfs":
                spec = f"type=tmpfs,target={m.target}"
                if m.size is not None:
                    spec += f",tmpfs-size={m.size}"
                self.specs.append(spec)
            else:
                path = self._secret_file(m)
                if path:
                    self._add("bind", path, m)

    def _add(self, kind: str, source: str, m: RunMount) -> None:
        if "," in source or "," in m.target:
            raise BuildFileError(f"--mount target {m.target}: a path with a comma",
                                 hint="mount at a path without commas")
        spec = f"type={kind},source={source},target={m.target}"
        self.specs.append(spec + (",readonly" if m.readonly else ""))

    def _cache_dir(self, m: RunMount) -> str:
        if m.from_ref or m.source:
            raise BuildFileError("--mount=type=cache with from= or source= is not supported yet",
                                 hint="use a cache mount without from=, it starts empty")
        top = os.path.join(self.b.ctx.paths.root, "build-cache")
        os.makedirs(top, mode=0o700, exist_ok=True)
        name = hashlib.sha256(m.cache_id.encode()).hexdigest()[:32]
        path = os.path.join(top, name)
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._locks.append(lock)
        if m.sharing == "locked":
            fcntl.flock(lock, fcntl.LOCK_EX)
        elif m.sharing == "private":
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:   # another build uses it: this step gets its own
                return self._new_cache_dir(os.path.join(self._area("cache-"), "d"), m)
        else:
            fcntl.flock(lock, fcntl.LOCK_SH)
        if not os.path.isdir(path):
            fresh = self._new_cache_dir(path + ".new-" + os.urandom(4).hex(), m)
            try:
                os.rename(fresh, path)
            except OSError:           # another build made it first: theirs is kept
                shutil.rmtree(fresh, ignore_errors=True)
        return path

    @staticmethod
    def _new_cache_dir(path: str, m: RunMount) -> str:
        os.mkdir(path)
        os.chmod(path, 0o755 if m.mode is None else m.mode)
        if m.uid or m.gid:
            from pdman.engine.volumes import chown_for_container

            chown_for_container(path, m.uid, m.gid)
        return path

    def _secret_file(self, m: RunMount) -> str:
        source = self.b.options.secrets.get(m.cache_id)
        if source is None:
            if m.required:
                raise BuildFileError(f"--mount=type=secret: the secret {m.cache_id!r} is "
                                     "required and was not given",
                                     hint=f"build with --secret id={m.cache_id},src=FILE")
            return ""
        kind, _, where = source.partition(":")
        if kind == "env":
            data = os.environ.get(where, "").encode()
        else:
            try:
                with open(where, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise BuildFileError(f"the secret {m.cache_id!r}: cannot read {where}: "
                                     f"{exc.strerror}", hint="check --secret src=") from None
        area = self._area("secret-")
        path = os.path.join(area, "secret")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(path, 0o400 if m.mode is None else m.mode)
        if m.uid or m.gid:
            from pdman.engine.volumes import chown_for_container

            os.chmod(area, 0o755)
            chown_for_container(path, m.uid, m.gid)
        return path

    def close(self) -> None:
        for fd in self._locks:
            os.close(fd)                    # releases the flock
        self._locks = []
        for d in self._dirs:
            shutil.rmtree(d, ignore_errors=True)   # what is left, the ingest's exit removes
        self._dirs = []


__all__ = ["PreparedMounts"]
