"""What the bot remembers of its conversations, so that a follow-up can build on them.

A conversation is a thread the bot answered in, or a chain of replies to its answers. It is
found by any of its *keys*: the thread's id and the ids of the bot's answer messages (all
Discord snowflakes, so they never collide). It holds the last few questions the bot
answered in it, nothing else: no authors, no answers. Memory is bounded three ways: turns
per conversation, conversations (the least recently used is forgotten first) and age (a
conversation is forgotten a while after its last answer). It lives in memory only and is
gone after a restart.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered question: as the member asked it (shown when a follow-up builds on it)
    and what the answer was retrieved with (the question, or it with its context)."""

    question: str
    query: str


@dataclass(slots=True)
class _Conversation:
    turns: deque[Turn]
    keys: deque[int]  # answer (and replied-to) message ids, oldest first
    last: float
    thread: int | None = None


class ConversationMemory:
    """Earlier questions per conversation. Not thread-safe: use it from the event loop.

    ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        *,
        max_conversations: int,
        max_turns: int,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.max_turns = max_turns
        self.max_age = max_age
        self._clock = clock
        self._conversations: OrderedDict[int, _Conversation] = OrderedDict()
        self._by_key: dict[int, int] = {}
        self._next_id = 0

    def __len__(self) -> int:
        """Conversations remembered (expired ones included until the next change)."""
        return len(self._conversations)

    @property
    def enabled(self) -> bool:
        return self.max_turns > 0 and self.max_conversations > 0 and self.max_age > 0

    def recall(self, *keys: int | None) -> tuple[Turn, ...]:
        """The earlier turns (oldest first) of the live conversation found by the first of
        ``keys`` that has one; ``()`` when none does or it has expired."""
        conversation = self._find(keys)
        return tuple(conversation.turns) if conversation is not None else ()

    def knows(self, key: int) -> bool:
        """Whether ``key`` belongs to a live conversation."""
        return self._find((key,)) is not None

    def record(self, turn: Turn, *, keys: Iterable[int | None], thread: int | None = None) -> None:
        """Add ``turn`` to the live conversation found by ``thread`` or any of ``keys`` (or a
        new one), and make ``thread`` and every key find it from now on."""
        if not self.enabled:
            return
        wanted = [k for k in (thread, *keys) if k is not None]
        now = self._clock()
        self._expire(now)
        conversation = self._find(wanted)
        if conversation is None:
            conversation = _Conversation(deque(maxlen=self.max_turns), deque(), now)
            self._next_id += 1
            self._conversations[self._next_id] = conversation
            cid = self._next_id
        else:
            cid = self._by_key[next(k for k in wanted if k in self._by_key)]
        conversation.turns.append(turn)
        conversation.last = now
        self._conversations.move_to_end(cid)
        if thread is not None and conversation.thread is None:
            conversation.thread = thread
            self._link(cid, thread)
        for key in wanted:
            if key != conversation.thread and key not in conversation.keys:
                conversation.keys.append(key)
                self._link(cid, key)
        while len(conversation.keys) > 2 * self.max_turns:  # old answers stop being found
            self._by_key.pop(conversation.keys.popleft(), None)
        while len(self._conversations) > self.max_conversations:
            self._drop(next(iter(self._conversations)))

    def forget(self, key: int) -> bool:
        """Forget the conversation ``key`` belongs to (e.g. its thread was deleted)."""
        cid = self._by_key.get(key)
        if cid is None:
            return False
        self._drop(cid)
        return True

    # -- internals ----------------------------------------------------------------------------
    def _link(self, cid: int, key: int) -> None:
        previous = self._by_key.get(key)
        if previous is not None and previous != cid and previous in self._conversations:
            other = self._conversations[previous]
            if key in other.keys:
                other.keys.remove(key)
            if other.thread == key:
                other.thread = None
        self._by_key[key] = cid

    def _find(self, keys: Iterable[int | None]) -> _Conversation | None:
        now = self._clock()
        for key in keys:
            if key is None or (cid := self._by_key.get(key)) is None:
                continue
            conversation = self._conversations.get(cid)
            if conversation is not None and now - conversation.last < self.max_age:
                return conversation
        return None

    def _expire(self, now: float) -> None:
        """Drop conversations past their age, least recently used first."""
        while self._conversations:
            cid, oldest = next(iter(self._conversations.items()))
            if now - oldest.last < self.max_age:
                break
            self._drop(cid)

    def _drop(self, cid: int) -> None:
        conversation = self._conversations.pop(cid, None)
        if conversation is None:
            return
        for key in (conversation.thread, *conversation.keys):
            if key is not None and self._by_key.get(key) == cid:
                del self._by_key[key]
