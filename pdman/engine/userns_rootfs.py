"""The root filesystem of a `--userns=keep-id`, `nomap` or (root's) `auto` container.

Image layers are stored with the default mapping (image root is the user), which such
a container's user namespace permutes (runtime/userns_mode.py): seen through it, the
image's files would belong to the wrong users. Rootless overlayfs cannot shift owners
(an idmapped mount needs privilege over the layers' filesystem), so, as containers/
storage does for rootless podman, the container gets a copy of its image's root
filesystem with the owners moved, made once at `create`:

    <root>/containers/<id>/idmapped-rootfs   the single lower layer of its overlay

It is named in the container's `layers` relative to the links directory (overlay
resolves lowerdir names from there), and removed with the container's directories.
As root (`auto`, engine/userns_auto.py) the layers hold the host's IDs, and the copy's
owners are moved into the container's range.
keep-id also adds the user to the copy's /etc/passwd and /etc/group when missing.
"""

from __future__ import annotations

import os
import stat

from pdman.engine.context import EngineContext
from pdman.runtime.idmap import IdRange

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DIRNAME = "idmapped-rootfs"


def _move(ranges: "list[IdRange]", image_id: int, unmapped: int = -1) -> int:
    """The intermediate ID that shows as container ID `image_id` (`unmapped` if none)."""
    for r in ranges:
        if r.container_id <= image_id < r.container_id + r.size:
            return r.host_id + image_id - r.container_id
    return unmapped


def prepare(ctx: EngineContext, container_id: str, links: "list[str]",
            userns: "dict[str, Any]", entry: "tuple[str, str] | None") -> "list[str]":
    """Copy the image's root filesystem for the container; its new `layers`.
    `entry`: keep-id's (passwd line, group line) to add when the IDs are missing."""
    from pdman.engine.container_files import WRITE_CAPS, call_on_image
    from pdman.runtime import idmap, userns_mode

    uid_moves, gid_moves = userns_mode.owner_moves(userns, idmap.mapping_for_current_user())
    base = os.path.join(ctx.paths.containers, container_id)
    os.makedirs(base, mode=0o755, exist_ok=True)
    dest = os.path.join(base, DIRNAME)
    # auto (root's): an ID past `auto:size=N` must not keep its host owner (a file of
    # the host's root, say): it goes to the host's nobody, unmapped inside (overflow)
    unmapped = 65534 if userns["mode"] == "auto" else -1
    call_on_image(ctx, links, _copy_tree, dest, uid_moves, gid_moves, entry, unmapped,
                  caps=WRITE_CAPS)
    return [os.path.relpath(dest, ctx.paths.links)]


def _copy_tree(root_fd: int, dest: str, uid_moves: "list[IdRange]",
               gid_moves: "list[IdRange]", entry: "tuple[str, str] | None",
               unmapped: int = -1) -> None:
    """In the user namespace (default mapping): copy the image's tree at root_fd to
    `dest`, every owner moved. The image is read through pinned fds without following
    its symlinks (storage/fdtree.py); `dest` is ours alone."""
    from pdman.storage import fdtree

    def chown(path: str, st: os.stat_result) -> None:
        uid, gid = _move(uid_moves, st.st_uid, unmapped), _move(gid_moves, st.st_gid, unmapped)
        os.chown(path, uid, gid, follow_symlinks=False)

    top = os.fstat(root_fd)
    os.mkdir(dest, 0o700)
    chown(dest, top)
    dirs = [(dest, top)]
    inodes: dict[tuple[int, int], str] = {}
    for rel, ent in fdtree.walk(root_fd):
        st, path = ent.st, os.path.join(dest, rel)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(path, 0o700)
            dirs.append((path, st))
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(rel, dir_fd=root_fd), path)
        elif st.st_nlink > 1 and (st.st_dev, st.st_ino) in inodes:
            os.link(inodes[(st.st_dev, st.st_ino)], path, follow_symlinks=False)
            continue
        elif stat.S_ISREG(st.st_mode) and ent.fd >= 0:
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.lseek(ent.fd, 0, os.SEEK_SET)
                while os.sendfile(out, ent.fd, None, 1 << 20) > 0:
                    pass
            finally:
                os.close(out)
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(path, 0o600)
        else:
            continue  # device nodes and sockets: none in a rootless container's image
        chown(path, st)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(path, mode)  # after chown, which clears set-ID bits
            if not stat.S_ISDIR(st.st_mode):
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            inodes[(st.st_dev, st.st_ino)] = path
    if entry is not None:
        _add_entries(dest, entry)
    for path, st in reversed(dirs):
        os.chmod(path, stat.S_IMODE(st.st_mode))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _add_entries(dest: str, entry: "tuple[str, str]") -> None:
    """keep-id: the user's passwd and group lines, unless the image has those IDs (a
    file of ours now: no image symlink is followed, /etc itself included)."""
    for name, line in (("passwd", entry[0]), ("group", entry[1])):
        etc = os.path.join(dest, "etc")
        path = os.path.join(etc, name)
        if not os.path.isdir(etc) or os.path.islink(etc) or os.path.islink(path) \
                or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        wanted = line.split(":")[2]
        if any(ln.split(":")[2:3] == [wanted] for ln in text.splitlines()):
            continue
        if text and not text.endswith("\n"):
            text += "\n"
        st = os.lstat(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + line + "\n")
        os.chown(path, st.st_uid, st.st_gid)
        os.chmod(path, stat.S_IMODE(st.st_mode))


def entry_lines(uid: int, gid: int) -> "tuple[str, str, str]":
    """keep-id's passwd and group lines for the user, and the home directory."""
    import grp
    import pwd

    try:
        pw = pwd.getpwuid(os.getuid())
        name, gecos, home = pw.pw_name, pw.pw_gecos, pw.pw_dir
    except KeyError:
        name, gecos, home = str(os.getuid()), "", "/"
    try:
        group = grp.getgrgid(os.getgid()).gr_name
    except KeyError:
        group = name
    return (f"{name}:*:{uid}:{gid}:{gecos}:{home}:/bin/sh", f"{group}:x:{gid}:{name}", home)


__all__ = ["DIRNAME", "entry_lines", "prepare"]
