"""/sources and /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.doc_pages import send_documents
from bot.discord_app.reports import help_embed

if TYPE_CHECKING:
    from bot.discord_app.bot import AskdocsBot


class InfoCog(commands.Cog):
    def __init__(self, bot: AskdocsBot) -> None:
        self.bot = bot

    @app_commands.command(name="sources", description="List the documents I answer from.")
    async def sources(self, interaction: discord.Interaction) -> None:
        """The same paged list as /docs list, for everyone (/docs is for admins)."""
        await send_documents(interaction, self.bot.documents(interaction.guild_id))

    @app_commands.command(name="help", description="How to ask me questions.")
    async def help(self, interaction: discord.Interaction) -> None:
        mention = self.bot.user.mention if self.bot.user else "@askdocs"
        embed = help_embed(mention, self.bot.settings.answer_channel_ids)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: AskdocsBot) -> None:
    await bot.add_cog(InfoCog(bot))
