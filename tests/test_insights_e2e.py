"""End-to-end through the fake Discord: questions land in the question log with their answer
message ids (so 👍/👎 count), /insights shows admins the summary privately with the gaps
first, non-admins are refused, and a broken log never stops an answer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from bot_fixtures import DOC, TIMEOUT, BotFactory
from fakediscord import FakeDiscord, MessageFlag

from bot.discord_app import limits
from bot.discord_app.bot import AskdocsBot
from bot.discord_app.insights_embed import GAPS_FIELD, LOG_OFF, REFUSED, TOP_FIELD
from bot.discord_app.views import DOWN_ID, UP_ID
from bot.shared.question_log import QuestionLog

pytestmark = pytest.mark.e2e


QUESTION = "When did the Hanoi summit break down?"
BREAD = "How do I bake bread?"


async def ask(fake: FakeDiscord, question: str, **kwargs: Any) -> dict[str, Any]:
    iid = await fake.slash_command("ask", {"question": question}, **kwargs)
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT)


async def insights(fake: FakeDiscord, user: Any, **options: Any) -> dict[str, Any]:
    iid = await fake.slash_command("insights", options, user=user)
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT)


async def flush(bot: AskdocsBot) -> None:
    await asyncio.to_thread(bot.questions.flush)


def field(embed: dict[str, Any], prefix: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"].startswith(prefix))


async def test_questions_are_logged_and_insights_show_gaps_first(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await start_bot(question_log=True)
    answered = await ask(fake_discord, QUESTION)
    refused = await ask(fake_discord, BREAD)
    mid = await fake_discord.message(f"{fake_discord.bot_user.mention} what's a good bread recipe?")
    reply = await fake_discord.wait_message(after=mid, timeout=TIMEOUT)
    rita, hank = fake_discord.regular_user, fake_discord.helper_user
    for user, button in ((rita, DOWN_ID), (hank, DOWN_ID)):
        click = await fake_discord.click_button(int(answered["id"]), button, user=user)
        await fake_discord.wait_interaction_final(click, timeout=TIMEOUT)
    click = await fake_discord.click_button(int(refused["id"]), UP_ID, user=rita)
    await fake_discord.wait_interaction_final(click, timeout=TIMEOUT)
    await flush(bot)

    store = QuestionLog(tmp_path / "questions.sqlite3", retention_days=90)
    rows = {r.question: r for r in store.since(0)}
    store.close()
    assert set(rows) == {QUESTION, BREAD, "what's a good bread recipe?"}
    first = rows[QUESTION]
    assert (first.outcome, first.via, first.channel_kind) == ("answered", "slash", "text")
    assert first.message_id == int(answered["id"]) and first.guild_id == fake_discord.guild.id
    assert first.cited[0].citation == f"{DOC} › The Timing" and first.confidence > 0.5
    assert rows[BREAD].outcome == "refused" and rows[BREAD].cited == ()
    bread = rows["what's a good bread recipe?"]
    assert (bread.via, bread.message_id) == ("mention", int(reply["id"]))
    assert first.user_hash and str(rita.id) not in first.user_hash  # hashed, never the id

    final = await insights(fake_discord, fake_discord.admin_user)
    assert final["flags"] & MessageFlag.EPHEMERAL
    embed = final["embeds"][0]
    assert embed["fields"][0]["name"] == GAPS_FIELD  # gaps first
    assert "**3** questions" in embed["description"] and "👎 2" in embed["description"]
    gaps = field(embed, GAPS_FIELD)
    bread_gap = gaps.split("\n**")[0]  # the largest gap: both bread questions, together
    assert bread_gap.startswith("**2×** ") and "refused 2" in bread_gap
    assert "bake bread" in bread_gap and "bread recipe" in bread_gap
    assert QUESTION in gaps and "👎 2" in gaps  # a 👎 answer is a gap
    assert f"`{DOC} › The Timing`" in field(embed, TOP_FIELD)
    assert len(embed["title"]) <= limits.EMBED_TITLE
    assert fake_discord.bot_messages(fake_discord.channel_id)  # the answers, public
    assert all("📊" not in (m.get("embeds") or [{}])[0].get("title", "")
               for m in fake_discord.bot_messages(fake_discord.channel_id))  # fmt: skip


async def test_insights_refused_for_non_admins_and_allowed_by_allowlist(
    fake_discord: FakeDiscord, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot(question_log=True, admin_user_ids=[fake_discord.helper_user.id])
    with caplog.at_level(logging.WARNING, logger="bot"):
        refused = await insights(fake_discord, fake_discord.regular_user, days=7)
    assert refused["flags"] & MessageFlag.EPHEMERAL and refused["content"] == REFUSED
    assert not refused.get("embeds")
    assert any("refused /insights" in r.getMessage() for r in caplog.records)
    allowed = await insights(fake_discord, fake_discord.helper_user, days=7)
    assert allowed["flags"] & MessageFlag.EPHEMERAL
    assert "(7 days, UTC)" in allowed["embeds"][0]["title"]
    assert allowed["embeds"][0]["description"] == "No questions were logged in this period."


async def test_insights_say_when_the_log_is_off(
    fake_discord: FakeDiscord, start_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await start_bot()
    await ask(fake_discord, QUESTION)
    await flush(bot)
    final = await insights(fake_discord, fake_discord.admin_user)
    assert final["content"] == LOG_OFF and final["flags"] & MessageFlag.EPHEMERAL
    assert not (tmp_path / "questions.sqlite3").exists()


async def test_a_corrupt_log_never_stops_answers(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "questions.sqlite3").write_bytes(b"not a database, just junk\n" * 300)
    with caplog.at_level(logging.WARNING, logger="bot"):
        bot = await start_bot(question_log=True)
        for question in (QUESTION, BREAD, QUESTION):
            final = await ask(fake_discord, question)
            assert final["embeds"][0]["title"] == f"❓ {question}"
        await flush(bot)
    logged = [r for r in caplog.records if "not logged" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING
    final = await insights(fake_discord, fake_discord.admin_user)
    assert final["flags"] & MessageFlag.EPHEMERAL
    assert final["content"].startswith("⚠️ I can't read the question log right now")
    with pytest.raises(sqlite3.DatabaseError):  # still the operator's junk: nothing overwritten
        sqlite3.connect(tmp_path / "questions.sqlite3").execute("SELECT 1 FROM questions")
