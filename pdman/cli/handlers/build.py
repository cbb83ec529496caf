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


def build(g: GlobalOptions, context: str | None, file: str | None, tag: list[str] | None,
          build_arg: list[str] | None, target: str | None, no_cache: bool, layers: bool,
          pull: str | None, pull_always: bool, pull_never: bool, quiet: bool, iidfile: str | None,
          label: list[str] | None, timestamp: int | None, network: str | None,
          rm: bool) -> int:
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
        network=network or "", rm=rm))
    return 0
