"""Resolving --user against the container's own passwd/group files in the layers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pdman.errors import UsageError
from pdman.runtime import users


def _layers(tmp_path: Path) -> list[str]:
    lower = tmp_path / "lower" / "etc"
    lower.mkdir(parents=True)
    (lower / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n")
    (lower / "group").write_text("root:x:0:\nweb:x:33:\nwheel:x:10:web,alice\n")
    upper = tmp_path / "upper" / "etc"
    upper.mkdir(parents=True)
    return [str(tmp_path / "upper"), str(tmp_path / "lower")]


def test_names_numbers_and_groups(tmp_path: Path) -> None:
    layers = _layers(tmp_path)
    web = users.resolve(layers, "web")
    assert (web.uid, web.gid, web.additional_gids, web.home) == (33, 33, [10], "/var/www")
    num = users.resolve(layers, "1234")
    assert (num.uid, num.gid) == (1234, 0)
    assert users.resolve(layers, "0", "wheel").gid == 10
    with pytest.raises(UsageError, match="unable to find user ghost"):
        users.resolve(layers, "ghost")
    with pytest.raises(UsageError, match="unable to find group nogroup"):
        users.resolve(layers, "root", "nogroup")


def test_upper_layers_win_and_whiteouts_delete(tmp_path: Path) -> None:
    layers = _layers(tmp_path)
    Path(layers[0], "etc/passwd").write_text("web:x:99:99::/w:/bin/sh\n")
    assert users.resolve(layers, "web").uid == 99
    os.unlink(Path(layers[0], "etc/passwd"))
    # a whiteout needs mknod; a FIFO stand-in must not be mistaken for one
    os.mkfifo(Path(layers[0], "etc/passwd"))
    with pytest.raises(UsageError):
        users.resolve(layers, "web")
