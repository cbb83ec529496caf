"""The catalog under concurrency and crashes (real SQLite files, no privileges)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from pdman.storage import migrations
from pdman.storage.catalog import Catalog


def test_new_catalog_is_migrated_once_and_recorded(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    Catalog(path).close()
    cat = Catalog(path)  # second open: nothing to do
    rows = cat.query("SELECT number, name FROM migrations")
    assert [(r["number"], r["name"]) for r in rows] == [(1, "initial schema"), (2, "build cache"),
                                                          (3, "pods")]
    assert cat.query("PRAGMA user_version")[0][0] == migrations.LATEST
    assert cat.query("PRAGMA journal_mode")[0][0] == "wal"
    assert cat.query("PRAGMA foreign_keys")[0][0] == 1


def test_a_catalog_of_an_older_pdman_gets_the_later_migrations(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    Catalog(path).close()
    conn = sqlite3.connect(path)           # as pdman before `build` left it: migration 1 only
    conn.execute("DROP TABLE build_cache")
    conn.execute("DROP TABLE pods")
    conn.execute("DROP INDEX idx_containers_pod_id")
    conn.execute("ALTER TABLE containers DROP COLUMN pod_id")
    conn.execute("DELETE FROM migrations WHERE number > 1")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    cat = Catalog(path)
    assert cat.query("PRAGMA user_version")[0][0] == migrations.LATEST
    assert cat.query("SELECT count(*) FROM build_cache")[0][0] == 0


def test_the_pods_migration_keeps_existing_containers_out_of_any_pod(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    Catalog(path).close()
    conn = sqlite3.connect(path)           # as pdman before pods left it, with a container
    conn.execute("DROP TABLE pods")
    conn.execute("DROP INDEX idx_containers_pod_id")
    conn.execute("ALTER TABLE containers DROP COLUMN pod_id")
    conn.execute("DELETE FROM migrations WHERE number > 2")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("INSERT INTO images (id) VALUES ('img')")
    conn.execute("INSERT INTO containers (id, name, image_id, config) VALUES ('c1', 'web', 'img', '{}')")
    conn.commit()
    conn.close()
    cat = Catalog(path)
    assert cat.query("PRAGMA user_version")[0][0] == migrations.LATEST
    assert [tuple(r) for r in cat.query("SELECT id, pod_id FROM containers")] == [("c1", "")]
    assert cat.query("SELECT count(*) FROM pods")[0][0] == 0


def test_catalog_from_a_newer_pdman_is_refused(tmp_path: Path) -> None:
    from pdman.errors import StorageError

    path = str(tmp_path / "catalog.db")
    Catalog(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {migrations.LATEST + 1}")
    conn.close()
    with pytest.raises(StorageError, match="newer pdman"):
        Catalog(path)


def _writer(path: str, worker: int, seconds: float, queue: "mp.Queue[tuple[int, int, str]]") -> None:
    done, error = 0, ""
    try:
        cat = Catalog(path)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            # a read-modify-write, as the engine does them
            with cat.write() as c:
                n = c.execute("SELECT count(*) FROM volumes").fetchone()[0]
                c.execute("INSERT INTO volumes (name, driver, mountpoint, created, labels, options)"
                          " VALUES (?, 'local', '/x', ?, '{}', '{}')",
                          (f"w{worker}-{done}-{n}", time.time()))
            done += 1
    except Exception as exc:  # reported to the parent, which fails the test
        error = f"{type(exc).__name__}: {exc}"
    queue.put((worker, done, error))


def test_eight_concurrent_writers_never_see_database_locked(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    Catalog(path).close()
    ctx = mp.get_context("fork")
    queue: mp.Queue[tuple[int, int, str]] = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, i, 3.0, queue)) for i in range(8)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r[2] for r in results if r[2]]
    assert errors == []
    total = sum(r[1] for r in results)
    assert all(r[1] > 0 for r in results), results
    cat = Catalog(path)
    assert cat.query("SELECT count(*) FROM volumes")[0][0] == total
    assert cat.query("PRAGMA integrity_check")[0][0] == "ok"


def test_process_killed_in_the_middle_of_a_write_leaves_a_consistent_catalog(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    cat = Catalog(path)
    with cat.write() as c:
        c.execute("INSERT INTO volumes (name, driver, mountpoint, created, labels, options)"
                  " VALUES ('before', 'local', '/x', 0, '{}', '{}')")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: start a big write, tell the parent, then wait to be killed
        os.close(r)
        child = Catalog(path)
        with child.write() as c:
            for i in range(2000):
                c.execute("INSERT INTO volumes (name, driver, mountpoint, created, labels, options)"
                          " VALUES (?, 'local', '/x', 0, '{}', '{}')", (f"half-{i}",))
            os.write(w, b"x")
            time.sleep(60)
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"x"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    after = Catalog(path)
    assert after.query("PRAGMA integrity_check")[0][0] == "ok"
    names = [row["name"] for row in after.query("SELECT name FROM volumes")]
    assert names == ["before"]
    # the dead writer's lock is gone: a new write goes through at once
    t0 = time.monotonic()
    with after.write() as c:
        c.execute("INSERT INTO volumes (name, driver, mountpoint, created, labels, options)"
                  " VALUES ('after', 'local', '/x', 0, '{}', '{}')")
    assert time.monotonic() - t0 < 5


def test_an_exit_is_recorded_once_and_never_over_a_newer_run(tmp_path: Path) -> None:
    from pdman.storage import container_records as records
    from pdman.storage import image_records

    cat = Catalog(tmp_path / "catalog.db")
    image_records.add_image(cat, image_records.ImageRecord(
        "i" * 64, "", "", {}, "amd64", "linux", 0, "", 1.0), ["img"])
    rec = records.ContainerRecord(id="c" * 64, name="c", image_id="i" * 64, image_name="img",
                                  command=["true"], created=1.0, config={})
    records.insert(cat, rec)
    records.update_state(cat, rec.id, status="running", pid=100)
    assert records.record_exit(cat, rec.id, 100, status="exited", pid=0, exit_code=3)
    # a second recorder of the same exit (a racing ps, or the monitor's cleanup) is told
    assert not records.record_exit(cat, rec.id, 100, status="exited", pid=0, exit_code=None)
    assert records.find(cat, rec.id).exit_code == 3
    # a newer run is not overwritten by a late recorder of the old one
    records.update_state(cat, rec.id, status="running", pid=200)
    assert not records.record_exit(cat, rec.id, 100, status="exited", pid=0, exit_code=9)
    now = records.find(cat, rec.id)
    assert (now.status, now.pid) == ("running", 200)
    cat.close()


def test_opening_the_catalog_leaves_functools_unimported(tmp_path: Path) -> None:
    """`ps`, `images` and `inspect` need neither functools nor collections: the catalog's
    import of `_sqlite3` must not bring them (~2.5 ms of each), and a later import of
    functools must still give the real module."""
    import subprocess
    import sys

    repo = str(Path(__file__).resolve().parents[2])
    Catalog(str(tmp_path / "c.db")).close()  # migrated here: migrations use sqlite-utils
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from pdman.storage.catalog import Catalog\n"
        "cat = Catalog(sys.argv[2])\n"
        "print(sorted(m for m in ('functools', 'collections') if m in sys.modules))\n"
        "print(cat.query('SELECT count(*) FROM migrations')[0][0])\n"
        "cat.close()\n"
        "import functools\n"
        "print(functools.reduce(lambda a, b: a + b, [1, 2, 3]))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code, repo, str(tmp_path / "c.db")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[]", "3", "6"]


def test_the_statement_cache_stand_in_is_a_least_recently_used_cache() -> None:
    from pdman.storage.catalog import _statement_cache

    made: list[str] = []

    def make(sql: str) -> str:
        made.append(sql)
        return f"stmt:{sql}"

    cached = _statement_cache(2)(make)
    assert [cached(s) for s in ("a", "b", "a", "c", "a", "b")] == [
        "stmt:a", "stmt:b", "stmt:a", "stmt:c", "stmt:a", "stmt:b"]
    # "b" was least recently used when "c" came, so only it was made again
    assert made == ["a", "b", "c", "b"]
    uncached = _statement_cache(0)(make)
    uncached("a"), uncached("a")
    assert made[-2:] == ["a", "a"]


def test_statements_through_the_stand_in_cache_give_right_rows(tmp_path: Path) -> None:
    """More distinct statements than the cache holds, and one statement text open in two
    cursors at once (the second cannot reuse the first's prepared statement)."""
    from pdman.storage import catalog

    conn = catalog.sqlite3.connect(str(tmp_path / "s.db"), cached_statements=3)
    try:
        for _ in range(3):
            for j in range(6):
                assert conn.execute(f"SELECT {j}").fetchone()[0] == j
        first = conn.execute("SELECT 1 UNION SELECT 2")
        second = conn.execute("SELECT 1 UNION SELECT 2")
        assert first.fetchone() == (1,)
        assert second.fetchall() == [(1,), (2,)]
        assert first.fetchall() == [(2,)]
    finally:
        conn.close()


def _wal_size(path: Path) -> int:
    try:
        return os.path.getsize(str(path) + "-wal")
    except FileNotFoundError:
        return 0


def test_leaving_after_writes_leaves_an_empty_wal(tmp_path: Path) -> None:
    """`leave` skips the interpreter's teardown, so no connection is closed: without a
    checkpoint the WAL stays, and every later command reads all of it to rebuild its
    index (bench/scale.sh: 2,240 frames per `inspect`). Here the writes reach
    CHECKPOINT_BYTES (rows of ~15 kB: overflow pages)."""
    import subprocess
    import sys

    path = tmp_path / "c.db"
    Catalog(str(path)).close()
    script = (
        "import sys\nfrom pdman.__main__ import leave\n"
        "from pdman.storage.catalog import Catalog\n"
        "cat = Catalog(sys.argv[1])\n"
        "for i in range(100):\n"
        "    with cat.write() as c:\n"
        "        c.execute('INSERT INTO build_cache (key, image_id, created) VALUES (?, ?, ?)',"
        " (f'k{i:03d}' * 3000, 'x', 0.0))\n"
        "if sys.argv[2] == 'read-only':\n"
        "    cat2 = Catalog(sys.argv[1]); cat2.query('SELECT count(*) FROM build_cache')\n"
        "    import os; print(os.path.getsize(sys.argv[1] + '-wal'))\n"
        "leave(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path), "write"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.path.exists(str(path) + "-wal") and _wal_size(path) == 0
    cat = Catalog(str(path))
    try:
        assert cat.query("SELECT count(*) FROM build_cache")[0][0] == 100   # nothing lost
    finally:
        cat.close()


def test_a_reader_leaves_the_wal_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what this process wrote is checkpointed: a `ps` pays nothing at exit; nor
    does a writer whose WAL is still small (a checkpoint's syncs cost more than the
    next opener's read of a few frames)."""
    from pdman.storage import catalog as catalog_module

    path = tmp_path / "c.db"
    Catalog(str(path)).close()          # made and migrated (writes) by another connection
    cat = Catalog(str(path))
    try:
        cat.query("SELECT count(*) FROM containers")
        assert str(path) not in catalog_module._WRITERS
        with cat.write() as c:
            c.execute("INSERT INTO build_cache (key, image_id, created) VALUES ('a', 'b', 0)")
        assert catalog_module._WRITERS[str(path)] is cat and _wal_size(path) > 0
        small = _wal_size(path)
        catalog_module.checkpoint_writes()
        assert _wal_size(path) == small and str(path) not in catalog_module._WRITERS
        with cat.write() as c:
            c.execute("INSERT INTO build_cache (key, image_id, created) VALUES ('c', 'd', 0)")
        monkeypatch.setattr(catalog_module, "CHECKPOINT_BYTES", small)
        catalog_module.checkpoint_writes()
        assert _wal_size(path) == 0 and str(path) not in catalog_module._WRITERS
    finally:
        cat.close()
