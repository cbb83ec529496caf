"""The event log's pure parts: containers.conf keys, the hand-built JSON line, time and
duration parsing, filters, the docker view of an event, and the reader across a
rotation (files in a temporary directory)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from pdman.api.system import docker_event
from pdman.config import Paths
from pdman.engine import event_log, events
from pdman.errors import UsageError


@pytest.fixture(autouse=True)
def no_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    conf.write_text("")
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    monkeypatch.delenv(events.BACKEND_ENV, raising=False)
    monkeypatch.setattr(events, "_conf_cache", None)


def test_engine_keys_are_read_from_the_engine_table_only() -> None:
    text = ('[containers]\nevents_logger = "none"\n\n[engine]\n# events_logger = "x"\n'
            'events_logger = "file"   # a comment\nevents_logfile_max_size = 2000 # bytes\n'
            "events_logfile_path='/tmp/e.log'\n[engine.service_destinations]\n"
            'events_logger = "journald"\n')
    assert events.scan_engine_keys(text, ("events_logger", "events_logfile_max_size",
                                          "events_logfile_path")) == {
        "events_logger": "file", "events_logfile_max_size": "2000",
        "events_logfile_path": "/tmp/e.log"}


@pytest.mark.parametrize("text,size", [("1000000", 1_000_000), ("1m", 1_000_000),
                                       ("512k", 512_000), ("1MB", 1_000_000), ("2g", 2 * 10 ** 9),
                                       ("0", 0)])
def test_sizes(text: str, size: int) -> None:
    assert events.parse_size(text) == size



@pytest.fixture(autouse=True)
def _own_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """choose_logger() sets PDMAN_EVENTS_BACKEND in os.environ, and settings() caches:
    both are put back after each test (left set, every later test of the run handed
    "none" to the pdman processes it started, which then logged no events)."""
    monkeypatch.setenv(events.BACKEND_ENV, "file")  # recorded, so restored (unset) after
    monkeypatch.delenv(events.BACKEND_ENV)
    monkeypatch.setattr(events, "_conf_cache", None)


def test_settings_come_from_containers_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text(f'[engine]\nevents_logfile_path = "{tmp_path}/x.log"\n'
                    'events_logfile_max_size = "4k"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    paths = Paths(tmp_path / "root", tmp_path / "run")
    assert events.log_path(paths) == f"{tmp_path}/x.log"
    assert events.max_size() == 4000 and events.logger() == "file"
    events.choose_logger("none")
    assert events.logger() == "none"
    with pytest.raises(UsageError):
        events.choose_logger("syslog")


@pytest.mark.parametrize("name", ["plain", 'quo"te', "back\\slash", "tab\tnew\nline",
                                  "ünïcödé", "emoji 🐳", "\x00\x1f\x7f", "surrogate \udcff"])
def test_the_hand_built_line_is_json(name: str) -> None:
    raw = events.line("container", "start", id="a" * 64, name=name, image="img",
                      attributes={"k": name, "x=y": "1"}, exit_code=3, time_ns=123)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    d = json.loads(raw)
    want = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") \
        if "\udcff" in name else name
    if "\udcff" not in name:
        assert d["Name"] == want and d["Attributes"] == {"k": want, "x=y": "1"}
    ev = event_log.parse_line(raw)
    assert ev is not None and ev.TimeNano == 123 and ev.ContainerExitCode == 3


def test_torn_and_junk_lines_are_skipped() -> None:
    assert event_log.parse_line(b'{"Type":"container","Sta') is None
    assert event_log.parse_line(b"[1,2]") is None
    assert event_log.parse_line(b'{"Type":"x"}') is None


def test_go_time_and_rfc3339(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time as _t

    _t.tzset()
    ns = int(dt.datetime(2026, 12, 3, 0, 45, tzinfo=dt.timezone.utc).timestamp()) * 10 ** 9
    assert event_log.go_time(ns + 123456789) == "2026-12-03 00:45:00.123456789 +0000 UTC"
    assert event_log.go_time(ns + 120000000) == "2026-12-03 00:45:00.12 +0000 UTC"
    assert event_log.go_time(ns) == "2026-12-03 00:45:00 +0000 UTC"
    assert event_log.rfc3339_nano(ns + 5) == "2026-12-03T00:45:00.000000005Z"


@pytest.mark.parametrize("text,secs", [("10m", 600), ("1h30s", 3630), ("1.5h", 5400),
                                       ("500ms", 0.5), ("-5m", -300), ("2h45m", 9900)])
def test_durations(text: str, secs: float) -> None:
    assert event_log.parse_duration(text) == pytest.approx(secs)


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "1h junk", "h1"])
def test_not_durations(text: str) -> None:
    assert event_log.parse_duration(text) is None


def test_times() -> None:
    now = 1_800_000_000.0
    base = 1_800_000_000 * 10 ** 9
    assert event_log.parse_time("10m", True, now) == base - 600 * 10 ** 9
    assert event_log.parse_time("10m", False, now) == base + 600 * 10 ** 9
    assert event_log.parse_time("1700000000.5", True, now) == 1_700_000_000_500_000_000
    assert event_log.parse_time("2026-12-03T00:45:00Z", True, now) == \
        int(dt.datetime(2026, 12, 3, 0, 45, tzinfo=dt.timezone.utc).timestamp()) * 10 ** 9
    assert event_log.parse_time("2026-12-03T00:45:00.25+02:00", True, now) == \
        int(dt.datetime(2026, 12, 2, 22, 45, tzinfo=dt.timezone.utc).timestamp()) * 10 ** 9 \
        + 250_000_000
    local = dt.datetime(2026, 12, 3).astimezone()
    assert event_log.parse_time("2026-12-03", True, now) == int(local.timestamp()) * 10 ** 9
    with pytest.raises(UsageError, match="--until"):
        event_log.parse_time("tomorrow", False, now)


def ev(type: str, status: str, **kw: object) -> event_log.Event:
    return event_log.Event(type, status, kw.pop("t", 10 ** 18), **kw)  # type: ignore[arg-type]


def test_filters() -> None:
    c = ev("container", "start", ID="abcdef" + "0" * 58, Name="web",
           Image="127.0.0.1:5000/busybox:latest", Attributes={"team": "a"})
    d = ev("container", "died", ID="f" * 64, Name="db", Image="docker.io/library/nginx:latest",
           ContainerExitCode=1)
    i = ev("image", "pull", ID="9" * 64, Name="docker.io/library/busybox:latest")
    v = ev("volume", "create", Name="data")
    n = ev("network", "connect", ID="abcdef" + "0" * 58, Name="web", Network="front")
    every = [c, d, i, v, n]

    def pick(*filters: str) -> list[event_log.Event]:
        f = event_log.EventFilter(list(filters))
        return [e for e in every if f(e)]

    assert pick("container=web") == [c]
    assert pick("container=abcdef") == [c]
    assert pick("container=web", "container=db") == [c, d]
    assert pick("event=died") == [d] and pick("event=die") == [d] and pick("status=died") == [d]
    assert pick("type=container", "event=start") == [c]
    assert pick("image=busybox") == [c, i]
    assert pick("image=nginx") == [d]
    assert pick("image=busybox:latest") == [c, i]
    assert pick("label=team") == [c] and pick("label=team=a") == [c] and pick("label=team=b") == []
    assert pick("volume=data") == [v]
    assert pick("network=front") == [n]
    assert pick("type=image", "type=volume") == [i, v]
    with pytest.raises(UsageError):
        pick("colour=red")
    with pytest.raises(UsageError):
        pick("container")


def test_time_bounds() -> None:
    f = event_log.EventFilter([], since="100", until="200")
    assert [f(ev("volume", "create", Name="x", t=t * 10 ** 9)) for t in (99, 100, 150, 200, 201)] \
        == [False, True, True, True, False]
    f = event_log.EventFilter(["since=150"])
    assert f.since == 150 * 10 ** 9


def test_human_lines() -> None:
    c = ev("container", "start", ID="a" * 64, Name="web", Image="busybox",
           Attributes={"z": "1", "b": "2"})
    assert c.human().endswith(f"container start {'a' * 64} (image=busybox, name=web, b=2, z=1)")
    assert c.human(truncate=True).endswith(f"container start {'a' * 12} (image=busybox, "
                                           "name=web, b=2, z=1)")
    assert ev("volume", "remove", Name="data").human().endswith(" volume remove data")
    assert ev("image", "tag", ID="9" * 64, Name="localhost/x:1").human().endswith(
        f" image tag {'9' * 64} localhost/x:1")
    assert ev("network", "create", ID="n" * 64, Name="front",
              Attributes={"driver": "bridge"}).human().endswith(
        f" network create {'n' * 64} (name=front, type=bridge)")
    assert ev("network", "connect", ID="c" * 64, Network="front").human().endswith(
        f" network connect {'c' * 64} (container={'c' * 64}, name=front)")


def test_docker_view() -> None:
    d = docker_event(ev("container", "died", ID="f" * 64, Name="db", Image="nginx",
                        ContainerExitCode=1, Attributes={"team": "a"}, t=1_700_000_000_123_456_789))
    assert d == {"Type": "container", "Action": "die", "status": "die", "id": "f" * 64,
                 "from": "nginx", "scope": "local", "time": 1_700_000_000,
                 "timeNano": 1_700_000_000_123_456_789,
                 "Actor": {"ID": "f" * 64, "Attributes": {"team": "a", "image": "nginx",
                                                          "name": "db", "exitCode": "1"}}}
    assert docker_event(ev("container", "remove", ID="f" * 64))["Action"] == "destroy"
    assert docker_event(ev("image", "remove", ID="9" * 64, Name="x"))["Action"] == "delete"
    assert docker_event(ev("volume", "create", Name="data"))["Actor"] == {
        "ID": "data", "Attributes": {"driver": "local"}}
    n = docker_event(ev("network", "connect", ID="c" * 64, Network="front",
                        Attributes={"network_id": "n" * 64}))
    assert n["Actor"] == {"ID": "n" * 64, "Attributes": {"container": "c" * 64,
                                                         "name": "front", "type": "bridge"}}


def test_emit_rotates_and_readers_follow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("[engine]\nevents_logfile_max_size = 1000\n")
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    paths = Paths(tmp_path / "root", tmp_path / "run")
    follower = event_log.Follower(paths)             # no log yet: it starts at its start
    seen: list[str] = []
    for i in range(40):
        events.emit(paths, "volume", "create", name=f"v{i:02d}")
        if i % 7 == 0:
            seen += [e.Name for e in follower.poll()]
    seen += [e.Name for e in follower.poll()]
    follower.close()
    assert seen == [f"v{i:02d}" for i in range(40)]     # nothing lost across rotations
    log = Path(events.log_path(paths))
    assert log.stat().st_size + Path(f"{log}.1").stat().st_size <= 1000 + 100
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
    kept = [e.Name for e in event_log.history(paths)]
    assert kept == sorted(kept) and kept[-1] == "v39" and len(kept) < 40
    listed = [e.Name for e in event_log.stream(paths, event_log.EventFilter([]), follow=False)]
    assert listed == kept


def test_an_unwritable_log_never_fails_the_verb(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "events").write_text("a file where the directory should be")
    events.emit(Paths(tmp_path / "root", run), "volume", "create", name="v")   # no raise


def test_stream_replays_with_since_or_until(tmp_path: Path) -> None:
    paths = Paths(tmp_path / "root", tmp_path / "run")
    for i in range(3):
        events.emit(paths, "volume", "create", name=f"v{i}")
    past = str(1)                                   # 1970: before every event
    future_until = event_log.EventFilter([], until="1s")
    names = [e.Name for e in event_log.stream(paths, future_until)]
    assert names == ["v0", "v1", "v2"]             # until only: from the log's start
    assert [e.Name for e in event_log.stream(paths, event_log.EventFilter([], until=past))] == []
    only_new = event_log.stream(paths, event_log.EventFilter([]), stop=lambda: True)
    assert list(only_new) == []                     # neither: only what comes after


def _journal_fields(datagram: bytes) -> dict[str, str]:
    """journald's native protocol, decoded as journald does (KEY=VALUE lines, or KEY,
    a newline, a 64-bit little-endian length and the value)."""
    fields, at = {}, 0
    while at < len(datagram):
        nl = datagram.index(b"\n", at)
        head = datagram[at:nl]
        if b"=" in head:
            key, value = head.split(b"=", 1)
            at = nl + 1
        else:
            key, size = head, int.from_bytes(datagram[nl + 1:nl + 9], "little")
            value = datagram[nl + 9:nl + 9 + size]
            assert datagram[nl + 9 + size:nl + 10 + size] == b"\n"
            at = nl + 10 + size
        fields[key.decode()] = value.decode()
    return fields


def test_journald_logger_sends_one_entry_per_event_and_falls_back_to_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    paths = Paths(tmp_path / "root", tmp_path / "run")
    events.choose_logger("journald")
    sock_path = tmp_path / "journal.sock"
    monkeypatch.setattr(events, "JOURNAL_SOCKET", str(sock_path))
    events.emit(paths, "container", "start", id="c" * 64, name="no-journald-yet")
    assert [e.Name for e in event_log.history(paths)] == ["no-journald-yet"]   # the file
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
        journal.bind(str(sock_path))
        journal.settimeout(5)
        events.emit(paths, "container", "died", id="c" * 64, name="two\nlines", exit_code=3)
        fields = _journal_fields(journal.recv(65536))
    assert fields["SYSLOG_IDENTIFIER"] == "pdman-events"
    assert (fields["PDMAN_EVENT_TYPE"], fields["PDMAN_EVENT_STATUS"]) == ("container", "died")
    assert fields["PDMAN_NAME"] == "two\nlines" and fields["MESSAGE"] == "container died two\nlines"
    ev = event_log._journal_event(json.dumps({"PDMAN_EVENT": fields["PDMAN_EVENT"]}).encode())
    assert ev is not None and (ev.Name, ev.ContainerExitCode) == ("two\nlines", 3)
    # not in the file: it went to the journal
    assert len(list(event_log._parsed(events.log_path(paths)))) == 1
