"""registries.conf: search registries, aliases, insecure and blocked registries."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdman.errors import ImageNotFound, ShortNameError, UsageError
from pdman.image import registries_conf
from pdman.image.reference import parse

CONF = '''
unqualified-search-registries = ["quay.io", "docker.io"]

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"

[[registry]]
location = "127.0.0.1:5000"
insecure = true

[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"

[[registry.mirror]]
location = "mirror.example.com/bar"
insecure = true

[[registry]]
location = "blocked.io"
blocked = true

[[registry]]
prefix = "*.wild.io"
insecure = true
'''


def conf() -> registries_conf.RegistriesConf:
    return registries_conf.parse_text(CONF)


def test_short_names_try_each_search_registry_in_order_unless_enforcing() -> None:
    for mode in ("permissive", "disabled"):
        c = registries_conf.parse_text(f'short-name-mode = "{mode}"\n' + CONF)
        got = [str(r) for r in c.candidates(parse("busybox"))]
        assert got == ["quay.io/busybox:latest", "docker.io/library/busybox:latest"]


def test_enforcing_is_the_default_and_refuses_to_guess_without_a_terminal() -> None:
    c = conf()
    assert c.short_name_mode == "enforcing"
    with pytest.raises(ShortNameError) as err:
        c.candidates(parse("busybox"))
    assert "quay.io/busybox" in err.value.message and "docker.io/library/busybox" in \
        err.value.message
    assert "fully qualified" in (err.value.hint or "") and "[aliases]" in (err.value.hint or "")
    assert err.value.exit_code == 125


def test_a_terminal_picks_in_enforcing_and_permissive_but_not_disabled() -> None:
    asked: list[tuple[str, list[str]]] = []

    def choose(short: str, names: list[str]) -> str:
        asked.append((short, names))
        return names[1]

    for mode in ("enforcing", "permissive"):
        c = registries_conf.parse_text(f'short-name-mode = "{mode}"\n' + CONF)
        assert [str(r) for r in c.candidates(parse("busybox:1"), choose)] == \
            ["docker.io/library/busybox:1"]
    assert asked == [("busybox", ["quay.io/busybox", "docker.io/library/busybox"])] * 2
    c = registries_conf.parse_text('short-name-mode = "disabled"\n' + CONF)
    assert len(c.candidates(parse("busybox"), choose)) == 2 and len(asked) == 2
    # one search registry: nothing to ask, whatever the mode
    one = registries_conf.parse_text('unqualified-search-registries = ["reg.test"]\n')
    assert [str(r) for r in one.candidates(parse("x"), choose)] == ["reg.test/x:latest"]
    assert len(asked) == 2
    # an alias: nothing to ask either
    assert [str(r) for r in conf().candidates(parse("fedora"), choose)] == \
        ["registry.fedoraproject.org/fedora:latest"]


def test_unknown_short_name_mode_is_an_error() -> None:
    with pytest.raises(UsageError, match="short-name-mode"):
        registries_conf.parse_text('short-name-mode = "sometimes"\n')


def test_recorded_alias_wins_and_is_written_as_podman_does(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(tmp_path / "registries.conf"))
    (tmp_path / "registries.conf").write_text(CONF)
    c = registries_conf.load()
    c.record_alias("busybox", "docker.io/library/busybox")
    cache = tmp_path / "cfg/containers/short-name-aliases.conf"
    assert cache.read_text() == '[aliases]\n  "busybox" = "docker.io/library/busybox"\n'
    again = registries_conf.load()
    assert [str(r) for r in again.candidates(parse("busybox:2"))] == \
        ["docker.io/library/busybox:2"]
    # the cache wins over registries.conf's own aliases (containers-registries.conf(5))
    again.record_alias("fedora", "quay.io/fedora/fedora")
    assert [str(r) for r in registries_conf.load().candidates(parse("fedora"))] == \
        ["quay.io/fedora/fedora:latest"]


def test_aliases_win_and_keep_the_tag() -> None:
    assert [str(r) for r in conf().candidates(parse("fedora:39"))] == \
        ["registry.fedoraproject.org/fedora:39"]


def test_qualified_names_are_taken_as_they_are() -> None:
    assert [str(r) for r in conf().candidates(parse("127.0.0.1:5000/x"))] == \
        ["127.0.0.1:5000/x:latest"]


def test_no_file_means_docker_io() -> None:
    empty = registries_conf.RegistriesConf()
    assert [str(r) for r in empty.candidates(parse("nginx"))] == \
        ["docker.io/library/nginx:latest"]


def test_empty_search_list_refuses_short_names() -> None:
    c = registries_conf.parse_text("unqualified-search-registries = []\n")
    with pytest.raises(ImageNotFound, match="short-name"):
        c.candidates(parse("nginx"))


def test_insecure_and_endpoints() -> None:
    c = conf()
    assert c.is_insecure("127.0.0.1:5000")
    assert not c.is_insecure("quay.io")
    [ep] = c.endpoints(parse("127.0.0.1:5000/a/b:1"))
    assert (ep.registry, ep.repository, ep.insecure) == ("127.0.0.1:5000", "a/b", True)
    mirror, primary = c.endpoints(parse("example.com/foo/app:1"))
    assert (mirror.registry, mirror.repository, mirror.insecure) == \
        ("mirror.example.com", "bar/app", True)
    assert (primary.registry, primary.repository) == ("internal.example.com", "bar/app")
    [ep] = c.endpoints(parse("x.wild.io/app"))
    assert ep.insecure and ep.registry == "x.wild.io"


def test_blocked_registry() -> None:
    with pytest.raises(UsageError, match="blocked"):
        conf().endpoints(parse("blocked.io/x"))


def test_v1_format() -> None:
    c = registries_conf.parse_text(
        '[registries.search]\nregistries = ["r.io"]\n'
        '[registries.insecure]\nregistries = ["127.0.0.1:1"]\n')
    assert c.search == ["r.io"]
    assert c.is_insecure("127.0.0.1:1")


def test_load_first_existing_file_and_dropins(tmp_path: Path) -> None:
    user = tmp_path / "user.conf"
    system = tmp_path / "registries.conf"
    system.write_text('unqualified-search-registries = ["sys.io"]\n')
    dropins = tmp_path / "registries.conf.d"
    dropins.mkdir()
    (dropins / "10-x.conf").write_text('[[registry]]\nlocation = "d.io"\ninsecure = true\n')
    c = registries_conf.load([user, system])
    assert c.search == ["sys.io"] and c.is_insecure("d.io")
    user.write_text('unqualified-search-registries = ["user.io"]\n')
    assert registries_conf.load([user, system]).search == ["user.io"]


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "registries.conf"
    bad.write_text("unqualified-search-registries = [\n")
    with pytest.raises(UsageError, match=str(bad)):
        registries_conf.load([bad])
