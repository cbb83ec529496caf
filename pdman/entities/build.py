"""Options and report of `build` (shared by the CLI and, later, the API's POST /build)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class BuildOptions:
    context: str                          # a directory, or "-" (a tar archive on stdin)
    containerfile: str = ""               # -f: path, "-" (stdin), or "" (look in the context)
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    layers: bool = True                   # --layers=false: no cache, no kept intermediates
    pull: str = "missing"                 # missing | always | never (--pull / --pull=never)
    quiet: bool = False
    iidfile: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    timestamp: int | None = None          # --timestamp: created times and file mtimes
    network: str = ""                     # RUN's network: "" the default backend
    rm: bool = True                       # remove RUN containers (always, even on failure)
    #: where STEP lines and results are printed (RUN output goes to the process's stdio)
    out: TextIO | None = None


@dataclass
class BuildReport:
    image_id: str
    names: list[str]
    stages: list[int]                     # the stages built, by index
    cached_steps: int = 0
    run_steps: int = 0
