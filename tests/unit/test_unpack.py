"""Unpacking layers: every kind of entry, whiteouts, and the hostile corpus."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

import layers_corpus as corpus
from pdman.errors import LayerError
from pdman.storage.tarstream import Limits
from pdman.storage.unpack import UnpackResult, clean_name, unpack_layer

ROOT = os.geteuid() == 0


def unpack(data: bytes, dest: Path, limits: Limits | None = None,
           threaded: bool = True) -> UnpackResult:
    return unpack_layer(io.BytesIO(data), str(dest), limits, threaded)


def test_clean_name() -> None:
    assert clean_name("./a//b/./c/") == "a/b/c"
    assert clean_name("/etc/passwd") == "etc/passwd"
    assert clean_name("a/../b") == "b"
    assert clean_name("./") == ""
    for bad in ("..", "../x", "a/../../x", "/../x"):
        with pytest.raises(LayerError, match="outside the layer"):
            clean_name(bad)


@pytest.mark.parametrize("threaded", [True, False], ids=["threaded", "inline"])
@pytest.mark.parametrize("compress", [corpus.gz, corpus.zst, lambda b: b],
                         ids=["gzip", "zstd", "plain"])
def test_rich_layer(tmp_path: Path, compress: object, threaded: bool) -> None:
    raw = corpus.rich_layer()
    out = tmp_path / "diff"
    result = unpack(compress(raw), out, threaded=threaded)  # type: ignore[operator]
    assert result.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert result.size == len(raw)
    p = out / "etc/passwd"
    assert p.read_bytes() == b"root:x:0:0\n"
    assert p.stat().st_mtime == 2000
    assert (out / "etc/hard").stat().st_ino == p.stat().st_ino
    assert os.readlink(out / "etc/sym") == "/etc/passwd"
    assert os.readlink(out / "etc/dangling") == "../nowhere"
    assert stat.S_IMODE((out / "etc/setuid").stat().st_mode) == 0o4755
    assert stat.S_IMODE((out / "etc/sticky").stat().st_mode) == 0o1777
    assert stat.S_ISFIFO((out / "etc/fifo").lstat().st_mode)
    assert not (out / "etc/null").exists() and not (out / "etc/sda").exists()
    assert any("etc/null" in n for n in result.notes)
    assert os.getxattr(out / "etc/xattr", "user.pdman") == b"1"
    assert "user.overlay.opaque" not in os.listxattr(out / "etc/xattr")  # never forged
    assert stat.S_IMODE((out / "ro").stat().st_mode) == 0o555
    assert (out / "ro").stat().st_mtime == 3000  # set after its contents
    assert (out / "ro/inside").read_bytes() == b"inside\n"
    assert (out / "etc").stat().st_mtime == 1000
    assert (out / "deep/missing/parents/file").read_bytes() == b"deep\n"
    assert stat.S_IMODE((out / "deep/missing").stat().st_mode) == 0o755
    assert (out / "usr/lib/through").read_bytes().startswith(b"through")
    assert (out / "old").stat().st_mtime == 1234567890.5
    assert (out / "dot/slash").exists() and (out / "abs/path").exists()
    if ROOT:
        st = (out / "etc/owned").stat()
        assert (st.st_uid, st.st_gid) == (1000, 1001)
        assert result.chown_failures == 0


def test_whiteouts_and_opaque_dirs(tmp_path: Path) -> None:
    out = tmp_path / "diff"
    unpack(corpus.gz(corpus.whiteout_layer()), out)
    st = (out / "data/gone").lstat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert not (out / "data/.wh.gone").exists()
    assert os.getxattr(out / "data/dir", "user.overlay.opaque") == b"y"
    assert not (out / "data/dir/.wh..wh..opq").exists()
    assert (out / "data/dir/new").read_bytes() == b"new\n"
    assert not (out / ".wh..wh.plnk").exists()


def test_duplicate_entries_later_wins(tmp_path: Path) -> None:
    out = tmp_path / "diff"
    unpack(corpus.duplicate_layer(), out)
    assert (out / "a").read_bytes() == b"second\n"
    assert (out / "d").read_bytes() == b"a file now\n"
    assert (out / "f").is_dir() and stat.S_IMODE((out / "f").stat().st_mode) == 0o700
    assert not (out / "s").is_symlink() and (out / "s").read_bytes() == b"not a link\n"


def test_empty_layers(tmp_path: Path) -> None:
    for i, data in enumerate([b"", corpus.gz(b""), corpus.tar([]), corpus.gz(corpus.tar([]))]):
        r = unpack(data, tmp_path / f"e{i}")
        assert r.entries == 0 and os.listdir(tmp_path / f"e{i}") == []


def test_multi_member_gzip(tmp_path: Path) -> None:
    raw = corpus.tar([corpus.entry("a", data=b"A" * 10_000), corpus.entry("b", data=b"B")])
    data = corpus.gz(raw[:5000]) + corpus.gz(raw[5000:])
    r = unpack(data, tmp_path / "m")
    assert r.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert (tmp_path / "m/b").read_bytes() == b"B"


def _outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "file").write_text("precious\n")
    (out / "victim").write_text("victim\n")
    return out


def _untouched(outside: Path) -> None:
    assert sorted(os.listdir(outside)) == ["file", "victim"]
    assert (outside / "file").read_text() == "precious\n"


@pytest.mark.parametrize("threaded", [True, False], ids=["threaded", "inline"])
@pytest.mark.parametrize("name", sorted(corpus.HOSTILE))
def test_hostile_layers_are_rejected(tmp_path: Path, name: str, threaded: bool) -> None:
    build, message = corpus.HOSTILE[name]
    outside = _outside(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    with pytest.raises(LayerError) as e:
        unpack(build(str(outside)), store / "diff", threaded=threaded)
    assert message in e.value.message, e.value.message
    assert e.value.hint
    _untouched(outside)
    assert os.listdir(store) == ["diff"]  # the caller removes it; nothing beside it


@pytest.mark.parametrize("name", sorted(corpus.ESCAPING_SYMLINKS))
def test_escaping_symlinks_are_never_followed(tmp_path: Path, name: str) -> None:
    outside = _outside(tmp_path)
    out = tmp_path / "diff"
    unpack(corpus.ESCAPING_SYMLINKS[name](str(outside)), out)
    _untouched(outside)
    # whatever got written went inside the layer
    for dirpath, dirnames, filenames in os.walk(out):
        for n in filenames:
            assert Path(dirpath, n).resolve(strict=False).is_relative_to(out) or \
                Path(dirpath, n).is_symlink()


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_decompression_bombs(tmp_path: Path, kind: str) -> None:
    data = corpus.bomb(8 << 20, kind)
    with pytest.raises(LayerError, match="bomb"):
        unpack(data, tmp_path / "size", Limits(max_size=1 << 20))
    with pytest.raises(LayerError, match="bomb"):
        unpack(data, tmp_path / "ratio", Limits(max_ratio=100, ratio_floor=1 << 20))
    # within limits the same layer unpacks
    r = unpack(data, tmp_path / "ok", Limits(max_size=16 << 20))
    assert (tmp_path / "ok/zeros").stat().st_size == 8 << 20 and r.size > 8 << 20


def test_limits_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDMAN_MAX_LAYER_SIZE", "12345")
    assert Limits.from_env().max_size == 12345
    monkeypatch.delenv("PDMAN_MAX_LAYER_SIZE")
    assert Limits.from_env().max_size == 64 << 30


def test_fast_header_parsing_agrees_with_tarfile() -> None:
    import tarfile

    from pdman.storage.unpack import _FastTarInfo

    def members(data: bytes, cls: type[tarfile.TarInfo]) -> list[tuple[object, ...]]:
        t = tarfile.TarFile(fileobj=io.BytesIO(data), mode="r", tarinfo=cls)
        return [(m.name, m.mode, m.uid, m.gid, m.size, m.mtime, m.type, m.linkname, m.uname,
                 m.gname, m.devmajor, m.devminor, m.pax_headers, m.offset_data) for m in t]

    extra = []
    for fmt, name, uid in ((tarfile.GNU_FORMAT, "a/" * 60 + "long", 3_000_000),
                           (tarfile.USTAR_FORMAT, "p/" * 40 + "prefixed", 7)):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            info = tarfile.TarInfo(name)
            info.uid = uid
            t.addfile(info)
        extra.append(buf.getvalue())
    for data in [corpus.rich_layer(), corpus.whiteout_layer(), corpus.duplicate_layer(), *extra]:
        assert members(data, _FastTarInfo) == members(data, tarfile.TarInfo)
