"""httpx, without its command-line client.

httpx's `__init__` imports `httpx._main` (its CLI: click, rich, pygments) whenever those
are installed -- and Typer installs them -- which cost every `pull` ~70 ms of imports
(bench/README.md). pdman never runs httpx's CLI: a stand-in module takes its place
before httpx is first imported.

    from pdman.image._httpx import httpx
"""

from __future__ import annotations

import sys
import types

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _stub = types.ModuleType("httpx._main")

    def _no_cli() -> None:
        raise SystemExit("httpx's command-line client is not part of pdman")

    _stub.main = _no_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stub

import httpx  # noqa: E402 - after the stand-in, on purpose

__all__ = ["httpx"]
