"""`pdman.__main__.leave`: the exit without the interpreter's teardown (a `run` saves
~13 ms) is taken only when nothing is registered to run at exit, and loses no output."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)


def test_output_buffered_before_leaving_is_written() -> None:
    proc = _python("import sys\nfrom pdman.__main__ import leave\n"
                   "sys.stdout.write('x' * 100000)\nsys.stderr.write('err')\nleave(4)")
    assert proc.returncode == 4
    assert proc.stdout == "x" * 100000
    assert proc.stderr == "err"


def test_atexit_callbacks_still_run() -> None:
    """logging, weakref.finalize (TemporaryDirectory) ... register atexit callbacks:
    the interpreter's own exit runs them."""
    proc = _python("import atexit\nfrom pdman.__main__ import leave\n"
                   "atexit.register(lambda: print('ran at exit'))\nleave(3)")
    assert proc.returncode == 3
    assert proc.stdout == "ran at exit\n"


def test_non_daemon_threads_are_waited_for() -> None:
    proc = _python("import threading, time\nfrom pdman.__main__ import leave\n"
                   "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
                   "leave(0)")
    assert proc.returncode == 0
    assert proc.stdout == "thread done\n"


def test_temporary_directory_is_removed(tmp_path) -> None:
    proc = _python("import tempfile\nfrom pdman.__main__ import leave\n"
                   f"d = tempfile.TemporaryDirectory(dir={str(tmp_path)!r})\nprint(d.name)\nleave(0)")
    assert proc.returncode == 0
    assert proc.stdout.strip()
    assert list(tmp_path.iterdir()) == []
