"""Every remote verb takes every option its CLI command has: a flag added to a command
must reach its remote counterpart, which carries it or refuses it by name (a verb
without **options would fail with a TypeError, a traceback for the user)."""

from __future__ import annotations

import importlib
import inspect

from pdman.cli.spec_data import SPEC
from pdman.remote.dispatch import REMOTE

#: resolved by the dispatch before the verb is called
HANDLED_BY_DISPATCH = {"latest", "filter"}


def test_remote_verbs_take_every_cli_option() -> None:
    missing = []
    for target, remote in REMOTE.items():
        module, _, name = remote.rpartition(".")
        fn = getattr(importlib.import_module("pdman.remote." + module), name)
        sig = inspect.signature(fn)
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            continue
        for command, spec in SPEC["commands"].items():
            if spec["handler"] != target:
                continue
            params = {p["name"] for p in spec["params"]} - HANDLED_BY_DISPATCH
            lacking = sorted(params - set(sig.parameters))
            if lacking:
                missing.append((command, remote, lacking))
    assert not missing, missing
