"""--userns=keep-id's mapping (pure logic: runtime/userns_mode.py)."""

from __future__ import annotations

import pytest

from pdman.errors import UsageError
from pdman.runtime import userns_mode
from pdman.runtime.idmap import IdMapping, IdRange


BASE = IdMapping((IdRange(0, 1000, 1), IdRange(1, 100000, 65536)),
                 (IdRange(0, 1000, 1), IdRange(1, 100000, 65536)))


def test_keep_id_maps_the_user_to_itself_and_the_range_around_it() -> None:
    m = userns_mode.mapping(BASE, userns_mode.parse("keep-id"))
    assert m.uid_map == (IdRange(0, 100000, 1000), IdRange(1000, 1000, 1),
                         IdRange(1001, 101000, 64536))
    assert m.size == BASE.size


def test_keep_id_with_uid_and_gid_and_split_ranges() -> None:
    base = IdMapping((IdRange(0, 1000, 1), IdRange(1, 100000, 10), IdRange(11, 200000, 10)),
                     BASE.gid_map)
    m = userns_mode.mapping(base, userns_mode.parse("keep-id:uid=5,gid=7"))
    assert m.uid_map == (IdRange(0, 100000, 5), IdRange(5, 1000, 1), IdRange(6, 100005, 5),
                         IdRange(11, 200000, 10))
    assert m.host_gid(7) == 1000 and m.host_gid(0) == 100000


def test_bad_values() -> None:
    assert userns_mode.parse("") is None and userns_mode.parse("host") is None
    for bad in ("keep-id:uid=x", "keep-id:size=1", "nomap", "auto", "other"):
        with pytest.raises(UsageError):
            userns_mode.parse(bad)
    with pytest.raises(UsageError):
        userns_mode.mapping(BASE, userns_mode.parse("keep-id:uid=70000"))
