"""Run the real `pdman` binary the way a user would, for the integration tests.

Importable as `from tests.bed.runner import run_pdman` (tests/conftest.py
re-exports it), so a test module need not import conftest, whose module name
pytest reuses for every conftest.py it loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_pdman(*args: object, env: dict[str, str] | None = None, check: bool = True,
              input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `pdman ARGS...` found on PATH (of `env`, else ours); return the result as text.

    With `check`, a non-zero exit fails the test showing the command and both
    output streams (a bare CalledProcessError would hide them).
    """
    import pytest  # only the suite calls this; the bed itself stays stdlib-only

    path = (env or os.environ).get("PATH")
    exe = shutil.which("pdman", path=path)
    if exe is None:
        pytest.fail(f"no `pdman` executable on PATH ({path}); install the package first",
                    pytrace=False)
    cmd = [exe, *map(str, args)]
    done = subprocess.run(cmd, env=env, input=input, text=True, capture_output=True,
                          timeout=timeout, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n"
                    f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}", pytrace=False)
    return done


def runner_with(env: dict[str, str], **defaults: object,
                ) -> "Callable[..., subprocess.CompletedProcess[str]]":
    """`run_pdman` with `env` (and any other keyword defaults, e.g. `timeout=300`)
    filled in: the `pdman` and `pd` fixtures of tests/conftest.py."""
    def run(*args: object, **kw: object) -> subprocess.CompletedProcess[str]:
        kw.setdefault("env", env)
        for key, value in defaults.items():
            kw.setdefault(key, value)
        return run_pdman(*args, **kw)  # type: ignore[arg-type]
    return run


def call(env: dict[str, str], *args: object,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    """`pdman ARGS...` in `env` (the modules' `pd(env, ...)`)."""
    return run_pdman(*args, env=env, check=check)


def pod_inspect(env: dict[str, str], pod: str) -> dict:  # type: ignore[type-arg]
    """`pod inspect POD`'s one document."""
    import json

    doc = json.loads(run_pdman("pod", "inspect", pod, env=env).stdout)
    return doc[0] if isinstance(doc, list) else doc  # type: ignore[no-any-return]


def wait_for(predicate: "Callable[[], T]", timeout: float = 20.0,
             interval: float = 0.05) -> T:
    """Poll `predicate` until it returns something true, and return that; the test
    fails when `timeout` seconds pass first."""
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {predicate}")


def http_get(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    """Poll until the server at `url` answers (connection refused or reset until it
    listens); its status and body."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status, r.read()
        except Exception as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer in {timeout} s: {last}")
