"""The per-user question limit shared by every bot process (shards, machines): the same
sliding window as :class:`bot.discord_app.cooldown.Cooldown` (at most N questions per S
seconds), kept in PostgreSQL when ``ASKDOCS_DATABASE_URL`` is set.

Times come from the database's clock, so that processes on machines whose clocks differ
still agree. A user's check-and-record runs in one transaction under an advisory lock on that
user, so that two processes cannot both let the N+1th question through.

When the database cannot be reached, the limit falls back to ``fallback`` (the process's own
in-memory cooldown, if given; else questions are let through): reported once as a warning,
and once more when the database works again. A question is never refused or delayed
because the database is down.

``hit``/``retry_after`` block (one short transaction): from async code call ``ahit`` /
``aretry_after``, which run them in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from index.errors import DatabaseError

log = logging.getLogger(__name__)

COMPONENT = "cooldown"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE cooldown_hits (
            user_id BIGINT           NOT NULL,
            hit_at  DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX cooldown_hits_user ON cooldown_hits (user_id, hit_at)",
        "CREATE INDEX cooldown_hits_at ON cooldown_hits (hit_at)",
    ),
)
_LOCK_CLASS = 0x636F6F6C  # "cool": advisory locks (class, hashtext(user)) of this module
SWEEP_EVERY = 1024  # calls between deletions of every user's expired hits
_NOW = "SELECT EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"


class LocalCooldown(Protocol):
    """The in-process limiter used while the database is down (``Cooldown`` fits)."""

    def hit(self, user_id: int) -> float: ...

    def retry_after(self, user_id: int) -> float: ...


class DatabaseCooldown:
    """Sliding-window limiter keyed by user id, shared through PostgreSQL.

    ``hit(user)`` records a question and returns 0.0 when allowed, otherwise the seconds to
    wait before the next question is allowed (and records nothing). ``clock`` (Unix seconds)
    replaces the database's clock in tests."""

    def __init__(
        self,
        url: str,
        questions: int,
        seconds: float,
        *,
        fallback: LocalCooldown | None = None,
        clock: Callable[[], float] | None = None,
        connect_timeout: int = 5,
    ) -> None:
        from bot.shared.database import Database, migrate_pg

        if questions < 1:
            raise ValueError("questions must be at least 1")
        self.questions = questions
        self.seconds = seconds
        self.fallback = fallback
        self._clock = clock
        self._db = Database(
            url,
            name="global cooldown",
            setup=lambda conn: migrate_pg(conn, COMPONENT, MIGRATIONS, _newer),
            connect_timeout=connect_timeout,
        )
        self.where = self._db.where
        self._calls = 0
        self._failing = False
        self._state = threading.Lock()

    def __repr__(self) -> str:
        return f"DatabaseCooldown({self.where!r}, {self.questions}/{self.seconds:g}s)"

    # -- the limit -----------------------------------------------------------------------------
    def hit(self, user_id: int) -> float:
        if self.seconds <= 0:
            return 0.0
        with self._state:
            self._calls += 1
            sweep = self._calls % SWEEP_EVERY == 0
        return self._guarded(
            user_id, "record a question", lambda conn: self._hit(conn, user_id, sweep), "hit"
        )

    def retry_after(self, user_id: int) -> float:
        """Like ``hit`` but records nothing: 0.0 when a question would be allowed now."""
        if self.seconds <= 0:
            return 0.0
        return self._guarded(
            user_id, "read", lambda conn: self._retry_after(conn, user_id), "retry_after"
        )

    async def ahit(self, user_id: int) -> float:
        return await asyncio.to_thread(self.hit, user_id)

    async def aretry_after(self, user_id: int) -> float:
        return await asyncio.to_thread(self.retry_after, user_id)

    def close(self) -> None:
        self._db.close()

    # -- internals -----------------------------------------------------------------------------
    def _guarded(self, user_id: int, what: str, work: Callable[[Any], float], local: str) -> float:
        try:
            wait = self._db.run(what, work)
        except DatabaseError as exc:
            self._report(exc)
            if self.fallback is None:  # (a Cooldown tracking nobody is falsy)
                return 0.0
            return float(getattr(self.fallback, local)(user_id))
        if self._failing:
            with self._state:
                self._failing = False
            log.info("global cooldown: %s works again", self.where)
        return wait

    def _report(self, exc: DatabaseError) -> None:
        with self._state:
            first, self._failing = not self._failing, True
        if first:
            log.warning("%s; each process applies its own cooldown until the database is back", exc)
        else:
            log.debug("%s", exc)

    def _now(self, conn: Any) -> float:
        return self._clock() if self._clock is not None else float(conn.execute(_NOW).fetchone()[0])

    def _hit(self, conn: Any, user_id: int, sweep: bool) -> float:
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(?, hashtext(?))", (_LOCK_CLASS, str(user_id))
            )
            now = self._now(conn)
            expired = now - self.seconds
            if sweep:
                conn.execute("DELETE FROM cooldown_hits WHERE hit_at <= ?", (expired,))
            else:
                conn.execute(
                    "DELETE FROM cooldown_hits WHERE user_id = ? AND hit_at <= ?",
                    (user_id, expired),
                )
            count, oldest = conn.execute(
                "SELECT COUNT(*), MIN(hit_at) FROM cooldown_hits WHERE user_id = ?", (user_id,)
            ).fetchone()
            if count >= self.questions:
                return max(self.seconds - (now - float(oldest)), 0.001)
            conn.execute(
                "INSERT INTO cooldown_hits (user_id, hit_at) VALUES (?, ?)", (user_id, now)
            )
            return 0.0

    def _retry_after(self, conn: Any, user_id: int) -> float:
        now = self._now(conn)
        rows = conn.execute(
            "SELECT hit_at FROM cooldown_hits WHERE user_id = ? AND hit_at > ? "
            "ORDER BY hit_at LIMIT ?",
            (user_id, now - self.seconds, self.questions),
        ).fetchall()
        if len(rows) >= self.questions:
            return max(self.seconds - (now - float(rows[0][0])), 0.001)
        return 0.0


def _newer(found: int, target: int) -> DatabaseError:
    return DatabaseError(
        f"the cooldown table has schema v{found}, newer than this askdocs (v{target})"
    )
