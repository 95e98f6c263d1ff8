"""Per-user rate limit on questions: at most N questions per sliding window of S seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_SWEEP_EVERY = 1024  # forget idle users now and then so memory stays flat


class Cooldown:
    """Sliding-window limiter keyed by user id. ``clock`` is injectable for tests.

    ``hit(user)`` records a question and returns 0.0 when allowed, otherwise the seconds to
    wait before the next question is allowed (and records nothing).
    """

    def __init__(
        self, questions: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if questions < 1:
            raise ValueError("questions must be at least 1")
        self.questions = questions
        self.seconds = seconds
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._calls = 0

    def retry_after(self, user_id: int) -> float:
        """Like ``hit`` but records nothing: 0.0 when a question would be allowed now."""
        now = self._clock()
        hits = self._hits.get(user_id)
        if self.seconds <= 0 or not hits:
            return 0.0
        recent = [t for t in hits if now - t < self.seconds]
        if len(recent) >= self.questions:
            return max(self.seconds - (now - recent[0]), 0.001)
        return 0.0

    def hit(self, user_id: int) -> float:
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        if self.seconds <= 0:
            return 0.0
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= self.seconds:
            hits.popleft()
        if len(hits) >= self.questions:
            return max(self.seconds - (now - hits[0]), 0.001)
        hits.append(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        idle = [u for u, h in self._hits.items() if not h or now - h[-1] >= self.seconds]
        for user_id in idle:
            del self._hits[user_id]

    def __len__(self) -> int:
        """How many users are currently tracked."""
        return len(self._hits)
