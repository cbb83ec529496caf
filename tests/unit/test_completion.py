"""`pdman completion SHELL`, and completion requests answered through the real entry point
(the fast path must step aside when a shell asks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _pdman(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("_PDMAN_")}
    return subprocess.run([sys.executable, "-m", "pdman", *args], cwd=REPO, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("shell,marker", [
    ("bash", "_PDMAN_COMPLETE=complete_bash"),
    ("zsh", "_PDMAN_COMPLETE=complete_zsh"),
    ("fish", "_PDMAN_COMPLETE=complete_fish"),
])
def test_script_per_shell(shell: str, marker: str) -> None:
    done = _pdman("completion", shell)
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout
    assert "pdman" in done.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    done = _pdman("completion", "tcsh")
    assert done.returncode == 125
    assert "tcsh" in done.stderr and "bash, zsh or fish" in done.stderr


def test_bash_completes_commands_and_options() -> None:
    done = _pdman(COMP_WORDS="pdman ima", COMP_CWORD="1", _PDMAN_COMPLETE="complete_bash")
    assert set(done.stdout.split()) >= {"image", "images"}
    done = _pdman(COMP_WORDS="pdman ps --no-t", COMP_CWORD="2", _PDMAN_COMPLETE="complete_bash")
    assert done.stdout.split() == ["--no-trunc"]


def test_fast_path_steps_aside_for_completion_requests() -> None:
    # `ps` is a fast-path command: with the variable set, Typer must answer instead of ps
    done = _pdman("ps", COMP_WORDS="pdman ps --no-t", COMP_CWORD="2", _PDMAN_COMPLETE="complete_bash")
    assert "CONTAINER ID" not in done.stdout
    assert done.stdout.split() == ["--no-trunc"]


def test_zsh_and_fish_requests() -> None:
    done = _pdman(_TYPER_COMPLETE_ARGS="pdman container ren", _PDMAN_COMPLETE="complete_zsh")
    assert '"rename"' in done.stdout
    done = _pdman(_TYPER_COMPLETE_ARGS="pdman ps --no-t", _PDMAN_COMPLETE="complete_fish",
                  _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert done.stdout.startswith("--no-trunc")
