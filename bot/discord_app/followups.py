"""Follow-ups: a short question answered with the conversation's earlier question as context.

The rule (unit-tested in tests/test_followups.py, end to end in tests/test_bot_followups_e2e.py):

1. Only a *short* message can be a follow-up: at most ``MAX_WORDS`` words ("and China?",
   "when was that?", "why?").
2. It is answered alone and, in the same batch, with each remembered earlier question of the
   conversation as context, newest first: the follow-up, then the earlier question's words
   without its question words ("why? Kim Jong Un meeting"), so that the follow-up decides
   what kind of answer is asked for.
3. A context is kept only when

   * alone, the follow-up is weak: refused, or its confidence is under ``WEAK_BELOW`` (the
     "high confidence" mark of answers);
   * its own words are known to the documents: at most ``MAX_UNKNOWN`` of its content words
     are words the documents never use ("how do I bake bread?" is a new topic, not a
     follow-up, and is not dragged back to the old one);
   * with the context it is answered, at least ``MIN_GAIN`` more confident than alone.

   The newest earlier question that passes wins; otherwise the follow-up is answered alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.discord_app.conversations import Turn
from bot.discord_app.questions import QUESTION_WORDS
from index.models import Answer

MAX_WORDS = 6
WEAK_BELOW = 0.8
MAX_UNKNOWN = 0.5
MIN_GAIN = 0.1
CONTEXT_CHARS = 300  # context words kept from an earlier question, at most
_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass(frozen=True, slots=True)
class Resolved:
    """How a question was answered: ``answer`` (its ``question`` is the member's own),
    the earlier turn it ``built_on`` (None when answered alone), and the ``query`` used."""

    answer: Answer
    built_on: Turn | None
    query: str

    @property
    def turn(self) -> Turn:
        return Turn(self.answer.question, self.query)


def is_short(question: str) -> bool:
    """Whether ``question`` is short enough to be a follow-up (``MAX_WORDS`` words at most)."""
    return 0 < len(_WORD.findall(question)) <= MAX_WORDS


def context_of(query: str) -> str:
    """The words of an earlier question that carry its topic: without question words and
    punctuation, at most ``CONTEXT_CHARS`` characters."""
    words = [w for w in _WORD.findall(query) if w.lower() not in QUESTION_WORDS]
    kept: list[str] = []
    for word in words:
        if sum(len(k) + 1 for k in kept) + len(word) > CONTEXT_CHARS:
            break
        kept.append(word)
    return " ".join(kept)


def with_context(question: str, earlier: Turn, max_chars: int) -> str | None:
    """``question`` followed by the topic words of ``earlier``, within ``max_chars``; None
    when the earlier question leaves no topic words."""
    context = context_of(earlier.query)
    room = max_chars - len(question) - 1
    if not context or room <= 0:
        return None
    if len(context) > room:  # cut at the last word that fits whole
        cut = context[: room + 1]
        context = cut.rsplit(" ", 1)[0] if " " in cut else ""
    return f"{question} {context}" if context else None


def choose(alone: Answer, with_contexts: Sequence[Answer | None]) -> int | None:
    """Index of the answer (among ``with_contexts``, newest earlier question first; None
    entries are skipped) to use instead of ``alone``, by the rule in the module docstring."""
    weak = alone.abstained or alone.confidence < WEAK_BELOW
    unknown = alone.evidence.unknown if alone.evidence is not None else 0.0
    if not weak or unknown > MAX_UNKNOWN:
        return None
    for i, candidate in enumerate(with_contexts):
        if (
            candidate is not None
            and not candidate.abstained
            and candidate.confidence >= alone.confidence + MIN_GAIN
        ):
            return i
    return None


async def resolve(
    ask: Callable[[str], Awaitable[Answer]],
    question: str,
    earlier: Sequence[Turn],
    max_chars: int,
) -> Resolved:
    """Answer ``question`` alone or, when it is a follow-up (see the module docstring),
    with the context of one of the ``earlier`` turns (oldest first, as remembered).
    ``ask`` answers one question; the calls run concurrently so the engine batches them.
    Errors of ``ask`` for the question alone propagate; a failing context is skipped."""
    turns = list(reversed(earlier)) if is_short(question) else []
    tried = [(turn, query) for turn in turns if (query := with_context(question, turn, max_chars))]
    results = await asyncio.gather(
        ask(question), *(ask(query) for _, query in tried), return_exceptions=True
    )
    alone = results[0]
    if isinstance(alone, BaseException):
        raise alone
    contextual = [r if isinstance(r, Answer) else None for r in results[1:]]
    picked = choose(alone, contextual)
    chosen = contextual[picked] if picked is not None else None
    if picked is None or chosen is None:
        return Resolved(alone, None, question)
    turn, query = tried[picked]
    return Resolved(dataclasses.replace(chosen, question=question), turn, query)


def expired_note(minutes: float) -> str:
    """Under a "not covered" answer to a reply whose conversation has been forgotten."""
    return (
        "↩️ I no longer have the question you replied to in mind (I forget a conversation "
        f"{minutes:g} minutes after my last answer in it), so I read yours on its own: "
        "ask the whole question."
    )
