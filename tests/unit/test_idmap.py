"""ID maps: /etc/subuid parsing and mapping construction (pure logic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdman.runtime import idmap
from pdman.runtime.idmap import IdRange, SubIdRange, build_mapping, parse_subid

SUBUID = """\
# comment line
alice:100000:65536
bob:165536:65536

1001:231072:1000
alice:300000:10
carol:notanumber:65536
alice:400000:0
dave:500000
alice:-5:10
"""


def test_parse_by_name_keeps_file_order() -> None:
    assert parse_subid(SUBUID, "alice", 1000) == [
        SubIdRange(100000, 65536), SubIdRange(300000, 10)]


def test_parse_by_numeric_uid() -> None:
    assert parse_subid(SUBUID, "eve", 1001) == [SubIdRange(231072, 1000)]


def test_parse_skips_malformed_and_empty_ranges() -> None:
    assert parse_subid(SUBUID, "carol", 1) == []
    assert parse_subid(SUBUID, "dave", 2) == []
    assert parse_subid("", "alice", 1000) == []


def test_full_mapping_root_is_the_user_then_the_ranges() -> None:
    m = build_mapping("alice", 1000, 1000, [SubIdRange(100000, 65536)],
                      [SubIdRange(200000, 65536)])
    assert not m.single_id and m.warning is None
    assert m.uid_map == (IdRange(0, 1000, 1), IdRange(1, 100000, 65536))
    assert m.gid_map == (IdRange(0, 1000, 1), IdRange(1, 200000, 65536))
    assert m.size == 65537
    assert m.host_uid(0) == 1000
    assert m.host_uid(1000) == 100999
    assert m.host_gid(1000) == 200999
    assert m.host_uid(65536) == 165535
    assert m.host_uid(65537) is None


def test_several_ranges_follow_each_other() -> None:
    m = build_mapping("alice", 1000, 1000,
                      [SubIdRange(100000, 10), SubIdRange(300000, 5)],
                      [SubIdRange(100000, 10)])
    assert m.uid_map == (IdRange(0, 1000, 1), IdRange(1, 100000, 10), IdRange(11, 300000, 5))
    assert m.host_uid(11) == 300000
    assert m.size == 16


def test_extents_capped_at_kernel_limit() -> None:
    many = [SubIdRange(100000 + 10 * i, 10) for i in range(400)]
    m = build_mapping("alice", 1000, 1000, many, many)
    assert len(m.uid_map) == idmap.MAX_EXTENTS


@pytest.mark.parametrize(
    ("subuids", "subgids", "helpers", "why"),
    [
        ([], [SubIdRange(1, 2)], True, "no subordinate UID range for `alice`"),
        ([SubIdRange(1, 2)], [], True, "no subordinate GID range for `alice`"),
        ([SubIdRange(1, 2)], [SubIdRange(1, 2)], False, "newuidmap/newgidmap not found"),
    ],
)
def test_single_id_fallback_says_why_once(subuids: list[SubIdRange],
                                          subgids: list[SubIdRange], helpers: bool,
                                          why: str) -> None:
    m = build_mapping("alice", 1000, 1001, subuids, subgids, helpers_found=helpers)
    assert m.single_id
    assert m.uid_map == (IdRange(0, 1000, 1),)
    assert m.gid_map == (IdRange(0, 1001, 1),)
    assert m.warning is not None and why in m.warning
    assert "single-ID mapping" in m.warning and "/etc/subuid" in m.warning
    assert m.host_uid(1) is None


def test_mapping_for_user_reads_files(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    subuid = tmp_path / "subuid"
    subgid = tmp_path / "subgid"
    subuid.write_text("alice:100000:65536\n")
    subgid.write_text("1000:100000:65536\n")
    monkeypatch.setattr(idmap.tools, "find", lambda name: f"/usr/bin/{name}")
    m = idmap.mapping_for_user("alice", 1000, 1000, str(subuid), str(subgid))
    assert not m.single_id
    missing = idmap.mapping_for_user("alice", 1000, 1000, str(subuid),
                                     str(tmp_path / "absent"))
    assert missing.single_id


def test_newuidmap_arguments() -> None:
    m = build_mapping("alice", 1000, 1000, [SubIdRange(100000, 65536)],
                      [SubIdRange(100000, 65536)])
    assert idmap._map_args(m.uid_map) == ["0", "1000", "1", "1", "100000", "65536"]


def test_tool_env_drops_bundle_library_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)  # as in the PyInstaller binary
    monkeypatch.setenv("LD_LIBRARY_PATH", "/tmp/_MEI123")
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG", raising=False)
    assert "LD_LIBRARY_PATH" not in idmap._tool_env()
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/opt/lib")
    assert idmap._tool_env()["LD_LIBRARY_PATH"] == "/opt/lib"
