"""The k8s-file log format the monitor writes, read back: parsing, partial lines, time
options, tail, rotation; and the small pure parts of the detached-container verbs."""

from __future__ import annotations

import calendar
import os
from pathlib import Path

import pytest

from pdman.errors import UsageError
from pdman.runtime import logs
from pdman.runtime.attach import DetachKeys, parse_detach_keys
from pdman.runtime.monitor import parse_exit_file

T0 = "2024-01-02T03:04:05.123456789Z"


def test_parse_line() -> None:
    assert logs.parse_line(f"{T0} stdout F hello world".encode()) == (
        T0, "stdout", False, b"hello world")
    assert logs.parse_line(f"{T0} stderr P  spaced ".encode()) == (T0, "stderr", True, b" spaced ")
    assert logs.parse_line(f"{T0} stdout F".encode()) == (T0, "stdout", False, b"")
    assert logs.parse_line(b"garbage") is None
    assert logs.parse_line(f"{T0} stdin F x".encode()) is None


def test_partial_lines_join_per_stream() -> None:
    asm = logs.Assembler()
    assert asm.feed(f"{T0} stdout P par".encode()) is None
    err = asm.feed(f"{T0} stderr F oops".encode())
    assert err is not None and (err.stream, err.data) == ("stderr", b"oops\n")
    out = asm.feed(b"2024-01-02T03:04:06.000000000Z stdout F tial")
    assert out is not None and (out.timestamp, out.data) == (T0, b"partial\n")
    assert asm.feed(f"{T0} stdout P no newline".encode()) is None
    [last] = asm.flush()
    assert last.data == b"no newline"


def test_parse_timestamp() -> None:
    base = calendar.timegm((2024, 1, 2, 3, 4, 5, 0, 0, 0))
    assert logs.parse_timestamp(T0) == pytest.approx(base + 0.123456789)
    assert logs.parse_timestamp("2024-01-02T03:04:05Z") == base
    assert logs.parse_timestamp("2024-01-02T04:04:05+01:00") == base
    assert logs.parse_timestamp("2024-01-02T03:04:05.5-00:30") == base + 1800.5
    assert logs.parse_timestamp("2024-01-02") == calendar.timegm((2024, 1, 2, 0, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError):
        logs.parse_timestamp("yesterday")


def test_time_options() -> None:
    now = 1_700_000_000.0
    assert logs.parse_duration("1h30m") == 5400
    assert logs.parse_duration("1.5s") == 1.5
    assert logs.parse_duration("10") is None
    assert logs.parse_time_option("10m", now) == now - 600
    assert logs.parse_time_option("1699999999.5", now) == 1699999999.5
    assert logs.parse_time_option("2023-11-14T22:13:20Z", now) == now
    with pytest.raises(UsageError, match="--until"):
        logs.parse_time_option("soon", now, "--until")


def _write_log(path: Path, lines: list[tuple[str, str, str, str]]) -> None:
    path.write_text("".join(f"{ts} {stream} {tag} {text}\n" for ts, stream, tag, text in lines))


def test_reading_with_rotation_tail_and_times(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    _write_log(Path(f"{log}.1"), [("2024-01-01T00:00:01Z", "stdout", "F", "one"),
                                  ("2024-01-01T00:00:02Z", "stderr", "F", "two")])
    _write_log(log, [("2024-01-01T00:00:03Z", "stdout", "F", "three"),
                     ("2024-01-01T00:00:04Z", "stdout", "F", "four")])
    every = [e.data for e in logs.entries(str(log))]
    assert every == [b"one\n", b"two\n", b"three\n", b"four\n"]
    assert [e.data for e in logs.entries(str(log), tail=2)] == [b"three\n", b"four\n"]
    assert list(logs.entries(str(log), tail=0)) == []
    since = logs.parse_timestamp("2024-01-01T00:00:02Z")
    until = logs.parse_timestamp("2024-01-01T00:00:03Z")
    assert [e.data for e in logs.entries(str(log), since=since, until=until)] == \
        [b"two\n", b"three\n"]
    assert list(logs.entries(str(tmp_path / "none.log"))) == []


def test_follow_reads_growth_and_rotation(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    _write_log(log, [("2024-01-01T00:00:01Z", "stdout", "F", "a")])
    reader = logs.LogReader(str(log))
    assert [e.data for e in reader.read()] == [b"a\n"]
    with open(log, "a") as f:
        f.write("2024-01-01T00:00:02Z stdout F b\n2024-01-01T00:00:03Z stdout F c")  # c torn
    assert [e.data for e in reader.read()] == [b"b\n"]
    with open(log, "a") as f:
        f.write("\n")
    assert [e.data for e in reader.read()] == [b"c\n"]
    # the monitor rotates: the rest of the old file, then the new one
    with open(log, "a") as f:
        f.write("2024-01-01T00:00:04Z stdout F d\n")
    os.rename(log, f"{log}.1")
    _write_log(log, [("2024-01-01T00:00:05Z", "stdout", "F", "e")])
    assert [e.data for e in reader.read()] == [b"d\n", b"e\n"]
    assert reader.finish() == []


def test_follow_stops_when_done(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    _write_log(log, [("2024-01-01T00:00:01Z", "stdout", "F", "a")])
    calls = []

    def done() -> bool:
        calls.append(1)
        if len(calls) == 2:
            with open(log, "a") as f:
                f.write("2024-01-01T00:00:02Z stdout P last\n")
        return len(calls) >= 3

    got = [e.data for e in logs.entries(str(log), follow=True, done=done, interval=0.001)]
    assert got == [b"a\n", b"last"]


def test_a_held_log_is_read_whole_after_its_file_is_removed(tmp_path: Path) -> None:
    # the attach before `start`: the log does not exist yet, is created empty and held;
    # the monitor appends, `--rm` removes the file, and the holder still reads it all
    log = tmp_path / "ctr.log"
    found = logs.entries(str(log), follow=True, done=lambda: not log.exists(),
                         interval=0.001, hold=True)
    assert log.exists() and log.stat().st_size == 0 and log.stat().st_mode & 0o777 == 0o600
    _write_log(log, [("2024-01-01T00:00:01Z", "stdout", "F", "kept")])
    log.unlink()
    assert [e.data for e in found] == [b"kept\n"]


def test_closing_entries_never_read_lets_go_of_the_held_log(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    before = len(os.listdir("/proc/self/fd"))
    found = logs.entries(str(log), follow=True, hold=True)
    assert len(os.listdir("/proc/self/fd")) == before + 1
    found.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_journal_entries_as_journalctl_prints_them() -> None:
    from pdman.runtime.logs import _journal_entry

    entry = _journal_entry(b'{"MESSAGE": "hi", "PDMAN_STREAM": "stderr", '
                           b'"__REALTIME_TIMESTAMP": "1704164645123456"}')
    assert entry is not None
    assert (entry.timestamp, entry.stream, entry.data) == (
        "2024-01-02T03:04:05.123456000Z", "stderr", b"hi\n")
    raw = _journal_entry(b'{"MESSAGE": [104, 255], "__REALTIME_TIMESTAMP": "1"}')
    assert raw is not None and raw.data == b"h\xff\n" and raw.stream == "stdout"
    assert _journal_entry(b"not json") is None


def test_log_path() -> None:
    assert logs.log_path("/r/containers/abc", {}) == "/r/containers/abc/userdata/ctr.log"
    assert logs.log_path("/r/containers/abc", {"path": "/tmp/x.log"}) == "/tmp/x.log"


def test_exit_file() -> None:
    rec = parse_exit_file("pid=12\nexit_code=137\nsignal=9\noom_killed=1\n"
                          "finished_at=1704164645.123456789\n")
    assert rec is not None
    assert (rec.pid, rec.exit_code, rec.signal, rec.oom_killed) == (12, 137, 9, True)
    assert rec.finished_at == pytest.approx(1704164645.123456789)
    assert parse_exit_file("pid=12\nexit_") is None  # torn: never read as a result


def test_detach_keys() -> None:
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-[,a") == b"\x1ba"
    assert parse_detach_keys("") == b""
    with pytest.raises(UsageError):
        parse_detach_keys("ctrl-pp")
    keys = DetachKeys(b"\x10\x11")
    assert keys.feed(b"ls\x10") == (b"ls", False)          # held: may be the start
    assert keys.feed(b"x") == (b"\x10x", False)           # was not: passed on
    assert keys.feed(b"\x10\x10") == (b"\x10", False)
    assert keys.feed(b"\x11rest") == (b"", True)
    assert DetachKeys(b"").feed(b"\x10\x11") == (b"\x10\x11", False)


def test_signals_and_durations() -> None:
    from pdman.engine.lifecycle import _go_duration, parse_signal

    assert parse_signal("SIGQUIT") == parse_signal("quit") == parse_signal("3") == 3
    assert parse_signal("SIGRTMIN+2") > parse_signal("RTMIN")
    with pytest.raises(UsageError):
        parse_signal("SIGNOPE")
    with pytest.raises(UsageError):
        parse_signal("0")
    assert _go_duration(8.517627786) == "8.517627786s"
    assert _go_duration(123.0) == "2m3s"
    assert _go_duration(3605, whole=True) == "1h0m5s"
    assert _go_duration(0.0) == "0s"


def test_the_foreground_log_writer_writes_what_the_reader_reads(tmp_path: Path) -> None:
    """pdman's own writer (a container in the foreground) and the monitor's format."""
    from pdman.runtime.logs import LogWriter, entries

    path = str(tmp_path / "userdata" / "ctr.log")
    log = LogWriter(path, max_size=200)
    log.chunk("stdout", b"one\ntwo\npart")
    log.chunk("stderr", b"err\n")
    log.chunk("stdout", b"ial\n")
    log.close()
    got = [(e.stream, e.data) for e in entries(path)]
    assert got == [("stdout", b"one\n"), ("stdout", b"two\n"), ("stderr", b"err\n"),
                   ("stdout", b"partial\n")]
    # past max-size the log moves to FILE.1; the reader reads both, in order
    log = LogWriter(path, max_size=200)
    log.chunk("stdout", b"x" * 150 + b"\n")
    log.close()
    assert os.path.exists(path + ".1") and os.path.getsize(path) < 200
    assert [e.data for e in entries(path)][-1] == b"x" * 150 + b"\n"


def test_a_log_that_cannot_be_written_says_so_once_and_stops(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pdman.runtime.logs import LogWriter

    log = LogWriter(str(tmp_path / "ctr.log"))
    os.close(log.fd)
    log.fd = os.open("/dev/full", os.O_WRONLY)          # ENOSPC on every write
    log.chunk("stdout", b"one\n")
    log.chunk("stdout", b"two\n")
    assert capsys.readouterr().err.count("is not logged") == 1
    assert log.fd == -1


def test_the_foreground_journal_writer_speaks_the_native_protocol(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fields the monitor sends (native/monitor.c), one datagram per line, MESSAGE
    length-prefixed: what `logs` reads back with journalctl."""
    import socket

    path = str(tmp_path / "journal.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as journal:
        journal.bind(path)
        monkeypatch.setattr(logs, "JOURNAL_SOCKET", path)
        writer = logs.JournalWriter("ab" * 32, "web")
        writer.chunk("stdout", b"one\ntwo\n")
        writer.chunk("stderr", b"bad\x00byte")
        writer.close()
        got = [journal.recv(65536) for _ in range(3)]
    head, _, rest = got[0].partition(b"MESSAGE\n")
    fields = dict(line.split("=", 1) for line in head.decode().splitlines())
    assert fields == {"PRIORITY": "6", "SYSLOG_IDENTIFIER": "web", "CONTAINER_ID": "ab" * 6,
                      "CONTAINER_ID_FULL": "ab" * 32, "CONTAINER_NAME": "web",
                      "PDMAN_STREAM": "stdout"}
    assert rest == (3).to_bytes(8, "little") + b"one\n"
    assert got[1].endswith((3).to_bytes(8, "little") + b"two\n")
    assert b"PRIORITY=3\n" in got[2] and b"PDMAN_STREAM=stderr\n" in got[2]
    assert got[2].endswith((8).to_bytes(8, "little") + b"bad\x00byte\n")
