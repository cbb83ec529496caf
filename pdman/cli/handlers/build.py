"""Handler of `build`: the options object, then the engine verb (engine/build.py)."""

from __future__ import annotations

import os

from pdman.cli.globalopts import GlobalOptions
from pdman.errors import UsageError


def _pairs(items: list[str] | None, option: str, from_env: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {option} {item!r}", hint=f"write {option} KEY=VALUE")
        if not eq and from_env:
            if key not in os.environ:
                continue
            value = os.environ[key]
        out[key] = value
    return out


def _secrets(items: list[str] | None) -> dict[str, str]:
    """`--secret id=ID,src=FILE` (also source=, type=file) or `id=ID,env=NAME` (type=env;
    `id=ID` alone reads the variable ID when no file is named), as podman takes them."""
    out: dict[str, str] = {}
    for item in items or []:
        fields = dict(part.partition("=")[::2] for part in item.split(",") if part)
        sid = fields.pop("id", "")
        src = fields.pop("src", fields.pop("source", ""))
        env = fields.pop("env", "")
        kind = fields.pop("type", "env" if env else "file")
        if not sid or fields or kind not in ("file", "env") or (src and env):
            raise UsageError(f"invalid --secret {item!r}",
                             hint="write --secret id=ID,src=FILE or --secret id=ID,env=NAME")
        if kind == "env" or (not src and not env and kind != "file"):
            name = env or src or sid
            if name not in os.environ:
                raise UsageError(f"--secret {item}: the environment variable {name} is not set",
                                 hint="export it, or give src=FILE")
            out[sid] = "env:" + name
            continue
        path = os.path.abspath(src or sid)
        if not os.path.isfile(path):
            raise UsageError(f"--secret {item}: {path} is not a readable file",
                             hint="give src=FILE naming the secret's file")
        out[sid] = "file:" + path
    return out


#: build's RUN options -> the CreateOptions fields `run` fills from the same flags
_RUN_FIELDS = {"add_host": "add_hosts", "cap_add": "cap_add", "cap_drop": "cap_drop",
               "dns": "dns", "dns_option": "dns_options", "dns_search": "dns_search",
               "no_hosts": "no_hosts", "security_opt": "security_opt", "shm_size": "shm_size",
               "ulimit": "ulimits", "volume": "volumes", "device": "devices",
               "memory": "memory", "memory_swap": "memory_swap", "cpu_shares": "cpu_shares",
               "cpuset_cpus": "cpuset_cpus", "ipc": "ipc", "pid": "pid", "uts": "uts",
               "cgroupns": "cgroupns", "http_proxy": "http_proxy",
               "cgroup_parent": "cgroup_parent"}


def _run_options(given: dict[str, object]) -> dict[str, object]:
    """The RUN options given, as CreateOptions fields: the engine's create checks them as
    it checks `run`'s (the first RUN step fails with run's message on a bad one)."""
    out: dict[str, object] = {}
    for name, value in given.items():
        field = _RUN_FIELDS[name]
        if value is None or value is False and field != "http_proxy" or value == []:
            continue
        if field == "http_proxy" and value is True:
            continue
        out[field] = list(value) if isinstance(value, (list, tuple)) else value
    return out


def _env(items: list[str] | None) -> list[str]:
    out = []
    for item in items or []:
        key, eq, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid --env {item!r}", hint="write --env KEY=VALUE")
        if not eq:
            if key not in os.environ:
                continue
            value = os.environ[key]
        out.append(f"{key}={value}")
    return out


def _duration(text: str, option: str = "--retry-delay") -> float:
    """A Go duration as podman's --retry-delay and --cache-ttl take it (2s, 500ms,
    1h30m), or plain seconds."""
    value = text.strip()
    units = (("ms", 0.001), ("us", 1e-6), ("ns", 1e-9), ("h", 3600.0), ("m", 60.0),
             ("s", 1.0))
    seconds, number = 0.0, ""
    ok = bool(value)
    i = 0
    while ok and i < len(value):
        ch = value[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = next((u for u in units if value.startswith(u[0], i)), None)
        if unit is None or not number:
            ok = False
            break
        try:
            seconds += float(number) * unit[1]
        except ValueError:
            ok = False
        number = ""
        i += len(unit[0])
    if ok and number:                   # a bare number: seconds
        try:
            seconds += float(number)
        except ValueError:
            ok = False
    if not ok:
        raise UsageError(f"invalid {option} {text!r}", hint="write e.g. 2s, 500ms or 1h30m")
    return seconds


def _log_to(path: str) -> None:
    """--logfile: the process's stdout and stderr (RUN steps inherit them) go to FILE."""
    import sys

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UsageError(f"--logfile {path}: {exc.strerror}",
                         hint="name a file in a writable directory") from None
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _platform(platform: str, os_: str, arch: str, variant: str) -> str:
    """--platform (one: a list builds a manifest list, which is not built yet) or
    --os/--arch/--variant, as os/arch[/variant]; "" for the host's."""
    if not (platform or os_ or arch or variant):
        return ""
    if "," in platform:
        raise UsageError(f"--platform {platform}: building for several platforms at once "
                         "(a manifest list) is not supported yet",
                         hint="build once per platform")
    from pdman.image.manifest import wanted_platform

    return str(wanted_platform(platform, os_, arch, variant))


def build(g: GlobalOptions, context: str | None, file: str | None, tag: list[str] | None,
          build_arg: list[str] | None, target: str | None, no_cache: bool, layers: bool,
          pull: str | None, pull_always: bool, pull_never: bool, quiet: bool, iidfile: str | None,
          label: list[str] | None, timestamp: int | None, network: str | None,
          squash: bool, squash_all: bool, secret: list[str] | None,
          output: list[str] | None = None, platform: str | None = None,
          arch: str | None = None, os_: str | None = None, variant: str | None = None,
          env: list[str] | None = None, unsetenv: list[str] | None = None,
          build_context: list[str] | None = None, jobs: int = 1, from_: str | None = None,
          ignorefile: str | None = None, skip_unused_stages: bool = True,
          omit_history: bool = False, identity_label: bool = True, stdin: bool = False,
          format: str | None = None, logfile: str | None = None, retry: int = 3,
          retry_delay: str = "2s", tls_verify: str | None = None, authfile: str | None = None,
          creds: str | None = None, force_rm: bool = True,
          rm: bool = True, annotation: list[str] | None = None, manifest: str | None = None,
          cache_ttl: str | None = None, compress: bool = False,
          disable_compression: bool = True,
          **run_options: object) -> int:
    from pdman.engine.build import build as engine_build
    from pdman.entities.build import BuildOptions

    policy = pull or ("always" if pull_always else "never" if pull_never else "missing")
    policy = {"true": "always", "false": "missing"}.get(policy.lower(), policy.lower())
    if policy not in ("missing", "always", "never", "newer"):
        raise UsageError(f"invalid --pull policy {pull!r}",
                         hint="use one of: missing, always, never, newer")
    if pull_always and pull_never:
        raise UsageError("--pull-always and --pull-never contradict each other", hint="give one")
    fmt = (format or os.environ.get("BUILDAH_FORMAT") or "oci").lower()
    if fmt not in ("oci", "docker"):
        raise UsageError(f"unrecognized image type {format!r}", hint="use --format oci or docker")
    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: must not be negative", hint="e.g. --jobs 2")
    if retry < 0:
        raise UsageError(f"--retry {retry}: must not be negative", hint="e.g. --retry 3")
    from pdman.cli.handlers.containers import _tls

    tls = _tls(tls_verify)
    delay = _duration(retry_delay)
    if logfile:
        _log_to(logfile)
    engine_build(g.context(), BuildOptions(
        context=context or ".", containerfile=file or "", tags=list(tag or []),
        build_args=_pairs(build_arg, "--build-arg", True), target=target or "",
        no_cache=no_cache, layers=layers, pull=policy, quiet=quiet,
        cache_ttl=_duration(cache_ttl, "--cache-ttl") if cache_ttl is not None else None,
        iidfile=iidfile or "", labels=_pairs(label, "--label", False), timestamp=timestamp,
        annotations=_pairs(annotation, "--annotation", False), manifest=manifest or "",
        network=network or "", secrets=_secrets(secret), rm=rm, outputs=list(output or []),
        platform=_platform(platform or "", os_ or "", arch or "", variant or ""),
        env=_env(env), unsetenv=list(unsetenv or []), run_options=_run_options(run_options),
        build_contexts=_pairs(build_context, "--build-context", False), jobs=jobs,
        from_image=from_ or "",
        ignorefile=ignorefile or "", skip_unused_stages=skip_unused_stages,
        omit_history=omit_history, identity_label=identity_label, stdin=stdin, format=fmt,
        retry=retry, retry_delay=delay, tls_verify=tls, authfile=authfile or "",
        creds=creds or "",
        squash="all" if squash_all else "new" if squash else ""))
    return 0
