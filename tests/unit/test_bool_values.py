"""podman's `--flag=true|false` on boolean flags (pdman/cli/fast.py: bool_values)."""

from __future__ import annotations

from pdman.cli.fast import bool_values


def test_true_and_false_become_the_flag_or_its_negation() -> None:
    argv = ["run", "--rm=false", "--read-only-tmpfs=false", "-e", "X=1", "--name", "n",
            "--tty=TRUE", "img", "--rm=true"]
    assert bool_values(argv) == ["run", "--no-read-only-tmpfs", "-e", "X=1", "--name", "n",
                                 "--tty", "img", "--rm=true"]


def test_global_options_and_other_commands() -> None:
    assert bool_values(["--root", "/x", "create", "--no-hosts=true", "--env-host=false",
                        "img"]) == ["--root", "/x", "create", "--no-hosts", "img"]
    assert bool_values(["ps", "-a", "--format={{.ID}}"]) == ["ps", "-a", "--format={{.ID}}"]
    # a value that is not a boolean is left for the parser to refuse
    assert bool_values(["run", "--rm=maybe", "img"]) == ["run", "--rm=maybe", "img"]
