"""An async micro-batcher: many concurrent questions become one ``answer_many`` call.

Questions arriving within ``max_wait`` seconds of the first one (or until ``max_batch`` are
waiting) are embedded together on the batcher's own engine thread. At most
``max_in_flight`` batches run at once; questions arriving meanwhile wait and form the next
(bigger, cheaper per question) batch as soon as one finishes, and the event loop is not
starved of the GIL by many engine threads. So batches form by themselves while the engine
is busy, and ``max_wait`` is 0 by default: a lone question is not held back waiting for
company (it still joins those arriving in the same turn of the event loop). ``max_batch``
is 8: bigger batches cost no less CPU per question (bench: 5.0 ms at 8, 5.4 at 16, 5.7 at
32, on a loaded 2-core box) but onnxruntime keeps the memory of its biggest batch (+5 MiB
RSS at 8, +12 at 16, +27 at 32). Each question is validated first, so a bad
question fails alone and never takes its batch down.

Repeated questions skip the engine: answers are kept in an LRU cache of ``cache_size``
entries keyed by the server and the question as the engine reads it (see
:func:`question_key`), each valid only while the index it came from is the one serving that
server (``version(server)`` returns the same object), and a question asked again while it
is still being answered waits for that answer instead of being embedded twice. A cached
answer is the engine's answer to the same text from the same index: only its ``question``
(the asker's own wording) differs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from index.engine import check_question
from index.errors import QuestionError
from index.models import Answer

log = logging.getLogger(__name__)

CACHE_SIZE = 1024  # answers kept; each holds its passages' text (a few kB)


class AnswersMany(Protocol):
    """The engine (``server`` is passed only when it is not None)."""

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]: ...


def question_key(question: str) -> str:
    """The cache key of a checked question: two questions with the same key get the same
    answer from the engine. The engine reads a question through its normaliser (NFKC,
    quotes, invisibles, every whitespace run one space); for ASCII text that is exactly
    "whitespace runs folded to one space", so that is folded here; other text is kept as
    it is (a miss costs an engine call, a wrong hit would cost a wrong answer)."""
    return " ".join(question.split()) if question.isascii() else question


def _documents(engine: object) -> Callable[[int | None], object]:
    """The documents answering a server (``documents_for(server)``, or ``documents``): a new
    tuple whenever that index changes; a fresh object, so nothing is served from the cache,
    while there is none to give (no index loaded)."""

    def version(server: int | None) -> object:
        try:
            documents_for = getattr(engine, "documents_for", None)
            if documents_for is not None:
                return documents_for(server)
            return getattr(engine, "documents", None)
        except Exception:  # e.g. IndexNotFoundError: the answer will say so
            return object()

    return version


Key = tuple[int | None, str]  # (server, question_key)


@dataclass(slots=True)
class _Waiting:
    key: Key
    question: str
    future: asyncio.Future[Answer]
    since: float


@dataclass(slots=True)
class BatchStats:
    """Counters since start, for logs and the benchmarks."""

    questions: int = 0  # asked (valid ones)
    cached: int = 0  # answered from the cache
    joined: int = 0  # joined the same question already waiting or being answered
    batches: int = 0  # engine calls
    embedded: int = 0  # questions sent to the engine
    queued_s: float = 0.0  # seconds questions waited before their batch started, summed
    engine_s: float = 0.0  # seconds of engine calls (wall), summed


class MicroBatcher:
    def __init__(
        self,
        engine: AnswersMany,
        *,
        max_question_chars: int,
        top_k: int | None = None,
        max_batch: int = 8,
        max_wait: float = 0.0,
        max_in_flight: int = 1,
        cache_size: int = CACHE_SIZE,
        version: Callable[[int | None], object] | None = None,
    ) -> None:
        """``version(server)`` identifies the index answering a server (by default the
        engine's documents for it, a new object whenever that index changes);
        ``cache_size`` 0 turns the answer cache off."""
        self.engine = engine
        self.max_question_chars = max_question_chars
        self.top_k = top_k
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_in_flight = max_in_flight
        self.cache_size = cache_size
        self._version = version or _documents(engine)
        self._cache: OrderedDict[Key, tuple[object, Answer]] = OrderedDict()
        self._waiting: dict[Key, asyncio.Future[Answer]] = {}  # by key, until answered
        self._in_flight = 0
        self._pending: list[_Waiting] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, max_in_flight), thread_name_prefix="askdocs-engine"
        )
        self.counts = BatchStats()

    @property
    def batches(self) -> int:
        return self.counts.batches

    def stats(self) -> dict[str, float]:
        """The counters (see :class:`BatchStats`) as a plain dict."""
        c = self.counts
        return {
            "questions": c.questions,
            "cached": c.cached,
            "joined": c.joined,
            "batches": c.batches,
            "embedded": c.embedded,
            "queued_s": c.queued_s,
            "engine_s": c.engine_s,
        }

    async def answer(self, question: str, server: int | None = None) -> Answer:
        """Answer one question from the documents ``server`` sees (None: the shared ones);
        raises QuestionError (bad question) or another AskdocsError."""
        cleaned = check_question(question, self.max_question_chars)
        self.counts.questions += 1
        key = (server, question_key(cleaned))
        cached = self._cached(key)
        if cached is not None:
            self.counts.cached += 1
            return cached if cached.question == cleaned else replace(cached, question=cleaned)
        future = self._waiting.get(key)
        if future is not None:
            self.counts.joined += 1
        else:
            future = self._enqueue(key, cleaned)
        answer = await asyncio.shield(future)  # an asker going away leaves the others be
        return answer if answer.question == cleaned else replace(answer, question=cleaned)

    def _cached(self, key: Key) -> Answer | None:
        entry = self._cache.get(key) if self.cache_size else None
        if entry is None:
            return None
        if entry[0] is not self._version(key[0]):  # the index changed since
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return entry[1]

    def _remember(self, key: Key, answer: Answer, version: object) -> None:
        """Cache ``answer``, given by the index ``version`` that still serves its server."""
        if not self.cache_size:
            return
        self._cache[key] = (version, answer)
        self._cache.move_to_end(key)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _enqueue(self, key: Key, cleaned: str) -> asyncio.Future[Answer]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting[key] = future
        self._pending.append(_Waiting(key, cleaned, future, time.perf_counter()))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None and self._in_flight < self.max_in_flight:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._in_flight >= self.max_in_flight:
            return  # a running batch flushes the waiting questions when it finishes
        server = self._pending[0].key[0]  # one server's questions per batch
        batch = [w for w in self._pending if w.key[0] == server][: self.max_batch]
        if len(batch) == len(self._pending):
            self._pending.clear()
        else:
            taken = {id(w) for w in batch}
            self._pending = [w for w in self._pending if id(w) not in taken]
        self._in_flight += 1
        task = asyncio.create_task(self._run(batch), name="askdocs-batch")
        self._tasks.add(task)
        task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        self._flush()

    async def _call(self, questions: list[str], server: int | None) -> list[Answer]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        call = functools.partial(self.engine.answer_many, questions, self.top_k)
        if server is not None:
            call = functools.partial(call, server=server)
        try:
            return await loop.run_in_executor(self._executor, call)
        finally:
            self.counts.engine_s += time.perf_counter() - started

    async def _run(self, batch: list[_Waiting]) -> None:
        now = time.perf_counter()
        counts = self.counts
        counts.batches += 1
        counts.embedded += len(batch)
        counts.queued_s += sum(now - w.since for w in batch)
        server = batch[0].key[0]
        version = self._version(server)
        try:
            answers = await self._call([w.question for w in batch], server)
        except QuestionError:
            # the engine's own limit is stricter than ours: answer one by one
            await self._run_singly(batch, version)
            return
        except Exception as exc:  # AskdocsError or unexpected: every waiter gets it
            for waiting in batch:
                self._settle(waiting, exc=exc)
            return
        current = version is self._version(server)  # not replaced while it answered
        for waiting, answer in zip(batch, answers, strict=True):
            if current:
                self._remember(waiting.key, answer, version)
            self._settle(waiting, answer=answer)

    async def _run_singly(self, batch: list[_Waiting], version: object) -> None:
        for waiting in batch:
            try:
                answers = await self._call([waiting.question], waiting.key[0])
            except Exception as exc:  # each waiter gets its own error
                self._settle(waiting, exc=exc)
            else:
                if version is self._version(waiting.key[0]):
                    self._remember(waiting.key, answers[0], version)
                self._settle(waiting, answer=answers[0])

    def _settle(
        self, waiting: _Waiting, *, answer: Answer | None = None, exc: Exception | None = None
    ) -> None:
        if self._waiting.get(waiting.key) is waiting.future:
            del self._waiting[waiting.key]
        future = waiting.future
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody may be left waiting for it
        elif answer is not None:
            future.set_result(answer)

    async def close(self) -> None:
        """Wait until every pending question has been answered, then stop the engine thread."""
        self._flush()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._executor.shutdown(wait=False)
