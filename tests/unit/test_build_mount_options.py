"""RUN --mount option parsing (build/mounts.py): docker's defaults and refusals."""

from __future__ import annotations

import pytest

from pdman.build.mounts import parse_mount, parse_mounts
from pdman.errors import BuildFileError


def test_defaults_per_type() -> None:
    bind = parse_mount("target=/m", "/")
    assert (bind.kind, bind.source, bind.readonly, bind.from_ref) == ("bind", "/", True, "")
    assert parse_mount("type=bind,src=a/b,target=m,rw", "/w").readonly is False
    assert parse_mount("type=bind,src=a/b,target=m,rw", "/w").target == "/w/m"
    cache = parse_mount("type=cache,target=/root/.cache", "/")
    assert (cache.cache_id, cache.sharing, cache.readonly, cache.mode) == \
        ("/root/.cache", "shared", False, None)
    c2 = parse_mount("type=cache,id=x,target=/c,uid=1000,gid=2,mode=0750,sharing=locked", "/")
    assert (c2.cache_id, c2.uid, c2.gid, c2.mode, c2.sharing) == ("x", 1000, 2, 0o750, "locked")
    secret = parse_mount("type=secret,id=tok", "/")
    assert (secret.target, secret.readonly, secret.required) == ("/run/secrets/tok", True, False)
    assert parse_mount("type=secret,target=/etc/key,required", "/").cache_id == "key"
    assert parse_mount("type=tmpfs,target=/t,size=4096", "/").size == 4096


def test_a_secret_is_keyed_by_id_only() -> None:
    m = parse_mount("type=secret,id=tok", "/")
    assert "tok" in m.key_text() and "src" in m.key_text()


@pytest.mark.parametrize("spec, words", [
    ("type=nfs,target=/x", "unknown type"),
    ("type=cache", "target= is required"),
    ("type=secret", "needs id= or target="),
    ("type=cache,target=/x,sharing=maybe", "sharing=maybe"),
    ("type=cache,target=/x,uid=-1", "invalid value"),
    ("type=cache,target=/x,mode=9", "invalid value"),
    ("type=tmpfs,target=/x,from=a", "not an option"),
    ("type=bind,target=/x,rw=perhaps", "invalid value"),
])
def test_refusals(spec: str, words: str) -> None:
    with pytest.raises(BuildFileError) as err:
        parse_mount(spec, "/")
    assert words in err.value.message


def test_one_target_once() -> None:
    with pytest.raises(BuildFileError):
        parse_mounts(["target=/a", "type=tmpfs,target=/a/"], "/")
