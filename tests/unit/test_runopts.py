"""`run`/`create` option syntax, as docker and podman accept it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdman.engine import runopts
from pdman.errors import UsageError


def test_capabilities_default_add_drop() -> None:
    assert runopts.capabilities(None, None) == list(runopts.DEFAULT_CAPS)
    assert runopts.capabilities(None, ["all"]) == []
    assert runopts.capabilities(["chown"], ["ALL"]) == ["CAP_CHOWN"]
    caps = runopts.capabilities(["NET_ADMIN"], ["CAP_KILL"])
    assert "CAP_NET_ADMIN" in caps and "CAP_KILL" not in caps
    assert runopts.capabilities(["all"], None) == list(runopts.ALL_CAPS)
    with pytest.raises(UsageError, match="unknown capability 'fly'"):
        runopts.capabilities(["fly"], None)


def test_env_from_flags_files_and_the_callers_environment(tmp_path: Path) -> None:
    f = tmp_path / "env"
    f.write_text("# c\n\nA=file\nB=2\n")
    env = runopts.env_list(["A=flag", "HOME_X", "MISSING", "P*"], [str(f)],
                           host_env={"HOME_X": "h", "P1": "a", "P2": "b"})
    assert env == {"A": "flag", "B": "2", "HOME_X": "h", "P1": "a", "P2": "b"}
    with pytest.raises(UsageError, match="env file"):
        runopts.env_list([], [str(tmp_path / "nope")])
    merged = runopts.merge_env(["PATH=/bin", "X=1"], {"X": "2"})
    assert merged == ["PATH=/bin", "X=2"]


@pytest.mark.parametrize(("spec", "expected"), [
    ("/a:/b", {"type": "bind", "source": "/a", "destination": "/b", "readonly": False}),
    ("/a:/b:ro", {"type": "bind", "source": "/a", "destination": "/b", "readonly": True}),
    ("vol:/data", {"type": "volume", "source": "vol", "destination": "/data", "readonly": False}),
    ("/anon", {"type": "volume", "source": "", "destination": "/anon", "readonly": False}),
])
def test_volume_syntax(spec: str, expected: dict[str, object]) -> None:
    got = runopts.volume(spec)
    assert {k: got[k] for k in expected} == expected


@pytest.mark.parametrize("bad", ["/a:rel", "a:b:c:d", "/a:/b:bogus", "bad name!:/x"])
def test_bad_volumes_are_clear_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        runopts.volume(bad)


def test_mount_and_tmpfs_syntax() -> None:
    m = runopts.mount("type=bind,source=/src,target=/dst,readonly")
    assert (m["type"], m["source"], m["destination"], m["readonly"]) == ("bind", "/src", "/dst", True)
    t = runopts.mount("type=tmpfs,target=/t,tmpfs-size=1m")
    assert t["options"] == ["size=1m"]
    assert runopts.tmpfs("/run:size=64m,ro") == {"type": "tmpfs", "source": "tmpfs",
                                                  "destination": "/run", "readonly": True,
                                                  "options": ["size=64m"]}
    with pytest.raises(UsageError):
        runopts.mount("type=bind,target=/x")
    with pytest.raises(UsageError):
        runopts.mount("type=nfs,target=/x")


@pytest.mark.parametrize(("value", "n"), [("512m", 512 << 20), ("1g", 1 << 30), ("1024", 1024),
                                          ("64k", 64 << 10), ("1.5g", 3 << 29)])
def test_memory_sizes(value: str, n: int) -> None:
    assert runopts.memory_bytes(value) == n


def test_user_spec() -> None:
    assert runopts.user_spec("1000:1000") == ("1000", "1000")
    assert runopts.user_spec("nobody") == ("nobody", "")
    with pytest.raises(UsageError):
        runopts.user_spec(":1")


def test_ulimits_defaults_and_options() -> None:
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    by_type = {r["type"]: r for r in runopts.ulimits([])}
    assert by_type["nofile"] == {"type": "nofile", "soft": hard, "hard": hard}   # podman's
    assert set(by_type) == {"nofile", "nproc"}
    by_type = {r["type"]: r for r in runopts.ulimits(["nofile=512:1024", "core=-1", "stack=8"])}
    assert by_type["nofile"] == {"type": "nofile", "soft": 512, "hard": 1024}
    assert by_type["core"] == {"type": "core", "soft": -1, "hard": -1}
    assert by_type["stack"] == {"type": "stack", "soft": 8, "hard": 8}
    for bad in ("nofile", "nofile=", "nofile=2:1", "bogus=1", "nofile=x", "nofile=-1:5"):
        with pytest.raises(UsageError, match="--ulimit"):
            runopts.ulimits([bad])
