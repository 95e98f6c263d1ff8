"""/insights [days]: the question log's summary, privately, for admins."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs.gate import admin_or_refuse
from bot.discord_app.insights_embed import LOG_OFF, REFUSED, UNREADABLE, insights_embed
from bot.shared.feedback import FeedbackError
from bot.shared.insights import MAX_DAYS, REPORT_DAYS, gather_insights
from bot.shared.question_log import QuestionLogError

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)


class InsightsCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="insights", description="What people asked and what the documents don't cover."
    )
    @app_commands.describe(days=f"How many days back, today included (default {REPORT_DAYS})")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def insights(
        self,
        interaction: discord.Interaction,
        days: app_commands.Range[int, 1, MAX_DAYS] = REPORT_DAYS,
    ) -> None:
        if not await admin_or_refuse(interaction, self.bot.settings, "insights", REFUSED):
            return
        store = self.bot.questions.store
        if store is None:
            await interaction.response.send_message(LOG_OFF, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        engine = self.bot.engine
        try:
            found = await asyncio.to_thread(
                gather_insights,
                store,
                self.bot.feedback,
                [d.source for d in self.bot.documents(interaction.guild_id)],
                engine.embedder.encode,  # in small batches: answers interleave
                days=days,
                guild_id=interaction.guild_id,  # never another server's questions
            )
        except (QuestionLogError, FeedbackError) as exc:
            log.warning("/insights cannot read the question log: %s", exc)
            await interaction.edit_original_response(content=UNREADABLE.format(reason=exc))
            return
        await interaction.edit_original_response(embed=insights_embed(found))


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(InsightsCog(bot))
