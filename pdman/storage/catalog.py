"""The per-user catalog: one SQLite database that records images, layers, containers,
volumes and networks.

Many pdman processes use it at once (a shell, systemd units, the API service), so:
- WAL mode, so readers never wait for a writer;
- every read-modify-write is one `BEGIN IMMEDIATE` transaction: a deferred transaction
  that later upgrades to a write fails at once with "database is locked" under WAL,
  whatever the busy timeout (DESIGN §10);
- nobody holds a transaction while downloading or waiting on a container.

Opening is on the hot path of every command, so it uses the stdlib `sqlite3`; the
schema is built by numbered migrations (`migrations.py`, written with sqlite-utils)
that only run when `PRAGMA user_version` is behind.
"""

from __future__ import annotations

import os

from pdman.errors import StorageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def _import_sqlite() -> "Any":
    """The C module `_sqlite3`, without functools when nothing has imported it yet.

    Not `sqlite3`: that package adds only the deprecated datetime adapters, and its
    imports (datetime, collections.abc) would cost every command ~3 ms. `_sqlite3` itself
    takes one thing from functools, `lru_cache`, once at import, to build each connection's
    statement cache; and functools brings collections: ~2.5 ms of every `ps`, `images` and
    `inspect`, which need neither. So a stand-in module that offers only `lru_cache`
    (`_statement_cache`, same calling convention) is in sys.modules for the length of that
    import and leaves it at once: whoever imports functools later gets the real one. A
    Python whose `_sqlite3` asks for more falls back to the plain import.
    """
    import sys

    if "functools" in sys.modules or "_sqlite3" in sys.modules:
        import _sqlite3

        return _sqlite3
    stand_in = type(sys)("functools")
    stand_in.lru_cache = _statement_cache  # type: ignore[attr-defined]
    sys.modules["functools"] = stand_in
    try:
        import _sqlite3
    except AttributeError:
        _sqlite3 = None
    finally:
        if sys.modules.get("functools") is stand_in:
            del sys.modules["functools"]
    if _sqlite3 is None:
        import _sqlite3
    return _sqlite3


def _statement_cache(maxsize: int = 128) -> "Callable[[Callable[[str], Any]], Callable[[str], Any]]":
    """`functools.lru_cache(maxsize)` as `_sqlite3` calls it: around the connection, which
    makes a prepared statement from its SQL text. Least recently used out first; dicts
    keep insertion order, so a hit is moved to the end by taking it out and back in."""

    def decorate(make: "Callable[[str], Any]") -> "Callable[[str], Any]":
        if maxsize is not None and maxsize <= 0:
            return make
        cache: "dict[str, Any]" = {}

        def statement(sql: str) -> "Any":
            try:
                found = cache.pop(sql)
            except KeyError:
                found = make(sql)
                if maxsize is not None and len(cache) >= maxsize:
                    del cache[next(iter(cache))]
            cache[sql] = found
            return found

        return statement

    return decorate


if TYPE_CHECKING:
    import _sqlite3 as sqlite3
else:
    sqlite3 = _import_sqlite()

#: how long a writer waits for another writer before giving up (milliseconds)
BUSY_TIMEOUT_MS = 30_000


class Catalog:
    """A connection to the catalog, with transaction helpers."""

    def __init__(self, path: str) -> None:
        if _GATE is not None:
            with _GATE:
                self._open(path)
            self.conn = _GatedConnection(self.conn, _GATE)  # type: ignore[assignment]
        else:
            self._open(path)

    def _open(self, path: str) -> None:
        self.path = path
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so that write
            # transactions take the write lock up front (BEGIN IMMEDIATE).
            self.conn = sqlite3.connect(
                path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(
                f"cannot open the catalog {path}: {exc}",
                hint="check that the store directory (--root) is writable by you",
            ) from exc
        self.conn.row_factory = sqlite3.Row
        self.inode = os.stat(path).st_ino
        #: results of `cached` loaders, with the catalog state they were read at
        self._memo: "dict[str, tuple[tuple[int, int], Any]]" = {}
        self._configure()
        self._migrate_if_needed()

    def _configure(self) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = c.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            # switching to WAL needs a moment of exclusivity; another process may be
            # doing the same at the same time, the busy timeout covers that.
            c.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable against process crashes under WAL; a power loss may lose
        # the last commits but never corrupts the database.
        c.execute("PRAGMA synchronous = NORMAL")
        c.execute("PRAGMA foreign_keys = ON")

    def _migrate_if_needed(self) -> None:
        from pdman.storage import migrations  # cheap; sqlite-utils loads only if behind

        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version < migrations.LATEST:
            migrations.migrate(self)
        elif version > migrations.LATEST:
            raise StorageError(
                f"the catalog {self.path} was written by a newer pdman (schema {version}, "
                f"this pdman knows {migrations.LATEST})",
                hint="upgrade pdman, or use another --root",
            )

    def write(self) -> "_Write":
        """One read-modify-write transaction holding the write lock from its start
        (`with catalog.write() as conn:`)."""
        return _Write(self)

    def read(self) -> "_Read":
        """A consistent snapshot for several reads (a deferred read transaction)."""
        return _Read(self.conn)

    def query(self, sql: str, params: "tuple[Any, ...] | dict[str, Any]" = ()) -> "list[sqlite3.Row]":
        return self.conn.execute(sql, params).fetchall()

    def version(self) -> "tuple[int, int]":
        """Changes by other connections (`PRAGMA data_version`, any process) and by
        this one (`total_changes`): equal values mean nothing was committed between."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.conn.total_changes

    def cached(self, key: str, loader: "Callable[[Catalog], Any]") -> "Any":
        """`loader(self)`, or what it returned last time if the catalog has not changed
        since. For a long-lived connection (the API service's): `docker ps` every few
        seconds need not parse every container's JSON again. The value is shared:
        callers must not change it."""
        now = self.version()
        hit = self._memo.get(key)
        if hit is not None and hit[0] == now:
            return hit[1]
        value = loader(self)
        # the version read before loading: a commit that raced the load makes the next
        # call load again
        self._memo[key] = (now, value)
        return value

    def close(self) -> None:
        self._memo.clear()
        if _WRITERS.get(self.path) is self:
            del _WRITERS[self.path]     # closing checkpoints (the last connection)
        self.conn.close()


# ---------------------------------------------------------------------------
# fork safety in a multi-threaded process (the API service)
# ---------------------------------------------------------------------------
#
# A container's start forks a process that opens a catalog connection of its own
# before it execs the monitor (engine/lifecycle.py). In the service, other threads use
# SQLite at the same time (their own connections), and a fork taken while one of them
# is inside SQLite, holding one of its process-wide mutexes (memory accounting, the
# unix VFS's inode list), hands the child a mutex nobody will release: its `connect`
# waits forever, and so does the request that started it. With the gate on, every
# SQLite call is counted in and out, and a fork (os.register_at_fork) waits until no
# call is in progress and keeps new ones out until it is done. Calls share the gate:
# one waiting for another connection's write lock never holds up the others.


class _ForkGate:
    def __init__(self) -> None:
        import threading

        self._cond = threading.Condition(threading.Lock())
        self._active = 0

    def enter(self) -> None:
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            if not self._active:
                self._cond.notify_all()

    def before_fork(self) -> None:
        self._cond.acquire()              # held through the fork: no call starts
        while self._active:
            self._cond.wait()

    def after_fork(self) -> None:         # in the parent, and in the child (which is
        self._cond.release()              # the forking thread alone, holding it)

    def __enter__(self) -> None:
        self.enter()

    def __exit__(self, *exc: object) -> None:
        self.leave()


_GATE: "_ForkGate | None" = None


def enable_fork_gate() -> None:
    """For a process whose threads use catalogs while another may fork (the service)."""
    global _GATE
    if _GATE is not None:
        return
    gate = _GATE = _ForkGate()
    os.register_at_fork(before=gate.before_fork, after_in_parent=gate.after_fork,
                        after_in_child=gate.after_fork)


class _GatedCursor:
    __slots__ = ("_raw", "_gate")

    def __init__(self, raw: "Any", gate: _ForkGate) -> None:
        self._raw, self._gate = raw, gate

    def fetchone(self) -> "Any":
        with self._gate:
            return self._raw.fetchone()

    def fetchall(self) -> "list[Any]":
        with self._gate:
            return self._raw.fetchall()

    def __iter__(self) -> "_GatedCursor":
        return self

    def __next__(self) -> "Any":
        with self._gate:
            return next(self._raw)

    def __getattr__(self, name: str) -> "Any":
        return getattr(self._raw, name)      # lastrowid, rowcount, description

    def __del__(self) -> None:
        # reset its statement now, inside the gate, not wherever the GC gets to it
        try:
            with self._gate:
                self._raw.close()
        except Exception:  # noqa: BLE001 - its connection is closed already
            pass


class _GatedConnection:
    """The sqlite3 connection with each call inside the fork gate."""

    __slots__ = ("_raw", "_gate")

    def __init__(self, raw: "Any", gate: _ForkGate) -> None:
        self._raw, self._gate = raw, gate

    def execute(self, sql: str, params: "Any" = ()) -> _GatedCursor:
        with self._gate:
            return _GatedCursor(self._raw.execute(sql, params), self._gate)

    def executemany(self, sql: str, seq: "Any") -> _GatedCursor:
        with self._gate:
            return _GatedCursor(self._raw.executemany(sql, seq), self._gate)

    def close(self) -> None:
        with self._gate:
            self._raw.close()

    @property
    def in_transaction(self) -> bool:
        return bool(self._raw.in_transaction)

    @property
    def total_changes(self) -> int:
        return int(self._raw.total_changes)

    def __getattr__(self, name: str) -> "Any":
        return getattr(self._raw, name)


class CatalogPool:
    """Open catalog connections kept between requests (the API service): opening one
    costs ~1 ms (connect, pragmas, schema check), and a kept one keeps its `cached`
    results. A connection left inside a transaction is closed, never reused."""

    def __init__(self, path: str, keep: int = 4) -> None:
        import threading

        self.path = path
        self.keep = keep
        self._idle: list[Catalog] = []
        self._lock = threading.Lock()

    def take(self) -> Catalog:
        with self._lock:
            catalog = self._idle.pop() if self._idle else None
        if catalog is not None:
            try:
                same = os.stat(self.path).st_ino == catalog.inode
            except OSError:
                same = False
            if same:
                return catalog
            catalog.close()         # the store was removed (`system reset`): open anew
        return Catalog(self.path)

    def give(self, catalog: Catalog) -> None:
        if not catalog.conn.in_transaction:
            with self._lock:
                if len(self._idle) < self.keep:
                    self._idle.append(catalog)
                    return
        catalog.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for catalog in idle:
            catalog.close()


def open_catalog(path: str) -> Catalog:
    return Catalog(path)


# Plain classes rather than @contextmanager: contextlib is not imported on the hot
# commands' path (`ps`, `inspect`: ~1 ms).
class _Write:
    __slots__ = ("catalog",)

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def __enter__(self) -> "sqlite3.Connection":
        try:
            self.catalog.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"the catalog {self.catalog.path} is busy: {exc}",
                hint="another pdman command holds it for too long; retry",
            ) from exc
        return self.catalog.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.catalog.conn.execute("ROLLBACK" if kind is not None else "COMMIT")
        if kind is None:
            _WRITERS[self.catalog.path] = self.catalog


#: the catalogs this process committed to, for `checkpoint_writes` (one per path)
_WRITERS: "dict[str, Catalog]" = {}
#: checkpoint_writes folds a WAL this big or bigger (256 pages of 4 KiB: read by the
#: next opener in ~0.3 ms; one `run` writes a few dozen)
CHECKPOINT_BYTES = 1 << 20


def checkpoint_writes() -> None:
    """Before an exit that skips the interpreter's teardown (`pdman.__main__.leave`):
    fold what this process wrote into the database file and empty the WAL.

    A connection that is never closed leaves its WAL behind, and the next process to
    open the catalog alone rebuilds the WAL's index by reading every frame of it: with
    a few hundred frames that is ~1-3 ms of every later `ps`, `inspect` or `run`, and
    it grows with the writes until SQLite's auto-checkpoint (seen in bench/scale.sh:
    2,240 frames read by an `inspect`). A clean close would checkpoint too, but also
    delete the `-wal` and `-shm` files the next open creates again. TRUNCATE leaves an
    empty WAL; with no busy wait: while another connection reads an older snapshot it
    cannot complete, and that connection's own close (or a later writer) does it.

    Only once the WAL holds CHECKPOINT_BYTES: a checkpoint syncs the WAL and the
    database file (two fdatasyncs, 1-10 ms on a busy disk: on `run -d`'s path), while
    a next opener reads a WAL of a few dozen frames in microseconds."""
    for path, catalog in _WRITERS.items():
        try:
            if os.stat(path + "-wal").st_size < CHECKPOINT_BYTES:
                continue
        except OSError:
            continue
        try:
            catalog.conn.execute("PRAGMA busy_timeout = 0")
            catalog.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass                # closed meanwhile, or busy: nothing lost either way
    _WRITERS.clear()


class _Read:
    __slots__ = ("conn",)

    def __init__(self, conn: "sqlite3.Connection") -> None:
        self.conn = conn

    def __enter__(self) -> "sqlite3.Connection":
        self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT")
