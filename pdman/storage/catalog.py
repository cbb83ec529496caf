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

# the C module itself: `sqlite3` adds only the deprecated datetime adapters, and its
# imports (datetime, collections.abc) cost every command ~3 ms
import _sqlite3 as sqlite3
from contextlib import contextmanager

from pdman.errors import StorageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

#: how long a writer waits for another writer before giving up (milliseconds)
BUSY_TIMEOUT_MS = 30_000


class Catalog:
    """A connection to the catalog, with transaction helpers."""

    def __init__(self, path: str) -> None:
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

    @contextmanager
    def write(self) -> "Iterator[sqlite3.Connection]":
        """One read-modify-write transaction holding the write lock from its start."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StorageError(
                f"the catalog {self.path} is busy: {exc}",
                hint="another pdman command holds it for too long; retry",
            ) from exc
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> "Iterator[sqlite3.Connection]":
        """A consistent snapshot for several reads (a deferred read transaction)."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: "tuple[Any, ...] | dict[str, Any]" = ()) -> "list[sqlite3.Row]":
        return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


def open_catalog(path: str) -> Catalog:
    return Catalog(path)
