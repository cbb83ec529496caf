"""Files pdman creates in its runroot and state directories — exit files, locks, pid
and state files, logs — are never created through a symlink.

Whoever can plant a name in such a directory (a container with a volume on it, another
user in a shared /tmp) could otherwise point it at a file of the user's (~/.bashrc) and
have pdman write or truncate that. So: the last component is opened with O_NOFOLLOW,
whole files are written to a fresh name (O_CREAT | O_EXCL) and renamed into place
(rename replaces a symlink, never what it points to), and a directory pdman makes must
turn out a real directory of the user's. Stdlib only: on the hot path of `run`.
"""

from __future__ import annotations

import errno
import os
import stat

from pdman.runtime.fdio import write_all

#: flags every state file is opened with
SAFE = os.O_NOFOLLOW | os.O_CLOEXEC


def open_file(path: str, flags: int = os.O_RDWR | os.O_CREAT, mode: int = 0o600) -> int:
    """os.open that refuses a symlink as the last component: StorageError (a lock or a
    log must stay the file it is, so the link is not replaced either)."""
    try:
        return os.open(path, flags | SAFE, mode)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        from pdman.errors import StorageError

        raise StorageError(f"{path} is a symlink: pdman does not write through one",
                           hint="remove it, and find out who put it there") from None


def write_atomic(path: str, data: "str | bytes", mode: int = 0o600) -> None:
    """`data` as the whole content of `path`: written to a new file beside it, then
    renamed over it, so a reader sees all of it or nothing."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | SAFE, mode)
    try:
        write_all(fd, data.encode() if isinstance(data, str) else data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def private_dir(path: str) -> str:
    """Make `path` (mode 0700, parents too) and check it is a directory of ours, not a
    symlink to somewhere else; StorageError otherwise."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        from pdman.errors import StorageError

        what = "a symlink" if stat.S_ISLNK(st.st_mode) else (
            "not a directory" if not stat.S_ISDIR(st.st_mode) else f"owned by uid {st.st_uid}")
        raise StorageError(f"state directory {path} is {what}",
                           hint="remove it; pdman makes it again")
    return path


__all__ = ["SAFE", "open_file", "private_dir", "write_atomic"]
