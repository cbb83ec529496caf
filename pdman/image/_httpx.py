"""httpx, without its command-line client.

httpx's `__init__` imports `httpx._main` (its CLI: click, rich, pygments) whenever those
are installed -- and Typer installs them -- which cost every `pull` ~70 ms of imports
(bench/README.md). pdman never runs httpx's CLI: a stand-in module takes its place
before httpx is first imported.

httpcore, which httpx imports for its first request, also imports anyio and trio when
they are installed (anyio is: httpx depends on it), only for its async connection
pools -- ~27 ms of every `pull`. pdman's registry client is synchronous: httpcore is
imported here with both hidden, then they are importable again for anyone else.

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

if "httpcore" not in sys.modules:
    _hidden = [name for name in ("anyio", "trio") if name not in sys.modules]
    for _name in _hidden:
        sys.modules[_name] = None  # type: ignore[assignment]  # `import` raises ImportError
    try:
        import httpcore  # noqa: E402,F401 - loaded now, without its async back-ends
    finally:
        for _name in _hidden:
            if sys.modules.get(_name, 0) is None:
                del sys.modules[_name]

__all__ = ["httpx"]
