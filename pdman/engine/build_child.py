"""`build` for the API service: the same verb (engine/build.py), run in a child process.

Why a child: a RUN step starts a container the way `pdman run` does -- the clone must
happen while the process is single-threaded, the foreground session owns signal
handlers (main thread only) and the process's stdio -- and the service runs many
threads. So the service unpacks the context it received (`received_context`), and
`build_in_child` runs this installation's `pdman build` (the same interpreter or the
same PyInstaller binary, the same stores) with the options turned back into its flags,
handing each output line to the caller as it comes.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from contextlib import contextmanager

from pdman.engine.context import EngineContext
from pdman.entities.build import BuildOptions, BuildReport
from pdman.errors import BuildFileError, BuildStepFailed, PdmanError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

_IMAGE_ID = re.compile(r"^[0-9a-f]{64}$")


@contextmanager
def received_context(ctx: EngineContext, body: Any, containerfile: str
                     ) -> "Iterator[tuple[str, str]]":
    """A context sent as a tar stream (`body.read(n)`; gzip and friends too) unpacked
    for one build, as `build -` unpacks stdin: yields (context directory, the path of
    the Containerfile named inside it, "" to look for Containerfile/Dockerfile). The
    name is confined to the context, symlinks included."""
    import tarfile

    from pdman.build.sources import extract_context
    from pdman.image.ingest import LayerIngest

    with LayerIngest(ctx, "api-build", lazy=True) as ingest:
        top = os.path.join(ingest.area, "context")
        os.mkdir(top, 0o700)
        try:
            extract_context(body, top)
        except (tarfile.TarError, EOFError) as exc:
            raise UsageError(f"the build context is not a usable tar archive: {exc}",
                             hint="send the context directory as a tar archive") from None
        path = ""
        if containerfile:
            rel = posixpath.normpath(containerfile)
            path = os.path.realpath(os.path.join(top, rel.lstrip("/")))
            if not path.startswith(os.path.realpath(top) + os.sep) or not os.path.isfile(path):
                raise UsageError(f"the Dockerfile {containerfile!r} is not a file of the "
                                 "build context",
                                 hint="name a Dockerfile inside the context (dockerfile=)")
        yield top, path


def _flags(options: BuildOptions) -> list[str]:
    argv: list[str] = []
    for tag in options.tags:
        argv += ["-t", tag]
    for key, value in options.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in options.labels.items():
        argv += ["--label", f"{key}={value}"]
    if options.target:
        argv += ["--target", options.target]
    if options.no_cache:
        argv.append("--no-cache")
    if not options.layers:
        argv.append("--no-layers")
    if options.quiet:
        argv.append("-q")
    if options.network:
        argv += ["--network", options.network]
    if options.timestamp is not None:
        argv += ["--timestamp", str(options.timestamp)]
    if options.squash:
        argv.append("--squash-all" if options.squash == "all" else "--squash")
    argv += ["--pull", options.pull]
    if options.containerfile:
        argv += ["-f", options.containerfile]
    return argv


def build_in_child(ctx: EngineContext, options: BuildOptions,
                   on_line: "Callable[[str], None]") -> BuildReport:
    """Run the build verb in a child `pdman build`; each line it prints (steps, RUN
    output) goes to on_line, except its errors, raised here as the verb raised them."""
    from pdman.runtime.monitor import pdman_command

    if options.context == "-" or options.containerfile == "-":
        raise UsageError("a child build reads its context from a directory",
                         hint="unpack it with received_context() first")
    iidfile = os.path.join(os.path.dirname(os.path.abspath(options.context)), "iid")
    argv = pdman_command(ctx.paths.root, ctx.paths.runroot,
                         ["build", "--iidfile", iidfile, *_flags(options), options.context])
    errors: list[str] = []
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True) as child:
        assert child.stdout is not None
        for raw in child.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith(("Error: ", "Hint: ")) or (errors and line.startswith("  ")):
                errors.append(line)
            elif not _IMAGE_ID.match(line):
                on_line(line)
        code = child.wait()
    if code != 0:
        message = " ".join(e.removeprefix("Error: ").strip() for e in errors
                           if not e.startswith("Hint: ")) or f"the build exited {code}"
        hint = " ".join(e.removeprefix("Hint: ") for e in errors if e.startswith("Hint: "))
        if code == 1:
            raise BuildStepFailed(message, hint=hint or None)
        if "Containerfile" in message or "Dockerfile" in message:
            raise BuildFileError(message, hint=hint or None)
        raise PdmanError(message, hint=hint or None)
    try:
        with open(iidfile) as f:
            image_id = f.read().strip().removeprefix("sha256:")
    except OSError:
        raise PdmanError("the build gave no image ID") from None
    finally:
        if os.path.exists(iidfile):
            os.unlink(iidfile)
    return BuildReport(image_id, list(options.tags), [])


__all__ = ["build_in_child", "received_context"]
