"""The last line of defence: an exception that escapes the engine reaches the user as a
one-line error (exit 125, a hint to report the bug), on the fast path and on Typer's,
with the traceback only in debug mode; Ctrl-C still exits 130."""

from __future__ import annotations

import pytest

from pdman import __main__ as entry
from pdman.cli import decl, fast, globalopts


def _boom(*_args: object, **_kw: object) -> int:
    raise KeyError("ContainerConfig")


@pytest.fixture
def fast_path_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # `ps` takes the fast path; its handler call raises what no layer expected
    monkeypatch.setattr(globalopts, "call_handler", _boom)


@pytest.fixture
def typer_path_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast, "try_run", lambda argv: None)
    monkeypatch.setattr(decl, "call_handler", _boom)


@pytest.mark.parametrize("path", ["fast_path_raises", "typer_path_raises"])
def test_unexpected_exception_is_one_clean_line(path: str, request: pytest.FixtureRequest,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDMAN_DEBUG", raising=False)
    request.getfixturevalue(path)
    code = entry.main(["ps"])
    out, err = capsys.readouterr()
    assert code == 125
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert lines[0] == "Error: unexpected internal error (KeyError: 'ContainerConfig')"
    assert lines[1].startswith("Hint: this is a bug in pdman") and "PDMAN_DEBUG=1" in lines[1]
    assert len(lines) == 2


@pytest.mark.parametrize("how", [["--log-level", "debug", "ps"], ["--log-level=debug", "ps"],
                                 ["--root", "/nonexistent", "--log-level", "debug", "ps"]])
def test_debug_mode_shows_the_traceback(how: list[str], fast_path_raises: None,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDMAN_DEBUG", raising=False)
    assert entry.main(how) == 125
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_boom" in err
    assert "Error: unexpected internal error" in err


def test_pdman_debug_env_shows_the_traceback(fast_path_raises: None,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDMAN_DEBUG", "1")
    assert entry.main(["ps"]) == 125
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_a_command_argument_named_debug_is_not_debug_mode(
        fast_path_raises: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDMAN_DEBUG", raising=False)
    assert entry.main(["ps", "--log-level", "debug"]) in (125, 2)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("path", ["fast_path_raises", "typer_path_raises"])
def test_ctrl_c_still_exits_130(path: str, request: pytest.FixtureRequest,
                                capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    request.getfixturevalue(path)

    def interrupted(*_a: object, **_k: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(globalopts, "call_handler", interrupted)
    monkeypatch.setattr(decl, "call_handler", interrupted)
    assert entry.main(["ps"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_system_exit_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def leave(*_a: object, **_k: object) -> int:
        raise SystemExit(3)

    monkeypatch.setattr(globalopts, "call_handler", leave)
    with pytest.raises(SystemExit) as info:
        entry.main(["ps"])
    assert info.value.code == 3
