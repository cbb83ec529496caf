"""COPY/ADD sources -> the entries of a new layer, read through directory fds.

`collect()` resolves each source inside a root (the build context, or a stage's or
image's root filesystem mounted read-only) with `fdtree.resolve`, which keeps every
symlink inside that root: `COPY ../x` is refused, and a symlink in the context that
points at /etc/passwd resolves to the context's own etc/passwd (or to nothing) --
never to the host's file. Entries below a copied directory are never followed: a
symlink is copied as a symlink. Tar headers are numeric (no NSS lookup).

docker's placement rules: a directory source contributes its contents; a file goes
to DEST/NAME when DEST ends with `/`, is an existing directory, or several sources
are given (then DEST must end with `/`); otherwise DEST is the file's new name.
ADD of a local tar archive unpacks its members under DEST.

`finalize()` rewrites the raw tar with the step's owner, mode and (with --timestamp)
mtime, and returns the hash the layer cache keys on: names, types, modes, owners,
link targets and content -- not mtimes, as docker's cache ignores them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import stat
import tarfile

from pdman.build.ignore import IgnoreRules
from pdman.errors import BuildFileError
from pdman.storage import fdtree

_WILD = frozenset("*?[")


def _clean_source(src: str, from_context: bool) -> str:
    rel = posixpath.normpath("/" + src if not from_context else src.lstrip("/") or ".")
    if from_context and (rel == ".." or rel.startswith("../")):
        raise BuildFileError(f"{src}: outside the build context",
                             hint="sources are paths inside the context directory")
    return rel.lstrip("/") or "."


def _matches(root_fd: int, rel: str, rules: IgnoreRules | None) -> list[str]:
    """The paths a source names: itself, or what its wildcard last part matches."""
    base = posixpath.basename(rel)
    if not (_WILD & set(base)):
        return [rel]
    parent = posixpath.dirname(rel) or "."
    try:
        dfd = fdtree.open_dir(root_fd, parent)
    except OSError:
        return []
    try:
        names = fdtree.listdir(dfd)
    finally:
        os.close(dfd)
    out = []
    for name in names:
        path = name if parent == "." else f"{parent}/{name}"
        if fnmatch.fnmatchcase(name, base) and not (rules and rules.excluded(path)):
            out.append(path)
    return out


def _is_archive(fd: int) -> bool:
    head = os.pread(fd, 512, 0)
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return True
    return len(head) >= 262 and head[257:262] == b"ustar"


def _add_archive(tar: tarfile.TarFile, fd: int, dest_dir: str) -> None:
    with os.fdopen(os.dup(fd), "rb") as f, tarfile.open(fileobj=f, mode="r:*") as arch:
        for m in arch:
            name = posixpath.normpath(m.name.lstrip("/"))
            if name == "." or name.startswith("../"):
                continue
            m.name = posixpath.join(dest_dir, name)
            if m.islnk():
                m.linkname = posixpath.join(dest_dir, posixpath.normpath(m.linkname.lstrip("/")))
            tar.addfile(m, arch.extractfile(m) if m.isreg() else None)


def collect(root_fd: int, sources: list[str], dest: str, dest_is_dir: bool,
            rules: IgnoreRules | None, out_path: str, from_context: bool = True,
            extract_archives: bool = False) -> int:
    """Write the sources' entries, named by where they land (relative to /), into a
    raw tar at `out_path`; returns how many entries were written."""
    with tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as tar:
        return _collect(tar, root_fd, sources, dest, dest_is_dir, rules, from_context,
                        extract_archives)


def context_key(root_fd: int, sources: list[str], dest: str, dest_is_dir: bool,
                rules: IgnoreRules | None, uid: int | None, gid: int | None,
                mode: int | None) -> str:
    """The hash finalize() returns for what collect() would write from the context
    (no archive extraction), computed without writing either tar: the cache key of a
    COPY, so that a cached step reads its sources once and writes nothing. The same
    errors as collect()."""
    sink = _KeySink(uid, gid, mode)
    _collect(sink, root_fd, sources, dest, dest_is_dir, rules, True, False)
    return "sha256:" + sink.h.hexdigest()


def _collect(tar: "tarfile.TarFile | _KeySink", root_fd: int, sources: list[str], dest: str,
             dest_is_dir: bool, rules: IgnoreRules | None, from_context: bool,
             extract_archives: bool) -> int:
    dest = "/" + dest.lstrip("/")
    wants_dir = dest.endswith("/") or dest_is_dir
    found: list[str] = []
    for src in sources:
        rel = _clean_source(src, from_context)
        hits = _matches(root_fd, rel, rules)
        if not hits and not (_WILD & set(rel)):
            raise BuildFileError(f"{src}: no such file or directory"
                                 + (" in the build context" if from_context else ""),
                                 hint="check the path (and .containerignore/.dockerignore)")
        found += hits
    if not found:
        raise BuildFileError(f"no source files were specified (no match for {' '.join(sources)})",
                             hint="check the wildcard and the ignore file")
    if len(found) > 1 and not dest.endswith("/"):
        raise BuildFileError(f"when copying several sources the destination {dest} must be a "
                             "directory ending with /", hint=f"write {dest}/")
    count = 0
    writer = fdtree.TreeTar(tar)  # type: ignore[arg-type]  # a _KeySink quacks alike
    for rel in found:
        try:
            parent, name = fdtree.resolve(root_fd, rel)
        except (FileNotFoundError, NotADirectoryError):
            # a symlink (kept inside the root) that leads nowhere there
            raise BuildFileError(f"{rel}: no such file or directory"
                                 + (" in the build context" if from_context else ""),
                                 hint="a source's symlinks resolve inside the context")
        try:
            ent = fdtree.open_entry(parent, name) if name != "." else \
                fdtree.Opened(os.fstat(parent), os.dup(parent))
            if ent is None or (rules and from_context and rules.excluded(rel)):
                raise BuildFileError(f"{rel}: no such file or directory in the build "
                                     "context", hint="check the path and the ignore file")
            try:
                target = dest.rstrip("/") or "/"
                if ent.fd >= 0 and stat.S_ISDIR(ent.st.st_mode):
                    prefix = "" if target == "/" else target.lstrip("/") + "/"
                    count += _add_dir(writer, ent.fd, prefix, rel, rules if from_context else None)
                elif extract_archives and ent.fd >= 0 and _is_archive(ent.fd):
                    _add_archive(tar, ent.fd, target.lstrip("/") or ".")  # type: ignore[arg-type]
                    count += 1
                else:
                    base = posixpath.basename(rel)
                    arc = posixpath.join(target, base) if wants_dir or len(found) > 1 \
                        else target
                    writer.add(ent, arc.lstrip("/"))
                    count += 1
            finally:
                ent.close()
        finally:
            os.close(parent)
    return count


def _add_dir(writer: fdtree.TreeTar, dir_fd: int, prefix: str, rel: str,
             rules: IgnoreRules | None) -> int:
    n = 0
    if prefix:
        ent = fdtree.Opened(os.fstat(dir_fd))
        writer.add(ent, prefix.rstrip("/"))
        n += 1
    for name, ent in fdtree.walk(dir_fd, prefix):
        ctx_path = posixpath.normpath(posixpath.join(rel, name[len(prefix):]))
        if rules and rules.excluded(ctx_path):
            continue
        writer.add(ent, name)
        n += 1
    return n


def finalize(raw_path: str, out_path: str, uid: int | None, gid: int | None,
             mode: int | None, mtime: int | None) -> str:
    """The layer tar: owners (0 unless --chown, as docker), --chmod, --timestamp
    applied; returns the content hash for the cache key."""
    h = hashlib.sha256()
    with tarfile.open(raw_path, "r") as src, \
            tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            m.uid = uid if uid is not None else 0
            m.gid = gid if gid is not None else 0
            m.uname = m.gname = ""
            if mode is not None and not m.issym():
                m.mode = mode
            if mtime is not None:
                m.mtime = mtime
            m.pax_headers = {}
            data = src.extractfile(m) if m.isreg() else None
            h.update(f"{m.name}\0{m.type!r}\0{m.mode}\0{m.uid}\0{m.gid}\0{m.linkname}\0"
                     f"{m.size}\0".encode())
            if data is not None:
                buf = _Hashing(data, h)
                dst.addfile(m, buf)
            else:
                dst.addfile(m)
    return "sha256:" + h.hexdigest()


class _KeySink:
    """Stands in for the raw tar in context_key(): each entry is hashed as finalize()
    hashes it once it has been through the raw tar (a directory's name without its
    `/`, the mode's permission bits, the step's owner and --chmod), nothing written."""

    def __init__(self, uid: int | None, gid: int | None, mode: int | None) -> None:
        self.h = hashlib.sha256()
        self.uid = uid if uid is not None else 0
        self.gid = gid if gid is not None else 0
        self.mode = mode

    def addfile(self, m: tarfile.TarInfo, fileobj: object = None) -> None:
        name = m.name.rstrip("/") if m.isdir() else m.name
        mode = self.mode if self.mode is not None and not m.issym() else m.mode & 0o7777
        self.h.update(f"{name}\0{m.type!r}\0{mode}\0{self.uid}\0{self.gid}\0{m.linkname}\0"
                      f"{m.size}\0".encode())
        if m.isreg() and fileobj is not None:
            left = m.size
            while left > 0:
                data: bytes = fileobj.read(min(left, 1 << 20))  # type: ignore[attr-defined]
                if not data:
                    break
                self.h.update(data)
                left -= len(data)


class _Hashing:
    def __init__(self, f: object, h: "hashlib._Hash") -> None:
        self.f = f
        self.h = h

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.f.read(n)  # type: ignore[attr-defined]
        self.h.update(data)
        return data


def extract_context(fileobj: object, dest: str, hardlinks: bool = False) -> int:
    """A build context sent as a tar stream (`build -`) into the empty directory `dest`:
    regular files, directories and symlinks only (and, with `hardlinks`, hard links to
    files written before: `build --output` of an image), no absolute or `..` names, and
    nothing written through a symlink of the archive (a member below one is refused).
    Owners are the caller's; returns the entries written."""
    links: set[str] = set()
    files: set[str] = set()
    count = 0
    with tarfile.open(fileobj=fileobj, mode="r|*") as tar:  # type: ignore[call-overload]
        for m in tar:
            name = posixpath.normpath(m.name.lstrip("/"))
            if name == ".":
                continue
            parts = name.split("/")
            if ".." in parts or any("/".join(parts[:n]) in links for n in range(1, len(parts))):
                raise BuildFileError(f"the context archive's entry {m.name!r} leads outside it",
                                     hint="send a plain tar of the context directory")
            path = os.path.join(dest, name)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            if m.isdir():
                os.makedirs(path, mode=0o755, exist_ok=True)
                os.chmod(path, (m.mode & 0o777) | 0o700)
            elif m.issym():
                os.symlink(m.linkname, path)
                links.add(name)
            elif m.isreg():
                data = tar.extractfile(m)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                             | os.O_CLOEXEC, (m.mode & 0o777) | 0o600)
                with os.fdopen(fd, "wb") as out:
                    while data is not None and (chunk := data.read(1 << 20)):
                        out.write(chunk)
                os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)
                files.add(name)
            elif m.islnk() and hardlinks:
                # only to a regular file this archive wrote: never a file outside dest
                target = posixpath.normpath(m.linkname.lstrip("/"))
                if target not in files:
                    continue
                os.link(os.path.join(dest, target), path, follow_symlinks=False)
            else:
                continue                    # devices, fifos, hard links: not context files
            count += 1
    return count


__all__ = ["collect", "context_key", "extract_context", "finalize"]
