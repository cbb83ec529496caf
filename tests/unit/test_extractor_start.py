"""The layer extractor's zygote failing to start (newuidmap refused -- it is, e.g.,
under a tracer -- or a broken subordinate range) ends in an error at once: pdman once
waited forever for the zygote's "ready", because closing the socket from the failing
thread did not wake the main thread's recv()."""

from __future__ import annotations

import os
import threading
import time

import pytest

from pdman.runtime import idmap
from pdman.storage import extractor


def test_a_zygote_that_cannot_start_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: object, **_kw: object) -> None:
        time.sleep(0.3)         # the caller waits in recv() by then, as in real life
        raise RuntimeError("newuidmap: write to uid_map failed: Operation not permitted")

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(idmap, "run_in_userns", refused)
    monkeypatch.setattr(idmap, "mapping_for_current_user",
                        lambda: type("M", (), {"warning": None})())
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            extractor.Extractor().start()
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    t = threading.Thread(target=start, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "Extractor.start() hung on a zygote that never started"
    assert outcome and "newuidmap" in str(outcome[0])
