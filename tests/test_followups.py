"""Follow-ups: the conversation memory, the rule deciding when an earlier question is used as
context (on made-up answers and on the real engine over the article)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import pytest

from bot.discord_app.conversations import ConversationMemory, Turn
from bot.discord_app.embeds import FOLLOW_UP_PREFIX, answer_embed, is_answer_embed
from bot.discord_app.followups import (
    CONTEXT_CHARS,
    Resolved,
    choose,
    context_of,
    expired_note,
    is_short,
    resolve,
    with_context,
)
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.models import Answer, Evidence, Passage

# -- memory ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def memory(clock: Clock, *, conversations: int = 10, turns: int = 3, age: float = 60.0):
    return ConversationMemory(
        max_conversations=conversations, max_turns=turns, max_age=age, clock=clock
    )


def turn(text: str) -> Turn:
    return Turn(text, text)


def test_a_conversation_is_found_by_its_thread_and_its_answers() -> None:
    mem = memory(Clock())
    mem.record(turn("q1"), keys=[101], thread=7)  # answered in thread 7 with message 101
    assert mem.recall(7) == mem.recall(101) == (turn("q1"),)
    mem.record(turn("q2"), keys=[101, 102])  # a reply to 101, answered by 102
    assert mem.recall(102) == mem.recall(7) == (turn("q1"), turn("q2"))
    assert mem.recall(999) == mem.recall(None) == ()
    assert mem.recall(None, 999, 102) == (turn("q1"), turn("q2"))  # first key that is known
    assert len(mem) == 1


def test_turns_conversations_and_age_are_bounded() -> None:
    clock = Clock()
    mem = memory(clock, conversations=2, turns=2, age=60.0)
    for i in range(5):
        mem.record(turn(f"q{i}"), keys=[100 + i], thread=1)
    assert mem.recall(1) == (turn("q3"), turn("q4"))  # the last two turns
    assert not mem.knows(100) and mem.knows(103) and mem.knows(104)  # old answers unlinked
    mem.record(turn("b"), keys=[200], thread=2)
    clock.now += 1
    mem.record(turn("c"), keys=[300], thread=3)  # a third conversation: the oldest goes
    assert len(mem) == 2 and mem.recall(1) == () and mem.recall(2) == (turn("b"),)
    clock.now += 59.5
    assert mem.recall(2) == () and mem.recall(3) == (turn("c"),)  # 2 expired, 3 not yet
    clock.now += 1
    assert mem.recall(3) == ()
    mem.record(turn("d"), keys=[400])  # expired conversations are dropped on the next change
    assert len(mem) == 1 and mem.recall(300) == () and mem.recall(400) == (turn("d"),)


def test_an_expired_conversation_is_not_continued() -> None:
    clock = Clock()
    mem = memory(clock, age=60.0)
    mem.record(turn("old"), keys=[101], thread=7)
    clock.now += 61
    mem.record(turn("new"), keys=[102], thread=7)
    assert mem.recall(7) == (turn("new"),)


def test_forget_and_disabled_memory() -> None:
    mem = memory(Clock())
    mem.record(turn("q"), keys=[101], thread=7)
    assert mem.forget(7) and mem.recall(101) == () and len(mem) == 0
    assert not mem.forget(7)
    off = memory(Clock(), turns=0)
    off.record(turn("q"), keys=[1], thread=2)
    assert not off.enabled and off.recall(1) == () and len(off) == 0


# -- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("why?", True),
        ("and China?", True),
        ("when was that?", True),
        ("what about the sanctions relief then?", True),  # six words
        ("what about the sanctions relief then, exactly?", False),
        ("", False),
        ("??", False),
    ],
)
def test_is_short(text: str, short: bool) -> None:
    assert is_short(text) is short


@pytest.mark.parametrize(
    ("query", "context"),
    [
        ("Who is Kim Jong Un meeting?", "Kim Jong Un meeting"),
        ("When did the Hanoi summit break down?", "the Hanoi summit break down"),
        ("and Trump? Kim Jong Un meeting", "and Trump Kim Jong Un meeting"),  # chained
        ("why?", ""),
        ("word " * 100, ("word " * (CONTEXT_CHARS // 5)).strip()),
    ],
)
def test_context_of(query: str, context: str) -> None:
    assert context_of(query) == context


def test_with_context_fits_the_question_limit() -> None:
    earlier = turn("Who is Kim Jong Un meeting?")
    assert with_context("why?", earlier, 1000) == "why? Kim Jong Un meeting"
    assert with_context("why?", earlier, 13) == with_context("why?", earlier, 15) == "why? Kim Jong"
    assert with_context("why?", earlier, 16) == "why? Kim Jong Un"
    assert with_context("why?", earlier, 6) is None
    assert with_context("why?", turn("why?"), 1000) is None


def answer(confidence: float, *, unknown: float = 0.0, question: str = "q") -> Answer:
    evidence = Evidence(0.5, 0.5, 0.5, unknown, None, True)
    return Answer(question, confidence < 0.5, confidence, "", (), evidence)


@pytest.mark.parametrize(
    ("alone", "contexts", "picked"),
    [
        (answer(0.2), [answer(0.9)], 0),  # refused alone, answered with context
        (answer(0.7), [answer(0.95)], 0),  # weak alone, clearly better with context
        (answer(0.7), [answer(0.75)], None),  # not better enough
        (answer(0.85), [answer(0.99)], None),  # strong alone: a new, covered topic
        (answer(0.2, unknown=1.0), [answer(0.9)], None),  # words the documents never use
        (answer(0.2, unknown=0.5), [answer(0.9)], 0),  # half known is enough
        (answer(0.2), [answer(0.3)], None),  # refused with context too
        (answer(0.2), [None, answer(0.4), answer(0.9)], 2),  # the newest that passes
        (answer(0.2), [answer(0.9), answer(0.99)], 0),  # newest first, not the best
        (answer(0.2), [], None),
    ],
)
def test_choose(alone: Answer, contexts: list[Answer | None], picked: int | None) -> None:
    assert choose(alone, contexts) == picked


async def test_resolve_asks_alone_and_with_each_context_at_once() -> None:
    asked: list[str] = []
    results = {
        "why?": answer(0.2, question="why?"),
        "why? Newest topic": answer(0.3),
        "why? Older topic": answer(0.9, question="why? Older topic"),
    }

    async def ask(question: str) -> Answer:
        asked.append(question)
        await asyncio.sleep(0)
        return results[question]

    earlier = [turn("Older topic?"), turn("Newest topic?")]
    resolved = await resolve(ask, "why?", earlier, 1000)
    assert asked == ["why?", "why? Newest topic", "why? Older topic"]
    assert resolved.built_on == turn("Older topic?") and resolved.query == "why? Older topic"
    assert resolved.answer.question == "why?" and resolved.answer.confidence == 0.9
    assert resolved.turn == Turn("why?", "why? Older topic")
    asked.clear()
    long = "so what did the two leaders actually agree on in the end?"
    results[long] = answer(0.3, question=long)
    assert await resolve(ask, long, earlier, 1000) == Resolved(results[long], None, long)
    assert asked == [long]  # not short: never a follow-up


async def test_resolve_skips_a_failing_context_but_not_a_failing_question() -> None:
    async def ask(question: str) -> Answer:
        if question != "why?":
            raise RuntimeError("engine hiccup")
        return answer(0.2, question=question)

    resolved = await resolve(ask, "why?", [turn("Topic?")], 1000)
    assert resolved.built_on is None

    async def broken(question: str) -> Answer:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError, match="down"):
        await resolve(broken, "why?", [turn("Topic?")], 1000)


# -- the rule on the real engine ----------------------------------------------------------------


@pytest.fixture(scope="module")
def article_engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    root = tmp_path_factory.mktemp("followups")
    engine = Engine(EngineConfig(Path("source_docs").resolve(), root / "index"), embedder)
    engine.open()
    return engine


@pytest.mark.parametrize(
    ("earlier", "followup", "builds_on", "quoted"),
    [
        # follow-ups with no topic of their own are answered with the earlier question
        ("Which Chinese leader has Kim met with?", "and the American one?", True, "Trump"),
        ("What is Kim seeking in exchange for denuclearization?", "and from whom?", False, None),
        ("When did the Hanoi summit break down?", "why?", True, "stalemate"),
        ("Who is Kim Jong Un meeting?", "where?", True, "Russia"),
        # answered well alone: the earlier question is not needed
        ("Who is Kim Jong Un meeting?", "and Trump?", False, "Trump"),
        ("Who is Kim Jong Un meeting?", "what about sanctions?", False, "sanctions relief"),
        ("Who is Kim Jong Un meeting?", "Does Russia border North Korea?", False, "border"),
        # new topics the documents do not cover are not dragged back to the old one
        ("Who is Kim Jong Un meeting?", "How do I bake bread?", False, None),
        ("Who is Kim Jong Un meeting?", "what's the weather tomorrow?", False, None),
        ("Who is Kim Jong Un meeting?", "anyone up for a game tonight?", False, None),
    ],
)
async def test_the_rule_on_the_article(
    article_engine: Engine, earlier: str, followup: str, builds_on: bool, quoted: str | None
) -> None:
    async def ask(question: str) -> Answer:
        return await asyncio.to_thread(article_engine.answer, question)

    resolved = await resolve(ask, followup, [turn(earlier)], 1000)
    assert (resolved.built_on is not None) is builds_on
    assert resolved.answer.question == followup
    if quoted is None:
        assert resolved.answer.abstained
    else:
        assert not resolved.answer.abstained and quoted in resolved.answer.passages[0].text


# -- how a follow-up shows ----------------------------------------------------------------------


def test_a_follow_up_answer_shows_what_it_built_on_and_an_expired_one_says_so() -> None:
    passage = Passage("kim.txt", ("Kim", "Talks"), "Trump met Kim.", 0.9, 0, 14, ((0, 14),))
    found = Answer("and Trump?", False, 0.9, "Trump met Kim.", (passage,), None)
    embed = answer_embed(found, follow_up_to="Who is  Kim\nmeeting?")
    assert embed.author.name == FOLLOW_UP_PREFIX + "Who is Kim meeting?"  # one line
    assert embed.title == "❓ and Trump?" and is_answer_embed(embed)
    assert answer_embed(found).author.name is None
    note = expired_note(30)
    refused = answer_embed(answer(0.1, question="and Trump?"), note=note)
    assert (refused.description or "").endswith(note) and "30 minutes" in note
    assert refused.author.name is None
    assert not is_answer_embed(discord.Embed(title="✅ Index rebuilt"))
