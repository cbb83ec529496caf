"""`RUN --mount=...` options taken apart (pure logic, no I/O).

The forms docker's Dockerfile frontend documents, with its defaults:

- `type=bind` (the default type): `source` (default the root) from the build context, or
  from `from=STAGE|IMAGE`; read-only unless `rw` (writes are then thrown away);
- `type=cache`: a directory kept between builds under `id` (default: the target),
  `sharing=shared|private|locked`, `uid`, `gid`, `mode` (default 0755) applied when
  it is first made, `ro`;
- `type=tmpfs`: an empty tmpfs, `size` in bytes;
- `type=secret`: the build's `--secret id=ID,...` file at `target` (default
  /run/secrets/ID), `mode` (default 0400), `uid`, `gid`; `required` makes a missing
  secret an error (otherwise the step runs without it).

What a mount contributes to the step's cache key is `key_text()`: its options, never a
secret's content nor a cache directory's.
"""

from __future__ import annotations

import posixpath

from pdman.errors import BuildFileError
from pdman.record import Record

_TYPES = ("bind", "cache", "tmpfs", "secret")
_KNOWN = {
    "bind": {"source", "src", "from", "rw", "readwrite", "ro", "readonly"},
    "cache": {"id", "source", "src", "from", "sharing", "uid", "gid", "mode", "ro", "readonly"},
    "tmpfs": {"size"},
    "secret": {"id", "required", "mode", "uid", "gid"},
}
_COMMON = {"type", "target", "dst", "destination"}


class RunMount(Record):
    def __init__(self, kind: str, target: str, source: str = "", from_ref: str = "",
                 readonly: bool = True, cache_id: str = "", sharing: str = "shared",
                 uid: int = 0, gid: int = 0, mode: int | None = None, size: int | None = None,
                 required: bool = False) -> None:
        self.kind = kind              # bind | cache | tmpfs | secret
        self.target = target          # absolute, in the container
        self.source = source          # bind/cache: a path in the context or in from_ref
        self.from_ref = from_ref      # bind/cache: a stage or image ("" = the context)
        self.readonly = readonly
        self.cache_id = cache_id      # cache: the directory's name; secret: the secret's id
        self.sharing = sharing
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.size = size
        self.required = required

    def key_text(self) -> str:
        """The mount as the cache key sees it (secrets by id only)."""
        return (f"{self.kind} {self.target} src={self.source} from={self.from_ref} "
                f"ro={self.readonly} id={self.cache_id} sharing={self.sharing} "
                f"uid={self.uid} gid={self.gid} mode={self.mode} size={self.size}")


def _bool(value: str) -> bool:
    if value.lower() in ("", "true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ValueError(value)


def _int(value: str, base: int = 10) -> int:
    number = int(value, base)
    if number < 0:
        raise ValueError(value)
    return number


def parse_mount(spec: str, workdir: str) -> RunMount:
    """One `--mount=` value; `workdir` resolves a relative target. Errors are
    BuildFileErrors without the file position (the caller adds it)."""
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not key:
            continue
        fields[key] = value if eq else ""
    kind = fields.pop("type", "bind") or "bind"
    if kind not in _TYPES:
        raise BuildFileError(f"--mount={spec}: unknown type {kind!r}",
                             hint="use type=bind, cache, tmpfs or secret")
    unknown = sorted(set(fields) - _COMMON - _KNOWN[kind])
    if unknown:
        raise BuildFileError(f"--mount={spec}: {unknown[0]} is not an option of type={kind}",
                             hint="options: " + ", ".join(sorted(_KNOWN[kind] | {"target"})))
    target = fields.get("target", fields.get("dst", fields.get("destination", "")))
    cache_id = fields.get("id", "")
    if kind == "secret" and not target:
        if not cache_id:
            raise BuildFileError(f"--mount={spec}: a secret mount needs id= or target=",
                                 hint="e.g. --mount=type=secret,id=token")
        target = "/run/secrets/" + cache_id
    if not target:
        raise BuildFileError(f"--mount={spec}: target= is required",
                             hint=f"e.g. --mount=type={kind},target=/path")
    target = posixpath.normpath(posixpath.join(workdir or "/", target))
    if kind == "secret" and not cache_id:
        cache_id = posixpath.basename(target)
    try:
        readonly = kind in ("bind", "secret")
        for flag in ("ro", "readonly"):
            if flag in fields:
                readonly = _bool(fields[flag])
        for flag in ("rw", "readwrite"):
            if flag in fields:
                readonly = not _bool(fields[flag])
        mode = _int(fields["mode"], 8) if "mode" in fields else None
        if mode is not None and mode > 0o7777:
            raise ValueError(fields["mode"])
        uid = _int(fields.get("uid") or "0")
        gid = _int(fields.get("gid") or "0")
        size = _int(fields["size"]) if fields.get("size") else None
        required = _bool(fields["required"]) if "required" in fields else False
    except ValueError as exc:
        raise BuildFileError(f"--mount={spec}: invalid value {exc}",
                             hint="uid/gid/size are numbers, mode octal, flags true/false"
                             ) from None
    sharing = fields.get("sharing", "shared") or "shared"
    if sharing not in ("shared", "private", "locked"):
        raise BuildFileError(f"--mount={spec}: sharing={sharing}",
                             hint="use sharing=shared, private or locked")
    source = fields.get("source", fields.get("src", ""))
    if kind == "bind":
        source = posixpath.normpath("/" + source)
    if kind == "cache" and not cache_id:
        cache_id = target
    return RunMount(kind, target, source, fields.get("from", ""), readonly, cache_id, sharing,
                    uid, gid, mode, size, required)


def parse_mounts(specs: list[str], workdir: str) -> list[RunMount]:
    mounts = [parse_mount(s, workdir) for s in specs]
    seen: set[str] = set()
    for m in mounts:
        if m.target in seen:
            raise BuildFileError(f"--mount: {m.target} is mounted twice",
                                 hint="give each mount its own target")
        seen.add(m.target)
    return mounts


__all__ = ["RunMount", "parse_mount", "parse_mounts"]
