"""Reading a tree that someone else controls: a container's root (maybe while it runs),
its writable layer, an image's layers. pdman's own process reads it, so no path it
resolves may lead outside the tree, whatever the tree does meanwhile (issue #12):

- every lookup goes one component at a time from a directory fd, with O_NOFOLLOW: the
  kernel never follows a symlink of the tree; a symlink is read (readlink) and resolved
  by us *inside* the tree's root (`..` stops at the root, an absolute target starts
  again from it), as a chroot would, but without one;
- a file is opened (O_NOFOLLOW | O_NONBLOCK, so a fifo swapped in cannot block us) and
  what goes into a tar header is the fstat of that open fd, checked to be the inode
  and type the directory listed: a symlink swapped in between the check and the open
  is never followed, and what is read is what the header describes;
- tar headers carry numeric owners and empty names: nothing here asks NSS (whose
  `libnss_*.so` a chroot would load from the image, the docker CVE-2019-14271 class).

    parent_fd, name = resolve(root_fd, "/etc/passwd", follow_last=True)
    TreeTar(tar).add_tree(dir_fd)            # a tar stream of a directory, by fds
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
MAX_HOPS = 40            # symlinks followed while resolving one path (as Linux)
_RETRIES = 3             # an entry that keeps changing under us is left out

OPAQUE_XATTR = "user.overlay.opaque"


def components(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def resolve(root_fd: int, path: str, follow_last: bool = True) -> tuple[int, str]:
    """(fd of the parent directory, final name) of `path` inside the tree at `root_fd`,
    every symlink resolved inside the tree (the last one too when `follow_last`). The
    root itself is (root, "."). The caller closes the returned fd. The final name need
    not exist; a missing (or non-directory) parent raises FileNotFoundError
    (NotADirectoryError)."""
    stack = [os.dup(root_fd)]        # the directories walked: `..` pops, never past [0]
    todo = list(reversed(components(path)))
    hops = 0
    try:
        while todo:
            comp = todo.pop()
            if comp == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            last = not todo
            try:
                st = os.lstat(comp, dir_fd=stack[-1])
            except FileNotFoundError:
                if last:
                    return os.dup(stack[-1]), comp
                raise
            if stat.S_ISLNK(st.st_mode) and (follow_last or not last):
                hops += 1
                if hops > MAX_HOPS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                try:
                    target = os.readlink(comp, dir_fd=stack[-1])
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    todo.append(comp)            # no longer a link: look again
                    continue
                if target.startswith("/"):
                    for fd in stack[1:]:
                        os.close(fd)
                    del stack[1:]
                todo.extend(reversed(components(target)))
                continue
            if last:
                return os.dup(stack[-1]), comp
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            try:
                stack.append(os.open(comp, DIR_FLAGS, dir_fd=stack[-1]))
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                hops += 1                          # swapped since the lstat: again
                if hops > MAX_HOPS:
                    raise
                todo.append(comp)
        return os.dup(stack[-1]), "."
    finally:
        for fd in stack:
            os.close(fd)


def open_dir(root_fd: int, path: str) -> int:
    """An fd of directory `path` inside the tree (symlinks resolved inside it)."""
    parent, name = resolve(root_fd, path)
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    finally:
        os.close(parent)


def is_opaque(dir_fd: int) -> bool:
    try:
        return os.getxattr(dir_fd, OPAQUE_XATTR) == b"y"
    except OSError:
        return False


def is_whiteout(st: os.stat_result) -> bool:
    """overlay's rootless whiteout: a character device 0/0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, stat.S_IFMT(a.st_mode)) == \
        (b.st_dev, b.st_ino, stat.S_IFMT(b.st_mode))


class Opened:
    """One entry of a tree, pinned: `st` is the fstat of `fd` for a directory or a
    regular file (opened without following links), the lstat otherwise (fd -1);
    `link` a symlink's target."""

    __slots__ = ("st", "fd", "link")

    def __init__(self, st: os.stat_result, fd: int = -1, link: str = "") -> None:
        self.st, self.fd, self.link = st, fd, link

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_entry(dir_fd: int, name: str) -> Opened | None:
    """Pin entry `name` of the directory `dir_fd` (None: it is gone, or kept changing)."""
    for _ in range(_RETRIES):
        try:
            st = os.lstat(name, dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        mode = st.st_mode
        try:
            if stat.S_ISLNK(mode):
                return Opened(st, link=os.readlink(name, dir_fd=dir_fd))
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                return Opened(st)             # fifo, socket, device: no data read
            fd = os.open(name, DIR_FLAGS if stat.S_ISDIR(mode) else READ_FLAGS,
                         dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            # ELOOP/ENOTDIR: a link swapped in since the lstat; EINVAL: a link no more
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EINVAL, errno.ENXIO):
                continue
            raise
        fst = os.fstat(fd)
        if _same(st, fst):
            return Opened(fst, fd)
        os.close(fd)
    return None


class _Exactly:
    """`size` bytes of an open file for tarfile: a file the container shrinks while we
    read is padded with zeros, one it grows is cut, so the header stays true."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.left, self.eof = fd, size, False

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        if n <= 0:
            return b""
        data = b"" if self.eof else os.read(self.fd, n)
        if len(data) < n:                  # EOF early: pad, read no more
            self.eof = True
            data += bytes(n - len(data))
        self.left -= n
        return data


def tarinfo(st: os.stat_result, arcname: str, link: str = "") -> tarfile.TarInfo | None:
    """A tar header from a stat result: numeric owners, empty owner names (no NSS).
    None for what a tar cannot hold (sockets)."""
    import tarfile  # not at the top: runtime/users.py is on `run`'s path

    info = tarfile.TarInfo(arcname)
    mode = st.st_mode
    info.mode = stat.S_IMODE(mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = st.st_mtime
    info.size = 0
    if stat.S_ISREG(mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(mode):
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        return None
    return info


def listdir(dir_fd: int) -> list[str]:
    """Sorted names of an open directory (scandir reads a dup of the fd and rewinds it)."""
    with os.scandir(dir_fd) as it:
        return sorted(e.name for e in it)


class TreeTar:
    """Entries of a tree into a tar stream, by fds (see the module docstring).

    `layer`: the tree is an overlay upper dir, written as a layer: a whiteout becomes
    `.wh.NAME`, an opaque directory gets `.wh..wh..opq`. `one_fs`: directories on
    another filesystem than the top (what is mounted on the tree) are left out."""

    def __init__(self, tar: tarfile.TarFile, *, layer: bool = False, one_fs: bool = False) -> None:
        self.tar = tar
        self.layer = layer
        self.one_fs = one_fs
        self.count = 0
        self._inodes: dict[tuple[int, int], str] = {}

    def _marker(self, name: str, mtime: float) -> None:
        import tarfile

        info = tarfile.TarInfo(name)
        info.mode, info.size, info.mtime = 0o644, 0, mtime
        self.tar.addfile(info)

    def add(self, ent: Opened, arcname: str) -> bool:
        """Write one pinned entry (its data from its fd); False if a tar cannot hold it."""
        st = ent.st
        if self.layer and is_whiteout(st):
            parent, _, name = arcname.rpartition("/")
            self._marker(f"{parent}/.wh.{name}" if parent else f".wh.{name}", st.st_mtime)
            self.count += 1
            return True
        info = tarinfo(st, arcname, ent.link)
        if info is None:
            return False
        import tarfile

        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key)
            if first is not None and first != arcname:
                info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
            else:
                self._inodes[key] = arcname
        if info.type == tarfile.REGTYPE:
            self.tar.addfile(info, _Exactly(ent.fd, info.size))
        else:
            self.tar.addfile(info)
        self.count += 1
        return True

    def add_path(self, dir_fd: int, name: str, arcname: str) -> None:
        """One entry and, for a directory, everything below it."""
        ent = open_entry(dir_fd, name)
        if ent is None:
            return
        try:
            self.add(ent, arcname)
            if ent.fd >= 0 and stat.S_ISDIR(ent.st.st_mode):
                self.add_tree(ent.fd, arcname + "/")
        finally:
            ent.close()

    def add_tree(self, top_fd: int, prefix: str = "") -> int:
        """Everything below the directory `top_fd` (not the directory itself), names
        prefixed with `prefix`; returns the entries written so far."""
        if self.layer and prefix and is_opaque(top_fd):
            self._marker(prefix + ".wh..wh..opq", os.fstat(top_fd).st_mtime)
        for name, ent in walk(top_fd, prefix, one_fs=self.one_fs):
            self.add(ent, name)
            if self.layer and ent.fd >= 0 and stat.S_ISDIR(ent.st.st_mode) \
                    and is_opaque(ent.fd):
                self._marker(name + "/.wh..wh..opq", ent.st.st_mtime)
        return self.count


def walk(top_fd: int, prefix: str = "", one_fs: bool = False) -> Iterator[tuple[str, Opened]]:
    """(name, pinned entry) for everything below the directory `top_fd`, depth first in
    name order, a directory before its content. Each entry (and its fd) is valid until
    the next step; directories are descended through the fd they were pinned with.
    `one_fs`: directories on another filesystem than the top are not yielded."""
    top_dev = os.fstat(top_fd).st_dev
    # (fd, prefix, names left): one fd per level of depth, closed on the way up
    stack: list[tuple[int, str, Iterator[str]]] = [(top_fd, prefix, iter(listdir(top_fd)))]
    try:
        while stack:
            dir_fd, pre, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                if dir_fd != top_fd:
                    os.close(dir_fd)
                continue
            ent = open_entry(dir_fd, name)
            if ent is None:
                continue
            try:
                is_dir = ent.fd >= 0 and stat.S_ISDIR(ent.st.st_mode)
                if is_dir and one_fs and ent.st.st_dev != top_dev:
                    continue                     # a mount on the tree: not its content
                yield pre + name, ent
                if not is_dir:
                    continue
                try:
                    below = iter(listdir(ent.fd))
                except OSError:
                    continue
                stack.append((ent.fd, pre + name + "/", below))
                ent.fd = -1                      # owned by the stack now
            finally:
                ent.close()
    except OSError as exc:
        if exc.errno == errno.EMFILE:
            raise UsageError("the tree is too deep to read (out of file descriptors)",
                             hint="raise the open-files limit (ulimit -n)") from None
        raise
    finally:
        for dir_fd, _, _ in stack:
            if dir_fd != top_fd:
                os.close(dir_fd)


def lexists_below(top_fd: int, rel: str) -> bool:
    """Does `rel` exist below the directory `top_fd`, no symlink followed on the way?"""
    parts = components(rel)
    if not parts:
        return True
    opened: list[int] = []
    fd = top_fd
    try:
        for part in parts[:-1]:
            fd = os.open(part, DIR_FLAGS, dir_fd=fd)
            opened.append(fd)
        os.lstat(parts[-1], dir_fd=fd)
        return True
    except OSError:
        return False
    finally:
        for f in opened:
            os.close(f)


__all__ = ["DIR_FLAGS", "Opened", "TreeTar", "components", "is_opaque", "is_whiteout",
           "lexists_below", "listdir", "open_dir", "open_entry", "resolve", "tarinfo", "walk"]
