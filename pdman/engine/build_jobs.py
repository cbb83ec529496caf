"""`build --jobs N`: stages that do not depend on each other built at the same time.

Each stage runs in a forked child process of its own (a RUN step's container is started
in the foreground with signal handling and stdio of the process, which threads would
share), with its own catalog connection and layer ingest; the parent pulls the stage's
base first (two stages on one base never pull it twice at once), then schedules a stage
as soon as the stages it reads (FROM, COPY --from, RUN --mount from=) are done, at most
N at once. A child hands back the stage's result (its config, cache key and image) in a
file; its step numbers are the ones the sequential build would print, so interleaved
output still says which step a line belongs to. The first failure stops new stages from
starting; the running ones finish, then the error is the build's.
"""

from __future__ import annotations

import json
import os
import sys
import time

from pdman.build import plan
from pdman.build.plan import StageState
from pdman.engine.build_session import BuildSession
from pdman.errors import PdmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    StartStage = Callable[[BuildSession, int], StageState]
    FinishStage = Callable[[BuildSession, int, StageState, bool], StageState]


def build_stages(b: BuildSession, needed: list[int], jobs: int, start: "StartStage",
                 finish: "FinishStage") -> None:
    """Fill b.results for the stages `needed`, up to `jobs` at a time."""
    offsets: dict[int, int] = {}
    n = 0
    for i in needed:
        offsets[i] = n
        n += 1 + len(b.cf.stages[i].instructions)
    wanted = set(needed)
    deps = {i: plan.dependencies(b.cf, b.cf.stages[i], b.gargs) & wanted for i in needed}
    pending = list(needed)
    running: dict[int, tuple[int, str]] = {}            # pid -> (stage, result file)
    failure: PdmanError | None = None
    while pending or running:
        if failure is None:
            for i in [i for i in pending if deps[i] <= set(b.results)]:
                if len(running) >= jobs:
                    break
                pending.remove(i)
                b.step = offsets[i]
                try:
                    state = start(b, i)
                except PdmanError as exc:
                    failure = exc
                    break
                pid, path = _fork(b, i, offsets[i], state, i == needed[-1], finish)
                running[pid] = (i, path)
        if not running:
            break
        pid, status = _wait_any(running)
        i, path = running.pop(pid)
        try:
            error = _collect(b, i, path, status)
        finally:
            if os.path.exists(path):
                os.unlink(path)
        if error is not None and failure is None:
            failure = error
    if failure is not None:
        raise failure
    b.step = n


def _wait_any(running: dict[int, tuple[int, str]]) -> tuple[int, int]:
    # only our stage children: the process may have others (an extractor)
    while True:
        for pid in running:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got:
                return got, status
        time.sleep(0.05)


def _fork(b: BuildSession, i: int, offset: int, state: StageState, final: bool,
          finish: "FinishStage") -> tuple[int, str]:
    import tempfile

    fd, path = tempfile.mkstemp(prefix=f"stage-{i}-", suffix=".json", dir=b.ingest.area)
    os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    if b.out is not sys.stdout:
        b.out.flush()
    pid = os.fork()
    if pid:
        return pid, path
    result: dict[str, Any]
    try:
        result = _child(b, i, offset, state, final, finish)
    except PdmanError as exc:
        result = {"error": [type(exc).__name__, exc.message, exc.hint]}
    except BaseException:                                  # a bug: shown, not hidden
        import traceback

        traceback.print_exc()
        result = {"error": ["PdmanError", f"building stage {i + 1} failed unexpectedly",
                            "see the traceback above"]}
    try:
        with open(path, "w") as f:
            json.dump(result, f)
        for stream in (b.out, sys.stdout, sys.stderr):
            stream.flush()
    finally:
        os._exit(0)


def _child(b: BuildSession, i: int, offset: int, state: StageState, final: bool,
           finish: "FinishStage") -> dict[str, Any]:
    from pdman.engine.context import EngineContext
    from pdman.image.ingest import LayerIngest

    # the parent's catalog connection and ingest are not this process's to use
    ctx = EngineContext(b.ctx.paths)
    try:
        with LayerIngest(ctx, "build", lazy=True) as ingest:
            b.ctx, b.ingest = ctx, ingest
            b.step = offset + 1
            b.cached = b.runs = 0
            state = finish(b, i, state, final)
    finally:
        ctx.close()
    return {"config": state.config, "key": state.key, "image_id": state.image_id,
            "base_layers": state.base_layers, "base_history": state.base_history,
            "cached": b.cached, "runs": b.runs}


def _collect(b: BuildSession, i: int, path: str, status: int) -> PdmanError | None:
    try:
        with open(path) as f:
            result = json.load(f)
    except (OSError, ValueError):
        code = os.waitstatus_to_exitcode(status)
        return PdmanError(f"building stage {i + 1} ended without a result (status {code})",
                          hint="see the output above")
    if "error" in result:
        from pdman import errors

        name, message, hint = result["error"]
        cls = getattr(errors, name, PdmanError)
        if not (isinstance(cls, type) and issubclass(cls, PdmanError)):
            cls = PdmanError
        return cls(message, hint=hint)
    state = StageState(result["config"], result["key"], result["image_id"], b.gargs,
                       b.options.build_args, b.escape)
    state.base_layers = result["base_layers"]
    state.base_history = result["base_history"]
    b.results[i] = state
    b.cached += result["cached"]
    b.runs += result["runs"]
    return None


__all__ = ["build_stages"]
