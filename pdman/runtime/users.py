"""Resolve `--user`/the image's `User` against the container's own /etc/passwd and
/etc/group, before the container exists.

The rootfs is only mounted inside the container's mount namespace, so the files are
read from the layer directories: the writable layer first, then the image layers
top-down; an overlay whiteout (a 0/0 character device) means the file was deleted.
"""

from __future__ import annotations

import os
import stat

from pdman.errors import UsageError


def _find(layer_dirs: list[str], relpath: str) -> str | None:
    """The visible copy of `relpath` in an overlay of `layer_dirs` (top first)."""
    for d in layer_dirs:
        p = os.path.join(d, relpath)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return None  # whiteout: deleted above the lower copies
        return p if stat.S_ISREG(st.st_mode) else None
    return None


def _read(layer_dirs: list[str], relpath: str) -> list[list[str]]:
    path = _find(layer_dirs, relpath)
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.split(":") for line in f.read().splitlines()
                    if line and not line.startswith("#")]
    except OSError:
        return []


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
        uid = int(user)
        entry = next((e for e in passwd if len(e) >= 4 and e[2] == user), None)
        gid = int(entry[3]) if entry and entry[3].isdigit() else 0
    else:
        entry = next((e for e in passwd if len(e) >= 4 and e[0] == user), None)
        if entry is None:
            raise UsageError(
                f"unable to find user {user}: no matching entries in the container's /etc/passwd",
                hint="use a numeric --user UID[:GID], or a user that exists in the image")
        uid, gid = int(entry[2]), int(entry[3])
    name = entry[0] if entry else user
    home = entry[5] if entry and len(entry) > 5 and entry[5] else "/"
    groups = _read(layer_dirs, "etc/group")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            g = next((e for e in groups if len(e) >= 3 and e[0] == group), None)
            if g is None:
                raise UsageError(
                    f"unable to find group {group}: no matching entries in the container's /etc/group",
                    hint="use a numeric GID, or a group that exists in the image")
            gid = int(g[2])
    extra = []
    for e in groups:
        if len(e) >= 4 and e[2].isdigit() and name in e[3].split(","):
            g_id = int(e[2])
            if g_id != gid and g_id not in extra:
                extra.append(g_id)
    return ResolvedUser(uid, gid, extra, home, name)
