"""The question log: every question the bot answered or refused, for ``askdocs report`` and
``/insights``. Off unless ``ASKDOCS_QUESTION_LOG=true``.

SQLite by default, in its own file beside the feedback database (``questions.sqlite3``): it
has its own lifecycle (off by default, rows expire after ``ASKDOCS_QUESTION_LOG_DAYS``, and
it may be deleted or lost without touching the votes). Votes stay in the feedback database
and are linked by the answer's message id.

The SQL is kept portable so that the same schema runs on PostgreSQL: standard types only
(``VARCHAR``, ``TEXT``, ``INTEGER``, ``BIGINT``, ``DOUBLE PRECISION``), ids made by the
application (no AUTOINCREMENT/SERIAL), times as integer Unix epochs (UTC), no upserts, no
SQLite functions, explicit deletes instead of cascades. Only :func:`connect_sqlite` (the
connection, busy timeout and WAL journal) is SQLite's own.

The schema is versioned (table ``askdocs_schema``) and migrated on open; each step in
:data:`MIGRATIONS` runs once, in a transaction with the version bump.

With ``ASKDOCS_DATABASE_URL`` set, :class:`PgQuestionLog` keeps the same tables, migrations
and API in PostgreSQL (the salt then lives in the database, so that every bot process hashes
a user alike).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from bot.shared.database import PgConnection

log = logging.getLogger(__name__)

T = TypeVar("T")

Outcome = Literal["answered", "refused", "error"]
OUTCOMES: tuple[Outcome, ...] = ("answered", "refused", "error")
DAY = 86_400
BUSY_TIMEOUT = 2.0  # seconds a write waits for a lock held by another process
SALT_BYTES = 32
COMPONENT = "question_log"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: questions and the passages each answer cited
    (
        """CREATE TABLE questions (
            id           VARCHAR(32) PRIMARY KEY,
            asked_at     BIGINT      NOT NULL,
            guild_id     BIGINT,
            channel_kind VARCHAR(16) NOT NULL,
            outcome      VARCHAR(8)  NOT NULL CHECK (outcome IN ('answered', 'refused', 'error')),
            confidence   DOUBLE PRECISION,
            question     TEXT        NOT NULL,
            user_hash    VARCHAR(64),
            message_id   BIGINT
        )""",
        """CREATE TABLE citations (
            question_id  VARCHAR(32) NOT NULL REFERENCES questions (id),
            passage_rank INTEGER     NOT NULL,
            source       TEXT        NOT NULL,
            PRIMARY KEY (question_id, passage_rank)
        )""",
    ),
    # v2: how a question was asked, the citation as shown, indexes for periods and votes
    (
        "ALTER TABLE questions ADD COLUMN via VARCHAR(16)",
        "ALTER TABLE citations ADD COLUMN citation TEXT",
        "CREATE INDEX questions_asked_at ON questions (asked_at)",
        "CREATE INDEX questions_message_id ON questions (message_id)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS askdocs_schema (
    component VARCHAR(32) PRIMARY KEY,
    version   INTEGER     NOT NULL
)"""
_INSERT_QUESTION = (
    "INSERT INTO questions (id, asked_at, guild_id, channel_kind, via, outcome, confidence, "
    "question, user_hash, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CITATION = (
    "INSERT INTO citations (question_id, passage_rank, source, citation) VALUES (?, ?, ?, ?)"
)
_SELECT_QUESTIONS = (
    "SELECT id, asked_at, guild_id, channel_kind, via, outcome, confidence, question, "
    "user_hash, message_id FROM questions WHERE asked_at >= ?"
)
_SELECT_CITATIONS = (
    "SELECT c.question_id, c.passage_rank, c.source, c.citation FROM citations c "
    "JOIN questions q ON q.id = c.question_id WHERE q.asked_at >= ?"
)


class QuestionLogError(Exception):
    """The question log cannot be opened, read or written; ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class Cited:
    """A passage an answer cited: its document and the citation as shown (``doc › Section``)."""

    source: str
    citation: str


@dataclass(frozen=True, slots=True)
class QuestionEntry:
    """One question as the bot handled it (``user_id`` is hashed before it is stored)."""

    question: str
    outcome: Outcome
    confidence: float | None = None
    cited: tuple[Cited, ...] = ()
    guild_id: int | None = None
    channel_kind: str = "other"
    via: str = "other"
    user_id: int | None = None
    message_id: int | None = None
    asked_at: float | None = None  # Unix time; None = now


@dataclass(frozen=True, slots=True)
class LoggedQuestion:
    """A row of the log as read back."""

    id: str
    asked_at: int
    guild_id: int | None
    channel_kind: str
    via: str | None
    outcome: Outcome
    confidence: float | None
    question: str
    user_hash: str | None
    message_id: int | None
    cited: tuple[Cited, ...] = ()


def connect_sqlite(path: Path, timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) in WAL mode, so that reports
    reading the log do not block the bot writing it."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def load_salt(path: Path) -> bytes:
    """The salt user ids are hashed with: made once (random), kept in ``path`` (owner-only),
    never logged. Creating it races safely (O_EXCL: the first writer wins)."""
    try:
        salt = path.read_bytes()
    except FileNotFoundError:
        salt = b""
    if len(salt) >= SALT_BYTES:
        return salt
    if salt:
        raise QuestionLogError(f"salt file {path} is damaged (too short); restore or remove it")
    new = secrets.token_bytes(SALT_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, new)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first
    except FileExistsError:
        return load_salt(path)
    finally:
        tmp.unlink(missing_ok=True)
    return new


def hash_user(user_id: int, salt: bytes) -> str:
    return hashlib.sha256(salt + str(user_id).encode()).hexdigest()


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to ``target`` (each step in a transaction with its version bump);
    returns the version found. Refuses a database newer than this code."""
    conn.execute(_VERSION_TABLE)
    conn.execute("BEGIN")
    try:
        # a write first takes the lock, so two processes opening at once migrate in turn
        conn.execute(
            "UPDATE askdocs_schema SET version = version WHERE component = ?", (COMPONENT,)
        )
        row = conn.execute(
            "SELECT version FROM askdocs_schema WHERE component = ?", (COMPONENT,)
        ).fetchone()
        found = int(row[0]) if row else 0
        if found > len(MIGRATIONS):
            raise QuestionLogError(
                f"the question log has schema v{found}, newer than this askdocs (v{target})"
            )
        if row is None:
            conn.execute(
                "INSERT INTO askdocs_schema (component, version) VALUES (?, 0)", (COMPONENT,)
            )
        for version in range(found + 1, target + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(
                "UPDATE askdocs_schema SET version = ? WHERE component = ?", (version, COMPONENT)
            )
            log.info("question log schema migrated to v%d", version)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


class _QuestionStore:
    """The log's queries, the same on SQLite and PostgreSQL; subclasses provide ``_run``."""

    retention_days: int
    where: str  # the file or database, for messages (never a password)
    _salt: bytes | None

    def _run(self, what: str, work: Callable[[Any], T]) -> T:
        raise NotImplementedError

    def open(self) -> None:
        """Create or migrate the database now (it is otherwise opened on first use)."""
        self._run("open", lambda conn: None)

    def close(self) -> None:
        raise NotImplementedError

    def exists(self) -> bool:
        """Whether a log has been created here (nothing is created to find out)."""
        raise NotImplementedError

    def record(self, entry: QuestionEntry) -> str:
        """Store one question and its citations; returns its id."""
        qid = uuid.uuid4().hex
        asked_at = int(entry.asked_at if entry.asked_at is not None else time.time())

        def write(conn: SqlConnection) -> None:
            user = None if entry.user_id is None else hash_user(entry.user_id, self._salt or b"")
            conn.execute("BEGIN")
            try:
                conn.execute(
                    _INSERT_QUESTION,
                    (qid, asked_at, entry.guild_id, entry.channel_kind, entry.via,
                     entry.outcome, entry.confidence, entry.question, user, entry.message_id),
                )  # fmt: skip
                conn.executemany(
                    _INSERT_CITATION,
                    [(qid, rank, c.source, c.citation) for rank, c in enumerate(entry.cited)],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        self._run("write", write)
        return qid

    def purge(self, now: float | None = None) -> int:
        """Delete questions older than the retention period; returns how many."""
        cutoff = int((now if now is not None else time.time()) - self.retention_days * DAY)

        def delete(conn: SqlConnection) -> int:
            conn.execute("BEGIN")
            try:
                conn.execute(
                    "DELETE FROM citations WHERE question_id IN "
                    "(SELECT id FROM questions WHERE asked_at < ?)",
                    (cutoff,),
                )
                deleted = conn.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return int(deleted.rowcount)

        count = self._run("delete old questions", delete)
        if count:
            log.info(
                "question log: deleted %d questions older than %d days", count, self.retention_days
            )
        return count

    def since(self, start: float, guild_id: int | None = None) -> list[LoggedQuestion]:
        """Questions asked at or after ``start`` (Unix time), oldest first (then by text: the
        same order every time), with citations; only one guild's when ``guild_id`` is given."""

        def read(conn: SqlConnection) -> list[LoggedQuestion]:
            where, params = "", [int(start)]
            if guild_id is not None:
                where, params = " AND guild_id = ?", [int(start), guild_id]
            rows = conn.execute(
                _SELECT_QUESTIONS + where + " ORDER BY asked_at, question, id", params
            )
            questions = [LoggedQuestion(*row) for row in rows.fetchall()]
            cited: dict[str, list[Cited]] = {}
            for qid, _rank, source, shown in conn.execute(
                _SELECT_CITATIONS + " ORDER BY c.question_id, c.passage_rank", (int(start),)
            ).fetchall():
                cited.setdefault(qid, []).append(Cited(source, shown or source))
            return [_with_cited(q, cited.get(q.id, ())) for q in questions]

        return self._run("read", read)

    def schema_version(self) -> int:
        def read(conn: SqlConnection) -> int:
            row = conn.execute(
                "SELECT version FROM askdocs_schema WHERE component = ?", (COMPONENT,)
            ).fetchone()
            return int(row[0]) if row else 0

        return self._run("read", read)


class QuestionLog(_QuestionStore):
    """The log's store in SQLite. Opened lazily; every method blocks (call from a worker thread
    in async code) and raises :class:`QuestionLogError` with a one-line reason. Thread-safe."""

    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        retention_days: int,
        salt_path: Path | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.salt_path = salt_path or self.path.with_name("questions.salt")
        self.retention_days = retention_days
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._salt: bytes | None = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            salt = load_salt(self.salt_path)
            conn = connect_sqlite(self.path, self.busy_timeout)
            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn, self._salt = conn, salt
        return self._conn

    def _run(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the connection; any database or file failure becomes a one-line
        QuestionLogError (and the connection is reopened next time)."""
        with self._lock:
            try:
                return work(self._open())
            except (sqlite3.Error, OSError) as exc:
                self._drop()
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise QuestionLogError(
                    f"question log {self.path}: cannot {what}: {reason}"
                ) from exc

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def exists(self) -> bool:
        return self.path.exists()


_SALT_TABLE = """CREATE TABLE IF NOT EXISTS askdocs_salt (
    component VARCHAR(32) PRIMARY KEY,
    salt      VARCHAR(128) NOT NULL
)"""


class PgQuestionLog(_QuestionStore):
    """The log in PostgreSQL (``ASKDOCS_DATABASE_URL``): the same tables, migrations and
    methods as :class:`QuestionLog`. The salt is made once per database (table
    ``askdocs_salt``) so that every bot process hashes a user alike. Thread-safe; every
    method blocks and raises :class:`QuestionLogError` with a one-line reason."""

    backend = "postgresql"

    def __init__(self, url: str, *, retention_days: int, connect_timeout: int = 5) -> None:
        from bot.shared.database import Database, DatabaseError

        self.retention_days = retention_days
        self._url = url
        self._salt = None
        try:
            self._db = Database(
                url, name="question log", setup=self._setup, connect_timeout=connect_timeout
            )
        except DatabaseError as exc:
            raise QuestionLogError(str(exc)) from None
        self.where = self._db.where

    def __repr__(self) -> str:
        return f"PgQuestionLog({self.where!r})"

    def _setup(self, conn: PgConnection) -> None:
        from bot.shared.database import migrate_pg

        migrate_pg(conn, COMPONENT, MIGRATIONS, _newer)
        self._salt = _pg_salt(conn)

    def _run(self, what: str, work: Callable[[Any], T]) -> T:
        from bot.shared.database import DatabaseError

        try:
            return self._db.run(what, work)
        except DatabaseError as exc:
            raise QuestionLogError(str(exc)) from None

    def close(self) -> None:
        self._db.close()

    def exists(self) -> bool:
        import psycopg

        from bot.shared.database import DatabaseError, connect, one_line

        try:
            with connect(self._url) as conn:  # a look only: creates nothing
                if conn.execute("SELECT to_regclass('askdocs_schema')").fetchone() == (None,):
                    return False
                row = conn.execute(
                    "SELECT version FROM askdocs_schema WHERE component = %s", (COMPONENT,)
                ).fetchone()
                return row is not None and int(row[0]) > 0
        except DatabaseError as exc:
            raise QuestionLogError(f"question log: {exc}") from None
        except psycopg.Error as exc:
            raise QuestionLogError(
                f"question log {self.where}: cannot read: {one_line(exc, self._url)}"
            ) from None


def _newer(found: int, target: int) -> QuestionLogError:
    return QuestionLogError(
        f"the question log has schema v{found}, newer than this askdocs (v{target})"
    )


def _pg_salt(conn: PgConnection) -> bytes:
    """The database's salt (made at first use; the first process to store one wins)."""
    from bot.shared.database import SCHEMA_LOCK

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        conn.execute(_SALT_TABLE)
        conn.execute(
            "INSERT INTO askdocs_salt (component, salt) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (COMPONENT, secrets.token_bytes(SALT_BYTES).hex()),
        )
        row = conn.execute("SELECT salt FROM askdocs_salt WHERE component = ?", (COMPONENT,))
        salt = bytes.fromhex(row.fetchone()[0])
    if len(salt) < SALT_BYTES:
        raise QuestionLogError("the question log's salt in the database is damaged (too short)")
    return salt


class SqlConnection(Protocol):
    """What the queries use: sqlite3's connection, or :class:`~bot.shared.database.PgConnection`."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...


QuestionStore = QuestionLog | PgQuestionLog


def _with_cited(question: LoggedQuestion, cited: Sequence[Cited]) -> LoggedQuestion:
    return replace(question, cited=tuple(cited)) if cited else question
