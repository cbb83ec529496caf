"""Parsing of `create`/`run` option values, with docker's and podman's syntax.

Pure functions from strings to plain data (no I/O but reading --env-file), so the CLI
and the API service parse the same way and unit tests cover every form.
"""

from __future__ import annotations

import os

from pdman.errors import UsageError

#: podman's default capability set for containers
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
)

#: every capability the kernel knows (up to CAP_CHECKPOINT_RESTORE, 40)
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)


def _cap_name(name: str) -> str:
    n = name.strip().upper()
    if n == "ALL":
        return n
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    if n not in ALL_CAPS:
        raise UsageError(f"unknown capability {name!r}",
                         hint="use names like NET_ADMIN or CAP_NET_ADMIN (see capabilities(7))")
    return n


def capabilities(add: list[str] | None, drop: list[str] | None,
                 privileged: bool = False) -> list[str]:
    """The container's capability set: default ± --cap-add/--cap-drop (docker's order:
    drop applies first, so `--cap-drop=all --cap-add=chown` leaves CHOWN)."""
    caps = list(ALL_CAPS if privileged else DEFAULT_CAPS)
    drops = [_cap_name(c) for c in drop or []]
    adds = [_cap_name(c) for c in add or []]
    if "ALL" in drops:
        caps = []
    else:
        caps = [c for c in caps if c not in drops]
    if "ALL" in adds:
        caps = list(ALL_CAPS)
    else:
        caps += [c for c in adds if c not in caps]
    return caps


#: the largest --env-file read (a real one is a few KiB)
MAX_ENV_FILE = 16 << 20


def env_list(pairs: list[str] | None, env_files: list[str] | None,
             host_env: dict[str, str] | None = None) -> dict[str, str]:
    """`-e K=V`, `-e K` (value from the caller's environment, skipped if unset) and
    `--env-file` lines (`#` comments, blank lines); later wins."""
    host = os.environ if host_env is None else host_env
    out: dict[str, str] = {}
    for path in env_files or []:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_ENV_FILE + 1)
        except OSError as exc:
            raise UsageError(f"cannot read env file {path}: {exc.strerror}",
                             hint="check the --env-file path") from exc
        if len(data) > MAX_ENV_FILE:
            raise UsageError(f"env file {path} is larger than {MAX_ENV_FILE >> 20} MiB",
                             hint="an env file holds NAME=VALUE lines")
        try:
            lines = data.decode("utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise UsageError(f"env file {path} is not UTF-8 text (byte {exc.start})",
                             hint="an env file holds NAME=VALUE lines") from None
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            _one_env(line, out, host)
    for item in pairs or []:
        _one_env(item, out, host)
    return out


def _one_env(item: str, out: dict[str, str], host: "os._Environ[str] | dict[str, str]") -> None:
    key, eq, value = item.partition("=")
    if not key or any(c.isspace() for c in key) or "\0" in item:
        raise UsageError(f"invalid environment variable {item[:200]!r}",
                         hint="use -e NAME=VALUE (no NUL characters)")
    if eq:
        out[key] = value
    elif key.endswith("*"):
        prefix = key[:-1]
        out.update({k: v for k, v in host.items() if k.startswith(prefix)})
    elif key in host:
        out[key] = host[key]


def merge_env(image_env: list[str], overrides: dict[str, str]) -> list[str]:
    env: dict[str, str] = {}
    for item in image_env:
        k, _, v = item.partition("=")
        env[k] = v
    env.update(overrides)
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    return [f"{k}={v}" for k, v in env.items()]


def key_values(items: list[str] | None, option: str = "label") -> dict[str, str]:
    """`--label K=V`, `--opt K=V`, `--log-opt K=V` (`K` alone: empty value); later wins."""
    out = {}
    for item in items or []:
        k, _, v = item.partition("=")
        if not k:
            raise UsageError(f"invalid {option} {item!r}", hint=f"use --{option} KEY=VALUE")
        out[k] = v
    return out


def labels(items: list[str] | None) -> dict[str, str]:
    return key_values(items, "label")


_VOLUME_OPTS = {"ro", "rw", "z", "Z", "rbind", "bind", "private", "rprivate", "shared",
                "rshared", "slave", "rslave", "nocopy", "copy", "U", "O", "exec", "noexec",
                "suid", "nosuid", "dev", "nodev"}


def _is_named_volume(source: str) -> bool:
    return not source.startswith(("/", ".", "~"))


def volume(spec: str) -> dict[str, object]:
    """`-v SRC:DST[:OPTS]`, `-v DST` (anonymous volume). Returns a mount dict:
    {"type": "bind"|"volume", "source", "destination", "readonly", "options"}."""
    parts = spec.split(":")
    if len(parts) == 1:
        src, dst, opts = "", parts[0], ""
    elif len(parts) == 2:
        src, dst, opts = parts[0], parts[1], ""
    elif len(parts) == 3:
        src, dst, opts = parts
    else:
        raise UsageError(f"invalid volume {spec!r}", hint="use -v SOURCE:DESTINATION[:ro|rw]")
    if not dst.startswith("/"):
        raise UsageError(f"invalid volume {spec!r}: the container path must be absolute",
                         hint="use -v SOURCE:/path/in/container")
    options = [o for o in opts.split(",") if o]
    for o in options:
        if o not in _VOLUME_OPTS:
            raise UsageError(f"invalid volume option {o!r} in {spec!r}", hint="use ro or rw")
    readonly = "ro" in options
    if not src:
        return {"type": "volume", "source": "", "destination": dst, "readonly": readonly,
                "options": options}
    if _is_named_volume(src):
        import re       # here, not at the top: `run` without a named volume needs no `re`

        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", src):
            raise UsageError(f"invalid volume name {src!r}",
                             hint="host paths must be absolute; volume names use [a-zA-Z0-9_.-]")
        return {"type": "volume", "source": src, "destination": dst, "readonly": readonly,
                "options": options}
    return {"type": "bind", "source": os.path.abspath(os.path.expanduser(src)),
            "destination": dst, "readonly": readonly, "options": options}


def mount(spec: str) -> dict[str, object]:
    """`--mount type=bind|volume|tmpfs,source=..,target=..,readonly,...`."""
    fields: dict[str, str] = {}
    flags: set[str] = set()
    for part in spec.split(","):
        k, eq, v = part.partition("=")
        k = k.strip()
        if eq:
            fields[k] = v
        elif k:
            flags.add(k)
    kind = fields.pop("type", "volume")
    src = fields.pop("source", fields.pop("src", ""))
    dst = fields.pop("target", fields.pop("destination", fields.pop("dst", "")))
    readonly = bool(flags & {"readonly", "ro"}) or fields.pop("readonly", fields.pop("ro", "false")) in ("true", "1")
    if not dst.startswith("/"):
        raise UsageError(f"invalid --mount {spec!r}: target must be an absolute path",
                         hint="e.g. --mount type=bind,source=/data,target=/data")
    if kind == "bind":
        if not src:
            raise UsageError(f"invalid --mount {spec!r}: a bind mount needs source=",
                             hint="e.g. --mount type=bind,source=/data,target=/data")
        return {"type": "bind", "source": os.path.abspath(src), "destination": dst,
                "readonly": readonly, "options": []}
    if kind == "volume":
        return {"type": "volume", "source": src, "destination": dst, "readonly": readonly,
                "options": []}
    if kind == "tmpfs":
        opts = []
        if "tmpfs-size" in fields:
            opts.append(f"size={fields.pop('tmpfs-size')}")
        if "tmpfs-mode" in fields:
            opts.append(f"mode={fields.pop('tmpfs-mode')}")
        return {"type": "tmpfs", "source": "tmpfs", "destination": dst, "readonly": readonly,
                "options": opts}
    raise UsageError(f"unsupported mount type {kind!r}", hint="use bind, volume or tmpfs")


def tmpfs(spec: str) -> dict[str, object]:
    """`--tmpfs /run[:size=64m,mode=1777]`."""
    dst, _, opts = spec.partition(":")
    if not dst.startswith("/"):
        raise UsageError(f"invalid --tmpfs {spec!r}", hint="use --tmpfs /path[:options]")
    options = [o for o in opts.split(",") if o]
    return {"type": "tmpfs", "source": "tmpfs", "destination": dst,
            "readonly": "ro" in options, "options": [o for o in options if o not in ("ro", "rw")]}


#: --ulimit names (docker's) -> the resource module's RLIMIT_* suffix
ULIMITS = {"core": "CORE", "cpu": "CPU", "data": "DATA", "fsize": "FSIZE", "locks": "LOCKS",
           "memlock": "MEMLOCK", "msgqueue": "MSGQUEUE", "nice": "NICE", "nofile": "NOFILE",
           "nproc": "NPROC", "rss": "RSS", "rtprio": "RTPRIO", "rttime": "RTTIME",
           "sigpending": "SIGPENDING", "stack": "STACK", "as": "AS"}


def ulimits(items: list[str]) -> list[dict[str, object]]:
    """The container's rlimits: podman's rootless defaults (nofile and nproc raised to
    the caller's hard limits: a rootless container can never go above those), then
    each `--ulimit TYPE=SOFT[:HARD]` (-1: unlimited). A limit above the caller's hard
    one is refused when the container starts, by the kernel, naming it."""
    import resource

    out: dict[str, dict[str, object]] = {}
    for name in ("nofile", "nproc"):
        hard = resource.getrlimit(getattr(resource, "RLIMIT_" + ULIMITS[name]))[1]
        out[name] = {"type": name, "soft": hard, "hard": hard}
    for item in items:
        name, eq, values = item.partition("=")
        soft_text, _, hard_text = values.partition(":")
        try:
            if name not in ULIMITS or not eq:
                raise ValueError
            soft = int(soft_text)
            hard = int(hard_text) if hard_text else soft
            if soft < -1 or hard < -1 or (hard != -1 and (soft == -1 or soft > hard)):
                raise ValueError
        except ValueError:
            raise UsageError(f"invalid --ulimit {item!r}",
                             hint="use TYPE=SOFT[:HARD] with SOFT <= HARD (-1: unlimited), "
                             "TYPE one of " + ", ".join(sorted(ULIMITS))) from None
        out[name] = {"type": name, "soft": soft, "hard": hard}
    return list(out.values())


def memory_bytes(value: str) -> int:
    """`512m`, `1g`, `1024k`, `1048576` -> bytes (docker's units, binary)."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*", value.lower())
    if not m:
        raise UsageError(f"invalid size {value!r}", hint="use a number with b, k, m or g, e.g. 512m")
    scale = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    return int(float(m.group(1)) * scale)


def user_spec(spec: str) -> tuple[str, str]:
    """`-u USER[:GROUP]` -> (user, group) strings, names or numbers."""
    user, _, group = spec.partition(":")
    if not user:
        raise UsageError(f"invalid --user {spec!r}", hint="use --user NAME|UID[:GROUP|GID]")
    return user, group


def entrypoint_argv(value: str) -> list[str]:
    """`--entrypoint`: a JSON array of strings (`'["/bin/echo","x"]'`) is the argv, as in
    podman; anything else is one program path; empty clears the image's entrypoint."""
    if value.startswith("["):
        import json

        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return parsed
    return [value] if value else []
