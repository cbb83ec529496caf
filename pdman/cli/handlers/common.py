"""What several handlers do alike: podman's way with many names, and prune's question."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def each(names: "list[str]", action: "Callable[[str], Any]") -> int:
    """Run `action` on every name: print what it returns, report each failure and go on
    with the others; the exit code of the first failure at the end (podman's way)."""
    from pdman.errors import PdmanError

    code = 0
    for n in names:
        try:
            out = action(n)
            if out is not None:
                print(out)
        except PdmanError as exc:
            print(exc.render(), file=sys.stderr)
            code = exc.exit_code if code == 0 else code
    return code


def confirmed(force: bool, warning: str) -> bool:
    """prune's question on a terminal (`-f` skips it; a script is not asked)."""
    if force or not sys.stdin.isatty():
        return True
    answer = input(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def with_cidfiles(names: "list[str] | None", cidfiles: "list[str] | None",
                  ignore: bool = False) -> "list[str] | None":
    """`--cidfile FILE`: the container IDs the files hold, after the names given (podman;
    with `--ignore`, a missing file is skipped)."""
    if not cidfiles:
        return names
    from pdman.errors import UsageError

    out = list(names or [])
    for path in cidfiles:
        try:
            with open(path, encoding="utf-8") as f:
                cid = f.read().strip()
        except FileNotFoundError:
            if ignore:
                continue
            raise UsageError(f"reading CIDFile: open {path}: no such file or directory") from None
        except OSError as exc:
            raise UsageError(f"reading CIDFile {path}: {exc.strerror}") from None
        if cid:
            out.append(cid)
    return out
