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


def test_tls_verify_is_podmans_boolean() -> None:
    # `--tls-verify=false` (what scripts write) is the negation; bare, the flag itself
    assert bool_values(["pull", "--tls-verify=false", "img"]) == ["pull", "--no-tls-verify", "img"]
    assert bool_values(["manifest", "add", "--tls-verify=TRUE", "l", "img"]) == [
        "manifest", "add", "--tls-verify", "l", "img"]
    assert bool_values(["run", "--tls-verify=false", "img", "--tls-verify=false"]) == [
        "run", "--no-tls-verify", "img", "--tls-verify=false"]
