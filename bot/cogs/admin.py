"""/reindex: rebuild the index while the old one keeps answering."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.permissions import may_reindex
from bot.reports import reindex_embed, reindex_failed_embed
from index.errors import AskdocsError, BuildInProgressError

if TYPE_CHECKING:
    from bot.app import AskdocsBot

log = logging.getLogger(__name__)

REFUSED = "🔒 Only server managers (Manage Server) and configured admins can rebuild the index."
BUSY = (
    "⏳ A reindex is already running — I keep answering from the current index meanwhile. "
    "Try again when it has finished."
)


class AdminCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot
        self._running = False

    @app_commands.command(name="reindex", description="Rebuild the index from the documents.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        user = interaction.user
        role_ids = [role.id for role in getattr(user, "roles", ())]
        if not may_reindex(
            user.id, role_ids, interaction.permissions.manage_guild, self.bot.settings
        ):
            log.warning(
                "refused /reindex by %s (id %s) in guild %s: not an admin",
                user,
                user.id,
                interaction.guild_id,
            )
            await interaction.response.send_message(REFUSED, ephemeral=True)
            return
        engine = self.bot.engine
        if self._running or engine.building:
            await interaction.response.send_message(BUSY, ephemeral=True)
            return
        self._running = True
        try:
            await interaction.response.defer(thinking=True, ephemeral=True)
            log.info("reindex started by %s (id %s)", user, user.id)
            try:
                report = await asyncio.to_thread(engine.reindex)
            except BuildInProgressError:
                await interaction.edit_original_response(content=BUSY)
                return
            except AskdocsError as exc:
                log.warning("reindex failed, the previous index keeps serving: %s", exc)
                await interaction.edit_original_response(embed=reindex_failed_embed(exc))
                return
            log.info(
                "reindex done in %.1f s: %d added, %d changed, %d removed, %d skipped, %d chunks",
                report.seconds,
                len(report.added),
                len(report.changed),
                len(report.removed),
                len(report.skipped),
                report.chunks,
            )
            await interaction.edit_original_response(embed=reindex_embed(report))
        finally:
            self._running = False


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(AdminCog(bot))
