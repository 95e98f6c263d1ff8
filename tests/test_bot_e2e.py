"""End-to-end: the real AskdocsBot (discord.py) against the wire-level FakeDiscord, with the
real engine over a private copy of source_docs/. Every wait is bounded; the fake_discord
fixture fails a test on any Discord API violation or ERROR log from discord*/bot*/index*."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import bot_fixtures
import discord
import pytest
import yarl
from bot_fixtures import DOC, TIMEOUT, BotFactory
from fakediscord import FakeDiscord, Intent, MessageFlag

import index.knowledge as engine_module
from bot.discord_app import limits
from bot.discord_app.embeds import CLOSEST_FIELD, SOURCE_FIELD
from bot.discord_app.errors import BotConfigError, BotConnectionError, BotError, BotLoginError
from bot.discord_app.run import run_bot, sync_commands
from bot.discord_app.views import DOWN_ID, UP_ID
from bot.shared.feedback import NO_SOURCE, FeedbackStore
from bot.shared.settings import Settings
from index.engine import Engine
from index.errors import AskdocsError

pytestmark = pytest.mark.e2e


QUESTION = "When did the Hanoi summit break down?"
HANOI = "It comes at a time when talks between the United States and North Korea"
NEW_DOC = "zorblax-festival.md"
NEW_DOC_TEXT = (
    "# The Zorblax Festival\n\n## Dates\n\n"
    "The Zorblax festival is held every year in March in the mountain town of Quillby. "
    "Visitors bring lanterns made of blue paper and float them on Lake Quillby at midnight.\n"
)
NEW_QUESTION = "When is the Zorblax festival held?"
POST_MESSAGE = "/channels/{channel_id}/messages"
EDIT_ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


def embed_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["embeds"], f"no embed in {message}"
    return message["embeds"][0]


def field(embed: dict[str, Any], name: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


def assert_embed_within_limits(embed: dict[str, Any]) -> None:
    fields = embed.get("fields", [])
    assert len(embed.get("title", "")) <= limits.EMBED_TITLE
    assert len(embed.get("description", "")) <= limits.EMBED_DESCRIPTION
    assert len(fields) <= limits.EMBED_FIELDS
    assert all(len(f["name"]) <= limits.FIELD_NAME for f in fields)
    assert all(len(f["value"]) <= limits.FIELD_VALUE for f in fields)
    total = sum(len(embed.get(k, "")) for k in ("title", "description"))
    total += len(embed.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in fields)
    assert total <= limits.EMBED_TOTAL


def identify_intents(fake: FakeDiscord) -> int:
    return next(p for p in fake.gateway.received if p["op"] == 2)["d"]["intents"]


async def ask(fake: FakeDiscord, question: str, **kwargs: Any) -> dict[str, Any]:
    iid = await fake.slash_command("ask", {"question": question}, **kwargs)
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT)


# -- /ask -----------------------------------------------------------------------------------------
async def test_ask_defers_then_answers_with_citation(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    iid = await fake_discord.slash_command("ask", {"question": QUESTION})
    final = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    # no per-answer view kept in memory: the persistent view handles all clicks
    assert not bot._connection._view_store._synced_message_views
    log = fake_discord.interaction_log(iid)
    assert log[1].kind == "callback" and log[1].payload["type"] == 5  # deferred first
    assert log[1].time - log[0].time < 1.0
    embed = embed_of(final)
    assert field(embed, SOURCE_FIELD) == f"{DOC} › The Timing"
    assert f"**{HANOI}" in embed["description"]
    assert "confidence" in field(embed, "Confidence")
    assert not final["flags"] & MessageFlag.EPHEMERAL
    buttons = [c["custom_id"] for c in final["components"][0]["components"]]
    assert buttons == [UP_ID, DOWN_ID]
    assert len(fake_discord.bot_messages(fake_discord.channel_id)) == 1


async def test_abstains_on_questions_the_documents_do_not_cover(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    embed = embed_of(await ask(fake_discord, "How do I bake bread?"))
    assert "don't cover" in embed["description"] and "rephras" in embed["description"]
    closest = [f for f in embed["fields"] if f["name"].startswith(CLOSEST_FIELD)]
    assert closest and all("not an answer" in f["name"] for f in closest)
    assert not any(f["name"] == SOURCE_FIELD for f in embed["fields"])


async def test_bad_questions_get_a_private_clear_message(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    for question, reason in (("why " * 1000, "too long"), ("   ", "empty")):
        iid = await fake_discord.slash_command("ask", {"question": question})
        final = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
        assert final["flags"] & MessageFlag.EPHEMERAL
        assert reason in final["content"]
        assert fake_discord.interaction_log(iid)[1].payload["type"] == 4  # no defer needed
    assert fake_discord.bot_messages() == []


async def test_everyone_and_role_mentions_ping_nobody(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    rita, admins = fake_discord.regular_user, fake_discord.admin_role
    question = f"@everyone @here {admins.mention} {rita.mention} {QUESTION}"
    final = await ask(fake_discord, question)
    assert final["mentions"] == [] and final["mention_roles"] == []
    assert not final["mention_everyone"]
    assert embed_of(final)["title"] == f"❓ {QUESTION}"  # mentions dropped from the question
    edits = fake_discord.requests_for("PATCH", EDIT_ORIGINAL)
    assert edits and all(r.json["allowed_mentions"] == {"parse": []} for r in edits)
    mid = await fake_discord.message(f"{fake_discord.bot_user.mention} @everyone {QUESTION}")
    reply = await fake_discord.wait_message(after=mid, timeout=TIMEOUT)
    assert reply["mentions"] == [] and not reply["mention_everyone"]
    sent = fake_discord.requests_for("POST", POST_MESSAGE)
    assert sent and all(r.json["allowed_mentions"]["parse"] == [] for r in sent)


async def test_cooldown_slash_command_is_ephemeral(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot(cooldown_questions=1, cooldown_seconds=60)
    embed_of(await ask(fake_discord, QUESTION))
    limited = await ask(fake_discord, QUESTION)
    assert limited["flags"] & MessageFlag.EPHEMERAL and "try again in" in limited["content"]
    other = await ask(fake_discord, QUESTION, user=fake_discord.helper_user)  # others unaffected
    embed_of(other)


async def test_cooldown_notice_for_mentions_deletes_itself(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot(cooldown_questions=1, cooldown_seconds=60)
    bot.notice_seconds = 0.2
    mention = fake_discord.bot_user.mention
    first = await fake_discord.message(f"{mention} {QUESTION}")
    embed_of(await fake_discord.wait_message(after=first, timeout=TIMEOUT))
    second = await fake_discord.message(f"{mention} {QUESTION}")
    notice = await fake_discord.wait_message(after=second, timeout=TIMEOUT)
    assert "try again in" in notice["content"]
    await fake_discord.wait_for(
        lambda: True if int(notice["id"]) not in fake_discord.world.messages else None,
        "the cooldown notice to be deleted",
        timeout=TIMEOUT,
    )


async def test_a_4000_character_question_is_answered_within_limits(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    engine.config = dataclasses.replace(
        engine.config, max_question_chars=4000
    )  # as the CLI configures it from the same setting
    await start_bot(max_question_chars=4000)
    filler = " Kim and Putin met in Vladivostok, and the talks went on for many hours."
    question = (QUESTION + filler * 60)[:4000]
    assert len(question) == 4000
    final = await ask(fake_discord, question)
    embed = embed_of(final)
    assert_embed_within_limits(embed)
    assert embed["title"].startswith(f"❓ {QUESTION}") and embed["title"].endswith("…")
    fake_discord.assert_no_violations()


async def test_a_6000_character_paragraph_is_answered_within_limits(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    sentences = [
        f"In year {year} of the Quillby lantern records, the harbour master counted "
        f"{year * 7 % 900 + 100} blue paper lanterns floating on the lake at midnight."
        for year in range(1900, 1980)
    ]
    sentences[40] = (
        "The Quillby lantern tradition was started in 1921 by the glassblower Ada Brisk."
    )
    # one block, no blank line: the chunker cuts it, the passage shown is the cut around the
    # answer (cutting passages over Discord's limits is unit-tested on answer_embed)
    paragraph = "  ".join(sentences)
    assert len(paragraph) > 6000
    text = f"# Quillby Lanterns\n\n## History\n\n{paragraph}\n"
    (engine.config.docs_dir / "quillby-lanterns.md").write_text(text, encoding="utf-8")
    await asyncio.to_thread(engine.reindex)
    await start_bot()
    final = await ask(fake_discord, "Who started the Quillby lantern tradition?")
    embed = embed_of(final)
    assert field(embed, SOURCE_FIELD).startswith("quillby-lanterns.md")
    assert "**The Quillby lantern tradition was started in 1921" in embed["description"]
    assert_embed_within_limits(embed)
    fake_discord.assert_no_violations()


async def test_mention_only_questions_are_refused_privately(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    bot_mention, rita = fake_discord.bot_user.mention, fake_discord.regular_user
    admins = fake_discord.admin_role
    for content in (
        f"{bot_mention} {rita.mention} {admins.mention}",
        f"{bot_mention} @everyone",
        f"{bot_mention} <#{fake_discord.channel_id}> <:blob:123456789012345678> </ask:42>",
    ):
        mid = await fake_discord.message(content)
        hint = await fake_discord.wait_message(after=mid, timeout=TIMEOUT)
        assert "Ask me a question after the mention" in hint["content"], content
    for question in (rita.mention, f"{admins.mention} @here 👍"):
        iid = await fake_discord.slash_command("ask", {"question": question})
        final = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
        assert final["flags"] & MessageFlag.EPHEMERAL
        assert "it has no words" in final["content"]
    assert not any(m["embeds"] for m in fake_discord.bot_messages())


# -- mentions, answer channels, forum posts --------------------------------------------------------
async def test_mention_is_answered_without_message_content_intent(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    assert not identify_intents(fake_discord) & Intent.MESSAGE_CONTENT
    mention = fake_discord.bot_user.mention
    ignored = await fake_discord.message("Which Chinese leader has Kim met with?")  # no mention
    mid = await fake_discord.message(f"{mention} Which Chinese leader has Kim met with?")
    reply = await fake_discord.wait_message(after=mid, timeout=TIMEOUT)
    assert reply["message_reference"]["message_id"] == str(mid)
    embed = embed_of(reply)
    assert field(embed, SOURCE_FIELD).startswith(DOC)
    assert "Xi Jinping" in embed["description"]
    assert "<@" not in embed["title"]  # the mention was stripped from the question
    assert all(
        m.get("message_reference", {}).get("message_id") != str(ignored)
        for m in fake_discord.bot_messages()
    )
    only = await fake_discord.message(f"{mention}   ")  # mention only
    hint = await fake_discord.wait_message(after=only, timeout=TIMEOUT)
    assert "Ask me a question after the mention" in hint["content"]


async def test_answer_channel_and_forum_posts_without_mention(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    channel, forum = fake_discord.other_channel, fake_discord.forum_channel
    await start_bot(answer_channel_ids=[channel.id, forum.id])
    assert identify_intents(fake_discord) & Intent.MESSAGE_CONTENT
    mid = await fake_discord.message("Which Chinese leader has Kim met with?", channel=channel)
    reply = await fake_discord.wait_message(channel_id=channel.id, after=mid, timeout=TIMEOUT)
    assert field(embed_of(reply), SOURCE_FIELD).startswith(DOC)
    thread_id = await fake_discord.forum_post("Hanoi?", QUESTION, tags=["question"])
    answer = await fake_discord.wait_message(channel_id=thread_id, timeout=TIMEOUT)
    assert f"**{HANOI}" in embed_of(answer)["description"]
    # elsewhere, messages without a mention are left alone
    await fake_discord.message(QUESTION, channel=fake_discord.text_channel)
    await asyncio.sleep(0.3)
    assert fake_discord.bot_messages(fake_discord.channel_id) == []
    assert len(fake_discord.bot_messages(thread_id)) == 1  # the starter message, once


async def test_answer_channel_answers_only_what_looks_like_a_question(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    channel, forum = fake_discord.other_channel, fake_discord.forum_channel
    await start_bot(answer_channel_ids=[channel.id, forum.id])
    helper = fake_discord.helper_user
    other = await fake_discord.message("good morning all", channel=channel, author=helper)
    chat = [
        await fake_discord.message(text, channel=channel)
        for text in ("thanks!", "👍", "ok", f"{fake_discord.helper_user.mention} lol")
    ]
    # a reply to another person's message is conversation, even when it reads like a question
    reply = await fake_discord.message(
        "Which Chinese leader has Kim met with?", channel=channel, reply_to=other
    )
    bread = await fake_discord.message("How do I bake sourdough bread?", channel=channel)
    real = await fake_discord.message("Which Chinese leader has Kim met with?", channel=channel)
    answer = await fake_discord.wait_message(channel_id=channel.id, after=real, timeout=TIMEOUT)
    assert field(embed_of(answer), SOURCE_FIELD).startswith(DOC)
    # the uncovered unprompted question stays quiet; a mention or a forum post always answers
    await fake_discord.message(f"{fake_discord.bot_user.mention} How do I bake bread?")
    embed = embed_of(
        await fake_discord.wait_message(channel_id=fake_discord.channel_id, timeout=TIMEOUT)
    )
    assert "don't cover" in embed["description"]
    thread_id = await fake_discord.forum_post("Bread", "How do I bake bread?")
    posted = await fake_discord.wait_message(channel_id=thread_id, timeout=TIMEOUT)
    assert "don't cover" in embed_of(posted)["description"]
    await asyncio.sleep(0.2)
    replied_to = [
        int(m["message_reference"]["message_id"])
        for m in fake_discord.bot_messages(channel.id)
        if m.get("message_reference")
    ]
    assert replied_to == [real]
    assert not {other, reply, bread, *chat} & set(replied_to)


async def test_chat_in_an_answer_channel_costs_nothing(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    """Chat is ignored without a notice and without spending the member's rate limit: a
    long message, chat lines and an uncovered question, then their real question is answered."""
    channel = fake_discord.other_channel
    await start_bot(answer_channel_ids=[channel.id], cooldown_questions=3, cooldown_seconds=30)
    for text in (
        "I read the whole thread yesterday and " * 40,  # ~1,500 characters, no question mark
        "going to grab a coffee now brb",
        "Does anyone know a good bakery downtown?",  # reads as a question, not covered
        "how was everyone's weekend",
        "back",
    ):
        await fake_discord.message(text, channel=channel)
    real = await fake_discord.message("Which Chinese leader has Kim met with?", channel=channel)
    answer = await fake_discord.wait_message(channel_id=channel.id, after=real, timeout=TIMEOUT)
    assert field(embed_of(answer), SOURCE_FIELD).startswith(DOC)
    await asyncio.sleep(0.2)
    assert [m["id"] for m in fake_discord.bot_messages(channel.id)] == [answer["id"]]


async def test_answer_in_thread(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    channel = fake_discord.other_channel
    await start_bot(answer_channel_ids=[channel.id], answer_in_thread=True)
    mid = await fake_discord.message(QUESTION, channel=channel)
    answer = await fake_discord.wait_message(channel_id=mid, timeout=TIMEOUT)  # thread id == mid
    assert f"**{HANOI}" in embed_of(answer)["description"]
    thread = fake_discord.world.channel(mid)
    assert thread is not None and thread.parent_id == channel.id
    assert thread.name == QUESTION


# -- /reindex -------------------------------------------------------------------------------------
async def test_reindex_by_admin_picks_up_a_new_document(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    await start_bot()
    before = embed_of(await ask(fake_discord, NEW_QUESTION))  # cached until the index changes
    assert NEW_DOC not in str(before)
    (engine.config.docs_dir / NEW_DOC).write_text(NEW_DOC_TEXT, encoding="utf-8")
    iid = await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    report = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    assert report["flags"] & MessageFlag.EPHEMERAL
    embed = embed_of(report)
    assert "**1** added" in embed["description"] and "chunks" in embed["description"]
    assert NEW_DOC in field(embed, "Added")
    answer = embed_of(await ask(fake_discord, NEW_QUESTION))
    assert field(answer, SOURCE_FIELD).startswith(NEW_DOC)
    sources = await fake_discord.wait_interaction_final(
        await fake_discord.slash_command("sources"), timeout=TIMEOUT
    )
    listing = embed_of(sources)["description"]
    assert NEW_DOC in listing and DOC in listing and "chunks" in listing


async def test_reindex_refused_for_non_admins_and_allowed_by_allowlist(
    fake_discord: FakeDiscord, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot(admin_role_ids=[fake_discord.helper_role.id])
    with caplog.at_level(logging.WARNING, logger="bot"):
        iid = await fake_discord.slash_command("reindex", user=fake_discord.regular_user)
        refused = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    assert refused["flags"] & MessageFlag.EPHEMERAL and "Manage Server" in refused["content"]
    assert any(
        r.levelno == logging.WARNING and "refused /reindex" in r.getMessage()
        for r in caplog.records
    )
    iid = await fake_discord.slash_command("reindex", user=fake_discord.helper_user)
    report = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    assert "up to date" in embed_of(report)["title"]


async def test_reindex_twice_at_once_and_questions_during_a_reindex(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    real_build = engine_module.build_index

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        release.wait(TIMEOUT)  # hold the build (inside the engine's lock) until released
        return real_build(*args, **kwargs)

    monkeypatch.setattr(engine_module, "build_index", slow_build)
    await start_bot()
    (engine.config.docs_dir / NEW_DOC).write_text(NEW_DOC_TEXT, encoding="utf-8")
    admin = fake_discord.admin_user
    first = await fake_discord.slash_command("reindex", user=admin)
    second = await fake_discord.slash_command("reindex", user=admin)
    busy = await fake_discord.wait_interaction_final(second, timeout=TIMEOUT)
    assert busy["flags"] & MessageFlag.EPHEMERAL and "already running" in busy["content"]
    await fake_discord.wait_for(lambda: True if engine.building else None, "the build to start")
    asks = [await fake_discord.slash_command("ask", {"question": QUESTION}) for _ in range(6)]
    answers = [await fake_discord.wait_interaction_final(i, timeout=TIMEOUT) for i in asks]
    assert engine.building  # all answered while the build was still running
    assert all(field(embed_of(a), SOURCE_FIELD).startswith(DOC) for a in answers)
    third = await fake_discord.slash_command("reindex", user=admin)
    assert "already running" in (await fake_discord.wait_interaction_final(third))["content"]
    release.set()
    report = await fake_discord.wait_interaction_final(first, timeout=TIMEOUT)
    assert NEW_DOC in field(embed_of(report), "Added")


async def test_failed_reindex_keeps_the_old_index_serving(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    await start_bot()
    docs = engine.config.docs_dir
    docs.rename(docs.with_name("gone"))
    iid = await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    failed = embed_of(await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT))
    assert "failed" in failed["title"] and "still answering" in failed["title"]
    assert failed["description"]
    assert field(embed_of(await ask(fake_discord, QUESTION)), SOURCE_FIELD).startswith(DOC)


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (AskdocsError("cannot write the index: disk full"), "cannot write the index: disk full"),
        (
            OSError(28, "No space left on device", "/srv/askdocs/index"),
            "cannot read or write the index files: No space left on device (/srv/askdocs/index)",
        ),
    ],
)
async def test_reindex_write_failure_shows_the_reason(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    shown: str,
) -> None:
    def fail(**_: Any) -> None:
        raise error

    await start_bot()
    monkeypatch.setattr(engine, "reindex", fail)
    iid = await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    report = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    assert report["flags"] & MessageFlag.EPHEMERAL
    failed = embed_of(report)
    assert "failed" in failed["title"]
    assert failed["description"].replace("\\", "") == shown
    assert field(embed_of(await ask(fake_discord, QUESTION)), SOURCE_FIELD).startswith(DOC)


async def test_long_reindex_posts_its_report_in_the_channel_when_the_token_expired(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    real_reindex = engine.reindex

    def slow_reindex(**kwargs: Any) -> Any:
        release.wait(TIMEOUT)
        return real_reindex(**kwargs)

    monkeypatch.setattr(engine, "reindex", slow_reindex)
    await start_bot()
    (engine.config.docs_dir / NEW_DOC).write_text(NEW_DOC_TEXT, encoding="utf-8")
    iid = await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    await fake_discord.wait_interaction_ack(iid, timeout=TIMEOUT)
    fake_discord.interactions[iid].created -= 16 * 60  # the build "took" 16 minutes
    release.set()
    posted = await fake_discord.wait_message(
        channel_id=fake_discord.channel_id, predicate=lambda m: bool(m["embeds"]), timeout=TIMEOUT
    )
    assert "/reindex" in posted["content"] and "Alice" in posted["content"]
    assert posted["mentions"] == [] and not posted["mention_everyone"]
    assert NEW_DOC in field(embed_of(posted), "Added")
    edits = fake_discord.requests_for("PATCH", EDIT_ORIGINAL)
    assert [r.status for r in edits] == [401]  # tried the private reply first


async def test_reindex_past_the_deadline_goes_straight_to_the_channel(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    bot = await start_bot()
    bot.index_jobs.reply_deadline = 0.0  # as if the build had taken 14 minutes
    await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    posted = await fake_discord.wait_message(channel_id=fake_discord.channel_id, timeout=TIMEOUT)
    assert "up to date" in embed_of(posted)["title"]
    assert fake_discord.requests_for("PATCH", EDIT_ORIGINAL) == []


# -- feedback -------------------------------------------------------------------------------------
async def test_feedback_buttons_store_and_change_votes_across_a_restart(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    first = await start_bot()
    answer = await ask(fake_discord, QUESTION)
    message_id = int(answer["id"])
    rita = fake_discord.regular_user
    click = await fake_discord.click_button(message_id, UP_ID, user=rita)
    thanks = await fake_discord.wait_interaction_final(click, timeout=TIMEOUT)
    assert thanks["content"] == "Thanks — recorded 👍" and thanks["flags"] & MessageFlag.EPHEMERAL
    await fake_discord.stop_client(first)

    await start_bot()  # a fresh bot: no memory of the answer, only the persistent view
    click = await fake_discord.click_button(message_id, DOWN_ID, user=rita)
    changed = await fake_discord.wait_interaction_final(click, timeout=TIMEOUT)
    assert changed["content"] == "Thanks — recorded 👎"
    bread = await ask(fake_discord, "How do I bake bread?")
    click = await fake_discord.click_button(int(bread["id"]), DOWN_ID, user=rita)
    await fake_discord.wait_interaction_final(click, timeout=TIMEOUT)

    summary = await asyncio.to_thread(FeedbackStore(tmp_path / "feedback.sqlite3").summary)
    assert (summary.up, summary.down) == (0, 2)
    assert {s.source for s in summary.per_source} == {f"{DOC} › The Timing", NO_SOURCE}
    assert {d.question for d in summary.recent_downvotes} == {QUESTION, "How do I bake bread?"}


# -- gateway --------------------------------------------------------------------------------------
async def test_gateway_resume_mid_session_keeps_answering(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    embed_of(await ask(fake_discord, QUESTION))
    await fake_discord.drop_gateway(4000)
    missed = await fake_discord.message(f"{fake_discord.bot_user.mention} {QUESTION}")
    await fake_discord.wait_resumed(timeout=TIMEOUT)
    replayed = await fake_discord.wait_message(after=missed, timeout=TIMEOUT)
    assert f"**{HANOI}" in embed_of(replayed)["description"]
    assert field(embed_of(await ask(fake_discord, QUESTION)), SOURCE_FIELD).startswith(DOC)
    assert fake_discord.gateway.ready_count == 1  # resumed, never re-identified


# -- /help ----------------------------------------------------------------------------------------
async def test_help(fake_discord: FakeDiscord, start_bot: BotFactory) -> None:
    await start_bot()
    final = await fake_discord.wait_interaction_final(
        await fake_discord.slash_command("help"), timeout=TIMEOUT
    )
    assert final["flags"] & MessageFlag.EPHEMERAL
    assert "/ask" in embed_of(final)["description"]


# -- entry points ---------------------------------------------------------------------------------
async def test_missing_token_is_a_config_error(engine: Engine) -> None:
    settings = Settings(_env_file=None, discord_token=None)  # type: ignore[call-arg]
    with pytest.raises(BotConfigError, match="ASKDOCS_DISCORD_TOKEN"):
        await run_bot(settings, engine)
    with pytest.raises(BotConfigError):
        await sync_commands(Settings(_env_file=None, discord_token="  "))  # type: ignore[call-arg]


async def test_rejected_token_is_a_login_error(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    settings = bot_fixtures.make_settings(fake_discord, tmp_path, discord_token="nope")
    with pytest.raises(BotLoginError, match="rejected") as info:
        await asyncio.wait_for(run_bot(settings, engine), TIMEOUT)
    assert "\n" not in str(info.value) and "nope" not in str(info.value)
    with pytest.raises(BotLoginError):
        await asyncio.wait_for(sync_commands(settings), TIMEOUT)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_discord_is_a_one_line_connection_error(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"ws://127.0.0.1:{port}/")
    )
    token = "MTIz.secret-token.value"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        discord_token=token,
        source_docs=tmp_path / "docs",
        index_dir=tmp_path / "index",
        feedback_db=tmp_path / "feedback.sqlite3",
    )
    for entry_point in (sync_commands(settings), run_bot(settings, engine)):
        with pytest.raises(BotConnectionError) as info:
            await asyncio.wait_for(entry_point, TIMEOUT)
        message = str(info.value)
        assert message.startswith("cannot reach Discord (") and "check the network" in message
        assert str(port) in message
        assert "\n" not in message and token not in message and "secret" not in message


@pytest.mark.parametrize(
    ("code", "error", "text"),
    [
        (4013, BotConnectionError, "close code 4013: invalid intents"),
        (4004, BotLoginError, "rejected"),
    ],
)
async def test_fatal_gateway_close_stops_run_bot_with_a_one_line_error(
    fake_discord: FakeDiscord,
    engine: Engine,
    tmp_path: Path,
    code: int,
    error: type[BotError],
    text: str,
) -> None:
    settings = bot_fixtures.make_settings(fake_discord, tmp_path)
    task = asyncio.create_task(run_bot(settings, engine))
    await fake_discord.wait_ready(timeout=TIMEOUT)
    await fake_discord.drop_gateway(code)
    with pytest.raises(error, match=text) as info:
        await asyncio.wait_for(task, TIMEOUT)
    assert "\n" not in str(info.value) and fake_discord.token not in str(info.value)


async def test_sync_to_a_guild_the_bot_is_not_in_is_a_config_error(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    settings = bot_fixtures.make_settings(fake_discord, tmp_path, dev_guild_id=1234)
    with pytest.raises(BotConfigError, match="Missing Access") as info:
        await asyncio.wait_for(sync_commands(settings), TIMEOUT)
    assert "invite the bot" in str(info.value) and "\n" not in str(info.value)


async def test_sync_commands_to_the_dev_guild(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    settings = bot_fixtures.make_settings(
        fake_discord, tmp_path, dev_guild_id=fake_discord.guild.id
    )
    names = await asyncio.wait_for(sync_commands(settings), TIMEOUT)
    assert sorted(names) == ["ask", "docs", "help", "insights", "reindex", "sources"]
    assert fake_discord.command_syncs[-1][0] == fake_discord.guild.id
    for admin_only in ("reindex", "docs"):
        command, _ = fake_discord.world.find_command(admin_only)
        assert command is not None and command["default_member_permissions"] == str(1 << 5)


async def test_run_bot_answers_then_stops_on_sigterm(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> None:
    settings = bot_fixtures.make_settings(fake_discord, tmp_path)
    task = asyncio.create_task(run_bot(settings, engine))
    await fake_discord.wait_ready(timeout=TIMEOUT)
    embed_of(await ask(fake_discord, QUESTION))
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
    started = time.monotonic()
    signal.raise_signal(signal.SIGTERM)
    await asyncio.wait_for(task, TIMEOUT)
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers removed again
