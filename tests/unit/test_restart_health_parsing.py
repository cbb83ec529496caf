"""Parsing of --restart and the healthcheck options, the back-off, and the decisions the
restart policy takes (pure logic; tests/integration/test_restart_health.py runs them)."""

from __future__ import annotations

from typing import Any

import pytest

from pdman.engine import health, restart_policy
from pdman.entities.create import CreateOptions
from pdman.errors import UsageError
from pdman.storage.container_records import ContainerRecord


@pytest.mark.parametrize("value,expected", [
    (None, {"name": "", "max_retries": 0}),
    ("", {"name": "", "max_retries": 0}),
    ("no", {"name": "no", "max_retries": 0}),
    ("always", {"name": "always", "max_retries": 0}),
    ("unless-stopped", {"name": "unless-stopped", "max_retries": 0}),
    ("on-failure", {"name": "on-failure", "max_retries": 0}),
    ("on-failure:3", {"name": "on-failure", "max_retries": 3}),
    ("on-failure:0", {"name": "on-failure", "max_retries": 0}),
])
def test_restart_parse(value: str | None, expected: dict[str, Any]) -> None:
    assert restart_policy.parse(value) == expected


@pytest.mark.parametrize("value,message", [
    ("bogus", '"bogus" is not a valid restart policy'),
    ("always:3", "only be specified with on-failure"),
    ("on-failure:x", "retry count"),
    ("on-failure:-1", "greater than 0"),
])
def test_restart_parse_errors(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        restart_policy.parse(value)


def test_rm_conflicts_with_a_restart_policy() -> None:
    restart_policy.check_with_remove(restart_policy.parse("no"), True)
    with pytest.raises(UsageError, match="conflicts"):
        restart_policy.check_with_remove(restart_policy.parse("always"), True)


def test_back_off_doubles_caps_and_resets() -> None:
    delays = [restart_policy.next_delay(0, 1)]
    for _ in range(12):
        delays.append(restart_policy.next_delay(delays[-1], 1))
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert max(delays) == 60.0
    assert restart_policy.next_delay(60.0, 10.0) == 0.1     # ran 10 s: reset


def _rec(policy: str, code: int | None, **state: Any) -> ContainerRecord:
    return ContainerRecord(id="c" * 64, name="c", image_id="i", image_name="i", command=[],
                           created=0.0, config={"restart_policy": restart_policy.parse(policy)},
                           status="exited", exit_code=code, state=state)


@pytest.mark.parametrize("policy,code,state,expected", [
    ("no", 1, {}, False),
    ("", 1, {}, False),
    ("always", 0, {}, True),
    ("unless-stopped", 0, {}, True),
    ("always", 1, {"stopped_by_user": True}, False),
    ("on-failure", 0, {}, False),
    ("on-failure", 2, {}, True),
    ("on-failure:3", 1, {"restart_count": 2}, True),
    ("on-failure:3", 1, {"restart_count": 3}, False),
    ("always", None, {}, False),          # the monitor died: the exit is unknown
])
def test_should_restart(policy: str, code: int | None, state: dict[str, Any],
                        expected: bool) -> None:
    assert restart_policy.should_restart(_rec(policy, code, **state)) is expected


@pytest.mark.parametrize("text,ns", [
    ("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8), ("0", 0),
    ("1.5h", 5400 * 10**9), ("-1s", -(10**9)), ("10us", 10**4),
])
def test_go_durations(text: str, ns: int) -> None:
    assert health.parse_duration(text) == ns


@pytest.mark.parametrize("text", ["bogus", "5", "1x", "", "s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        health.parse_duration(text)


@pytest.mark.parametrize("text,test", [
    ("curl -f http://x/", ["CMD-SHELL", "curl -f http://x/"]),
    ('["CMD", "curl", "-f"]', ["CMD", "curl", "-f"]),
    ('["CMD-SHELL", "exit 1"]', ["CMD-SHELL", "exit 1"]),
    ('["curl", "-f"]', ["CMD", "curl", "-f"]),
    ('["true"]', ["CMD-SHELL", "true"]),
    ("none", ["NONE"]),
])
def test_health_cmd_forms(text: str, test: list[str]) -> None:
    assert health.parse_command(text) == test


@pytest.mark.parametrize("text", ["", "[]", '["CMD"]', '["CMD-SHELL", " "]'])
def test_health_cmd_needs_a_command(text: str) -> None:
    with pytest.raises(UsageError, match="must define a healthcheck command"):
        health.parse_command(text)


def _opts(**kw: Any) -> CreateOptions:
    return CreateOptions(image="x", **kw)


def test_resolve_defaults_image_and_overrides() -> None:
    assert health.resolve(_opts(), None) is None
    hc = health.resolve(_opts(health_cmd="true"), None)
    assert hc == {"test": ["CMD-SHELL", "true"], "interval": 30 * 10**9,
                  "timeout": 30 * 10**9, "start_period": 0, "start_interval": 0, "retries": 3}
    image = {"Test": ["CMD", "check"], "Interval": 5 * 10**9, "Retries": 7}
    hc = health.resolve(_opts(health_interval="1s"), image)
    assert hc is not None
    assert (hc["test"], hc["interval"], hc["retries"]) == (["CMD", "check"], 10**9, 7)
    assert health.resolve(_opts(no_healthcheck=True), image) is None
    assert health.resolve(_opts(health_cmd="none"), image) is None
    assert health.resolve(_opts(), {"Test": ["NONE"]}) is None
    assert health.resolve(_opts(health_cmd="true", health_interval="disable"), None)["interval"] == 0


@pytest.mark.parametrize("kw,message", [
    ({"health_interval": "x"}, "invalid healthcheck-interval"),
    ({"health_timeout": "500ms"}, "healthcheck-timeout must be at least 1 second"),
    ({"health_retries": 0}, "healthcheck-retries must be greater than 0"),
    ({"health_start_period": "-1s"}, "healthcheck-start-period must be 0 seconds or greater"),
    ({"no_healthcheck": True}, "cannot specify both"),
])
def test_resolve_errors(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        health.resolve(_opts(health_cmd="true", **kw), None)


def test_on_failure_actions() -> None:
    assert [health.parse_on_failure(a) for a in (None, "kill", "restart", "stop")] == \
        ["none", "kill", "restart", "stop"]
    with pytest.raises(UsageError, match="supported actions are none,kill,restart,stop"):
        health.parse_on_failure("bogus")


def test_schedule_and_report() -> None:
    hc = health.resolve(_opts(health_cmd="true", health_interval="2s",
                              health_start_period="10s", health_start_interval="500ms"), None)
    assert health.schedule(hc) == (2000, 10000, 500)
    assert health.schedule({**hc, "interval": 0}) is None
    assert health.schedule({**hc, "start_interval": 0}) == (2000, 10000, 2000)
    assert health.config_report(hc) == {
        "Test": ["CMD-SHELL", "true"], "StartPeriod": 10 * 10**9, "StartInterval": 5 * 10**8,
        "Interval": 2 * 10**9, "Timeout": 30 * 10**9, "Retries": 3}
