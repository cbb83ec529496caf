"""Time from `ENGINE run -d -p PORT:80 IMAGE` to the first HTTP 200 on 127.0.0.1:PORT,
engines interleaved round by round (a shared machine's load drifts: every engine meets
the same drift). Writes one hyperfine-like JSON per round (`results`: command, times,
user, system) for peers.sh's table; `user`/`system` are the run command's own CPU.

    python3 bench/first_http.py OUT_PREFIX ROUNDS PER IMAGE -- NAME=COMMAND... [-- BASE=COMMAND...]

COMMAND is a shell-split engine command line (`setpriv ... pdman`); after the second
`--`, BASE entries are plain commands (the wrappers alone) timed from start to exit, for
the caller to subtract. Each server is removed (`rm -f -t 0 bench-web`) before the next.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answered(port: int) -> bool:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def first_answer(engine: list[str], image: str) -> tuple[float, float, float]:
    port = free_port()
    before = os.times()
    t0 = time.monotonic()
    proc = subprocess.Popen([*engine, "run", "-d", "--name", "bench-web", "-p", f"{port}:80",
                             image], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not answered(port):
            if proc.poll() not in (None, 0):
                sys.exit(f"{shlex.join(engine)} run failed: {proc.stderr.read().decode()}")
            if time.monotonic() - t0 > 60:
                sys.exit(f"{shlex.join(engine)}: no answer in 60 s")
            time.sleep(0.002)
        took = time.monotonic() - t0
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = os.times()
    subprocess.run([*engine, "rm", "-f", "-t", "0", "bench-web"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return (took, after.children_user - before.children_user,
            after.children_system - before.children_system)


def plain(command: list[str]) -> tuple[float, float, float]:
    before = os.times()
    t0 = time.monotonic()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = os.times()
    return (time.monotonic() - t0, after.children_user - before.children_user,
            after.children_system - before.children_system)


def main() -> None:
    args = sys.argv[1:]
    prefix, rounds, per, image = args[0], int(args[1]), int(args[2]), args[3]
    rest = args[5:]
    engines, bases = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) \
        if "--" in rest else (rest, [])
    jobs = [(n, shlex.split(c), first_answer) for n, c in (e.split("=", 1) for e in engines)]
    jobs += [(n, shlex.split(c), lambda cmd, _i: plain(cmd))
             for n, c in (b.split("=", 1) for b in bases)]
    for name, cmd, fn in jobs:      # a warm-up of each (image cache, helpers' pages)
        fn(cmd, image)
    for r in range(1, rounds + 1):
        results = {name: {"command": name, "times": [], "user": 0.0, "system": 0.0}
                   for name, _, _ in jobs}
        for _ in range(per):
            for name, cmd, fn in jobs:
                took, user, system = fn(cmd, image)
                res = results[name]
                res["times"].append(took)
                res["user"] += user / per
                res["system"] += system / per
        with open(f"{prefix}.{r}.json", "w") as f:
            json.dump({"results": list(results.values())}, f)


if __name__ == "__main__":
    main()
