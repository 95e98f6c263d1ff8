"""/reindex: rebuild the index while the old one keeps answering, with live progress."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.cogs.gate import admin_or_refuse
from bot.discord_app.indexing import BUSY, IndexBusyError
from bot.discord_app.reports import reindex_embed, reindex_failed_embed
from index.errors import AskdocsError, BuildInProgressError

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot

log = logging.getLogger(__name__)

REFUSED = "🔒 Only server managers (Manage Server) and configured admins can rebuild the index."
REBUILDING = "🔄 Rebuilding the index…"


class AdminCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot

    @app_commands.command(name="reindex", description="Rebuild the index from the documents.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        if not await admin_or_refuse(interaction, self.bot.settings, "reindex", REFUSED):
            return
        user = interaction.user
        engine, jobs = self.bot.engine, self.bot.index_jobs
        try:
            with jobs.claim(engine.building):
                started = time.monotonic()
                await interaction.response.defer(thinking=True, ephemeral=True)
                log.info(
                    "reindex of %s started by %s (id %s)",
                    self.bot.knowledge_base(interaction.guild_id)[1] or "the shared documents",
                    user,
                    user.id,
                )
                await jobs.report(
                    interaction, started, "reindex", **await self._build(interaction, started)
                )
        except IndexBusyError as exc:
            await interaction.response.send_message(str(exc), ephemeral=True)

    async def _build(self, interaction: discord.Interaction, started: float) -> dict[str, Any]:
        """Rebuild with live progress; the final message (report, busy note or failure)."""
        engine, jobs = self.bot.engine, self.bot.index_jobs
        reply = jobs.live_reply(interaction, started)
        _, server = self.bot.knowledge_base(interaction.guild_id)
        try:
            report = await jobs.build(
                lambda progress: engine.reindex(progress=progress, server=server),
                reply,
                REBUILDING,
            )
        except BuildInProgressError:  # another process is building
            return {"content": BUSY}
        except (AskdocsError, OSError) as exc:
            # OSError: a write failure the engine did not wrap (disk full, permissions)
            log.warning("reindex failed, the previous index keeps serving: %s", exc)
            return {"embed": reindex_failed_embed(exc)}
        log.info(
            "reindex done in %.1f s: %d added, %d changed, %d removed, %d skipped, %d chunks",
            report.seconds,
            len(report.added),
            len(report.changed),
            len(report.removed),
            len(report.skipped),
            report.chunks,
        )
        return {"embed": reindex_embed(report)}


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(AdminCog(bot))
