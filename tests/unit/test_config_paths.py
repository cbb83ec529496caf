"""Where the store goes (pdman/config.py): root mode's own paths, the home directory
from the user database when HOME is unset, and a clear error when there is none."""

from __future__ import annotations

import os
import pwd

import pytest

from pdman import config
from pdman.errors import StorageError


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for var in ("HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "PDMAN_ROOT",
                "PDMAN_RUNROOT", "REGISTRY_AUTH_FILE"):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_root_mode_has_its_own_store(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setattr(config, "_root_mode", True)
    bare_env.setenv("HOME", "/home/someone")
    bare_env.setenv("XDG_DATA_HOME", "/home/someone/.local/share")
    bare_env.setenv("XDG_RUNTIME_DIR", "/")
    paths = config.Paths()
    assert (paths.root, paths.runroot) == ("/var/lib/pdman", "/run/pdman")


def test_root_mode_paths_are_overridable(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setattr(config, "_root_mode", True)
    bare_env.setenv("PDMAN_ROOT", "/srv/pdman")
    bare_env.setenv("PDMAN_RUNROOT", "/run/other")
    assert (config.default_root(), config.default_runroot()) == ("/srv/pdman", "/run/other")
    assert config.Paths("/a", "/b").root == "/a"


def test_root_mode_auth_file_without_runtime_dir(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setattr(config, "_root_mode", True)
    assert str(config.auth_file_path()) == "/run/containers/0/auth.json"


def test_rootless_store_without_home_is_the_passwd_home(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setattr(config, "_root_mode", False)
    home = pwd.getpwuid(os.getuid()).pw_dir
    assert config.default_root() == os.path.join(home, ".local/share/pdman")
    assert str(config.config_home()) == os.path.join(home, ".config")


def test_no_home_at_all_is_a_clear_error(bare_env: pytest.MonkeyPatch) -> None:
    bare_env.setattr(config, "_root_mode", False)

    def unknown(uid: int) -> pwd.struct_passwd:
        raise KeyError(uid)

    bare_env.setattr(pwd, "getpwuid", unknown)
    with pytest.raises(StorageError) as err:
        config.default_root()
    assert "no home directory" in str(err.value) and "--root" in (err.value.hint or "")


def test_unwritable_store_is_a_clear_error(tmp_path, bare_env: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file"
    blocker.write_text("")
    paths = config.Paths(str(blocker / "store"), str(tmp_path / "run"))
    with pytest.raises(StorageError) as err:
        paths.ensure()
    assert str(blocker / "store") in str(err.value) and "--root" in (err.value.hint or "")
