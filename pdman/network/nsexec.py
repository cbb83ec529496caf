"""Run Python code inside the rootless network namespace (as root of its user
namespace), for the pyroute2 work on bridges and veths.

    result = run_in(infra, fn, *args)

forks; the child joins the holder's user namespace, then its network namespace
(native setns: a forked child is single-threaded, as joining a user namespace
requires), runs fn(*args) and sends the picklable result back. From there fn may
join a container's network namespace too: the container's belongs to the same
user namespace. The caller's own namespaces never change.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

from pdman.errors import PdmanError, RuntimeFailure
from pdman.network.infra import Infra
from pdman.runtime.fdio import read_all

T = TypeVar("T")


def _child(infra: Infra, fn: Callable[..., Any], args: tuple[Any, ...], out: int) -> None:
    from pdman.runtime import native

    outcome: tuple[str, Any]
    try:
        from pdman.config import is_root_mode

        if not is_root_mode():          # as root the holder made no user namespace
            native.join_namespace(infra.userns, native.UNSHARE_USER)
        native.join_namespace(infra.netns, native.UNSHARE_NET)
        outcome = ("ok", fn(*args))
    except BaseException as exc:  # noqa: BLE001 - carried to the parent
        outcome = ("err", exc if isinstance(exc, PdmanError)
                   else RuntimeFailure(f"{type(exc).__name__}: {exc}"))
    try:
        payload = pickle.dumps(outcome)
    except Exception as exc:  # noqa: BLE001
        payload = pickle.dumps(("err", RuntimeFailure(f"unpicklable result: {exc}")))
    view = memoryview(payload)
    while view:
        view = view[os.write(out, view):]


def run_in(infra: Infra, fn: Callable[..., T], *args: Any) -> T:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # never returns into the caller's code
        code = 1
        try:
            os.close(r)
            _child(infra, fn, args, w)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    try:
        payload = read_all(r)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    if not payload:
        raise RuntimeFailure("the helper in the rootless network namespace exited without a "
                             f"result (status {os.waitstatus_to_exitcode(status)})")
    kind, value = pickle.loads(payload)
    if kind == "err":
        raise value
    return value  # type: ignore[no-any-return]
