"""The suite's own layout: pytest imports test modules by basename (rootdir-relative
"rootdir/conftest" mode without packages), so two test files of one name in different
directories break collection of the whole run."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_test_module_basenames_are_unique() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        seen[path.name].append(str(path.relative_to(TESTS)))
    dupes = {name: where for name, where in seen.items() if len(where) > 1}
    assert not dupes, f"rename one of each: {dupes}"
