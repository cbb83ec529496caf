"""Pure logic of pods (engine/pods.py): `--share` parsing and a pod's state from its
containers' states, as podman 4.3 names them."""

from __future__ import annotations

import pytest

from pdman.engine import pods
from pdman.errors import UsageError
from pdman.storage.container_records import ContainerRecord


def test_share_defaults_and_forms() -> None:
    assert pods.parse_share(None, infra=True) == ["ipc", "net", "uts"]
    assert pods.parse_share(None, infra=False) == []
    assert pods.parse_share("net", infra=True) == ["net"]
    assert pods.parse_share("", infra=True) == []
    assert pods.parse_share("none", infra=True) == []
    assert pods.parse_share("uts,ipc", infra=True) == ["uts", "ipc"]


@pytest.mark.parametrize("value", ["pid", "cgroup", "+pid", "mnt", "net,bogus"])
def test_share_refuses_what_is_not_built_or_unknown(value: str) -> None:
    with pytest.raises(UsageError):
        pods.parse_share(value, infra=True)


def test_share_without_infra_is_refused() -> None:
    with pytest.raises(UsageError, match="without an infra container"):
        pods.parse_share("net", infra=False)


def _rec(status: str) -> ContainerRecord:
    return ContainerRecord(id=status, name=status, image_id="", image_name="", command=[],
                           created=0.0, config={}, status=status)


@pytest.mark.parametrize(("states", "expected"), [
    ([], "Created"),
    (["created", "created"], "Created"),
    (["running", "running"], "Running"),
    (["paused"], "Paused"),
    (["exited", "exited"], "Exited"),
    (["exited", "created"], "Exited"),
    (["running", "exited"], "Degraded"),
    (["running", "created"], "Degraded"),
])
def test_pod_status(states: list[str], expected: str) -> None:
    assert pods.status([_rec(s) for s in states]) == expected
