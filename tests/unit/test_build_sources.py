"""COPY/ADD source collection (build/sources.py) on a real temporary context: docker's
placement rules, ignore rules, and the context's confinement."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from pdman.build import sources
from pdman.build.ignore import IgnoreRules
from pdman.errors import BuildFileError


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "dir" / "a.txt").write_text("a")
    (root / "dir" / "sub" / "b.txt").write_text("b")
    (root / "dir" / "x.log").write_text("log")
    (root / "one.cfg").write_text("1")
    (root / "two.cfg").write_text("2")
    os.symlink("/etc/passwd", root / "dir" / "passwd")
    return root


def names(ctx: Path, srcs: list[str], dest: str, dest_is_dir: bool = False,
          rules: IgnoreRules | None = None, extract: bool = False) -> list[str]:
    out = ctx.parent / "raw.tar"
    fd = os.open(ctx, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sources.collect(fd, srcs, dest, dest_is_dir, rules, str(out), True, extract)
    finally:
        os.close(fd)
    with tarfile.open(out) as tar:
        return [m.name + ("/" if m.isdir() else "") + ("@" + m.linkname if m.issym() else "")
                for m in tar]


def test_placement_rules(ctx: Path) -> None:
    assert names(ctx, ["one.cfg"], "/etc/app.cfg") == ["etc/app.cfg"]
    assert names(ctx, ["one.cfg"], "/etc/") == ["etc/one.cfg"]
    assert names(ctx, ["one.cfg"], "/etc", dest_is_dir=True) == ["etc/one.cfg"]
    assert names(ctx, ["*.cfg"], "/c/") == ["c/one.cfg", "c/two.cfg"]
    with pytest.raises(BuildFileError, match="must be a directory"):
        names(ctx, ["one.cfg", "two.cfg"], "/c")
    # a directory contributes its contents; a symlink stays a link, never followed
    assert names(ctx, ["dir"], "/d") == ["d/", "d/a.txt", "d/passwd@/etc/passwd", "d/sub/",
                                        "d/sub/b.txt", "d/x.log"]


def test_ignore_rules_apply_to_the_context(ctx: Path) -> None:
    rules = IgnoreRules.from_text("**/*.log\n*.cfg\n!two.cfg\n")
    assert "d/x.log" not in names(ctx, ["dir"], "/d", rules=rules)
    assert names(ctx, ["*.cfg"], "/c/", rules=rules) == ["c/two.cfg"]
    with pytest.raises(BuildFileError, match="no such file"):
        names(ctx, ["one.cfg"], "/c/", rules=rules)


def test_nothing_outside_the_context(ctx: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    with pytest.raises(BuildFileError, match="outside the build context"):
        names(ctx, ["../secret"], "/x")
    os.symlink(str(tmp_path / "secret"), ctx / "leak")
    with pytest.raises(BuildFileError, match="no such file"):
        names(ctx, ["leak"], "/x")       # resolved inside the context, where it leads nowhere
    os.symlink("dir/a.txt", ctx / "inside")
    out = names(ctx, ["inside"], "/x")   # a link within the context is followed as a source
    assert out == ["x"]


def test_add_extracts_local_archives(ctx: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("top/f")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
        evil = tarfile.TarInfo("../../escape")
        evil.size = 1
        tar.addfile(evil, io.BytesIO(b"e"))
    (ctx / "a.tgz").write_bytes(buf.getvalue())
    assert names(ctx, ["a.tgz"], "/opt/", extract=True) == ["opt/top/f"]
    assert names(ctx, ["a.tgz"], "/opt/") == ["opt/a.tgz"]     # COPY never extracts


def test_finalize_owner_mode_mtime_and_content_hash(ctx: Path, tmp_path: Path) -> None:
    names(ctx, ["dir"], "/d")
    raw, out = str(tmp_path / "raw.tar"), str(tmp_path / "layer.tar")
    h1 = sources.finalize(raw, out, 5, 6, 0o700, 42)
    with tarfile.open(out) as tar:
        m = tar.getmember("d/a.txt")
        assert (m.uid, m.gid, m.mode, m.mtime) == (5, 6, 0o700, 42)
    os.utime(ctx / "dir" / "a.txt", (1, 1))                   # mtimes are not content
    names(ctx, ["dir"], "/d")
    assert sources.finalize(raw, out, 5, 6, 0o700, 42) == h1
    (ctx / "dir" / "a.txt").write_text("changed")
    names(ctx, ["dir"], "/d")
    assert sources.finalize(raw, out, 5, 6, 0o700, 42) != h1


def test_context_archive_extraction_stays_inside(tmp_path: Path) -> None:
    def archive(*members: tuple[str, str, str]) -> io.BytesIO:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, kind, data in members:
                info = tarfile.TarInfo(name)
                if kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, data
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data.encode()))
        buf.seek(0)
        return buf

    good = tmp_path / "good"
    good.mkdir()
    assert sources.extract_context(archive(("d/f", "file", "x"), ("l", "link", "d/f")),
                                   str(good)) == 2
    assert (good / "d" / "f").read_text() == "x" and os.readlink(good / "l") == "d/f"
    for i, members in enumerate([
            (("../escape", "file", "x"),),
            (("out", "link", str(tmp_path)), ("out/escape", "file", "x"))]):
        dest = tmp_path / f"bad{i}"
        dest.mkdir()
        with pytest.raises(BuildFileError):
            sources.extract_context(archive(*members), str(dest))
        assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("srcs,dest,dest_is_dir", [
    (["dir"], "/d", False), (["dir/"], "/", False), (["*.cfg"], "/c/", False),
    (["one.cfg"], "/etc/app.cfg", False), (["one.cfg"], "/etc", True), (["."], "/all/", False)])
@pytest.mark.parametrize("uid,gid,mode", [(None, None, None), (7, 8, 0o750)])
def test_context_key_is_the_hash_finalize_returns(
        ctx: Path, tmp_path: Path, srcs: list[str], dest: str, dest_is_dir: bool,
        uid: int | None, gid: int | None, mode: int | None) -> None:
    """A cached COPY is keyed without writing its layer (context_key): the key must be
    the one the step records after writing it, or a rebuild would never hit the cache."""
    long = ctx / ("l" * 120)
    long.mkdir()
    (long / ("f" * 130)).write_bytes(os.urandom(70000))
    os.link(ctx / "dir" / "sub" / "b.txt", ctx / "dir" / "hard.txt")
    os.symlink("x" * 150, ctx / "dir" / "longlink")
    os.chmod(ctx / "dir" / "a.txt", 0o4711)
    (ctx / "empty").write_bytes(b"")
    os.mkfifo(ctx / "dir" / "fifo")
    rules = IgnoreRules.from_text("*.log\n")
    fd = os.open(ctx, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sources.collect(fd, srcs, dest, dest_is_dir, rules, str(tmp_path / "raw.tar"))
        key = sources.context_key(fd, srcs, dest, dest_is_dir, rules, uid, gid, mode)
    finally:
        os.close(fd)
    assert key == sources.finalize(str(tmp_path / "raw.tar"), str(tmp_path / "layer.tar"),
                                   uid, gid, mode, None)
    (ctx / "one.cfg").write_text("changed")
    fd = os.open(ctx, os.O_RDONLY | os.O_DIRECTORY)
    try:
        changed = sources.context_key(fd, srcs, dest, dest_is_dir, rules, uid, gid, mode)
    finally:
        os.close(fd)
    assert (changed != key) == any(s in ("*.cfg", "one.cfg", ".") for s in srcs)


def test_context_key_fails_as_collect_does(ctx: Path) -> None:
    fd = os.open(ctx, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(BuildFileError, match="outside the build context"):
            sources.context_key(fd, ["../x"], "/x", False, None, None, None, None)
        with pytest.raises(BuildFileError, match="no such file"):
            sources.context_key(fd, ["nope"], "/x", False, None, None, None, None)
    finally:
        os.close(fd)
