"""Volume verbs: create, list, inspect, remove, prune. A named volume is a directory
`<root>/volumes/<name>/_data` owned by the user (container root)."""

from __future__ import annotations

import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pdman.engine import events
from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, UsageError
from pdman.storage import volume_records
from pdman.storage.volume_records import VolumeRecord

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@dataclass(frozen=True)
class CreateVolumeOptions:
    name: str | None = None
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ignore: bool = False


def report(rec: VolumeRecord) -> dict[str, Any]:
    """`volume inspect` fields, as podman prints them."""
    import datetime as dt

    return {
        "Name": rec.name, "Driver": rec.driver, "Mountpoint": rec.mountpoint,
        "CreatedAt": dt.datetime.fromtimestamp(rec.created).astimezone().isoformat(),
        "Labels": rec.labels, "Scope": "local", "Options": rec.options,
    }


def _mount_options(options: dict[str, str]) -> list[str]:
    return [o for o in options.get("o", "").split(",") if o]


def _check_options(options: dict[str, str]) -> None:
    """The local driver's `-o type=... -o o=... -o device=...`: a bind volume's device
    must exist (podman checks it at create with the same words)."""
    kind = options.get("type", "")
    if kind == "bind" or "bind" in _mount_options(options) or "rbind" in _mount_options(options):
        device = options.get("device", "")
        if not device:
            raise UsageError("invalid volume option: a bind volume needs -o device=PATH",
                             hint="e.g. volume create -o type=bind -o device=/srv/data NAME")
        import os

        try:
            os.stat(device)
        except OSError as e:
            raise UsageError(
                f"invalid volume option device for driver 'local': stat {device}: "
                f"{(e.strerror or str(e)).lower()}",
                hint="create the directory first; the device of a bind volume must exist") from None


def backing(rec: VolumeRecord) -> tuple[str, str | list[str]] | None:
    """What a container mounts for this volume when not its own directory:
    ("tmpfs", mount options) for `-o type=tmpfs`, ("bind", host path) for
    `-o type=bind` / `-o o=bind` with `-o device=PATH`; None for a plain volume."""
    opts = rec.options or {}
    if opts.get("type") == "tmpfs":
        return ("tmpfs", _mount_options(opts))
    if opts.get("device") and (opts.get("type") == "bind" or
                               {"bind", "rbind"} & set(_mount_options(opts))):
        return ("bind", opts["device"])
    return None


def create(ctx: EngineContext, options: CreateVolumeOptions) -> VolumeRecord:
    _check_options(options.options)
    if options.driver != "local":
        raise UsageError(f"volume driver {options.driver!r} is not supported",
                         hint="use the default driver `local`")
    name = options.name or secrets.token_hex(32)
    if not _NAME.match(name):
        raise UsageError(f"invalid volume name {name!r}",
                         hint="names start with a letter or digit and use [a-zA-Z0-9_.-]")
    base = Path(ctx.paths.volumes) / name
    rec = VolumeRecord(name, "local", str(base / "_data"), time.time(), dict(options.labels),
                       dict(options.options))
    cat = ctx.catalog
    if options.ignore:
        try:
            return volume_records.get(cat, name)
        except Exception:
            pass
    # the directory first: a crash before the row leaves only an empty dir that a
    # second create reuses, never a row without its directory
    (base / "_data").mkdir(parents=True, exist_ok=True)
    volume_records.insert(cat, rec, ignore_existing=options.ignore)
    events.emit(ctx.paths, "volume", "create", name=name)
    return volume_records.get(cat, name)


def list_volumes(ctx: EngineContext, filters: tuple[str, ...] = ()) -> list[VolumeRecord]:
    rows = volume_records.list_all(ctx.catalog)
    used = volume_records.users(ctx.catalog) if filters else {}
    for f in filters:
        key, _, value = f.partition("=")
        if key == "name":
            rows = [r for r in rows if re.search(value, r.name)]
        elif key == "label":
            k, eq, v = value.partition("=")
            rows = [r for r in rows if k in r.labels and (not eq or r.labels[k] == v)]
        elif key == "dangling":
            want = value.lower() in ("true", "1")
            rows = [r for r in rows if (r.name not in used) == want]
        elif key == "driver":
            rows = [r for r in rows if r.driver == value]
        else:
            raise UsageError(f"invalid volume filter {key!r}",
                             hint="supported: name, label, dangling, driver")
    return rows


def inspect(ctx: EngineContext, name: str) -> VolumeRecord:
    return volume_records.get(ctx.catalog, name)


def remove(ctx: EngineContext, name: str, force: bool = False,
           stop_timeout: int | None = None) -> None:
    """`volume rm`: refused while containers use it, unless `force`, which removes
    them (stopped first, given `stop_timeout`, as `rm -f -t`)."""
    cat = ctx.catalog
    rec = volume_records.get(cat, name)
    users = volume_records.users(cat).get(name, [])
    if users:
        if not force:
            raise ConflictError(
                f"volume {name!r} is being used by container(s) {', '.join(u[:12] for u in users)}",
                hint="remove those containers first, or use --force to remove them too")
        from pdman.engine import containers

        for cid in users:
            containers.stop_then_remove(ctx, cid, stop_timeout)
    volume_records.delete(cat, name)
    shutil.rmtree(Path(rec.mountpoint).parent, ignore_errors=True)
    events.emit(ctx.paths, "volume", "remove", name=name)


def prune(ctx: EngineContext, filters: tuple[str, ...] = ()) -> list[str]:
    dangling = list_volumes(ctx, filters + ("dangling=true",))
    for rec in dangling:
        remove(ctx, rec.name)
        events.emit(ctx.paths, "volume", "prune", name=rec.name)
    return [r.name for r in dangling]


def _chown_tree(path: str, uid: int, gid: int) -> None:
    """In the user namespace: PATH and everything below it to uid:gid, links not
    followed below the top (a link inside a bind source may lead anywhere)."""
    import os

    os.chown(path, uid, gid)
    for top, dirs, files in os.walk(path, followlinks=False):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)


def chown_for_container(path: str, uid: int, gid: int) -> None:
    """`-v SRC:DST:U`: SRC recursively owned by the container's user, its IDs mapped
    through the container's user namespace as podman does (container root = the user)."""
    from pdman.errors import RuntimeFailure
    from pdman.runtime.idmap import run_in_userns

    try:
        run_in_userns(_chown_tree, path, uid, gid)
    except OSError as e:
        raise RuntimeFailure(f"cannot chown {path} to {uid}:{gid} for the :U option: "
                             f"{e.strerror or e}",
                             hint="the files must belong to you or to your subordinate IDs") from None
