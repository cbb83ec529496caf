"""Options and report of `build` (shared by the CLI and, later, the API's POST /build).

Plain `Record`s, not dataclasses: a cached rebuild is a short command (pdman/record.py).
"""

from __future__ import annotations

from pdman.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


class BuildOptions(Record):
    _required = ("context",)
    _lists = ("tags",)
    _dicts = ("build_args", "labels", "secrets")

    context: str                          # a directory, or "-" (a tar archive on stdin)
    containerfile: str = ""               # -f: path, "-" (stdin), or "" (look in the context)
    tags: list[str]
    build_args: dict[str, str]
    target: str = ""
    no_cache: bool = False
    layers: bool = True                   # --layers=false: no cache, no kept intermediates
    pull: str = "missing"                 # missing | always | never (--pull / --pull=never)
    quiet: bool = False
    iidfile: str = ""
    labels: dict[str, str]
    timestamp: int | None = None          # --timestamp: created times and file mtimes
    squash: str = ""                      # --squash: "new" layers, --squash-all: "all"
    network: str = ""                     # RUN's network: "" the default backend
    #: --secret: id -> "file:PATH" or "env:NAME", for RUN --mount=type=secret
    secrets: dict[str, str]
    rm: bool = True                       # remove RUN containers (always, even on failure)
    #: where STEP lines and results are printed (RUN output goes to the process's stdio)
    out: TextIO | None = None


class BuildReport(Record):
    def __init__(self, image_id: str, names: list[str], stages: list[int],
                 cached_steps: int = 0, run_steps: int = 0) -> None:
        self.image_id = image_id
        self.names = names
        self.stages = stages              # the stages built, by index
        self.cached_steps = cached_steps
        self.run_steps = run_steps
