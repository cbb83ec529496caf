"""Resolve `--user`/the image's `User` against the container's own /etc/passwd and
/etc/group, before the container exists.

The rootfs is only mounted inside the container's mount namespace, so the files are
read from the layer directories: the writable layer first, then the image layers
top-down, with overlay's rules (an overlay whiteout, a 0/0 character device, means the
file was deleted; an opaque directory hides the layers below it).

The layers are the image's (hostile) and, for `exec`, the writable layer of a running
container, which may change while we read (issue #12): the lookup goes from directory
fds one component at a time without following symlinks; a symlink met on the way is
resolved inside the container's view (`..` stops at its root, an absolute target starts
from it), never on the host.
"""

from __future__ import annotations

import os
import stat

from pdman.errors import UsageError
from pdman.storage import fdtree

_MAX_HOPS = 40


def _normalize(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        elif p not in ("", "."):
            out.append(p)
    return out


def _close(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _merge_below(layers: list[int], name: str, top: int) -> list[int]:
    """fds of directory `name` in layers[top:] as overlay merges them: from the top-most
    copy down, until an opaque one or a layer where `name` is not a directory."""
    out: list[int] = []
    for fd in layers[top:]:
        try:
            st = os.lstat(name, dir_fd=fd)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            break
        try:
            out.append(os.open(name, fdtree.DIR_FLAGS, dir_fd=fd))
        except OSError:
            break
        if fdtree.is_opaque(out[-1]):
            break
    return out


def _open_visible(layer_dirs: list[str], parts: list[str], hops: int = 0) -> int | None:
    """An fd of the regular file the container will see at /parts (None if none)."""
    cur: list[int] = []
    for d in layer_dirs:
        try:
            cur.append(os.open(d, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:
            continue
    try:
        for i, comp in enumerate(parts):
            where, st = -1, None
            for n, fd in enumerate(cur):
                try:
                    st = os.lstat(comp, dir_fd=fd)
                except OSError:
                    continue
                where = n
                break
            if st is None or fdtree.is_whiteout(st):
                return None
            if stat.S_ISLNK(st.st_mode):
                if hops >= _MAX_HOPS:
                    return None
                try:
                    target = os.readlink(comp, dir_fd=cur[where])
                except OSError:
                    return None
                base = [] if target.startswith("/") else parts[:i]
                rest = _normalize(base + target.split("/") + parts[i + 1:])
                return _open_visible(layer_dirs, rest, hops + 1)
            if i == len(parts) - 1:
                if not stat.S_ISREG(st.st_mode):
                    return None
                ent = fdtree.open_entry(cur[where], comp)
                if ent is None or not stat.S_ISREG(ent.st.st_mode):
                    if ent is not None:
                        ent.close()
                    return None
                return ent.fd
            if not stat.S_ISDIR(st.st_mode):
                return None
            below = _merge_below(cur, comp, where)
            _close(cur)
            cur = below
        return None
    finally:
        _close(cur)


#: the most of an image's /etc/passwd or /etc/group read (real ones are a few KiB)
MAX_FILE = 16 << 20
#: IDs a user namespace can map (4294967295 is the kernel's "no ID")
MAX_ID = 4294967294


def _read(layer_dirs: list[str], relpath: str) -> list[list[str]]:
    """The entries of an image file, as colon-split fields. The file comes from the
    image: lines with NUL bytes are skipped, and it is read up to MAX_FILE."""
    try:
        fd = _open_visible(layer_dirs, _normalize(relpath.split("/")))
    except OSError:
        return []
    if fd is None:
        return []
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_FILE + 1)
    except OSError:
        return []
    if len(data) > MAX_FILE:
        raise UsageError(f"the container's /{relpath} is larger than {MAX_FILE >> 20} MiB",
                         hint="the image is malformed; use a numeric --user UID[:GID]")
    text = data.decode("utf-8", errors="replace")
    return [line.split(":") for line in text.splitlines()
            if line and not line.startswith("#") and "\0" not in line]


def read_entries(layer_dirs: list[str], relpath: str) -> list[list[str]]:
    """An image file's entries (colon-split), as the user lookup reads them."""
    return _read(layer_dirs, relpath)


def read_text(layer_dirs: list[str], relpath: str) -> str | None:
    """An image file's text (None: absent), read as safely as the entries."""
    try:
        fd = _open_visible(layer_dirs, _normalize(relpath.split("/")))
    except OSError:
        return None
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise UsageError(f"the container's /{relpath} is larger than {MAX_FILE >> 20} MiB")
    return data.decode("utf-8", errors="replace")


def parse_id(text: str) -> int | None:
    """A UID/GID written in decimal ASCII within the mappable range; None otherwise
    (str.isdigit alone accepts '²' and other Unicode digits, which int() refuses)."""
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def _entry_id(text: str, what: str, name: str, file: str) -> int:
    value = parse_id(text)
    if value is None:
        raise UsageError(f"the container's {file} gives {what} {name!r} an invalid ID "
                         f"{text[:40]!r}",
                         hint="the image is malformed; use a numeric --user UID[:GID]")
    return value


class ResolvedUser:
    __slots__ = ("uid", "gid", "additional_gids", "home", "name")

    def __init__(self, uid: int, gid: int, additional_gids: list[int], home: str, name: str) -> None:
        self.uid = uid
        self.gid = gid
        self.additional_gids = additional_gids
        self.home = home
        self.name = name


def resolve(layer_dirs: list[str], user: str, group: str = "") -> ResolvedUser:
    """docker's rules: a numeric user need not exist in /etc/passwd (gid then 0 unless
    given); a name must; supplementary groups come from /etc/group membership."""
    passwd = _read(layer_dirs, "etc/passwd")
    entry = None
    if user.isdigit():
        uid_value = parse_id(user)
        if uid_value is None:
            raise UsageError(f"invalid user ID {user[:40]!r}",
                             hint=f"a UID is a decimal number from 0 to {MAX_ID}")
        uid = uid_value
        entry = next((e for e in passwd if len(e) >= 4 and e[2] == user), None)
        gid = (parse_id(entry[3]) or 0) if entry else 0
    else:
        entry = next((e for e in passwd if len(e) >= 4 and e[0] == user), None)
        if entry is None:
            raise UsageError(
                f"unable to find user {user}: no matching entries in the container's /etc/passwd",
                hint="use a numeric --user UID[:GID], or a user that exists in the image")
        uid = _entry_id(entry[2], "user", user, "/etc/passwd")
        gid = _entry_id(entry[3], "user", user, "/etc/passwd")
    name = entry[0] if entry else user
    home = entry[5] if entry and len(entry) > 5 and entry[5] else "/"
    groups = _read(layer_dirs, "etc/group")
    if group:
        if group.isdigit():
            gid_value = parse_id(group)
            if gid_value is None:
                raise UsageError(f"invalid group ID {group[:40]!r}",
                                 hint=f"a GID is a decimal number from 0 to {MAX_ID}")
            gid = gid_value
        else:
            g = next((e for e in groups if len(e) >= 3 and e[0] == group), None)
            if g is None:
                raise UsageError(
                    f"unable to find group {group}: no matching entries in the container's /etc/group",
                    hint="use a numeric GID, or a group that exists in the image")
            gid = _entry_id(g[2], "group", group, "/etc/group")
    extra = []
    for e in groups:
        g_id = parse_id(e[2]) if len(e) >= 4 else None
        if g_id is not None and name in e[3].split(","):
            if g_id != gid and g_id not in extra:
                extra.append(g_id)
    return ResolvedUser(uid, gid, extra, home, name)


def group_ids(layer_dirs: list[str], names: list[str]) -> list[int]:
    """`--group-add`: each a GID, or a group of the container's /etc/group."""
    groups = None
    out: list[int] = []
    for name in names:
        value = parse_id(name)
        if value is None:
            if groups is None:
                groups = _read(layer_dirs, "etc/group")
            g = next((e for e in groups if len(e) >= 3 and e[0] == name), None)
            if g is None:
                raise UsageError(
                    f"unable to find group {name}: no matching entries in the container's "
                    "/etc/group", hint="use a numeric GID, or a group that exists in the image")
            value = _entry_id(g[2], "group", name, "/etc/group")
        if value not in out:
            out.append(value)
    return out
