"""Credentials from auth.json and docker's config.json."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from pdman.errors import AuthenticationError
from pdman.image import auth


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_lookup_order_and_specific_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": {
        "reg.io": {"auth": b64("alice:pw1")},
        "reg.io/team/app": {"auth": b64("bob:pw:with:colons")},
    }}))
    docker = tmp_path / "docker" / "config.json"
    docker.parent.mkdir()
    docker.write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": b64("carol:pw3")},
        "http://127.0.0.1:5000": {"username": "dave", "password": "pw4"},
    }}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker.parent))
    c = auth.lookup("reg.io", "other")
    assert (c.username, c.password) == ("alice", "pw1")
    c = auth.lookup("reg.io", "team/app")
    assert (c.username, c.password) == ("bob", "pw:with:colons")
    c = auth.lookup("docker.io", "library/nginx")
    assert (c.username, c.password) == ("carol", "pw3")
    c = auth.lookup("127.0.0.1:5000")
    assert (c.username, c.password) == ("dave", "pw4")
    assert auth.lookup("nowhere.io") is None
    assert "pw" not in repr(c)


def test_explicit_authfile_only(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"auths": {"r.io": {"auth": b64("u:p")}}}))
    assert auth.lookup("r.io", authfile=f).username == "u"
    assert auth.lookup("r.io", authfile=tmp_path / "missing.json") is None


def test_bad_entries_are_clear_errors(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"auths": {"r.io": {"auth": b64("no-colon")}}}))
    with pytest.raises(AuthenticationError, match="no `:`"):
        auth.lookup("r.io", authfile=f)
    f.write_text("{not json")
    with pytest.raises(AuthenticationError, match=str(f)):
        auth.lookup("r.io", authfile=f)


def test_store_and_remove_are_private(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "auth.json"
    auth.store("r.io", auth.Credentials("u", "p"), f)
    assert os.stat(f).st_mode & 0o777 == 0o600
    assert auth.lookup("r.io", authfile=f).password == "p"
    assert auth.remove("r.io", f)
    assert auth.lookup("r.io", authfile=f) is None
    assert not auth.remove("r.io", f)


def test_creds_option() -> None:
    c = auth.parse_creds_option("user:pa:ss")
    assert (c.username, c.password) == ("user", "pa:ss")
