"""Unpack one layer tarball into a fresh directory, safely.

    result = unpack_layer(source, dest)   # source: .read(n) of the (compressed) blob

Runs as root of a user namespace mapped onto the user's subordinate IDs (the layer
store calls it through `runtime.idmap.run_in_userns` or its extraction workers), so
container owners land on subordinate IDs; called directly it works too, and owners
it cannot set are counted, not fatal.

What it guarantees, whatever the archive says:
- Nothing is written outside `dest`. Entry names are cleaned lexically (a leading
  `/` is dropped, as docker does); a name that climbs out with `..` is rejected.
  Parent directories are resolved one component at a time with O_NOFOLLOW; a
  symlink met on the way is resolved *inside* the layer (chroot semantics, what
  docker's chrooted unpacker gives), so it can never lead outside.
- Hard links may only name entries of this layer (lexically inside, existing,
  not a directory); anything else is rejected.
- Device nodes are skipped (a rootless engine cannot create them; podman skips
  them too); FIFOs are made.
- A later entry for the same path replaces the earlier one, as tar does.
- Whiteouts become what rootless overlayfs reads: `.wh.NAME` a 0/0 character
  device NAME, `.wh..wh..opq` the xattr `user.overlay.opaque=y` on its directory
  (overlay mounted with `userxattr`). `user.overlay.*` xattrs from the archive
  itself are dropped, so a layer cannot forge them.
- Modes (setuid/setgid/sticky included), owners, mtimes, and xattrs (PAX
  SCHILY.xattr.*) are applied; directory attributes last, so their mtimes stick.

Any failure raises LayerError; the caller removes `dest`.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pdman.errors import LayerError
from pdman.storage.tarstream import Limits, LayerStream, RawSource

T = TypeVar("T")

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "user.overlay.opaque"
_MAX_HOPS = 40              # symlinks followed while resolving one parent (as Linux)
#: directories nested deeper than this are refused: no real image comes near (the
#: deepest node_modules trees stay under 100), while a layer thousands deep breaks
#: every recursive tree walker that later meets it (removal, `diff`, `cp`, `du`)
MAX_DEPTH = 256
#: an entry name longer than PATH_MAX cannot be opened by path inside the container
MAX_NAME = 4095
#: utime's nanoseconds are a signed 64-bit number; the filesystem clamps further
_MAX_NS = (1 << 63) - 1
_MAX_CACHED_DIRS = 200      # open directory fds kept (well under the default 1024)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class UnpackResult:
    diff_id: str                 # sha256 of the uncompressed tar
    size: int                    # uncompressed tar bytes
    compressed_size: int
    compression: str             # gzip | zstd | ""
    entries: int = 0
    chown_failures: int = 0      # owners outside the ID mapping (kept as root)
    notes: list[str] = field(default_factory=list)  # skipped entries, for debug output


def _too_deep(name: str, what: str = "entry") -> LayerError:
    return LayerError(f"hostile layer: {what} {name[:120]!r}... lies deeper than "
                      f"{MAX_DEPTH} directories",
                      hint="the image is malformed or malicious; do not use it")


def clean_name(name: str, what: str = "entry") -> str:
    """A tar name as a path relative to the layer root ("" is the root itself)."""
    if len(name) > MAX_NAME * 4:  # cheap bound before splitting a huge PAX path
        raise LayerError(f"hostile layer: {what} name of {len(name)} characters "
                         f"({name[:80]!r}...)", hint="the image is malformed or malicious")
    parts: list[str] = []
    for comp in name.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                raise LayerError(f"hostile layer: {what} {name!r} points outside the layer",
                                 hint="the image is malformed or malicious; do not use it")
            parts.pop()
            continue
        parts.append(comp)
    rel = "/".join(parts)
    if len(parts) > MAX_DEPTH:
        raise _too_deep(rel, what)
    if len(rel.encode("utf-8", "surrogateescape")) > MAX_NAME:
        raise LayerError(f"hostile layer: {what} {rel[:80]!r}... is longer than {MAX_NAME} "
                         "bytes (PATH_MAX)", hint="the image is malformed or malicious")
    return rel


def _in_root(base: str, target: str) -> str:
    """Where a symlink in directory `base` points, resolved as if the layer root were
    `/` (".." stops at the root)."""
    parts = [] if target.startswith("/") else [p for p in base.split("/") if p]
    for comp in target.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    return "/".join(parts)


_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s8s32s32s8s8s155s12x")


class _FastTarInfo(tarfile.TarInfo):
    """tarfile's header parsing, with a quicker path for the plain ustar/GNU headers
    that make up nearly every layer (~3x faster than the generic code, which stays
    in charge of everything unusual: base-256 numbers, old sparse files, bad
    checksums, end-of-archive blocks)."""

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str,
                errors: str) -> "_FastTarInfo":
        if len(buf) != tarfile.BLOCKSIZE or buf[156:157] == tarfile.GNUTYPE_SPARSE:
            return super().frombuf(buf, encoding, errors)
        (name, mode, uid, gid, size, mtime, chksum, kind, linkname, _magic, uname, gname,
         devmajor, devminor, prefix) = _HEADER.unpack(buf)
        try:
            numbers = [int(f.split(b"\0", 1)[0].strip() or b"0", 8)
                       for f in (mode, uid, gid, size, mtime, chksum, devmajor, devminor)]
        except ValueError:  # base-256 or garbage: the generic code decides
            return super().frombuf(buf, encoding, errors)
        if numbers[5] != 256 + sum(buf) - sum(buf[148:156]):
            return super().frombuf(buf, encoding, errors)
        obj = cls()
        obj.name = name.split(b"\0", 1)[0].decode(encoding, errors)
        obj.mode, obj.uid, obj.gid, obj.size, obj.mtime, obj.chksum, obj.devmajor, \
            obj.devminor = numbers
        obj.type = kind
        obj.linkname = linkname.split(b"\0", 1)[0].decode(encoding, errors)
        obj.uname = uname.split(b"\0", 1)[0].decode(encoding, errors)
        obj.gname = gname.split(b"\0", 1)[0].decode(encoding, errors)
        prefix_text = prefix.split(b"\0", 1)[0].decode(encoding, errors)
        if obj.type == tarfile.AREGTYPE and obj.name.endswith("/"):
            obj.type = tarfile.DIRTYPE
        if obj.isdir():
            obj.name = obj.name.rstrip("/")
        if prefix_text and obj.type not in tarfile.GNU_TYPES:
            obj.name = prefix_text + "/" + obj.name
        return obj


class _Unpacker:
    def __init__(self, stream: LayerStream, dest: str | int, whiteouts: bool = True,
                 replace_kind: bool = True) -> None:
        self.stream = stream
        # False: an entry never replaces one of another kind (a directory by a file or
        # the reverse): `cp` without --overwrite refuses that, as podman does
        self.replace_kind = replace_kind
        # `dest` an fd: a directory someone else may be changing (`cp` into a container)
        self.rootfd = os.open(dest, _DIR_FLAGS) if isinstance(dest, str) else os.dup(dest)
        self.whiteouts = whiteouts
        self.dirs: dict[str, int] = {}
        # how deep each cached directory really lies (through symlinks): MAX_DEPTH
        self.depths: dict[str, int] = {}
        # fds dropped from `dirs` while an entry may still use them: closed before the next
        self.retired: list[int] = []
        self.dir_attrs: dict[str, tarfile.TarInfo] = {}
        self.result_notes: list[str] = []
        self.chown_failures = 0
        self.entries = 0
        self.can_chown = True
        # what a new file is owned by (root, inside the user namespace)
        self.owner = (os.geteuid(), os.getegid())
        self.xattr_failed = False

    # -- directory resolution --------------------------------------------------------

    def close(self) -> None:
        self._forget_dirs()
        self._close_retired()
        os.close(self.rootfd)

    def _forget_dirs(self) -> None:
        self.retired.extend(self.dirs.values())
        self.dirs.clear()
        self.depths.clear()

    def _close_retired(self) -> None:
        for fd in self.retired:
            os.close(fd)
        self.retired.clear()

    def dir_fd(self, rel: str, create: bool = True, hops: int = 0) -> int:
        """An fd of directory `rel` inside the layer, never leaving it."""
        if not rel:
            return self.rootfd
        fd = self.dirs.get(rel)
        if fd is not None:
            return fd
        if rel.count("/") >= MAX_DEPTH:
            raise _too_deep(rel)
        parent, _, name = rel.rpartition("/")
        pfd = self.dir_fd(parent, create, hops)
        depth = self.depth_of(parent) + 1
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise LayerError(f"hostile layer: {rel!r} does not exist in the layer",
                                 hint="the image is malformed or malicious") from None
            if depth > MAX_DEPTH:
                raise _too_deep(rel) from None
            # a parent the archive never listed: docker makes it 0755 root
            os.mkdir(name, 0o755, dir_fd=pfd)
            fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.lstat(name, dir_fd=pfd)
            if not stat.S_ISLNK(st.st_mode):
                raise LayerError(f"bad layer: {rel!r} is used as a directory but is a file",
                                 hint="the image is malformed") from None
            if hops >= _MAX_HOPS:
                raise LayerError(f"hostile layer: too many levels of symbolic links at {rel!r}",
                                 hint="the image is malformed or malicious") from None
            target = _in_root(parent, os.readlink(name, dir_fd=pfd))
            fd = os.dup(self.dir_fd(target, create, hops + 1))
            depth = self.depth_of(target)
        if len(self.dirs) >= _MAX_CACHED_DIRS:
            self._forget_dirs()
        self.dirs[rel] = fd
        self.depths[rel] = depth
        return fd

    def depth_of(self, rel: str) -> int:
        """How deep the directory `rel`, resolved by `dir_fd` just before, really lies."""
        return self.depths.get(rel, 0) if rel else 0

    # -- helpers ---------------------------------------------------------------------

    def _remove(self, pfd: int, name: str, rel: str, new_dir: bool | None = None) -> None:
        """Make room for a new entry `name` (later entries win, as in tar); `new_dir`:
        whether the new entry is a directory, checked against `replace_kind`."""
        try:
            st = os.lstat(name, dir_fd=pfd)
        except FileNotFoundError:
            return
        if (not self.replace_kind and new_dir is not None
                and stat.S_ISDIR(st.st_mode) != new_dir):
            from pdman.errors import UsageError

            what = "a directory" if stat.S_ISDIR(st.st_mode) else "a non-directory"
            raise UsageError(f"cannot overwrite {what} {rel!r} with "
                             f"{'a directory' if new_dir else 'a non-directory'}",
                             hint="pass --overwrite to replace it")
        if stat.S_ISDIR(st.st_mode):
            # cached fds may point into it (or through a symlink to it): drop them all
            self._forget_dirs()
            shutil.rmtree(name, dir_fd=pfd)
            for key in [k for k in self.dir_attrs if k == rel or k.startswith(rel + "/")]:
                del self.dir_attrs[key]
        else:
            if stat.S_ISLNK(st.st_mode):
                self._forget_dirs()
            os.unlink(name, dir_fd=pfd)

    def _chown(self, uid: int, gid: int, *, fd: int | None = None, pfd: int = -1,
               name: str = "") -> None:
        if not self.can_chown:
            self.chown_failures += 1
            return
        try:
            if fd is not None:
                os.fchown(fd, uid, gid)
            else:
                os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
        except OverflowError:
            self.chown_failures += 1
        except OSError as exc:
            # EINVAL: the ID is not mapped in this user namespace; EPERM: no namespace
            if exc.errno not in (errno.EINVAL, errno.EPERM):
                raise
            self.chown_failures += 1
            if exc.errno == errno.EPERM:
                self.can_chown = False

    def _xattrs(self, fd: int, info: tarfile.TarInfo, rel: str) -> None:
        for key, value in info.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if name.startswith(("user.overlay.", "trusted.")):
                self.result_notes.append(f"dropped xattr {name} of {rel}")
                continue
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError as exc:
                if not self.xattr_failed:
                    self.result_notes.append(f"cannot set xattr {name} on {rel}: {exc.strerror}")
                self.xattr_failed = True

    @staticmethod
    def _mtime_ns(info: tarfile.TarInfo) -> int:
        """The entry's mtime for utime: absurd ones (negative, past year 9999, a PAX
        `mtime=1e400` or `nan`) are clamped, not fatal, as GNU tar does."""
        mtime = info.mtime
        try:
            ns = mtime * 1_000_000_000 if isinstance(mtime, int) \
                else int(float(mtime) * 1_000_000_000)
        except (ValueError, OverflowError, TypeError):  # nan, inf, garbage
            return 0
        return max(-_MAX_NS, min(ns, _MAX_NS))

    # -- entries ---------------------------------------------------------------------

    def entry(self, info: tarfile.TarInfo) -> None:
        self.entries += 1
        if self.retired:
            self._close_retired()
        rel = clean_name(info.name)
        if not rel:
            return  # the layer root itself: its attributes are the container's business
        parent, _, name = rel.rpartition("/")
        if self.whiteouts and name.startswith(WHITEOUT_PREFIX):
            self._whiteout(info, rel, parent, name)
            return
        if info.islnk():
            self._hardlink(info, rel, parent, name)
            return
        pfd = self.dir_fd(parent)
        if info.isdir():
            if self.depth_of(parent) + 1 > MAX_DEPTH:
                raise _too_deep(rel)
            try:
                os.mkdir(name, 0o700, dir_fd=pfd)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(name, dir_fd=pfd).st_mode):
                    self._remove(pfd, name, rel, new_dir=True)
                    os.mkdir(name, 0o700, dir_fd=pfd)
            self.dir_attrs[rel] = info
            return
        if info.ischr() or info.isblk():
            self.result_notes.append(f"skipped device node {rel} (rootless cannot create it)")
            return
        if info.issym():
            self._create(lambda: os.symlink(info.linkname, name, dir_fd=pfd), pfd, name, rel)
            if self._foreign(info):
                self._chown(info.uid, info.gid, pfd=pfd, name=name)
            ns = self._mtime_ns(info)
            os.utime(name, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)
            return
        if not (info.isreg() or info.isfifo()):
            self.result_notes.append(f"skipped {rel}: unsupported entry type {info.type!r}")
            return
        # created with its final mode when nothing would clear it later: chown and
        # writing (without CAP_FSETID) clear setuid/setgid bits. The umask is 0 here.
        mode = info.mode & 0o7777
        foreign = self._foreign(info)
        fix_mode = foreign or bool(mode & 0o6000)
        create_mode = 0o600 if fix_mode else mode
        if info.isfifo():
            self._create(lambda: os.mkfifo(name, create_mode, dir_fd=pfd), pfd, name, rel)
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=pfd)
        else:
            fd = self._create(lambda: os.open(name, _FILE_FLAGS, create_mode, dir_fd=pfd),
                              pfd, name, rel)
        try:
            if info.isreg():
                self._copy_data(fd, info, rel)
            if foreign:
                self._chown(info.uid, info.gid, fd=fd)
            if fix_mode:
                os.fchmod(fd, mode)
            if info.pax_headers:
                self._xattrs(fd, info, rel)
            ns = self._mtime_ns(info)
            os.utime(fd, ns=(ns, ns))
        finally:
            os.close(fd)

    def _foreign(self, info: tarfile.TarInfo) -> bool:
        """Does the entry belong to someone else than the owner new files get?"""
        return (info.uid, info.gid) != self.owner

    def _create(self, make: "Callable[[], T]", pfd: int, name: str, rel: str) -> "T":
        """Create an entry; one already there is replaced (later entries win)."""
        try:
            return make()
        except FileExistsError:
            self._remove(pfd, name, rel, new_dir=False)
            return make()

    def _attrs(self, fd: int, info: tarfile.TarInfo, rel: str) -> None:
        self._chown(info.uid, info.gid, fd=fd)
        os.fchmod(fd, info.mode & 0o7777)  # after chown, which clears setuid bits
        if info.pax_headers:
            self._xattrs(fd, info, rel)
        ns = self._mtime_ns(info)
        os.utime(fd, ns=(ns, ns))

    def _copy_data(self, fd: int, info: tarfile.TarInfo, rel: str) -> None:
        stream = self.stream
        stream.seek(info.offset_data)
        remaining = info.size
        sparse: list[tuple[int, int]] | None = getattr(info, "sparse", None)
        if sparse:  # GNU/PAX sparse: the archive holds the data pieces back to back
            for offset, length in sparse:
                os.lseek(fd, offset, os.SEEK_SET)
                self._write_exactly(fd, length, rel)
            os.ftruncate(fd, info.size)
            return
        self._write_exactly(fd, remaining, rel)

    def _write_exactly(self, fd: int, remaining: int, rel: str) -> None:
        stream = self.stream
        while remaining:
            chunk = stream.read_some(min(remaining, 1 << 20))
            if not chunk:
                raise LayerError(f"truncated layer: the data of {rel} ends early",
                                 hint="the download or the blob is incomplete; pull again")
            remaining -= len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]

    def _hardlink(self, info: tarfile.TarInfo, rel: str, parent: str, name: str) -> None:
        target = clean_name(info.linkname, "hard link target of")
        if not target:
            raise LayerError(f"hostile layer: hard link {rel!r} points at the layer root",
                             hint="the image is malformed or malicious")
        if target == rel:
            return
        tparent, _, tname = target.rpartition("/")
        try:
            tpfd = self.dir_fd(tparent, create=False)
            st = os.lstat(tname, dir_fd=tpfd)
        except (FileNotFoundError, LayerError):
            raise LayerError(f"hostile layer: hard link {rel!r} names {info.linkname!r}, which "
                             "is not in the layer", hint="the image is malformed or malicious"
                             ) from None
        if stat.S_ISDIR(st.st_mode):
            raise LayerError(f"hostile layer: hard link {rel!r} names a directory "
                             f"({info.linkname!r})", hint="the image is malformed or malicious")
        pfd = self.dir_fd(parent)
        try:
            os.link(tname, name, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileExistsError:
            self._remove(pfd, name, rel)
            # _remove may have dropped cached fds: resolve the target again
            tpfd = self.dir_fd(tparent, create=False)
            os.link(tname, name, src_dir_fd=tpfd, dst_dir_fd=pfd, follow_symlinks=False)

    def _whiteout(self, info: tarfile.TarInfo, rel: str, parent: str, name: str) -> None:
        pfd = self.dir_fd(parent)
        if name == OPAQUE_MARKER:
            try:
                os.setxattr(pfd, OPAQUE_XATTR, b"y")
            except OSError as exc:
                raise LayerError(f"cannot mark {parent or '/'} opaque ({OPAQUE_XATTR}): "
                                 f"{exc.strerror}",
                                 hint="the store's filesystem must support user xattrs "
                                      "(ext4, xfs, btrfs; tmpfs from Linux 6.6)") from exc
            return
        if name.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            self.result_notes.append(f"skipped aufs metadata {rel}")
            return
        hidden = name[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise LayerError(f"hostile layer: whiteout {rel!r} names no file",
                             hint="the image is malformed or malicious")
        try:
            # Linux >= 5.8 lets anyone create the 0/0 "whiteout" device
            self._create(lambda: os.mknod(hidden, stat.S_IFCHR | 0o000, os.makedev(0, 0),
                                          dir_fd=pfd),
                         pfd, hidden, f"{parent}/{hidden}" if parent else hidden)
        except OSError as exc:
            raise LayerError(f"cannot create the whiteout for {rel!r}: {exc.strerror}",
                             hint="creating overlay whiteouts needs Linux >= 5.8 or a user "
                                  "namespace") from exc
        if self._foreign(info):
            self._chown(info.uid, info.gid, pfd=pfd, name=hidden)

    def finish_dirs(self) -> None:
        """Directory owners, modes, xattrs and mtimes, once nothing more goes inside."""
        for rel, info in sorted(self.dir_attrs.items(), key=lambda kv: -kv[0].count("/")):
            parent, _, name = rel.rpartition("/")
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=self.dir_fd(parent, create=False))
            except (OSError, LayerError):
                continue  # replaced by a later entry
            try:
                self._attrs(fd, info, rel)
            finally:
                os.close(fd)


def unpack_layer(source: RawSource, dest: str, limits: Limits | None = None,
                 threaded: bool = True) -> UnpackResult:
    """Unpack the layer blob read from `source` into the new directory `dest`
    (`threaded`: decompress and hash in a second thread, see LayerStream)."""
    os.mkdir(dest, 0o755)
    stream = LayerStream(source, limits, threaded)
    unpacker = _Unpacker(stream, dest)
    umask = os.umask(0)  # modes exactly as the archive says
    try:
        try:
            tar = tarfile.TarFile(fileobj=stream, mode="r",  # type: ignore[arg-type]
                                  tarinfo=_FastTarInfo)
        except tarfile.ReadError as exc:
            if str(exc) != "empty file":
                raise LayerError(f"corrupt layer: not a tar archive ({exc})",
                                 hint="the layer blob is damaged or not a layer") from exc
            tar = None
        if tar is not None:
            while True:
                try:
                    info = tar.next()
                except tarfile.ReadError as exc:
                    raise LayerError(f"corrupt layer: {exc}",
                                     hint="the layer blob is damaged or truncated") from exc
                if info is None:
                    break
                unpacker.entry(info)
            got = stream.tell() - tar.offset
            if 0 < got < tarfile.BLOCKSIZE:
                raise LayerError("truncated layer: the tar archive ends inside a header",
                                 hint="the download or the blob is incomplete; pull again")
        unpacker.finish_dirs()
        stream.drain()
    except LayerError:
        raise
    except RecursionError:
        # symlinks chained to resolve through more directories than Python's stack
        raise LayerError("hostile layer: symbolic links nest too deeply to resolve",
                         hint="the image is malformed or malicious; do not use it") from None
    except (OSError, tarfile.TarError, ValueError, UnicodeError, OverflowError,
            EOFError) as exc:
        raise LayerError(f"unpacking the layer failed: {exc}",
                         hint="the layer is malformed, or the store is out of space") from exc
    finally:
        os.umask(umask)
        stream.close()
        unpacker.close()
    return UnpackResult(stream.diff_id, stream.size, stream.compressed_size, stream.compression,
                        unpacker.entries, unpacker.chown_failures, unpacker.result_notes)


def _is_non_dir(dir_fd: int, name: str) -> bool:
    try:
        return not stat.S_ISDIR(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def unpack_into(source: RawSource, dest_fd: int, rename: str | None = None,
                overwrite: bool = True) -> int:
    """Unpack a plain archive (`cp` into a container, a volume's copy-up) into the open
    directory `dest_fd`, with the guarantees above (nothing lands outside it, whatever
    the archive or a concurrent writer of the directory does; numeric owners), but no
    whiteouts. `rename`: the archive's top-level entry takes that name. Returns the
    entries written. Raises UsageError for an entry naming a path outside DEST."""
    from pdman.errors import UsageError

    stream = LayerStream(source, None, threaded=False)
    unpacker = _Unpacker(stream, dest_fd, whiteouts=False, replace_kind=overwrite)
    umask = os.umask(0)
    try:
        try:
            tar = tarfile.TarFile(fileobj=stream, mode="r",  # type: ignore[arg-type]
                                  tarinfo=_FastTarInfo)
        except tarfile.ReadError as exc:
            if str(exc) == "empty file":
                return 0
            # podman's words for `cp -` of something else
            raise UsageError(f"source must be a (compressed) tar archive ({exc})",
                             hint="give a tar archive") from exc
        while (info := tar.next()) is not None:
            parts = [p for p in info.name.split("/") if p not in ("", ".")]
            if ".." in parts:
                raise UsageError(f"refusing archive entry {info.name!r} outside the target",
                                 hint="use an archive with relative paths")
            if rename and parts:
                if unpacker.entries == 0 and info.isdir() and _is_non_dir(dest_fd, rename):
                    # podman's words: a directory onto an existing non-directory
                    raise UsageError("destination must be a directory when copying a "
                                     "directory", hint=f"{rename} exists and is not a directory")
                parts[0] = rename
            if info.islnk():
                # a hard link names an entry of the archive: renamed the same way
                lparts = [p for p in info.linkname.split("/") if p not in ("", ".")]
                if rename and lparts:
                    lparts[0] = rename
                info.linkname = "/".join(lparts)
            info.name = "/".join(parts)
            unpacker.entry(info)
        unpacker.finish_dirs()
        stream.drain()
    except (OSError, tarfile.TarError, ValueError, UnicodeError) as exc:
        raise LayerError(f"unpacking the archive failed: {exc}",
                         hint="the archive is malformed, or out of space") from exc
    finally:
        os.umask(umask)
        stream.close()
        unpacker.close()
    return unpacker.entries


__all__ = ["UnpackResult", "clean_name", "unpack_into", "unpack_layer"]
