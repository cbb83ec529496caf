"""The prompt of `short-name-mode = enforcing|permissive` (containers-registries.conf(5)):
which search registry an ambiguous short name means, asked only when stdin and
stdout are both terminals -- a script or a pipe gets the engine's error (enforcing)
or the registries in order (permissive) instead.

    choose = terminal_chooser()       # None without a terminal
    PullOptions(ref, choose_registry=choose)

`run` imports this on its hot path: stdlib `sys` only.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def terminal_chooser() -> "Callable[[str, list[str]], str] | None":
    try:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return choose
    except (AttributeError, ValueError):   # closed or replaced streams
        pass
    return None


def choose(short: str, names: list[str]) -> str:
    """Ask on the terminal until the user picks one of `names` by number."""
    out = sys.stdout
    out.write(f"? Short name {short!r} may mean any of these images; please select one:\n")
    for i, name in enumerate(names, 1):
        out.write(f"  {i}) {name}\n")
    while True:
        out.write(f"Enter a number [1-{len(names)}]: ")
        out.flush()
        line = sys.stdin.readline()
        if not line:
            from pdman.errors import ShortNameError

            raise ShortNameError(f"no registry selected for short name {short!r}",
                                 hint="use a fully qualified name (registry/repository:tag)")
        answer = line.strip()
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        out.write(f"  please enter a number from 1 to {len(names)}\n")
