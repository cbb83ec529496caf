"""The command lines of `generate systemd --new POD` (pure logic: from a recorded
`pod create` command and member create commands)."""

from __future__ import annotations

import pytest

from pdman.errors import UsageError
from pdman.systemd import generate, generate_pod


def test_pod_create_line_replaces_podmans_added_options() -> None:
    recorded = ["pdman", "--root", "/r", "pod", "create", "--pod-id-file", "/old", "--replace",
                "--exit-policy=continue", "--name", "web", "-p", "8080:80", "--label", "a=b"]
    line = generate_pod.new_pod_create(recorded, "/usr/bin/pdman", "web", "%t/pod-web.pod-id")
    assert line == ["/usr/bin/pdman", "--root", "/r", "pod", "create", "--pod-id-file",
                    "%t/pod-web.pod-id", "--exit-policy=stop", "--name", "web", "-p",
                    "8080:80", "--label", "a=b", "--replace"]


def test_pod_create_line_needs_a_recorded_command() -> None:
    with pytest.raises(UsageError, match="no recorded create command"):
        generate_pod.new_pod_create([], "pdman", "web", "%t/x")
    with pytest.raises(UsageError, match="cannot find `pod create`"):
        generate_pod.new_pod_create(["pdman", "create", "busybox"], "pdman", "web", "%t/x")


def test_member_joins_the_pod_by_its_id_file() -> None:
    recorded = ["pdman", "create", "--pod", "web", "--name", "app", "--pod-id-file=/old",
                "busybox", "sleep", "9"]
    line = generate.new_command(recorded, "pdman", "app", pod_id_file="%t/pod-web.pod-id")
    assert line == ["pdman", "run", "--cidfile=%t/%n.ctr-id", "--cgroups=no-conmon", "--rm",
                    "--pod-id-file", "%t/pod-web.pod-id", "--sdnotify=conmon", "--replace",
                    "-d", "--name", "app", "busybox", "sleep", "9"]
    # a container alone keeps its --pod (no pod unit replaces it)
    alone = generate.new_command(recorded[:6] + recorded[7:], "pdman", "app")
    assert "--pod" in alone and "--pod-id-file" not in alone
