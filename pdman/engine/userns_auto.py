"""`--userns=auto[:size=N]` as root: a user namespace of the container's own, its IDs a
fresh range of the `containers` entry in /etc/subuid and /etc/subgid (podman's rule),
never overlapping another container's range in the store.

The size is N, else the image's highest UID or GID (files, /etc/passwd, /etc/group) plus
one, at least 1024 (containers/storage's auto_userns_min_size). The range is chosen at
`create`, first fit over the `containers` ranges, under `<root>/userns-auto.lock` held
until the container's record is in the catalog, so two concurrent creates cannot take
the same IDs; it is stored in the container's config ({"mode": "auto", "size": N,
"uid": HOST_UID, "gid": HOST_GID}) and freed with the record.

The image's layers hold the host's IDs (root's store): the container gets a copy of
its image's root filesystem with every owner moved into its range (engine/
userns_rootfs.py). Its root, unmapped from the host's root, mounts that copy itself
from inside its user namespace: the store root and `containers/` get a POSIX ACL entry
letting the roots of the store's auto containers (and no one else) search them, and
the container's own directory (0700) belongs to its root. The directories above the
store must be searchable by others (check_reachable), as /var/lib is.
"""

from __future__ import annotations

import os
import stat

from pdman.engine.context import EngineContext
from pdman.errors import HostSupportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: the subordinate-ID owner podman takes automatic ranges from
CONTAINERS_USER = "containers"
#: containers/storage's default auto_userns_min_size
MIN_SIZE = 1024
#: IDs past the size requested (`auto:size=N` smaller than the image's) land here
OVERFLOW_ID = 65534


def highest_id(layer_dirs: "list[str]") -> int:
    """The highest UID or GID of the image: owners of its files and the IDs its
    /etc/passwd and /etc/group name (lstat only: no image symlink is followed)."""
    top = 0
    for layer in layer_dirs:
        for dirpath, dirnames, filenames in os.walk(layer):
            for name in dirnames + filenames:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                top = max(top, st.st_uid, st.st_gid)
        for name, fields in (("passwd", (2, 3)), ("group", (2,))):
            path = os.path.join(layer, "etc", name)
            if os.path.islink(path) or os.path.islink(os.path.join(layer, "etc")) \
                    or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    parts = line.split(":")
                    for i in fields:
                        if len(parts) > i and parts[i].isdigit():
                            top = max(top, int(parts[i]))
    return top


def _ranges(path: str) -> "list[tuple[int, int]]":
    from pdman.runtime.idmap import parse_subid

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    try:
        import pwd

        uid = pwd.getpwnam(CONTAINERS_USER).pw_uid
    except KeyError:
        uid = -1
    return [(r.start, r.size) for r in parse_subid(text, CONTAINERS_USER, uid)]


def _first_fit(free: "list[tuple[int, int]]", taken: "list[tuple[int, int]]",
               size: int) -> "int | None":
    """The lowest start of `size` IDs inside one of the `free` ranges that overlaps
    none of the `taken` (start, size) ranges."""
    for start, count in free:
        cand, end = start, start + count
        moved = True
        while moved and cand + size <= end:
            moved = False
            for t_start, t_size in taken:
                if cand < t_start + t_size and t_start < cand + size:
                    cand, moved = t_start + t_size, True
        if cand + size <= end:
            return cand
    return None


def allocate(ctx: EngineContext, size: int) -> "tuple[int, int]":
    """(host UID, host GID) of a free range of `size` IDs; call it holding `locked`."""
    from pdman.runtime.idmap import SUBGID_FILE, SUBUID_FILE
    from pdman.storage import container_records

    taken_u, taken_g = [], []
    for rec in container_records.list_all(ctx.catalog):
        userns = rec.config.get("userns") or {}
        if userns.get("mode") == "auto" and "uid" in userns:
            taken_u.append((int(userns["uid"]), int(userns["size"])))
            taken_g.append((int(userns["gid"]), int(userns["size"])))
    found = []
    for path, taken in ((SUBUID_FILE, taken_u), (SUBGID_FILE, taken_g)):
        free = _ranges(path)
        if not free:
            raise HostSupportError(
                f"--userns=auto: {path} has no range for the user `{CONTAINERS_USER}`",
                hint=f"add one, e.g. `{CONTAINERS_USER}:2147483647:2147483648` to "
                     f"{SUBUID_FILE} and {SUBGID_FILE} (podman's rule)")
        start = _first_fit(free, taken, size)
        if start is None:
            raise HostSupportError(
                f"--userns=auto: no {size} free IDs left in the `{CONTAINERS_USER}` ranges "
                f"of {path} ({len(taken)} containers hold ranges)",
                hint="remove containers made with --userns=auto, ask for fewer IDs with "
                     "auto:size=N, or widen the range")
        found.append(start)
    return found[0], found[1]


class locked:
    """`with locked(ctx):` the store's allocation lock (flock), for create's span."""

    def __init__(self, ctx: EngineContext) -> None:
        self.path = os.path.join(ctx.paths.root, "userns-auto.lock")
        self.fd = -1

    def __enter__(self) -> "locked":
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # releases the flock


def check_reachable(root: str) -> None:
    """Every directory above the store must be searchable by others: the container's
    root (none of the host's users) walks that path to mount its root filesystem, as
    rootful podman's does (the default, /var/lib/pdman, is)."""
    path = os.path.dirname(os.path.abspath(root))
    while True:
        if not os.stat(path).st_mode & 0o001:
            raise HostSupportError(
                f"--userns=auto: the container's root cannot reach the store {root}: "
                f"{path} is not searchable by others",
                hint=f"allow it (`chmod o+x {path}`), or keep the store (--root) under "
                     "such directories, as the default /var/lib/pdman is")
        if path == "/":
            return
        path = os.path.dirname(path)


def settle(ctx: EngineContext, userns: "dict[str, Any]", layer_dirs: "list[str]") -> None:
    """Fill in the size (from the image unless given) and the host range; hold `locked`."""
    check_reachable(ctx.paths.root)
    if userns.get("size") is None:
        userns["size"] = max(highest_id(layer_dirs) + 1, MIN_SIZE)
    userns["uid"], userns["gid"] = allocate(ctx, int(userns["size"]))


# POSIX ACL xattr (linux/posix_acl_xattr.h): a version, then (tag, perm, id) entries
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def _grant_search(path: str, uids: "set[int]") -> None:
    """The ACL of `path`: its mode's owner/group/other entries, search (x) for exactly
    `uids` (the roots of the store's auto containers), and the mask they need. Only
    they, not every user of the host, may then walk through it."""
    import struct

    mode = stat.S_IMODE(os.stat(path).st_mode)
    try:
        raw = os.getxattr(path, _ACL_XATTR)
        entries = [struct.unpack_from("<HHI", raw, 4 + 8 * i) for i in range((len(raw) - 4) // 8)]
        group_obj = next(p for t, p, _ in entries if t == _GROUP_OBJ)
    except OSError:
        group_obj = mode >> 3 & 7                          # no ACL yet: the mode says it
    acl = [(_USER_OBJ, mode >> 6 & 7, _NO_ID)]
    acl += [(_USER, 1, uid) for uid in sorted(uids)]
    acl += [(_GROUP_OBJ, group_obj, _NO_ID)]
    if uids:
        acl.append((_MASK, group_obj | 1, _NO_ID))
    acl.append((_OTHER, mode & 7, _NO_ID))
    data = struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in acl)
    try:
        os.setxattr(path, _ACL_XATTR, data)
    except OSError as exc:
        raise HostSupportError(
            f"--userns=auto: cannot let the container's root search {path}: {exc.strerror}",
            hint="keep the store (--root) on a filesystem with POSIX ACLs (ext4, xfs, "
                 "btrfs, tmpfs)") from exc


def give_dirs(ctx: EngineContext, container_id: str, userns: "dict[str, Any]") -> None:
    """The container's root must reach and own what it mounts from inside its user
    namespace: search permission on the store root and `containers/` for the roots of
    the store's auto containers only (POSIX ACL entries, rebuilt from the catalog: a
    removed container's goes with the next one's), and its own directory (upper, work,
    merged, the generated /etc files) its root's, mode 0700."""
    from pdman.storage import container_records
    from pdman.storage.container_fs import ContainerDirs

    uid, gid = int(userns["uid"]), int(userns["gid"])
    roots = {uid}
    for rec in container_records.list_all(ctx.catalog):
        other = rec.config.get("userns") or {}
        if other.get("mode") == "auto" and "uid" in other:
            roots.add(int(other["uid"]))
    for path in (ctx.paths.root, ctx.paths.containers):
        _grant_search(path, roots)
    dirs = ContainerDirs(ctx.paths, container_id)
    os.chown(dirs.base, uid, gid)
    os.chmod(dirs.base, 0o700)
    for top in (dirs.upper, dirs.work, dirs.merged, dirs.userdata):
        os.chown(top, uid, gid)
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


__all__ = ["CONTAINERS_USER", "MIN_SIZE", "allocate", "give_dirs", "check_reachable", "highest_id",
           "locked", "settle"]
