"""container_fs.remove_tree: shutil.rmtree's fd walk without importing shutil."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pdman.storage.container_fs import remove_tree


def test_removes_a_tree_and_never_follows_its_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("mine")
    top = tmp_path / "ctr"
    (top / "upper" / "a" / "b").mkdir(parents=True)
    (top / "upper" / "a" / "b" / "f").write_text("x")
    (top / "upper" / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(top / "upper" / "fifo")
    (top / "upper" / "to-outside").symlink_to(outside)            # a dir link
    (top / "upper" / "a" / "to-file").symlink_to(outside / "keep" / "file")
    (top / "upper" / "dangling").symlink_to(tmp_path / "nothing")
    remove_tree(str(top))
    assert not top.exists()
    assert (outside / "keep" / "file").read_text() == "mine"


def test_opens_again_what_is_ours_but_shut(tmp_path: Path) -> None:
    top = tmp_path / "ctr"
    (top / "work" / "work" / "inner").mkdir(parents=True)
    (top / "work" / "work" / "inner" / "f").write_text("x")
    os.chmod(top / "work" / "work" / "inner", 0)
    os.chmod(top / "work" / "work", 0)                 # as overlayfs leaves it
    remove_tree(str(top))
    assert not top.exists()


def test_a_file_or_nothing(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    remove_tree(str(f))
    assert not f.exists()
    with pytest.raises(FileNotFoundError):
        remove_tree(str(tmp_path / "missing"))


def test_does_not_import_shutil() -> None:
    code = ("import sys, os, tempfile as t; d = t.mkdtemp(); os.mkdir(d + '/x'); "
            "sys.modules.pop('shutil', None); "
            "from pdman.storage.container_fs import remove_tree; remove_tree(d); "
            "print('shutil' in sys.modules, os.path.exists(d))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stderr

