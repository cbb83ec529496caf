"""pdman.runtime.tools: shutil.which's rule without importing shutil."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_tools_found_as_shutil_which_finds_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from pdman.runtime import tools

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "mytool").write_text("#!/bin/sh\n")
    (bindir / "mytool").chmod(0o755)
    (bindir / "notexec").write_text("")
    (bindir / "adir").mkdir()
    monkeypatch.setenv("PATH", f"{bindir}::/nonexistent")
    monkeypatch.setattr(tools, "_found", {})
    assert tools.find("mytool") == shutil.which("mytool") == str(bindir / "mytool")
    assert tools.find("notexec") is None and tools.find("adir") is None
    assert tools.find("sh") == shutil.which("sh", path=tools.FALLBACK_PATH)  # the fallback
    assert tools.find("no-such-tool-here") is None
