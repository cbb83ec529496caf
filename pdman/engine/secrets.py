"""`pdman secret create|ls|inspect|rm|exists` and what `run/create --secret` gives a
container, as podman 4.3 has them.

A container gets a copy of each secret's data at create, in its own userdata directory
(0700 parents, the file read-only), bound read-only at /run/secrets/NAME (or `target`)
or, with `type=env`, put in the process's environment at each start -- never into the
container's stored configuration, so neither `inspect` nor `commit` shows it.
"""

from __future__ import annotations

import os
import re
import secrets as _random
import time
from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, SecretNotFound, UsageError
from pdman.storage.secrets import SecretStore

#: podman's limits on a secret
MAX_SIZE = 512000
_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")


def _rfc3339(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def create(ctx: EngineContext, name: str, data: bytes, driver: str = "file",
           labels: "dict[str, str] | None" = None,
           driver_opts: "dict[str, str] | None" = None) -> str:
    """Store a secret; its ID."""
    if driver != "file":
        raise UsageError(f"unknown secret driver {driver!r}", hint="use --driver file")
    if len(name) > 253 or not _NAME.match(name):
        raise UsageError(f"invalid secret name {name!r}",
                         hint="letters, digits, `_`, `.` and `-`, starting with a letter "
                              "or digit")
    if not 0 < len(data) < MAX_SIZE:
        raise UsageError(f"secret data must be larger than 0 and less than {MAX_SIZE} bytes")
    store = SecretStore(ctx.paths)
    with store.locked():
        if any(m["Name"] == name for m in store.all().values()):
            raise ConflictError(f"{name}: secret name in use")
        now = _rfc3339(time.time())
        secret_id = _random.token_hex(13)[:25]   # podman's IDs: 25 hex digits
        store.add({"ID": secret_id, "Name": name, "Driver": driver,
                   "Options": dict(driver_opts or {}), "Labels": dict(labels or {}),
                   "CreatedAt": now, "UpdatedAt": now}, data)
    return secret_id


def lookup(ctx: EngineContext, name: str) -> "dict[str, Any]":
    """A secret by name, full ID or unique ID prefix."""
    metas = list(SecretStore(ctx.paths).all().values())
    for m in metas:
        if name in (m["Name"], m["ID"]):
            return m
    found = [m for m in metas if name and m["ID"].startswith(name)]
    if len(found) == 1:
        return found[0]
    raise SecretNotFound(f'no secret with name or id "{name}": no such secret')


def list_secrets(ctx: EngineContext, filters: "tuple[str, ...]" = ()) -> "list[dict[str, Any]]":
    rows = list(SecretStore(ctx.paths).all().values())
    for f in filters:
        key, sep, value = f.partition("=")
        if key not in ("name", "id") or not sep:
            raise UsageError(f"invalid secret filter {f!r}", hint="use name=NAME or id=ID")
        field = "Name" if key == "name" else "ID"
        rows = [r for r in rows if r[field].startswith(value)]
    return rows


def remove(ctx: EngineContext, name: str) -> str:
    """Remove a secret; its ID (containers keep the copy they were given)."""
    store = SecretStore(ctx.paths)
    with store.locked():
        meta = lookup(ctx, name)
        store.delete(meta["ID"])
    return str(meta["ID"])


def report(ctx: EngineContext, meta: "dict[str, Any]") -> "dict[str, Any]":
    """`secret inspect`'s JSON object (podman's field names)."""
    opts = dict(meta.get("Options") or {})
    opts.setdefault("path", SecretStore(ctx.paths).data_dir)
    return {"ID": meta["ID"], "CreatedAt": meta["CreatedAt"], "UpdatedAt": meta["UpdatedAt"],
            "Spec": {"Name": meta["Name"],
                     "Driver": {"Name": meta["Driver"], "Options": opts},
                     "Labels": dict(meta.get("Labels") or {})}}


# -- a container's secrets ------------------------------------------------------------

def parse_secret_flag(ctx: EngineContext, spec: str) -> "dict[str, Any]":
    """`--secret NAME[,type=mount|env][,target=T][,uid=U][,gid=G][,mode=M]`."""
    name, *opts = spec.split(",")
    meta = lookup(ctx, name)
    out: dict[str, Any] = {"name": meta["Name"], "id": meta["ID"], "type": "mount",
                           "target": "", "uid": 0, "gid": 0, "mode": 0o444}
    for item in opts:
        key, sep, value = item.partition("=")
        if not sep or key not in ("type", "target", "uid", "gid", "mode"):
            raise UsageError(f"invalid --secret option {item!r}",
                             hint="use type=mount|env, target=, uid=, gid=, mode=")
        if key == "type":
            if value not in ("mount", "env"):
                raise UsageError(f"invalid --secret type {value!r}", hint="use mount or env")
            out["type"] = value
        elif key == "target":
            out["target"] = value
        else:
            try:
                out[key] = int(value, 8) if key == "mode" else int(value)
            except ValueError:
                raise UsageError(f"invalid --secret {key} {value!r}") from None
    if out["type"] == "env":
        if any(out[k] != d for k, d in (("uid", 0), ("gid", 0), ("mode", 0o444))):
            raise UsageError("--secret uid, gid and mode are for type=mount only")
        out["target"] = out["target"] or meta["Name"]
    else:
        target = out["target"] or meta["Name"]
        out["target"] = target if target.startswith("/") else "/run/secrets/" + target
    return out


def give_to_container(ctx: EngineContext, container_id: str, secrets: "list[dict[str, Any]]",
                      mapping: "Any") -> None:
    """Copy each secret's data into the container's userdata (at create)."""
    from pdman.storage.container_fs import ContainerDirs

    store = SecretStore(ctx.paths)
    folder = ContainerDirs(ctx.paths, container_id).userfile("secrets")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for i, s in enumerate(secrets):
        path = os.path.join(folder, f"{i}-{s['name']}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            data = memoryview(store.data(s["id"]))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        s["file"] = path
        if s["type"] == "mount":
            os.chmod(path, s["mode"])  # first: once given away, the file is not ours
            if (s["uid"], s["gid"]) != (0, 0) or mapping.host_uid(0) != os.getuid():
                from pdman.runtime.idmap import run_in_userns

                run_in_userns(os.chown, path, s["uid"], s["gid"], mapping=mapping)


def env_of(config: "dict[str, Any]") -> "dict[str, str]":
    """The `type=env` secrets' variables, read at start (never stored in the config)."""
    out: dict[str, str] = {}
    for s in config.get("secrets") or []:
        if s["type"] == "env":
            with open(s["file"], "rb") as f:
                out[s["target"]] = f.read().decode(errors="replace")
    return out


__all__ = ["create", "env_of", "give_to_container", "list_secrets", "lookup",
           "parse_secret_flag", "remove", "report"]
