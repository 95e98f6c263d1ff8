"""End-to-end: follow-ups in replies to the bot's answers and in threads it answered in — the
real AskdocsBot and engine against the wire-level FakeDiscord (every request validated against
Discord's OpenAPI spec) — with the bad inputs: new topics, chat, an empty thread, a deleted
thread and a follow-up after the conversation expired."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from bot_fixtures import TIMEOUT, BotFactory
from fakediscord import FakeDiscord

from bot.discord_app.embeds import FOLLOW_UP_PREFIX
from index.models import Answer

pytestmark = pytest.mark.e2e


CHINA = "Which Chinese leader has Kim met with?"
HANOI = "When did the Hanoi summit break down?"
QUIET = 0.5  # how long "no reply" is waited for


def embed_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["embeds"], f"no embed in {message}"
    return message["embeds"][0]


def built_on(message: dict[str, Any]) -> str | None:
    """The earlier question an answer says it built on (None for a standalone answer)."""
    name = embed_of(message).get("author", {}).get("name")
    return name.removeprefix(FOLLOW_UP_PREFIX) if name else None


async def reply_to(fake: FakeDiscord, mid: int, *, channel: int | None = None) -> dict[str, Any]:
    return await fake.wait_message(channel_id=channel, after=mid, timeout=TIMEOUT)


async def assert_silent(fake: FakeDiscord, after: int) -> None:
    await asyncio.sleep(QUIET)
    assert [m for m in fake.bot_messages() if int(m["id"]) > after] == []


async def test_a_reply_to_an_answer_builds_on_its_question(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()  # no answer channels: replies reach the bot because they ping it
    mention = fake_discord.bot_user.mention
    first = await fake_discord.message(f"{mention} {CHINA}")
    answer = await reply_to(fake_discord, first)
    assert "Xi Jinping" in embed_of(answer)["description"] and built_on(answer) is None

    follow = await fake_discord.message("and the American one?", reply_to=int(answer["id"]))
    followed = await reply_to(fake_discord, follow)
    assert followed["message_reference"]["message_id"] == str(follow)
    assert embed_of(followed)["title"] == "❓ and the American one?"
    assert built_on(followed) == CHINA
    assert (
        "**" in embed_of(followed)["description"] and "Trump" in embed_of(followed)["description"]
    )

    # the chain goes on from the follow-up's own answer
    thanks = await fake_discord.message("thanks, that helps!", reply_to=int(followed["id"]))
    await assert_silent(fake_discord, thanks)  # chat under an answer gets no reply
    bread = await fake_discord.message("How do I bake bread?", reply_to=int(followed["id"]))
    refused = await reply_to(fake_discord, bread)
    assert "don't cover" in embed_of(refused)["description"]  # not dragged back to Kim
    assert built_on(refused) is None
    assert len(bot.conversations) == 1


async def test_follow_ups_in_a_thread_the_bot_answered_in(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    channel = fake_discord.other_channel
    await start_bot(answer_channel_ids=[channel.id], answer_in_thread=True)
    asked = await fake_discord.message(HANOI, channel=channel)
    answer = await reply_to(fake_discord, asked, channel=asked)  # the thread takes the id
    thread = asked
    assert "2019" in embed_of(answer)["description"]

    why = await fake_discord.message("why?", channel=thread)  # no mention, no reply
    followed = await reply_to(fake_discord, why, channel=thread)
    assert built_on(followed) == HANOI and embed_of(followed)["title"] == "❓ why?"
    assert "stalemate" in embed_of(followed)["description"]

    # /ask in the thread is part of the conversation too
    iid = await fake_discord.slash_command("ask", {"question": "where?"}, channel=thread)
    where = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    assert built_on(where) in (HANOI, "why?")

    # chat and new topics in the thread get silence (as in answer channels), a mention a reply
    last = 0
    for text in ("anyone up for a game tonight?", "How do I bake bread?", "lol ok"):
        last = await fake_discord.message(text, channel=thread)
    await assert_silent(fake_discord, last)
    mention = fake_discord.bot_user.mention
    bread = await fake_discord.message(f"{mention} How do I bake bread?", channel=thread)
    refused = await reply_to(fake_discord, bread, channel=thread)
    assert "don't cover" in embed_of(refused)["description"] and built_on(refused) is None


async def test_an_empty_thread_is_no_conversation(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    answers = fake_discord.other_channel
    await start_bot(answer_channel_ids=[answers.id])  # message content on
    # a member's own thread the bot never answered in: no context, and no unprompted answers
    thread = await fake_discord.create_thread("chat", channel=fake_discord.text_channel)
    ignored = await fake_discord.message("and the American one?", channel=thread)
    await assert_silent(fake_discord, ignored)
    mention = fake_discord.bot_user.mention
    asked = await fake_discord.message(f"{mention} and the American one?", channel=thread)
    alone = await reply_to(fake_discord, asked, channel=thread)
    assert built_on(alone) is None
    # a thread from a message in an answer channel, where the bot said nothing yet
    starter = await fake_discord.message("going to grab a coffee now brb", channel=answers)
    empty = await fake_discord.create_thread("coffee", channel=answers, from_message=starter)
    ignored = await fake_discord.message("why?", channel=empty)
    await assert_silent(fake_discord, ignored)


async def test_a_deleted_thread_is_forgotten_and_a_reply_into_it_fails_quietly(
    fake_discord: FakeDiscord, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    forum = fake_discord.forum_channel
    bot = await start_bot(answer_channel_ids=[forum.id])
    thread = await fake_discord.forum_post("Hanoi", HANOI)
    await reply_to(fake_discord, thread, channel=thread)
    await fake_discord.wait_for(
        lambda: True if bot.conversations.knows(thread) else None, "the answer remembered"
    )

    asking, release = asyncio.Event(), asyncio.Event()
    real_ask = bot.ask

    async def held_ask(question: str, server: int | None = None) -> Answer:
        asking.set()
        await release.wait()
        return await real_ask(question, server)

    bot.ask = held_ask  # type: ignore[method-assign]
    await fake_discord.message("why?", channel=thread)
    await asyncio.wait_for(asking.wait(), TIMEOUT)  # the bot is composing its answer
    await fake_discord.delete_thread(thread)
    await fake_discord.wait_for(
        lambda: True if not bot.conversations.knows(thread) else None, "the thread forgotten"
    )
    with caplog.at_level(logging.WARNING, logger="bot"):
        release.set()
        await fake_discord.wait_for(
            lambda: next(
                (True for r in caplog.records if "could not answer message" in r.getMessage()),
                None,
            ),
            "the failed reply to be logged",
        )
    failed = [r for r in fake_discord.requests if r.status == 404 and str(thread) in r.path]
    assert failed
    assert len(bot.conversations) == 0


async def test_a_follow_up_after_the_conversation_expired_is_read_on_its_own(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    channel = fake_discord.other_channel
    bot = await start_bot(answer_channel_ids=[channel.id], answer_in_thread=True)
    mention = fake_discord.bot_user.mention
    first = await fake_discord.message(f"{mention} {CHINA}")
    answer = await reply_to(fake_discord, first)
    asked = await fake_discord.message(HANOI, channel=channel)
    await reply_to(fake_discord, asked, channel=asked)
    bot.conversations.max_age = 0.3  # seconds: conversations are forgotten
    await asyncio.sleep(0.4)

    follow = await fake_discord.message("and the American one?", reply_to=int(answer["id"]))
    alone = await reply_to(fake_discord, follow)
    assert built_on(alone) is None
    description = embed_of(alone)["description"]
    assert "don't cover" in description
    assert "I no longer have the question you replied to in mind" in description
    assert "ask the whole question" in description

    why = await fake_discord.message("why?", channel=asked)  # in the expired thread
    await assert_silent(fake_discord, why)
