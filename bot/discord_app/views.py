"""The persistent 👍/👎 buttons under every answer.

Fixed custom_ids and ``timeout=None``: registered once with ``bot.add_view`` they keep
working after a restart. All state is read back from the message the button is on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_app.embeds import parse_answer_embed
from bot.shared.feedback import FeedbackError

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)

UP_ID = "askdocs:feedback:up"
DOWN_ID = "askdocs:feedback:down"


class _Outage:
    """Vote failures are logged once per outage (a warning), and the recovery once."""

    failing = False

    @classmethod
    def failed(cls, exc: FeedbackError) -> None:
        if not cls.failing:
            log.warning("%s; votes are refused politely until it works again", exc)
            cls.failing = True
        else:
            log.debug("%s", exc)

    @classmethod
    def worked(cls) -> None:
        if cls.failing:
            log.info("votes are stored again")
            cls.failing = False


class FeedbackView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id=UP_ID)
    async def up(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await record_vote(interaction, +1)

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id=DOWN_ID)
    async def down(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await record_vote(interaction, -1)


async def record_vote(interaction: discord.Interaction, vote: int) -> None:
    message = interaction.message
    if message is None or not message.embeds:
        await interaction.response.send_message(
            "This answer can't be rated any more.", ephemeral=True
        )
        return
    question, source = parse_answer_embed(message.embeds[0])
    bot: AskdocsBot = interaction.client  # type: ignore[assignment]
    try:
        await asyncio.to_thread(
            bot.feedback.record, message.id, question, source, interaction.user.id, vote
        )
    except FeedbackError as exc:
        _Outage.failed(exc)
        await interaction.response.send_message(
            "Sorry, I couldn't record that right now.", ephemeral=True
        )
        return
    _Outage.worked()
    log.info("feedback %+d on message %s (%s)", vote, message.id, source)
    await interaction.response.send_message(
        f"Thanks — recorded {'👍' if vote > 0 else '👎'}", ephemeral=True
    )
