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
    for bad in ("keep-id:uid=x", "keep-id:size=1", "nomap", "other"):
        with pytest.raises(UsageError):
            userns_mode.parse(bad)
    with pytest.raises(UsageError):
        userns_mode.mapping(BASE, userns_mode.parse("keep-id:uid=70000"))


def test_auto_is_roots_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from pdman import config

    monkeypatch.setattr(config, "is_root_mode", lambda: False)
    with pytest.raises(UsageError, match="rootless"):
        userns_mode.parse("auto")
    monkeypatch.setattr(config, "is_root_mode", lambda: True)
    assert userns_mode.parse("auto") == {"mode": "auto", "size": None}
    assert userns_mode.parse("auto:size=2000") == {"mode": "auto", "size": 2000}
    for bad in ("auto:size=0", "auto:size=x", "auto:other=1", "auto:uidmapping=0:1:1"):
        with pytest.raises(UsageError):
            userns_mode.parse(bad)
    stored = {"mode": "auto", "size": 2000, "uid": 300000, "gid": 400000}
    m = userns_mode.mapping(BASE, stored)
    assert m.uid_map == (IdRange(0, 300000, 2000),) and m.gid_map == (IdRange(0, 400000, 2000),)
    assert not m.host and not m.single_id


def test_auto_first_fit() -> None:
    from pdman.engine.userns_auto import _first_fit

    free = [(100, 50), (1000, 5000)]
    assert _first_fit(free, [], 40) == 100
    assert _first_fit(free, [(100, 40)], 40) == 1000      # the rest of the first is short
    assert _first_fit(free, [(1000, 10), (1070, 10)], 60) == 1010   # a gap that fits
    assert _first_fit(free, [(1000, 10), (1065, 10)], 60) == 1075   # one that does not
    assert _first_fit(free, [(1000, 5000)], 60) is None


def test_custom_maps_compose_over_split_ranges() -> None:
    base = IdMapping((IdRange(0, 1000, 1), IdRange(1, 100000, 10), IdRange(11, 200000, 10)),
                     BASE.gid_map)
    userns = userns_mode.custom(["0:5:12"], [], "", "", base)
    # container 0..11 -> intermediate 5..16 (across the two ranges); the user after them
    assert userns["uid_map"] == [[0, 5, 12], [12, 0, 1]]
    assert userns["gid_map"] == [[0, 5, 12], [12, 0, 1]]      # --uidmap alone: GIDs too
    m = userns_mode.mapping(base, userns)
    assert m.uid_map == (IdRange(0, 100004, 6), IdRange(6, 200000, 6), IdRange(12, 1000, 1))
    # a map naming the user: nothing added
    assert userns_mode.custom(["0:0:1", "1:1:5"], ["0:1:3"], "", "", BASE)["gid_map"] == \
        [[0, 1, 3], [3, 0, 1]]
    assert userns_mode.custom(["0:0:1", "1:1:5"], [], "", "", BASE)["uid_map"] == \
        [[0, 0, 1], [1, 1, 5]]
    for bad in (["0:1"], ["0:1:0"], ["a:1:2"], ["0:1:70000"], ["0:1:10", "5:20:3"],
                ["0:1:10", "20:5:3"]):
        with pytest.raises(UsageError):
            userns_mode.custom(bad, [], "", "", BASE)
    with pytest.raises(UsageError, match="single-ID|subordinate"):
        userns_mode.custom(["0:0:1"], [], "", "", IdMapping(
            (IdRange(0, 1000, 1),), (IdRange(0, 1000, 1),), single_id=True))
