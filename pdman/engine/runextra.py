"""The run/create options of lower priority (issue #13), resolved into the container's
configuration as podman 4.3 resolves them: environment (--env-host, --env-merge,
--unsetenv[-all]), labels and annotations (--label-file, --annotation), --expose,
--group-add, --volumes-from, and the settings the spawn reads (--no-hosts, --pidfile,
--shm-size, --tz, --uts, --ipc, --read-only-tmpfs, --requires, --init-path,
--oom-score-adj, --dns-option, --dns-search, --umask).
"""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.entities.create import CreateOptions

#: the variables pdman sets unless the image or the user did (spec.build)
DEFAULT_ENV = ("PATH", "TERM", "HOSTNAME", "container")
#: podman's tmpfs mounts of a --read-only container (--read-only-tmpfs, the default)
READ_ONLY_TMPFS = ("/tmp", "/var/tmp", "/run")
ZONEINFO = "/usr/share/zoneinfo"


def with_exposed(icfg: "dict[str, Any]", expose: "list[str]") -> "dict[str, Any]":
    """The image config with --expose's ports added (so that -P publishes them too)."""
    if not expose:
        return icfg
    ports = dict(icfg.get("ExposedPorts") or {})
    for item in expose:
        port, _, proto = item.partition("/")
        proto = proto or "tcp"
        first, _, last = port.partition("-")
        if proto not in ("tcp", "udp", "sctp") or not first.isdigit() or \
                (last and not last.isdigit()):
            raise UsageError(f"invalid --expose {item!r}", hint="use PORT[-PORT][/tcp|udp]")
        lo, hi = int(first), int(last or first)
        if not 0 < lo <= hi < 65536:
            raise UsageError(f"invalid --expose port range {item!r}")
        for p in range(lo, hi + 1):
            ports[f"{p}/{proto}"] = {}
    return {**icfg, "ExposedPorts": ports}


def environment(options: "CreateOptions", image_env: "list[str]",
                user_env: "dict[str, str]") -> "list[str]":
    """image env < --env-host < --env-file/--env; then --env-merge, --unsetenv."""
    from pdman.engine import runopts

    base = [] if options.unsetenv_all else list(image_env)
    if options.env_host:
        base = runopts.merge_env(base, dict(os.environ))
    env: dict[str, str] = {}
    for item in runopts.merge_env(base, user_env):
        k, _, v = item.partition("=")
        env[k] = v
    if options.unsetenv_all:
        # only what the user gave: not even the default PATH
        env = {k: v for k, v in env.items() if k in user_env or options.env_host}
    for item in options.env_merge:
        key, sep, template = item.partition("=")
        if not key or not sep:
            raise UsageError(f"invalid --env-merge {item!r}", hint="use NAME=VALUE with ${NAME}")
        old = env.get(key, "")
        env[key] = template.replace("${" + key + "}", old).replace("$" + key, old)
    for name in options.unsetenv:
        env.pop(name, None)
    return [f"{k}={v}" for k, v in env.items()]


def labels(options: "CreateOptions") -> "list[str]":
    """--label-file lines (KEY=VALUE, `#` comments) before --label: later wins."""
    out: list[str] = []
    for path in options.label_files:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read label file {path}: {exc.strerror}") from None
        out += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return out + list(options.labels)


def _namespace(option: str, value: str, allowed: "tuple[str, ...]") -> str:
    mode = value or "private"
    if mode not in allowed:
        raise UsageError(f"--{option}={value}: not supported",
                         hint=f"use one of: {', '.join(allowed)}")
    return mode


def _tz(value: str) -> str:
    """The host file that becomes /etc/localtime."""
    if value == "local":
        path = os.path.realpath("/etc/localtime")
    else:
        path = os.path.realpath(os.path.join(ZONEINFO, value))
        if not path.startswith(ZONEINFO + "/"):
            raise UsageError(f"invalid --tz {value!r}", hint="use an Area/City name, or local")
    if not os.path.isfile(path):
        raise UsageError(f"finding timezone {value}: unknown time zone",
                         hint=f"use a name from {ZONEINFO}, or local")
    return path


def _volumes_from(ctx: EngineContext, items: "list[str]") -> "list[dict[str, Any]]":
    """The mounts of other containers (`CTR[:ro|rw]`), sharing their volumes."""
    from pdman.storage import container_records

    out: list[dict[str, Any]] = []
    for item in items:
        name, _, mode = item.partition(":")
        if mode not in ("", "ro", "rw", "z", "Z"):
            raise UsageError(f"invalid --volumes-from option {mode!r}", hint="use ro or rw")
        rec = container_records.find(ctx.catalog, name)
        for m in rec.config.get("mounts", []):
            if "host_path" not in m:
                continue
            copy = {k: v for k, v in m.items() if k != "anonymous"}
            copy["from_container"] = rec.id    # its volumes stay that container's
            if mode in ("ro", "rw"):
                copy["readonly"] = mode == "ro"
            out.append(copy)
    return out


def resolve(ctx: EngineContext, options: "CreateOptions", config: "dict[str, Any]",
            layer_dirs: "list[str]") -> None:
    """Add the settings of these options to `config` (resolve_config's result)."""
    from pdman.runtime import users

    if options.group_add:
        if "keep-groups" in options.group_add:
            raise UsageError("--group-add keep-groups: not supported",
                             hint="give the groups by name or GID")
        extra = users.group_ids(layer_dirs, list(options.group_add))
        config["additional_gids"] = list(dict.fromkeys([*config["additional_gids"], *extra]))
    if options.volumes_from:
        taken = {m["destination"] for m in config["mounts"]}
        config["mounts"] += [m for m in _volumes_from(ctx, options.volumes_from)
                             if m["destination"] not in taken]
    if options.annotations:
        from pdman.engine.runopts import key_values

        config["annotations"] = key_values(options.annotations, "annotation")
    if options.no_hosts:
        if options.add_hosts:
            raise UsageError("--no-hosts and --add-host cannot be set together")
        config["no_hosts"] = True
    if options.pidfile:
        config["pidfile"] = os.path.abspath(options.pidfile)
    if options.shm_size:
        from pdman.engine.runopts import memory_bytes

        config["shm_size"] = memory_bytes(options.shm_size)
    if options.tz:
        config["tz"] = _tz(options.tz)
    config["uts"] = _namespace("uts", options.uts or "", ("private", "host"))
    config["ipc"] = _namespace("ipc", options.ipc or "", ("private", "host", "shareable", "none"))
    if options.read_only and options.read_only_tmpfs:
        config["read_only_tmpfs"] = [d for d in READ_ONLY_TMPFS
                                     if d not in {m["destination"] for m in config["mounts"]}]
    if options.requires:
        from pdman.storage import container_records

        config["requires"] = [container_records.find(ctx.catalog, n).id
                              for item in options.requires for n in item.split(",") if n]
    if options.init_path:
        if not os.path.isfile(options.init_path):
            raise UsageError(f"--init-path {options.init_path}: no such file")
        config["init_path"] = os.path.abspath(options.init_path)
    if options.oom_score_adj is not None:
        if not -1000 <= options.oom_score_adj <= 1000:
            raise UsageError(f"invalid --oom-score-adj {options.oom_score_adj}",
                             hint="use a number from -1000 to 1000")
        config["oom_score_adj"] = options.oom_score_adj
    if options.umask is not None:
        try:
            config["umask"] = int(options.umask, 8)
        except ValueError:
            config["umask"] = -1
        if not 0 <= config["umask"] <= 0o777:
            raise UsageError(f"invalid umask string {options.umask}",
                             hint="use an octal mode, e.g. 0027")
    if options.unsetenv_all or options.unsetenv:
        config["unsetenv"] = (list(DEFAULT_ENV) if options.unsetenv_all
                              else list(options.unsetenv))


def after_start(config: "dict[str, Any]", pid: int) -> None:
    """What follows a start: --pidfile gets the container's PID."""
    path = config.get("pidfile")
    if path:
        from pdman.runtime import statefiles

        try:
            statefiles.write_atomic(path, f"{pid}", 0o644)
        except OSError as exc:
            raise UsageError(f"writing --pidfile {path}: {exc.strerror}") from None


def before_release(config: "dict[str, Any]", pid: int) -> None:
    """While the container waits at sync 2: --oom-score-adj (a rootless user may
    only raise it)."""
    if config.get("oom_score_adj") is None:
        return
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w", encoding="ascii") as f:
            f.write(str(config["oom_score_adj"]))
    except OSError as exc:
        raise UsageError(f"setting --oom-score-adj {config['oom_score_adj']}: {exc.strerror}",
                         hint="without privileges the score can only be raised") from None


def start_requirements(ctx: EngineContext, config: "dict[str, Any]") -> None:
    """--requires: start the containers this one needs, when they are not running."""
    if not config.get("requires"):
        return
    from pdman.engine import containers, lifecycle
    from pdman.storage import container_records

    for cid in config["requires"]:
        rec = containers.reconcile(ctx, container_records.find(ctx.catalog, cid))
        if rec.status not in ("running", "paused"):
            lifecycle.start_detached(ctx, rec)


class RootfsImage:
    """What `create` needs of an image, for --rootfs PATH[:O]: no config, no name, no
    ID (podman shows the container's Image and ImageName empty), the directory."""

    def __init__(self, rootfs: "dict[str, Any]") -> None:
        self.id = ""
        self.names: list[str] = []
        self.config: dict[str, Any] = {"config": {}}
        self.rootfs = rootfs


def rootfs_image(value: str) -> RootfsImage:
    """--rootfs's IMAGE argument, PATH or PATH:O, checked: an existing directory."""
    path, overlay = value, False
    if value.endswith(":O"):
        path, overlay = value[:-2], True
    full = os.path.realpath(path)
    if not os.path.isdir(full):
        what = "is not a directory" if os.path.exists(full) else "no such file or directory"
        raise UsageError(f"--rootfs {path}: {what}",
                         hint="give an exploded root filesystem directory (PATH, or PATH:O "
                              "for an overlay on it)")
    return RootfsImage({"path": full, "overlay": overlay, "given": value})


__all__ = ["RootfsImage", "after_start", "before_release", "environment", "labels", "resolve",
           "rootfs_image", "start_requirements", "with_exposed"]
