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


def build(g: GlobalOptions, context: str | None, file: str | None, tag: list[str] | None,
          build_arg: list[str] | None, target: str | None, no_cache: bool, layers: bool,
          pull: str | None, pull_always: bool, pull_never: bool, quiet: bool, iidfile: str | None,
          label: list[str] | None, timestamp: int | None, network: str | None,
          squash: bool, squash_all: bool, secret: list[str] | None, rm: bool) -> int:
    from pdman.engine.build import build as engine_build
    from pdman.entities.build import BuildOptions

    policy = pull or ("always" if pull_always else "never" if pull_never else "missing")
    policy = {"true": "always", "false": "missing"}.get(policy.lower(), policy.lower())
    if policy not in ("missing", "always", "never", "newer"):
        raise UsageError(f"invalid --pull policy {pull!r}",
                         hint="use one of: missing, always, never, newer")
    if pull_always and pull_never:
        raise UsageError("--pull-always and --pull-never contradict each other", hint="give one")
    engine_build(g.context(), BuildOptions(
        context=context or ".", containerfile=file or "", tags=list(tag or []),
        build_args=_pairs(build_arg, "--build-arg", True), target=target or "",
        no_cache=no_cache, layers=layers, pull=policy, quiet=quiet,
        iidfile=iidfile or "", labels=_pairs(label, "--label", False), timestamp=timestamp,
        network=network or "", secrets=_secrets(secret), rm=rm,
        squash="all" if squash_all else "new" if squash else ""))
    return 0
