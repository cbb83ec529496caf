"""storage/fdtree: lookups that stay inside a tree, and tar headers from fds."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from pdman.storage import fdtree


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, int]:
    root, host = tmp_path / "root", tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    (root / "usr/share").mkdir(parents=True)
    host.mkdir()
    (host / "secret").write_text("host secret\n")
    (root / "usr/share/passwd").write_text("inside\n")
    (root / "etc/abs").symlink_to(host / "secret")            # absolute: re-rooted
    (root / "etc/rel").symlink_to("../usr/share/passwd")
    (root / "climb").symlink_to("../../../../../../" + str(host).lstrip("/"))
    (root / "loop").symlink_to("loop")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield root, host, fd
    os.close(fd)


def _where(fd: int, name: str) -> str:
    try:
        return os.path.join(os.readlink(f"/proc/self/fd/{fd}"), name)
    finally:
        os.close(fd)


def test_symlinks_resolve_inside_the_root(tree: tuple[Path, Path, int]) -> None:
    root, host, fd = tree
    assert _where(*fdtree.resolve(fd, "/etc/rel")) == str(root / "usr/share/passwd")
    assert _where(*fdtree.resolve(fd, "etc/rel", follow_last=False)) == str(root / "etc/rel")
    # an absolute target starts again from the root: the host file is never reached
    with pytest.raises(FileNotFoundError):
        fdtree.resolve(fd, "/etc/abs")
    assert _where(*fdtree.resolve(fd, "/etc/abs", follow_last=False)) == str(root / "etc/abs")
    # `..` stops at the root
    assert _where(*fdtree.resolve(fd, "/../../../etc")) == str(root / "etc")
    with pytest.raises(FileNotFoundError):
        fdtree.resolve(fd, "/climb/secret")
    with pytest.raises(OSError):
        fdtree.resolve(fd, "/loop/x")
    assert _where(*fdtree.resolve(fd, "/")) == f"{root}/."


def test_tree_tar_is_numeric_and_never_follows_links(tree: tuple[Path, Path, int]) -> None:
    root, host, fd = tree
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        top = fdtree.open_dir(fd, "/")
        try:
            fdtree.TreeTar(tar).add_tree(top)
        finally:
            os.close(top)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        members = {m.name: m for m in tar}
        assert members["etc/abs"].issym() and members["etc/abs"].linkname == str(host / "secret")
        assert all(m.uname == "" and m.gname == "" for m in members.values())
        assert tar.extractfile(members["usr/share/passwd"]).read() == b"inside\n"  # type: ignore[union-attr]
        assert b"host secret" not in buf.getvalue()


def test_open_entry_pins_what_it_opened(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to("f")
    os.mkfifo(tmp_path / "p")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        f = fdtree.open_entry(fd, "f")
        assert f is not None and f.fd >= 0 and os.fstat(f.fd).st_ino == (tmp_path / "f").stat().st_ino
        f.close()
        link = fdtree.open_entry(fd, "l")
        assert link is not None and link.fd == -1 and link.link == "f"
        fifo = fdtree.open_entry(fd, "p")  # never opened: a fifo would block
        assert fifo is not None and fifo.fd == -1
        assert fdtree.open_entry(fd, "missing") is None
    finally:
        os.close(fd)


def test_exactly_pads_a_file_that_shrank(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        reader = fdtree._Exactly(fd, 5)
        assert reader.read(4) + reader.read(4) == b"abc\0\0"
    finally:
        os.close(fd)
