"""The catalog as the API service uses it (real SQLite files): kept connections, the
container list parsed once per catalog change, and the fork gate that keeps a
container start's fork from inheriting a SQLite mutex another thread holds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pdman.storage import container_records as records
from pdman.storage.catalog import Catalog, CatalogPool


def _insert(cat: Catalog, cid: str, name: str) -> None:
    with cat.write() as c:                            # the image it names
        c.execute("INSERT OR IGNORE INTO images (id) VALUES (?)", ("i" * 64,))
    records.insert(cat, records.ContainerRecord(
        id=cid, name=name, image_id="i" * 64, image_name="img", command=["true"],
        created=float(len(name)), config={}))


def test_cached_list_follows_changes_by_any_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    kept, other = Catalog(path), Catalog(path)
    assert records.list_all_shared(kept) == []
    _insert(other, "a" * 64, "first")                 # another connection (process)
    first = records.list_all_shared(kept)
    assert [r.name for r in first] == ["first"]
    assert records.list_all_shared(kept) is first     # unchanged: the same parsed list
    _insert(kept, "b" * 64, "second")                 # this connection's own write
    assert sorted(r.name for r in records.list_all_shared(kept)) == ["first", "second"]
    with other.write() as c:                          # a change of state only
        c.execute("UPDATE container_state SET status = 'running' WHERE id = ?", ("a" * 64,))
    assert {r.name: r.status for r in records.list_all_shared(kept)}["first"] == "running"
    kept.close()
    other.close()


def test_pool_reuses_connections_but_not_one_in_a_transaction(tmp_path: Path) -> None:
    path = str(tmp_path / "catalog.db")
    pool = CatalogPool(path, keep=2)
    a = pool.take()
    pool.give(a)
    assert pool.take() is a
    a.conn.execute("BEGIN")                           # left inside a transaction
    pool.give(a)
    b = pool.take()
    assert b is not a
    pool.give(b)
    # the store removed and made again (`system reset`): a fresh connection
    os.unlink(path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    Catalog(path).close()
    c = pool.take()
    assert c is not b and c.query("SELECT count(*) FROM containers")[0][0] == 0
    pool.give(c)
    pool.close()


def test_fork_waits_for_the_sqlite_call_in_progress(tmp_path: Path) -> None:
    """With the gate on, a fork in one thread waits until no other thread is inside a
    SQLite call (here: one held open on purpose), and gated calls still work in the
    parent and in the child. Without the gate the fork would come first."""
    script = textwrap.dedent(f"""
        import os, threading, time
        from pdman.storage import catalog
        from pdman.storage import container_records as records
        order = []
        # registered before the gate's hook: runs after it, once the fork may proceed
        os.register_at_fork(before=lambda: order.append("fork"))
        catalog.enable_fork_gate()
        cat = catalog.Catalog({str(tmp_path / 'catalog.db')!r})
        catalog._GATE.enter()                  # a call in progress in this thread

        def forker():
            pid = os.fork()
            if pid == 0:                       # the child can use a catalog of its own
                c = catalog.Catalog({str(tmp_path / 'catalog.db')!r})
                n = c.query("SELECT count(*) FROM containers")[0][0]
                os._exit(10 + n)
            order.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

        t = threading.Thread(target=forker)
        t.start()
        time.sleep(0.3)
        order.append("left")
        catalog._GATE.leave()
        t.join()
        with cat.write() as c:
            c.execute("SELECT 1").fetchall()
        rows = list(cat.conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        print(order, len(records.list_all_shared(cat)), len(rows) > 3)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=str(Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['left', 'fork', 10] 0 True"
