"""login/logout: credentials checked with the registry, then stored in auth.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fake_registry import FakeRegistry
from pdman.engine import logins
from pdman.entities.images import LoginOptions
from pdman.errors import AuthenticationError


@pytest.mark.parametrize("kind", ["bearer", "basic"])
def test_login_checks_then_stores(tmp_path: Path, kind: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(tmp_path / "none.conf"))
    reg = FakeRegistry(bearer=kind == "bearer", basic=kind == "basic", users={"u": "p"})
    authfile = tmp_path / "auth.json"
    with pytest.raises(AuthenticationError):
        logins.login(LoginOptions("reg.test", "u", "bad", authfile=str(authfile)),
                     reg.transport())
    assert not authfile.exists()
    logins.login(LoginOptions("https://reg.test/v2/", "u", "p", authfile=str(authfile)),
                 reg.transport())
    assert os.stat(authfile).st_mode & 0o777 == 0o600
    assert "reg.test" in json.loads(authfile.read_text())["auths"]
    assert logins.get_login("reg.test", str(authfile)) == "u"
    assert logins.logout("reg.test", authfile=str(authfile)) == ["reg.test"]
    with pytest.raises(AuthenticationError, match="not logged into reg.test"):
        logins.logout("reg.test", authfile=str(authfile))
    with pytest.raises(AuthenticationError, match="not logged into"):
        logins.get_login("reg.test", str(authfile))


def test_logout_all(tmp_path: Path) -> None:
    from pdman.image import auth

    f = tmp_path / "auth.json"
    auth.store("a.io", auth.Credentials("u", "p"), f)
    auth.store("b.io", auth.Credentials("u", "p"), f)
    assert sorted(logins.logout("", all=True, authfile=str(f))) == ["a.io", "b.io"]
    assert json.loads(f.read_text())["auths"] == {}


def test_normalize_registry() -> None:
    assert logins.normalize_registry("https://index.docker.io/v1/") == "docker.io"
    assert logins.normalize_registry("127.0.0.1:5000") == "127.0.0.1:5000"
