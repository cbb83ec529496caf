"""The committed podman table (`podman-4.3.json`) is the installed podman 4.3's, so the
measure cannot rot; and the help parser reads cobra's layout right."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.compat import snapshot


def _installed_podman_43() -> bool:
    if not shutil.which("podman"):
        return False
    out = subprocess.run(["podman", "--version"], capture_output=True, text=True).stdout
    return out.split()[-1:] and out.split()[-1].startswith("4.3.")


def test_snapshot_equals_the_installed_podman() -> None:
    if not _installed_podman_43():
        pytest.skip("podman 4.3 is not installed here (packaging/install-deps.sh installs it)")
    assert snapshot.render(snapshot.build()) == snapshot.SNAPSHOT.read_text(), (
        "run `python -m tests.compat.snapshot` and commit")


def test_help_parser_reads_names_kinds_and_subcommands() -> None:
    page = """Remove one or more containers

Usage:
  podman rm [options] CONTAINER [CONTAINER...]

Available Commands:
  healthcheck Manage health checks on containers
  help        Help about any command
  rm          Remove

Options:
  -a, --all                   Remove all containers
      --cidfile stringArray   Read the container ID from the file
      --detach-keys [a-Z]     Override the key sequence
                              Not supported with the "--remote" flag
  -t, --time uint             Seconds to wait (default 10)
      --help                  Help
"""
    subs, flags = snapshot.parse_help(page)
    assert subs == ["healthcheck", "rm"]
    assert flags == [
        {"long": "all", "short": "a", "value": False},
        {"long": "cidfile", "short": "", "value": True},
        {"long": "detach-keys", "short": "", "value": True},
        {"long": "time", "short": "t", "value": True},
    ]
