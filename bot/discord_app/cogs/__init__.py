"""Cogs: Discord glue only (the logic lives in the plain modules of ``bot.discord_app``)."""
