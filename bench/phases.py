"""Where `pdman run --rm IMAGE true` spends its time, phase by phase.

    python3 bench/phases.py --runs N -- run --rm [--network none] IMAGE true
    python3 bench/phases.py --hot --runs N -- ps      # (images, inspect NAME, --version)

Runs the command N times, each in a fresh interpreter (`--once`), with the engine's
stage functions wrapped by timers (monotonic clock, in this process only: nothing is
changed in pdman), and prints the median milliseconds per phase as JSON. Phases:

  interpreter   the process start up to this script's first line (the caller measures
                `python3 -I -S -c pass` for the bare floor)
  imports       pdman's modules on run's path (imported up front here, so that the
                lazy imports inside the stages do not count twice)
  create        image lookup, configuration, the container's directories, the record
  spawn         clone into the namespaces (the child then waits at sync 1)
  helpers       network attach (pasta started and waited for) and the ID maps
                (newuidmap/newgidmap), which overlap; with pasta the child's
                mounts overlap the wait for it too (spec.network_late)
  release       cgroup, then the child's mounts, pivot_root and exec (with pasta:
                sync 2 sent early, then the exec once the child sees its network
                configured -- or sync 9, once pasta is ready)
  container     the container's own run, until pdman sees its exit
  teardown      network and cgroup teardown, the exit recorded
  remove        `--rm`: record deleted, directories removed
  other         the rest (argument parsing, logs, events)

With --hot (the commands that only read the catalog), the phases are:

  interpreter   as above
  imports       every import, the ones made up front and the lazy ones inside the
                command (builtins.__import__ timed)
  catalog       opening the catalog (schema check) and reading the records from it,
                JSON decoding of their documents included
  other         the rest: argument parsing, the command's own work, its output
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

T0 = time.perf_counter()
#: (phase, stage function) wrapped with a timer; a phase may collect several
STAGES = (
    ("create", "pdman.engine.containers", "create"),
    ("spawn", "pdman.runtime.native", "spawn"),
    ("helpers", "pdman.network", "begin_attach"),
    ("helpers", "pdman.runtime.idmap", "write_maps"),
    ("helpers", "pdman.network.pasta", "Starting.finish"),
    ("release", "pdman.cgroups", "attach"),
    ("release", "pdman.runtime.native", "release"),
    ("release", "pdman.runtime.native", "release_early"),
    ("release", "pdman.runtime.native", "network_ready"),
    ("release", "pdman.runtime.spawn", "_await_watched"),
    ("container", "pdman.runtime.foreground", "ForegroundSession.wait"),
    ("teardown", "pdman.engine.containers", "_teardown"),
    ("teardown", "pdman.storage.container_records", "update_state"),
    ("remove", "pdman.engine.containers", "remove"),
)
PHASES = ("interpreter", "imports", "create", "spawn", "helpers", "release", "container",
          "teardown", "remove", "other")
HOT_PHASES = ("interpreter", "imports", "catalog", "other")
#: modules whose every function is a catalog read or write (--hot)
CATALOG_MODULES = ("pdman.storage.container_records", "pdman.storage.image_records")


def _line(spent: "dict[str, float]") -> str:
    """One JSON line, without importing json in the timed process (the command may not)."""
    return "{" + ", ".join(f'"{k}": {v!r}' for k, v in spent.items()) + "}\n"


def _leave(code: int) -> int:
    """Exit as the `pdman` script does (without the interpreter's teardown when pdman's
    `leave` allows it), so that the interpreter phase is the command's."""
    try:
        from pdman.__main__ import leave
    except ImportError:             # an older pdman
        return code
    leave(code)
    return code


def _timer(spent: "dict[str, float]") -> "Callable[[str, Any], Any]":
    """timed(phase, fn): `fn` whose time goes to `spent[phase]` -- when not nested in
    another timed call (that one counts it)."""
    depth = [0]

    def timed(phase: str, fn: "Any") -> "Any":
        def wrapper(*a: object, **k: object) -> object:
            if depth[0]:
                return fn(*a, **k)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[phase] += (time.perf_counter() - start) * 1000
                depth[0] -= 1
        return wrapper
    return timed


def _main_timed(main: "Callable[[], Any]", argv: list[str], spent: "dict[str, float]",
                other: "Callable[[float], float]") -> int:
    """pdman's main() on `argv`; its phases written as one line, `other` computed from
    the total by `other`."""
    sys.argv = ["pdman", *argv]
    t = time.perf_counter()
    try:
        code = main()
    finally:
        spent["other"] = other((time.perf_counter() - t) * 1000)
        with open(os.environ.get("PHASES_OUT", "/dev/stderr"), "a") as f:
            f.write(_line(spent))
    return int(code or 0)


def once_hot(argv: list[str]) -> int:
    """One hot command, timed by phase (see the module's docstring)."""
    import builtins
    import importlib

    spent = dict.fromkeys(HOT_PHASES, 0.0)
    timed = _timer(spent)

    t = time.perf_counter()
    from pdman.__main__ import main

    # the catalog's modules, to wrap them: not for a command that never opens it
    reads = argv not in (["--version"], ["-v"])
    mods = [importlib.import_module(m) for m in CATALOG_MODULES] if reads else []
    upfront = spent["imports"] = (time.perf_counter() - t) * 1000
    builtins.__import__ = timed("imports", builtins.__import__)  # type: ignore[assignment]
    if reads:
        from pdman.storage import catalog

        catalog.Catalog.__init__ = timed("catalog", catalog.Catalog.__init__)  # type: ignore[method-assign]
    for mod in mods:
        for name, fn in list(vars(mod).items()):
            if callable(fn) and getattr(fn, "__module__", None) == mod.__name__ and \
                    not isinstance(fn, type):
                setattr(mod, name, timed("catalog", fn))
    return _main_timed(main, argv, spent,
                       lambda total: total - spent["catalog"] - (spent["imports"] - upfront))


def once(argv: list[str]) -> int:
    import importlib

    spent = dict.fromkeys(PHASES, 0.0)
    t = time.perf_counter()
    from pdman.__main__ import main

    for mod in ("pdman.engine.containers", "pdman.engine.images", "pdman.runtime.spawn",
                "pdman.runtime.spec", "pdman.runtime.foreground", "pdman.network",
                "pdman.network.backends", "pdman.cgroups", "pdman.storage.container_fs",
                "pdman.runtime.idmap", "pdman.runtime.native"):
        importlib.import_module(mod)
    spent["imports"] = (time.perf_counter() - t) * 1000
    timed = _timer(spent)                      # nested in a timed stage: counted there

    def wrap(phase: str, owner: object, attr: str) -> None:
        setattr(owner, attr, timed(phase, getattr(owner, attr)))

    for phase, modname, name in STAGES:
        owner: object = importlib.import_module(modname)
        *path, attr = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        if hasattr(owner, attr):        # an older pdman may lack a stage
            wrap(phase, owner, attr)
    return _main_timed(main, argv, spent,
                       lambda total: total - sum(spent[p] for p in PHASES[2:-1]))


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] == "--once":
        return _leave(once(args[1:]))
    if args and args[0] == "--once-hot":
        return _leave(once_hot(args[1:]))
    import json
    phases, mode = PHASES, "--once"
    if args[:1] == ["--hot"]:
        phases, mode, args = HOT_PHASES, "--once-hot", args[1:]
    import statistics   # not in --once: only pdman's own imports count there
    import subprocess
    runs = 10
    if args[:1] == ["--runs"]:
        runs, args = int(args[1]), args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    out = f"/tmp/pdman-phases.{os.getpid()}.jsonl"
    rows = []
    try:
        for _ in range(runs + 1):             # the first is a warm-up
            env = dict(os.environ, PHASES_OUT=out)
            start = time.perf_counter()
            # the interpreter's start and exit: what the phases inside do not cover
            subprocess.run([sys.executable, __file__, mode, *args], env=env,
                           stdout=subprocess.DEVNULL, check=True)
            wall = (time.perf_counter() - start) * 1000
            with open(out) as f:
                row = json.loads(f.readlines()[-1])
            row["interpreter"] = wall - sum(row.values())    # start-up and exit
            rows.append(row)
    finally:
        if os.path.exists(out):
            os.unlink(out)
    rows = rows[1:]
    medians = {p: statistics.median(r[p] for r in rows) for p in phases}
    medians["total"] = statistics.median(sum(r.values()) for r in rows)
    print(json.dumps(medians))
    return 0


if __name__ == "__main__":
    sys.exit(main())
