"""👍/👎 votes on answers, stored in SQLite, or in PostgreSQL when ``ASKDOCS_DATABASE_URL`` is
set (user ids are stored only as salted hashes)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

APP_SALT = b"askdocs-feedback-v1:"
RECENT_DOWNVOTES = 10
NO_SOURCE = "(no answer)"
_IN_BATCH = 500  # ids per IN (...) query, well under SQLite's 999 parameters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL,
    question    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    user_hash   TEXT    NOT NULL,
    vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    created_at  TEXT    NOT NULL,
    UNIQUE (message_id, user_hash)
);
CREATE INDEX IF NOT EXISTS feedback_source ON feedback (source);
"""

# PostgreSQL: the same table, versioned (component "feedback" in askdocs_schema).
PG_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE feedback (
            id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_id  BIGINT  NOT NULL,
            question    TEXT    NOT NULL,
            source      TEXT    NOT NULL,
            user_hash   TEXT    NOT NULL,
            vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            created_at  TEXT    NOT NULL,
            UNIQUE (message_id, user_hash)
        )""",
        "CREATE INDEX feedback_source ON feedback (source)",
        "CREATE INDEX feedback_message_id ON feedback (message_id)",
    ),
)
# Counts that run on both (SQLite would sum booleans; PostgreSQL does not).
_UP = "COALESCE(SUM(CASE WHEN vote = 1 THEN 1 ELSE 0 END), 0)"
_DOWN = "COALESCE(SUM(CASE WHEN vote = -1 THEN 1 ELSE 0 END), 0)"

_UPSERT = """
INSERT INTO feedback (message_id, question, source, user_hash, vote, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (message_id, user_hash)
DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at
"""

CSV_COLUMNS = ("message_id", "question", "source", "user_hash", "vote", "created_at")


def hash_user(user_id: int) -> str:
    return hashlib.sha256(APP_SALT + str(user_id).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SourceVotes:
    source: str
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class Downvote:
    question: str
    source: str
    created_at: str


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    up: int
    down: int
    per_source: tuple[SourceVotes, ...]
    recent_downvotes: tuple[Downvote, ...]

    @property
    def total(self) -> int:
        return self.up + self.down


class FeedbackError(Exception):
    """The votes cannot be read or written (broken file, database down); ``str()`` is one line
    naming the file or database (never a password)."""


class SqlConnection(Protocol):
    """What the queries use: sqlite3's connection, or :class:`~bot.shared.database.PgConnection`."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class _Votes:
    """The votes' queries, the same on SQLite and PostgreSQL; subclasses provide ``_run``
    (which serialises calls and turns failures into :class:`FeedbackError`)."""

    where: str

    def _run(self, what: str, work: Callable[[Any], T], *, write: bool = False) -> T:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def record(self, message_id: int, question: str, source: str, user_id: int, vote: int) -> None:
        """Store a vote (+1 or -1); the same user voting again on the same answer changes it."""
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        row = (message_id, question, source or NO_SOURCE, hash_user(user_id), vote, now)
        self._run("write", lambda conn: conn.execute(_UPSERT, row), write=True)

    def summary(self, recent: int = RECENT_DOWNVOTES) -> FeedbackSummary:
        def read(conn: SqlConnection) -> tuple[Any, list[Any], list[Any]]:
            totals = conn.execute(f"SELECT {_UP}, {_DOWN} FROM feedback").fetchone()
            per_source = conn.execute(
                f"SELECT source, {_UP}, {_DOWN} FROM feedback "
                "GROUP BY source ORDER BY COUNT(*) DESC, source"
            ).fetchall()
            downs = conn.execute(
                "SELECT question, source, created_at FROM feedback WHERE vote = -1 "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (recent,),
            ).fetchall()
            return totals, per_source, downs

        (up, down), per_source, downs = self._run("read", read)
        return FeedbackSummary(
            up=int(up),
            down=int(down),
            per_source=tuple(SourceVotes(s, int(u), int(d)) for s, u, d in per_source),
            recent_downvotes=tuple(Downvote(q, s, t) for q, s, t in downs),
        )

    def votes_for(self, message_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """``{message id: (👍, 👎)}`` for the answers among ``message_ids`` that got votes."""
        wanted = sorted(set(message_ids))

        def read(conn: SqlConnection) -> dict[int, tuple[int, int]]:
            votes: dict[int, tuple[int, int]] = {}
            for begin in range(0, len(wanted), _IN_BATCH):
                batch = wanted[begin : begin + _IN_BATCH]
                marks = ", ".join("?" * len(batch))
                rows = conn.execute(
                    f"SELECT message_id, {_UP}, {_DOWN} FROM feedback "
                    f"WHERE message_id IN ({marks}) GROUP BY message_id",
                    batch,
                ).fetchall()
                votes.update({int(m): (int(u), int(d)) for m, u, d in rows})
            return votes

        return self._run("read", read) if wanted else {}

    def export_csv(self, fh: TextIO) -> int:
        """Write every vote as CSV (with a header row); returns the number of votes written."""
        rows = self._run(
            "read",
            lambda conn: conn.execute(
                f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback ORDER BY id"
            ).fetchall(),
        )
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        return len(rows)


class FeedbackStore(_Votes):
    """A small SQLite database, created on first use. Every method blocks (short queries):
    call them through ``asyncio.to_thread`` from async code. Thread-safe. Failures raise
    :class:`FeedbackError`."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False)
            try:
                conn.executescript(_SCHEMA)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _run(self, what: str, work: Callable[[Any], T], *, write: bool = False) -> T:
        with self._lock:
            try:
                conn = self._connect()
                if not write:
                    return work(conn)
                with conn:  # one transaction
                    return work(conn)
            except (sqlite3.Error, OSError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise FeedbackError(f"feedback database {self.path}: {reason}") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PgFeedbackStore(_Votes):
    """The votes in PostgreSQL (``ASKDOCS_DATABASE_URL``): the same table, queries and API as
    :class:`FeedbackStore`, its schema versioned (component ``feedback``) and migrated on
    first use. Blocking and thread-safe; a lost connection is reopened (once per call)."""

    backend = "postgresql"

    def __init__(self, url: str, *, connect_timeout: int = 5) -> None:
        from bot.shared.database import Database, DatabaseError, migrate_pg

        def setup(conn: Any) -> None:
            migrate_pg(conn, "feedback", PG_MIGRATIONS, _newer)

        try:
            self._db = Database(
                url, name="feedback database", setup=setup, connect_timeout=connect_timeout
            )
        except DatabaseError as exc:
            raise FeedbackError(str(exc)) from None
        self.where = self._db.where

    def __repr__(self) -> str:
        return f"PgFeedbackStore({self.where!r})"

    def _run(self, what: str, work: Callable[[Any], T], *, write: bool = False) -> T:
        from bot.shared.database import DatabaseError

        def in_transaction(conn: Any) -> T:
            with conn.transaction():
                return work(conn)

        try:
            return self._db.run(what, in_transaction if write else work)
        except DatabaseError as exc:
            raise FeedbackError(str(exc)) from None

    def close(self) -> None:
        self._db.close()


def _newer(found: int, target: int) -> FeedbackError:
    return FeedbackError(
        f"the feedback table has schema v{found}, newer than this askdocs (v{target})"
    )


Votes = FeedbackStore | PgFeedbackStore


def format_summary(summary: FeedbackSummary) -> str:
    """The feedback summary as plain text for the terminal."""
    if summary.total == 0:
        return "No feedback recorded yet."
    share = 100.0 * summary.up / summary.total
    lines = [
        f"Feedback: {summary.total} votes, {summary.up} 👍 / {summary.down} 👎 ({share:.0f}% up)"
    ]
    lines.append("")
    lines.append("By source:")
    width = max(len(s.source) for s in summary.per_source)
    lines += [f"  {s.source:<{width}}  👍 {s.up:>4}  👎 {s.down:>4}" for s in summary.per_source]
    if summary.recent_downvotes:
        lines.append("")
        lines.append("Most recent 👎 questions:")
        lines += [
            f"  {d.created_at}  {_one_line(d.question)}  ({d.source})"
            for d in summary.recent_downvotes
        ]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
