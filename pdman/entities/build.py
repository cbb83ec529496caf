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
    _lists = ("tags", "outputs", "env", "unsetenv")
    _dicts = ("build_args", "labels", "annotations", "secrets", "run_options",
              "build_contexts")

    context: str                          # a directory, or "-" (a tar archive on stdin)
    containerfile: str = ""               # -f: path, "-" (stdin), or "" (look in the context)
    tags: list[str]
    build_args: dict[str, str]
    target: str = ""
    no_cache: bool = False
    layers: bool = True                   # --layers=false: no cache, no kept intermediates
    cache_ttl: float | None = None        # --cache-ttl: only cache entries this young (s)
    pull: str = "missing"                 # missing | always | never (--pull / --pull=never)
    quiet: bool = False
    iidfile: str = ""
    labels: dict[str, str]
    #: --annotation: the final image's manifest annotations (OCI format only)
    annotations: dict[str, str]
    timestamp: int | None = None          # --timestamp: created times and file mtimes
    squash: str = ""                      # --squash: "new" layers, --squash-all: "all"
    network: str = ""                     # RUN's network: "" the default backend
    #: --secret: id -> "file:PATH" or "env:NAME", for RUN --mount=type=secret
    secrets: dict[str, str]
    #: --output: "type=local,dest=DIR", "type=tar,dest=FILE|-", "DIR" or "-"
    outputs: list[str]
    platform: str = ""                    # --platform os/arch[/variant]: "" the host's
    env: list[str]                        # --env KEY=VALUE: every stage's config
    unsetenv: list[str]                   # --unsetenv: RUN steps and the final image
    #: RUN's container options as CreateOptions fields (--add-host, --cap-add, ...)
    run_options: dict[str, object]
    #: --build-context NAME=VALUE (a directory, a URL, docker-image://REF)
    build_contexts: dict[str, str]
    from_image: str = ""                  # --from: replaces the image of the first FROM
    jobs: int = 1                         # stages built at once (0: as many as can be)
    ignorefile: str = ""                  # --ignorefile: the ignore rules' file
    skip_unused_stages: bool = True       # false: every stage up to the target is built
    omit_history: bool = False            # the image gets no history entries
    identity_label: bool = True           # the io.pdman.version label, as buildah's
    stdin: bool = False                   # RUN steps read pdman's stdin
    format: str = "oci"                   # the manifest type: oci or docker
    manifest: str = ""                    # --manifest: the list the image is added to
    #: FROM and COPY --from pulls: tries after a failed one and the pause between them
    retry: int = 3
    retry_delay: float = 2.0
    tls_verify: bool | None = None
    authfile: str = ""
    creds: str = ""
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
