"""An async micro-batcher: many concurrent questions become one ``answer_many`` call.

Questions arriving within ``max_wait`` seconds of the first one (or until ``max_batch`` are
waiting) are embedded together in one worker thread. At most ``max_in_flight`` batches run at
once; questions arriving meanwhile wait and form the next (bigger, cheaper per question) batch
as soon as one finishes, and the event loop is not starved of the GIL by many engine threads.
Each question is validated first, so a bad question fails alone and never takes its batch
down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from index.engine import check_question
from index.errors import QuestionError
from index.models import Answer

log = logging.getLogger(__name__)


class AnswersMany(Protocol):
    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]: ...


class MicroBatcher:
    def __init__(
        self,
        engine: AnswersMany,
        *,
        max_question_chars: int,
        top_k: int | None = None,
        max_batch: int = 32,
        max_wait: float = 0.005,
        max_in_flight: int = 1,
    ) -> None:
        self.engine = engine
        self.max_question_chars = max_question_chars
        self.top_k = top_k
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._pending: list[tuple[str, asyncio.Future[Answer]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # statistics, for logs and the benchmark

    async def answer(self, question: str) -> Answer:
        """Answer one question; raises QuestionError (bad question) or another AskdocsError."""
        cleaned = check_question(question, self.max_question_chars)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((cleaned, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None and self._in_flight < self.max_in_flight:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._in_flight >= self.max_in_flight:
            return  # a running batch flushes the waiting questions when it finishes
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        self._in_flight += 1
        task = asyncio.create_task(self._run(batch), name="askdocs-batch")
        self._tasks.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        self._flush()

    async def _run(self, batch: list[tuple[str, asyncio.Future[Answer]]]) -> None:
        self.batches += 1
        questions = [q for q, _ in batch]
        try:
            answers = await asyncio.to_thread(self.engine.answer_many, questions, self.top_k)
        except QuestionError:
            # the engine's own limit is stricter than ours: answer one by one
            await self._run_singly(batch)
            return
        except Exception as exc:  # AskdocsError or unexpected: every waiter gets it
            for _, future in batch:
                _settle(future, exc=exc)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            _settle(future, answer=answer)

    async def _run_singly(self, batch: list[tuple[str, asyncio.Future[Answer]]]) -> None:
        for question, future in batch:
            try:
                answers = await asyncio.to_thread(self.engine.answer_many, [question], self.top_k)
            except Exception as exc:  # each waiter gets its own error
                _settle(future, exc=exc)
            else:
                _settle(future, answer=answers[0])

    async def close(self) -> None:
        """Wait until every pending question has been answered."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _settle(
    future: asyncio.Future[Answer], *, answer: Answer | None = None, exc: Exception | None = None
) -> None:
    if future.done():  # the asker went away (cancelled)
        return
    if exc is not None:
        future.set_exception(exc)
    elif answer is not None:
        future.set_result(answer)
