"""Live progress of index builds: what the reply says, how often it is edited, and getting the
engine's progress from its building thread onto the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord

log = logging.getLogger(__name__)

EDIT_EVERY = 2.0  # seconds between two edits of a reply, at least
Progress = Callable[[str, int, int], None]
"""What ``Engine.reindex(progress=...)`` calls: ``(stage, done, total)`` (index.builder)."""
_BAR = 12


def _of(counts: tuple[int, int]) -> str:
    done, total = counts
    return f"{done:,} of {total:,}"


def _bar(done: int, total: int) -> str:
    share = done / total if total else 1.0
    filled = round(share * _BAR)
    return f"`{'█' * filled}{'░' * (_BAR - filled)}` {share:.0%}"


@dataclass
class BuildStatus:
    """The latest progress of one build, as the engine reported it (see ``index.builder``'s
    ``Progress``: files read, documents chunked, texts embedded, writing)."""

    title: str
    read: tuple[int, int] | None = None
    chunked: tuple[int, int] | None = None
    embedded: tuple[int, int] | None = None
    writing: bool = False

    def update(self, stage: str, done: int, total: int) -> None:
        if stage == "reading":
            self.read = (done, total)
        elif stage == "chunking":
            self.chunked = (done, total)
        elif stage == "embedding":
            self.embedded = (done, total)
        elif stage == "writing":
            self.writing = True

    def text(self, elapsed: float) -> str:
        """What the reply shows while the build runs."""
        lines = [f"{self.title} ({elapsed:.0f} s)"]
        documents = []
        if self.read:
            documents.append(f"{_of(self.read)} read")
        if self.chunked:
            documents.append(f"{_of(self.chunked)} new or changed chunked")
        if documents:
            lines.append("📄 Documents: " + " · ".join(documents))
        if self.embedded:
            done, total = self.embedded
            lines.append(
                f"🧩 Chunks, sentences and headings embedded: {_of(self.embedded)} "
                + _bar(done, total)
            )
        if self.writing:
            lines.append("💾 Writing the new index…")
        if len(lines) == 1:
            lines.append("📄 Reading the documents folder…")
        return "\n".join(lines)


def thread_progress(loop: asyncio.AbstractEventLoop, callback: Progress) -> Progress:
    """A ``Progress`` for the building thread that hands every update to ``callback`` on
    ``loop`` (thread-safe; updates after the loop closed are dropped)."""

    def progress(stage: str, done: int, total: int) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
            loop.call_soon_threadsafe(callback, stage, done, total)

    return progress


class LiveReply:
    """Edits one reply with the latest message it was given, at most once per ``interval``
    seconds and not after ``until`` (interaction tokens expire). The first edit comes
    ``interval`` after ``started`` (the defer), so a quick build goes straight to its final
    message. Failed edits are logged and skipped."""

    def __init__(
        self,
        edit: Callable[..., Awaitable[object]],
        *,
        started: float,
        interval: float = EDIT_EVERY,
        until: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edit = edit
        self.interval = interval
        self.until = until
        self._clock = clock
        self._started = started
        self._last: float | None = None  # when the reply was last edited
        self._pending: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._editing = False
        self.edits = 0

    def show(self, **message: Any) -> None:
        """Show ``message`` at the next allowed moment (replacing one not shown yet)."""
        if self.until is not None and self._clock() >= self.until:
            return
        self._pending = message
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="askdocs-live-reply")

    async def _run(self) -> None:
        while self._pending is not None:
            since = self._started if self._last is None else self._last
            await asyncio.sleep(max(0.0, since + self.interval - self._clock()))
            message, self._pending = self._pending, None
            if message is None or (self.until is not None and self._clock() >= self.until):
                return
            self._editing = True
            try:
                await self._edit(**message)
                self.edits += 1
            except discord.HTTPException as exc:
                log.warning("cannot show progress (%s)", exc)
            finally:
                self._editing = False
                self._last = self._clock()

    async def settle(self) -> None:
        """Stop showing progress and, if it edited the reply, wait until the next edit is
        allowed (for the final message)."""
        self._pending = None
        task = self._task
        if task is not None and not task.done():
            if self._editing:
                await task
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._last is not None:
            await asyncio.sleep(max(0.0, self._last + self.interval - self._clock()))
