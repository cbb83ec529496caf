"""`--userns=keep-id[:uid=U,gid=G]`: a user namespace other than the rootless default,
with podman 4.3's mapping (nomap's permutation is here too; the mode is refused at
`parse`: its container root, unmapped from the user, cannot reach the user's store).

The default mapping (runtime/idmap.py) maps container root to the user and container
IDs 1..N-1 to the subordinate range: call its IDs the *intermediate* IDs (podman's
rootless user namespace). The other modes are a permutation of those IDs, as podman's
nested user namespace is:

    keep-id:  container 0..U-1 -> intermediate 1..U, container U -> intermediate 0
              (the user), container U+1..N-1 -> intermediate U+1..N-1
    nomap:    container 0..N-2 -> intermediate 1..N-1 (the user is not mapped)

pdman writes the composition (container -> host) in one user namespace. Image layers
are stored with the default mapping, so such a container gets a copy of its image's
root filesystem whose owners are moved the same way (engine/userns_rootfs.py).
"""

from __future__ import annotations

from pdman.errors import UsageError
from pdman.runtime.idmap import IdMapping, IdRange

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def parse(value: str) -> "dict[str, Any] | None":
    """The stored form of `--userns`: None for the default (`""`, `host`), else
    {"mode": "keep-id", "uid": U | None, "gid": G | None}, {"mode": "nomap"}, or as
    root {"mode": "auto", "size": N | None} (its range added at create)."""
    if value in ("", "host"):
        return None
    mode, _, opts = value.partition(":")
    if mode == "nomap":
        # its root could not reach the user's store: pdman's container process sets up
        # its own mounts, where podman mounts them before entering the nested namespace
        raise UsageError("--userns=nomap: not built yet (the container's root, unmapped "
                         "from your user, could not reach your store)",
                         hint="use --userns=keep-id, or the default")
    if mode == "keep-id":
        out: "dict[str, Any]" = {"mode": "keep-id", "uid": None, "gid": None}
        for item in filter(None, opts.split(",")):
            key, sep, num = item.partition("=")
            if key not in ("uid", "gid") or not sep or not num.isdigit():
                raise UsageError(f"invalid --userns option {item!r}",
                                 hint="use --userns=keep-id:uid=UID,gid=GID")
            out[key] = int(num)
        return out
    if mode == "auto":
        from pdman.config import is_root_mode

        if not is_root_mode():
            raise UsageError("--userns=auto: a rootless user cannot allocate other users' "
                             "IDs", hint="use keep-id, or run as root")
        return _parse_auto(opts)
    raise UsageError(f"invalid --userns value {value!r}",
                     hint="use host, keep-id[:uid=UID,gid=GID] or nomap")


def _parse_auto(opts: str) -> "dict[str, Any]":
    """`auto[:size=N]`'s options; podman's uidmapping=/gidmapping= are not built."""
    out: "dict[str, Any]" = {"mode": "auto", "size": None}
    for item in filter(None, opts.split(",")):
        key, sep, num = item.partition("=")
        if key == "size" and sep and num.isdigit() and 0 < int(num) <= 1 << 24:
            out["size"] = int(num)
        elif key in ("uidmapping", "gidmapping"):
            raise UsageError(f"--userns=auto: {key}= is not built yet",
                             hint="use --userns=auto or auto:size=N")
        else:
            raise UsageError(f"invalid --userns option {item!r}",
                             hint="use --userns=auto or auto:size=N (N from 1 to 16777216)")
    return out


def custom(uidmap: "list[str]", gidmap: "list[str]", subuidname: str, subgidname: str,
           base: IdMapping) -> "dict[str, Any]":
    """--uidmap/--gidmap/--subuidname/--subgidname (rootless, as podman's): the stored
    {"mode": "custom", "uid_map": [[container, intermediate, n], ...], "gid_map": ...}.

    --uidmap's middle field is an intermediate ID (0: the user, 1..: the subordinate
    range, in /etc/subuid order); --subuidname NAME maps container IDs from 0 onto the
    ranges /etc/subuid gives NAME, which must lie in the user's own. One of a pair given
    alone serves for both (podman's rule). As for --userns=nomap, the user's own ID is
    mapped too when the maps leave it out, onto the first container ID past them: the
    container's root must reach the user's store to mount its root filesystem (rootless
    podman mounts it before entering the nested namespace)."""
    from pdman.runtime import idmap

    if base.host:
        raise UsageError("--uidmap/--gidmap/--subuidname/--subgidname: not built for root "
                         "mode", hint="run pdman as your user, or use --userns=auto")
    if base.single_id:
        raise UsageError("--uidmap/--gidmap/--subuidname/--subgidname need a subordinate ID "
                         "range", hint=base.warning or "add your user to /etc/subuid and "
                                                       "/etc/subgid")
    if subuidname and not subgidname:
        subgidname = subuidname
    if subgidname and not subuidname:
        subuidname = subgidname
    maps: dict[str, list[IdRange]] = {}
    for what, given, name, file, ranges in (
            ("uid", uidmap, subuidname, idmap.SUBUID_FILE, base.uid_map),
            ("gid", gidmap, subgidname, idmap.SUBGID_FILE, base.gid_map)):
        if name:
            maps[what] = _named(name, file, what, ranges)
        elif given:
            maps[what] = [_triple(item, what) for item in given]
    if "uid" not in maps:
        maps["uid"] = maps["gid"]
    if "gid" not in maps:
        maps["gid"] = maps["uid"]
    out: "dict[str, Any]" = {"mode": "custom"}
    for what, ranges in (("uid", base.uid_map), ("gid", base.gid_map)):
        size = sum(r.size for r in ranges)
        perm = _checked(maps[what], size, what)
        if not any(r.host_id == 0 for r in perm):
            top = max(r.container_id + r.size for r in perm)
            if top < 4294967295:
                perm.append(IdRange(top, 0, 1))
        out[f"{what}_map"] = [list(r) for r in perm]
    return out


def _triple(item: str, what: str) -> IdRange:
    parts = item.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or int(parts[2]) == 0 \
            or any(int(p) > 4294967295 for p in parts):
        raise UsageError(f"initializing ID mappings: {what.upper()} setting is malformed "
                         f"expected [\"uint32:uint32:uint32\"]: [\"{item}\"]",
                         hint=f"use --{what}map CONTAINER_ID:INTERMEDIATE_ID:AMOUNT, "
                              f"e.g. 0:1:65536")
    return IdRange(*(int(p) for p in parts))


def _named(name: str, file: str, what: str, base: "tuple[IdRange, ...]") -> list[IdRange]:
    """--sub{what}name NAME: container IDs 0.. onto NAME's host ranges, as intermediate IDs."""
    import os

    from pdman.runtime import idmap

    try:
        with open(file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    found = idmap.parse_subid(text, name, -1) if name else []
    if not found:
        raise UsageError(f"no sub{what} ranges found for user \"{name}\" in {file}",
                         hint=f"give a name that {file} lists")
    out: list[IdRange] = []
    next_id = 0
    for sub in found:
        inter = _to_intermediate(base, sub.start, sub.size)
        if inter is None:
            raise UsageError(f"--sub{what}name {name}: its range {sub.start}:{sub.size} in "
                             f"{file} is not among your user's (uid {os.getuid()})",
                             hint="a rootless user may only map its own subordinate IDs")
        out.append(IdRange(next_id, inter, sub.size))
        next_id += sub.size
    return out


def _to_intermediate(base: "tuple[IdRange, ...]", host: int, size: int) -> "int | None":
    for r in base:
        if r.host_id <= host and host + size <= r.host_id + r.size:
            return r.container_id + host - r.host_id
    return None


def _checked(perm: list[IdRange], size: int, what: str) -> list[IdRange]:
    """The ranges within the user's IDs, none overlapping another on either side."""
    for r in perm:
        if r.host_id + r.size > size:
            raise UsageError(f"--{what}map {r.container_id}:{r.host_id}:{r.size} goes past "
                             f"the {size} IDs of your user namespace (0: your user, "
                             f"1-{size - 1}: your subordinate range)",
                             hint="map intermediate IDs below that, or widen /etc/sub"
                                  f"{what}")
    for side in (0, 1):
        spans = sorted((r[side], r[side] + r.size) for r in perm)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            if start < end:
                raise UsageError(f"--{what}map ranges overlap",
                                 hint="each container and each intermediate ID may be "
                                      "mapped once")
    return list(perm)


def _permutation(userns: "dict[str, Any]", own: int, size: int, what: str) -> list[IdRange]:
    """container ID -> intermediate ID ranges (IdRange(container, intermediate, n))."""
    if userns["mode"] == "custom":
        return [IdRange(*r) for r in userns[f"{what}_map"]]
    if userns["mode"] == "nomap":
        return [IdRange(0, 1, size - 1)]
    inner = own if userns.get(what) is None else int(userns[what])
    if inner >= size:
        raise UsageError(f"--userns=keep-id: {what} {inner} is outside the {size} IDs of "
                         f"your subordinate range",
                         hint="choose a smaller ID, or widen /etc/subuid and /etc/subgid")
    ranges = [IdRange(inner, 0, 1)]
    if inner > 0:
        ranges.insert(0, IdRange(0, 1, inner))
    if size - 1 - inner > 0:
        ranges.append(IdRange(inner + 1, inner + 1, size - 1 - inner))
    return ranges


def _compose(perm: list[IdRange], base: tuple[IdRange, ...]) -> tuple[IdRange, ...]:
    """container -> host: each permutation range split where the base mapping's
    ranges (intermediate -> host) break."""
    out: list[IdRange] = []
    for p in perm:
        cont, inter, left = p
        while left > 0:
            for b in base:
                if b.container_id <= inter < b.container_id + b.size:
                    n = min(left, b.container_id + b.size - inter)
                    out.append(IdRange(cont, b.host_id + inter - b.container_id, n))
                    cont, inter, left = cont + n, inter + n, left - n
                    break
            else:
                left = 0  # beyond the base mapping: not mapped
    return tuple(out)


def mapping(base: IdMapping, userns: "dict[str, Any] | None") -> IdMapping:
    """The container's ID mapping for its stored `userns` setting."""
    if not userns:
        return base
    if userns["mode"] == "auto":   # root's: the container's own range, from create
        return IdMapping((IdRange(0, int(userns["uid"]), int(userns["size"])),),
                         (IdRange(0, int(userns["gid"]), int(userns["size"])),))
    if base.single_id:
        raise UsageError(f"--userns={userns['mode']} needs a subordinate ID range",
                         hint=base.warning or "add your user to /etc/subuid and /etc/subgid")
    uid_perm = _permutation(userns, base.uid_map[0].host_id, base.size, "uid")
    gsize = sum(r.size for r in base.gid_map)
    gid_perm = _permutation(userns, base.gid_map[0].host_id, gsize, "gid")
    return IdMapping(_compose(uid_perm, base.uid_map), _compose(gid_perm, base.gid_map))


def owner_moves(userns: "dict[str, Any]", base: IdMapping) -> tuple[list[IdRange], list[IdRange]]:
    """The permutations (uid, gid) that move a file of image owner I to container
    owner I under the mode, seen from the default user namespace (auto: from the
    host's IDs into the container's range)."""
    if userns["mode"] == "auto":
        size = int(userns["size"])
        return ([IdRange(0, int(userns["uid"]), size)], [IdRange(0, int(userns["gid"]), size)])
    gsize = sum(r.size for r in base.gid_map)
    return (_permutation(userns, base.uid_map[0].host_id, base.size, "uid"),
            _permutation(userns, base.gid_map[0].host_id, gsize, "gid"))


def container_ids(userns: "dict[str, Any]", uid: int, gid: int) -> tuple[int, int]:
    """Whom the process runs as by default: keep-id's user; root otherwise."""
    if userns["mode"] != "keep-id":
        return 0, 0
    return (uid if userns.get("uid") is None else int(userns["uid"]),
            gid if userns.get("gid") is None else int(userns["gid"]))


__all__ = ["container_ids", "custom", "mapping", "owner_moves", "parse"]
