"""The bot's PostgreSQL connection (``ASKDOCS_DATABASE_URL``): votes, the question log and the
global cooldown use it instead of their SQLite files when a database URL is set.

:class:`Database` is a small wrapper around one psycopg 3 connection: opened lazily, its
schema migrated on open (versioned per component in ``askdocs_schema``, like the SQLite
stores), used by one thread at a time, reopened after a failure. A statement that fails
because the server went away (restart, network) is retried once on a fresh connection;
when that fails too the caller gets a one-line :class:`~index.errors.DatabaseError` and the
next call tries again. SQL is written with ``?`` placeholders, as for SQLite.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg

from index.errors import DatabaseError
from index.pg import check_database, connect, describe, is_database_url, one_line

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "Database",
    "DatabaseError",
    "PgConnection",
    "check_database",
    "connect",
    "is_database_url",
    "one_line",
]

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS askdocs_schema (
    component VARCHAR(32) PRIMARY KEY,
    version   INTEGER     NOT NULL
)"""
SCHEMA_LOCK = 0x61736B646F6373  # pg_advisory_xact_lock key: migrations run one at a time


def _pg(sql: str) -> str:
    """``?`` placeholders (the SQLite stores' style) as psycopg's ``%s``."""
    return sql.replace("?", "%s")


class PgConnection:
    """The few sqlite3-like calls the stores use, on a psycopg connection in autocommit
    mode (transactions are explicit: ``BEGIN`` ... ``COMMIT``, or :meth:`transaction`)."""

    backend = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.raw.execute(_pg(sql), params or None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement per row (a question's few citations), not psycopg's
        ``executemany``: that runs a pipeline, and a pipeline cut by a lost connection logs
        psycopg's own warning beside the store's one-line report of the outage."""
        with self.raw.cursor() as cur:
            for row in rows:
                cur.execute(_pg(sql), row)

    def transaction(self) -> psycopg.Transaction:
        return self.raw.transaction()

    def close(self) -> None:
        self.raw.close()


def migrate_pg(
    conn: PgConnection,
    component: str,
    migrations: Sequence[Sequence[str]],
    on_newer: Callable[[int, int], Exception],
) -> int:
    """Bring ``component``'s schema up to ``len(migrations)``, each step in one transaction
    with its version bump (``askdocs_schema``), under an advisory lock so that processes
    opening at once migrate in turn; returns the version found. A database newer than this
    code raises ``on_newer(found, target)``."""
    target = len(migrations)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        conn.execute(VERSION_TABLE)
        row = conn.execute(
            "SELECT version FROM askdocs_schema WHERE component = ?", (component,)
        ).fetchone()
        found = int(row[0]) if row else 0
        if found > target:
            raise on_newer(found, target)
        if row is None:
            conn.execute(
                "INSERT INTO askdocs_schema (component, version) VALUES (?, 0)", (component,)
            )
    for version in range(found + 1, target + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            current = conn.execute(
                "SELECT version FROM askdocs_schema WHERE component = ?", (component,)
            ).fetchone()
            if current is not None and int(current[0]) >= version:
                continue  # another process migrated this step meanwhile
            for statement in migrations[version - 1]:
                conn.execute(statement)
            conn.execute(
                "UPDATE askdocs_schema SET version = ? WHERE component = ?", (version, component)
            )
        log.info("%s schema migrated to v%d (PostgreSQL)", component.replace("_", " "), version)
    return found


class Database:
    """One lazily opened PostgreSQL connection for one store (thread-safe: calls take turns).

    ``setup(conn)`` runs on every new connection (migrations); ``run(what, work)`` runs
    ``work(conn)`` and turns every database failure into a one-line ``DatabaseError``
    (no password), retrying once when the connection had been lost."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        setup: Callable[[PgConnection], object] | None = None,
        connect_timeout: int = 5,
    ) -> None:
        if not is_database_url(url):
            raise DatabaseError(f"{name}: the database URL is not a postgresql:// URL")
        self._url = url
        self.name = name
        self.where = describe(url)
        self._setup = setup
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: PgConnection | None = None

    def __repr__(self) -> str:  # never the password
        return f"Database({self.where!r}, name={self.name!r})"

    def _open(self) -> PgConnection:
        if self._conn is None:
            conn = PgConnection(connect(self._url, connect_timeout=self._connect_timeout))
            try:
                if self._setup is not None:
                    self._setup(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def run(self, what: str, work: Callable[[PgConnection], T]) -> T:
        """``work(connection)``; :class:`DatabaseError` ("<name> <where>: cannot <what>:
        <reason>") on failure. Other exceptions from ``work`` pass through unchanged."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                try:
                    return work(self._open())
                except DatabaseError as exc:
                    self._drop()
                    raise DatabaseError(f"{self.name}: cannot {what}: {exc}") from None
                except psycopg.Error as exc:
                    lost = self._conn is None or self._conn.raw.broken or self._conn.raw.closed
                    self._drop()
                    if lost and reused and attempt == 1:
                        log.debug("%s: connection lost (%s); reconnecting", self.name, exc)
                        continue
                    reason = one_line(exc, self._url)
                    raise DatabaseError(
                        f"{self.name} {self.where}: cannot {what}: {reason}"
                    ) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._drop()
