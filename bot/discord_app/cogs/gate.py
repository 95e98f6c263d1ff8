"""The admin gate shared by /reindex and /insights: allow, or refuse privately and log."""

from __future__ import annotations

import logging

import discord

from bot.discord_app.permissions import may_reindex
from bot.shared.settings import Settings

log = logging.getLogger(__name__)


async def admin_or_refuse(
    interaction: discord.Interaction, settings: Settings, command: str, refusal: str
) -> bool:
    """True when the user may run admin commands (see ``may_reindex``); otherwise the user
    gets ``refusal`` privately, a warning is logged, and False is returned."""
    user = interaction.user
    role_ids = [role.id for role in getattr(user, "roles", ())]
    if may_reindex(user.id, role_ids, interaction.permissions.manage_guild, settings):
        return True
    log.warning(
        "refused /%s by %s (id %s) in guild %s: not an admin",
        command,
        user,
        user.id,
        interaction.guild_id,
    )
    await interaction.response.send_message(refusal, ephemeral=True)
    return False
