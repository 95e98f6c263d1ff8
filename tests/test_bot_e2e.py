"""End-to-end: the real AskdocsBot (discord.py) against the wire-level FakeDiscord, with the
real engine over a copy of source_docs/. Every wait is bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bot_fixtures import BotFactory, built_index, engine, start_bot  # noqa: F401
from fakediscord import FakeDiscord, MessageFlag
from fakediscord import fixtures as fd_fixtures

from bot.answers import CLOSEST_FIELD, SOURCE_FIELD
from bot.feedback import FeedbackStore
from bot.views import DOWN_ID, UP_ID

fake_discord = fd_fixtures.fake_discord

TIMEOUT = 10.0
DOC = "kim-jong-un-putin-meeting.txt"
QUESTION = "When did the Hanoi summit break down?"


def embed_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["embeds"], f"no embed in {message}"
    return message["embeds"][0]


def field(embed: dict[str, Any], name: str) -> str:
    return next(f["value"] for f in embed["fields"] if f["name"] == name)


async def test_ask_defers_then_answers_with_citation(
    fake_discord: FakeDiscord, start_bot: BotFactory
) -> None:
    await start_bot()
    iid = await fake_discord.slash_command("ask", {"question": QUESTION})
    final = await fake_discord.wait_interaction_final(iid, timeout=TIMEOUT)
    log = fake_discord.interaction_log(iid)
    assert log[1].kind == "callback" and log[1].payload["type"] == 5  # deferred first
    assert log[1].time - log[0].time < 1.0
    embed = embed_of(final)
    assert field(embed, SOURCE_FIELD).startswith(DOC)
    assert "**Their second meeting, the Hanoi Summit, broke down in February 2019" in (
        embed["description"])
    assert "confidence" in field(embed, "Confidence")
    assert not final["flags"] & MessageFlag.EPHEMERAL
    buttons = [c["custom_id"] for c in final["components"][0]["components"]]
    assert buttons == [UP_ID, DOWN_ID]
