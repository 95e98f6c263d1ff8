"""👍/👎 votes on answers, stored in SQLite (user ids are stored only as salted hashes)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

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


class FeedbackStore:
    """A small SQLite database, created on first use. Every method blocks (short queries):
    call them through ``asyncio.to_thread`` from async code. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False)
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def record(self, message_id: int, question: str, source: str, user_id: int, vote: int) -> None:
        """Store a vote (+1 or -1); the same user voting again on the same answer changes it."""
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        row = (message_id, question, source or NO_SOURCE, hash_user(user_id), vote, now)
        with self._lock:
            conn = self._connect()
            with conn:
                conn.execute(_UPSERT, row)

    def summary(self, recent: int = RECENT_DOWNVOTES) -> FeedbackSummary:
        with self._lock:
            conn = self._connect()
            up, down = conn.execute(
                "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM feedback"
            ).fetchone()
            per_source = conn.execute(
                "SELECT source, SUM(vote = 1), SUM(vote = -1) FROM feedback "
                "GROUP BY source ORDER BY COUNT(*) DESC, source"
            ).fetchall()
            downs = conn.execute(
                "SELECT question, source, created_at FROM feedback WHERE vote = -1 "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (recent,),
            ).fetchall()
        return FeedbackSummary(
            up=int(up),
            down=int(down),
            per_source=tuple(SourceVotes(s, int(u), int(d)) for s, u, d in per_source),
            recent_downvotes=tuple(Downvote(q, s, t) for q, s, t in downs),
        )

    def votes_for(self, message_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        """``{message id: (👍, 👎)}`` for the answers among ``message_ids`` that got votes."""
        wanted = sorted(set(message_ids))
        votes: dict[int, tuple[int, int]] = {}
        with self._lock:
            conn = self._connect()
            for begin in range(0, len(wanted), _IN_BATCH):
                batch = wanted[begin : begin + _IN_BATCH]
                marks = ", ".join("?" * len(batch))
                rows = conn.execute(
                    "SELECT message_id, SUM(vote = 1), SUM(vote = -1) FROM feedback "
                    f"WHERE message_id IN ({marks}) GROUP BY message_id",
                    batch,
                ).fetchall()
                votes.update({int(m): (int(u), int(d)) for m, u, d in rows})
        return votes

    def export_csv(self, fh: TextIO) -> int:
        """Write every vote as CSV (with a header row); returns the number of votes written."""
        with self._lock:
            rows = (
                self._connect()
                .execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback ORDER BY id")
                .fetchall()
            )
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        return len(rows)


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
