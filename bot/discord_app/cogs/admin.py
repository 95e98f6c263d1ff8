"""/reindex: rebuild the index while the old one keeps answering."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.embeds import escape
from bot.discord_app.permissions import may_reindex
from bot.discord_app.reports import reindex_embed, reindex_failed_embed
from index.errors import AskdocsError, BuildInProgressError

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)

REFUSED = "🔒 Only server managers (Manage Server) and configured admins can rebuild the index."
BUSY = (
    "⏳ A reindex is already running — I keep answering from the current index meanwhile. "
    "Try again when it has finished."
)
# Interaction tokens expire 15 minutes after the command; past this, the report goes to the
# channel instead of the (private) command response.
REPLY_DEADLINE = 14 * 60.0
CHANNEL_REPORT = "📋 Report of the `/reindex` started by {name} (too late to answer it privately):"


class AdminCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot
        self._running = False
        self.reply_deadline = REPLY_DEADLINE

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
        started = time.monotonic()
        try:
            await interaction.response.defer(thinking=True, ephemeral=True)
            log.info("reindex started by %s (id %s)", user, user.id)
            try:
                report = await asyncio.to_thread(engine.reindex)
            except BuildInProgressError:
                await self._report(interaction, started, content=BUSY)
                return
            except (AskdocsError, OSError) as exc:
                # OSError: a write failure the engine did not wrap (disk full, permissions)
                log.warning("reindex failed, the previous index keeps serving: %s", exc)
                await self._report(interaction, started, embed=reindex_failed_embed(exc))
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
            await self._report(interaction, started, embed=reindex_embed(report))
        finally:
            self._running = False

    async def _report(
        self, interaction: discord.Interaction, started: float, **message: Any
    ) -> None:
        """Put the outcome in the deferred (private) response, or — when its token has expired
        or is about to (long builds), or editing it fails — in the channel, so it is not lost."""
        if time.monotonic() - started < self.reply_deadline:
            try:
                await interaction.edit_original_response(**message)
                return
            except discord.HTTPException as exc:
                log.warning("cannot edit the /reindex response (%s): posting in the channel", exc)
        else:
            log.info("/reindex outlived its response token: posting the report in the channel")
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("no channel to post the /reindex report in; it is lost")
            return
        name = escape(interaction.user.display_name)
        content = CHANNEL_REPORT.format(name=name)
        if message.get("content"):
            content += "\n" + message["content"]
        try:
            await channel.send(content=content, embed=message.get("embed"))
        except discord.HTTPException as exc:
            log.warning("cannot post the /reindex report in channel %s: %s", channel.id, exc)


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(AdminCog(bot))
