"""Recording questions for the bot without ever slowing or stopping an answer.

Writes are queued to one background thread (never the event loop) and the caller does not
wait for them. A log that cannot be written (corrupt, locked, disk full) is reported once
per outage, as a warning, and questions go on being answered; when writing works again
that is logged too. Retention runs on start and then daily.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from bot.shared.question_log import DAY, QuestionEntry, QuestionLogError, QuestionStore
from bot.shared.settings import Settings

log = logging.getLogger(__name__)

MAX_PENDING = 1000  # queued writes beyond this are dropped (a stuck disk must not eat memory)


class QuestionRecorder:
    """Fire-and-forget writes to a question log (SQLite or PostgreSQL); a no-op when
    ``store`` is None."""

    def __init__(
        self,
        store: QuestionStore | None,
        *,
        max_pending: int = MAX_PENDING,
        purge_every: float = DAY,
    ) -> None:
        self.store = store
        self.max_pending = max_pending
        self.purge_every = purge_every
        self._executor: ThreadPoolExecutor | None = None
        self._pending = 0
        self._count_lock = threading.Lock()
        self._failing = False
        self._dropping = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> QuestionRecorder:
        from bot.shared.stores import open_question_log

        return cls(open_question_log(settings) if settings.question_log else None)

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def record(self, entry: QuestionEntry) -> None:
        """Queue ``entry`` for writing and return at once."""
        if self.store is not None:
            self._submit(lambda store: store.record(entry))

    def purge(self) -> Future[None] | None:
        """Queue a retention run (older rows deleted)."""
        if self.store is None:
            return None
        return self._submit(lambda store: store.purge())

    def _submit(self, work: Callable[[QuestionStore], object]) -> Future[None] | None:
        with self._count_lock:
            if self._pending >= self.max_pending:
                if not self._dropping:
                    log.warning(
                        "question log: %d writes waiting, dropping new ones until it catches up",
                        self._pending,
                    )
                    self._dropping = True
                return None
            self._pending += 1
            self._dropping = False
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="askdocs-question-log")
        return self._executor.submit(self._write, work)

    def _write(self, work: Callable[[QuestionStore], object]) -> None:
        assert self.store is not None
        try:
            work(self.store)
        except QuestionLogError as exc:
            if not self._failing:
                log.warning("%s; questions are still answered but not logged", exc)
                self._failing = True
            else:
                log.debug("%s", exc)
        else:
            if self._failing:
                log.info("question log %s is writable again", self.store.where)
                self._failing = False
        finally:
            with self._count_lock:
                self._pending -= 1

    def flush(self) -> None:
        """Wait until every queued write has run (blocking)."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result()

    # -- retention on start and daily, in the bot ------------------------------------------
    def start(self) -> None:
        """Start the retention loop on the running event loop (a no-op when disabled)."""
        if self.store is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._retention(), name="askdocs-question-log-retention"
            )

    async def _retention(self) -> None:
        while True:
            self.purge()
            await asyncio.sleep(self.purge_every)

    async def aclose(self) -> None:
        """Stop the retention loop, finish queued writes, close the database."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self.store is not None:
            self.store.close()
