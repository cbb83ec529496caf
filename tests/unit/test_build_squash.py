"""The layer merge of `build --squash` (engine/build_squash.py): overlay's rules over tars."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from pdman.engine.build_squash import merge


def layer(path: Path, entries: list[tuple[str, bytes | None]]) -> str:
    with tarfile.open(path, "w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return str(path)


def names_and_data(path: Path) -> dict[str, bytes | None]:
    with tarfile.open(path) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isreg() else None)  # type: ignore[union-attr]
                for m in tar}


def test_later_layers_win_and_whiteouts_apply(tmp_path: Path) -> None:
    layers = [
        layer(tmp_path / "1.tar", [("a", None), ("a/x", b"1"), ("a/y", b"1"), ("d", None),
                                   ("d/old", b"1"), ("f", None), ("f/under", b"1")]),
        layer(tmp_path / "2.tar", [("a/.wh.x", b""), ("a/y", b"2"), ("b", b"2"),
                                   ("f", b"file now")]),
        layer(tmp_path / "3.tar", [("d", None), ("d/.wh..wh..opq", b""), ("d/new", b"3"),
                                   ("a/x", b"3 again")]),
    ]
    out = tmp_path / "squash.tar"
    merge(layers, str(out), keep_whiteouts=True)
    got = names_and_data(out)
    assert got["a/y"] == b"2" and got["b"] == b"2" and got["f"] == b"file now"
    assert got["a/x"] == b"3 again" and "a/.wh.x" not in got   # re-added after its whiteout
    assert "d/old" not in got and got["d/new"] == b"3" and "d/.wh..wh..opq" in got
    assert "f/under" not in got
    # everything merged: no whiteout is needed any more
    merge(layers, str(out), keep_whiteouts=False)
    assert not [n for n in names_and_data(out) if ".wh." in n]


def test_a_whiteout_of_a_base_file_is_kept(tmp_path: Path) -> None:
    layers = [layer(tmp_path / "1.tar", [("bin", None), ("bin/.wh.vi", b"")]),
              layer(tmp_path / "2.tar", [("new", b"n")])]
    out = tmp_path / "squash.tar"
    merge(layers, str(out), keep_whiteouts=True)
    assert set(names_and_data(out)) == {"bin", "bin/.wh.vi", "new"}
