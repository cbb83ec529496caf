"""clean_env(): host tools never see the single-file binary's library path."""

from __future__ import annotations

import sys

import pytest

from pdman.runtime.hostenv import clean_env

BUNDLE = {"_PYI_ARCHIVE_FILE": "/home/u/.cache/pdman/0.1.0-ab/pdman", "_PYI_PARENT_PROCESS_LEVEL": "1",
          "PATH": "/usr/bin:/bin"}


def test_outside_a_bundle_the_environment_is_unchanged() -> None:
    env = {"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/mine/lib"}
    assert clean_env(env) == env


def test_bundle_path_dropped_and_callers_own_restored() -> None:
    env = {**BUNDLE, "LD_LIBRARY_PATH": "/home/u/.cache/pdman/0.1.0-ab/_internal:/opt/mine/lib",
           "LD_LIBRARY_PATH_ORIG": "/opt/mine/lib"}
    assert clean_env(env) == {"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/opt/mine/lib"}


def test_bundle_path_dropped_when_caller_had_none() -> None:
    env = {**BUNDLE, "LD_LIBRARY_PATH": "/home/u/.cache/pdman/0.1.0-ab/_internal"}
    assert clean_env(env) == {"PATH": "/usr/bin:/bin"}


def test_frozen_process_without_markers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert clean_env({"LD_LIBRARY_PATH": "/b/_internal", "HOME": "/h"}) == {"HOME": "/h"}
