"""Time a socket-activated API service's first answer: the socket exists, nothing
listens behind it; systemd-socket-activate starts the service on the first connection
(as pdman.socket does) and the clock runs from connect() to the end of the answer to
`GET /_ping`. Prints a hyperfine-like JSON (median of RUNS) for bench_table.

    python3 bench/first_answer.py NAME RUNS SOCKET_DIR -- SERVICE COMMAND...
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time


def once(sock_path: str, command: list[str]) -> float:
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        sys.exit("systemd-socket-activate (Debian's systemd package) is needed")
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    proc = subprocess.Popen([tool, "-l", sock_path, *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(sock_path):
            time.sleep(0.005)
        time.sleep(0.05)          # the activator waits in accept(); nothing else runs
        start = time.perf_counter()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        data = b""
        while not data.endswith(b"OK"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        took = time.perf_counter() - start
        s.close()
        if b" 200 " not in data.split(b"\r\n", 1)[0]:
            sys.exit(f"unexpected answer: {data[:200]!r}")
        return took
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    name, runs, sock_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    command = sys.argv[sys.argv.index("--") + 1:]
    sock_path = os.path.join(sock_dir, f"first-answer-{os.getpid()}.sock")
    once(sock_path, command)      # warm-up: page cache
    times = [once(sock_path, command) for _ in range(runs)]
    print(json.dumps({"results": [{"command": name, "median": statistics.median(times),
                                   "times": times}]}))


if __name__ == "__main__":
    main()
