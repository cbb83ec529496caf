"""The floors under `pdman run`: what the kernel and the helper tools cost on this
machine, measured inside one Python process (no interpreter start in the figures).

    python3 bench/floors.py [--runs N] [--out results/floors-inproc.json]

Run as the unprivileged test user with pdman importable (the bench venv's python).
Each figure is the median of N iterations (wall clock, milliseconds):

  clone+exec         the C helper alone: clone into new user/mount/PID/net/UTS/IPC
                     namespaces, single-ID map written by the process itself, bind of a
                     busybox directory as the root, /proc, /dev, /sys, pivot_root,
                     exec of `true`, wait
  + newuidmap/gid    the same with the user's subordinate ranges: the two setuid
                     helpers run (at once) instead of the direct write
  + overlay          the same as the first, the root an overlay (one lower layer)
                     instead of a bind mount: the overlay mount's own cost
  pasta start-up     pasta attached to a waiting namespace (`--config-net`, no ports)
                     until it daemonized, then killed

Prints one JSON object with the medians (and minimums) per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def _busybox_tree(root: str) -> str:
    busybox = shutil.which("busybox", path="/bin:/usr/bin") or "/bin/busybox"
    os.makedirs(os.path.join(root, "bin"))
    shutil.copy(busybox, os.path.join(root, "bin/busybox"))
    for applet in ("true", "sh"):
        os.symlink("busybox", os.path.join(root, "bin", applet))
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        os.mkdir(os.path.join(root, d))
    return root


def _timed(fn, runs: int, after=None) -> list[float]:  # type: ignore[no-untyped-def]
    """Wall-clock ms of `runs` calls of `fn` (after a warm-up); `after` runs untimed."""
    times = []
    for i in range(runs + 1):
        t = time.perf_counter()
        fn()
        if i:
            times.append((time.perf_counter() - t) * 1000)
        if after is not None:
            after()
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    from pdman.network import pasta
    from pdman.runtime import idmap, tools
    from pdman.runtime.native import DirRootfs, OverlayRootfs, SpawnSpec
    from pdman.runtime.spawn import spawn_container, wait

    work = tempfile.mkdtemp(prefix="pdman-floors.")
    out: dict[str, dict[str, float]] = {}
    try:
        lower = _busybox_tree(os.path.join(work, "lower"))
        single = idmap.single_id_mapping(os.getuid(), os.getgid())
        full = idmap.mapping_for_current_user()

        def run(spec: SpawnSpec, mapping: idmap.IdMapping) -> None:
            code = wait(spawn_container(spec.replace(stdio=(-1, -1, -1)), mapping))
            if code != 0:
                raise SystemExit(f"true exited with {code}")

        plain = SpawnSpec(argv=["/bin/true"], rootfs=DirRootfs(lower))
        figures = {"clone+exec": lambda: run(plain, single)}
        if not full.single_id:
            figures["+ newuidmap/newgidmap"] = lambda: run(plain, full)

        n = [0]

        def overlay() -> None:
            n[0] += 1
            d = os.path.join(work, f"ov{n[0]}")
            for sub in ("upper", "work", "merged"):
                os.makedirs(os.path.join(d, sub))
            run(SpawnSpec(argv=["/bin/true"], rootfs=OverlayRootfs(
                mountpoint=os.path.join(d, "merged"), lowerdirs=[lower],
                upperdir=os.path.join(d, "upper"), workdir=os.path.join(d, "work"))), single)

        figures["+ overlay"] = overlay
        for name, fn in figures.items():
            times = _timed(fn, args.runs)
            out[name] = {"median": statistics.median(times), "min": min(times)}

        if tools.find("pasta"):
            holder = subprocess.Popen(["unshare", "-Urn", "sleep", "600"])
            try:
                time.sleep(0.3)                 # its namespaces exist by then
                pidfile = os.path.join(work, "pasta.pid")

                started: list[int] = []

                def attach() -> None:
                    started.append(pasta.start(holder.pid, [], [], pidfile)[0])

                def stop() -> None:
                    # gone before the next one: its tap device goes with it
                    pid = started.pop()
                    os.kill(pid, signal.SIGKILL)
                    while os.path.exists(f"/proc/{pid}"):
                        time.sleep(0.002)

                times = _timed(attach, args.runs, stop)
                out["pasta start-up"] = {"median": statistics.median(times), "min": min(times)}
            finally:
                holder.kill()
                holder.wait()
    finally:
        # nothing of subordinate IDs in there; overlay leaves its `work/work` at mode 000
        for top, dirs, _ in os.walk(work):
            for d in dirs:
                os.chmod(os.path.join(top, d), 0o700)
        shutil.rmtree(work, ignore_errors=True)
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
