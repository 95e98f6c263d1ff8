"""The entry points the CLI calls: run the bot, or register its slash commands."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

import discord

from bot.discord_app.bot import AskdocsBot
from bot.discord_app.errors import CONNECTION_ERRORS, BotConfigError, connection_error, http_status
from bot.shared.settings import Settings

if TYPE_CHECKING:
    from index.engine import Engine

log = logging.getLogger(__name__)


def _token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise BotConfigError(
            "no Discord bot token: set ASKDOCS_DISCORD_TOKEN (in the environment or .env)"
        )
    return token


async def run_bot(settings: Settings, engine: Engine) -> None:
    """Run the bot until SIGINT/SIGTERM, then close cleanly."""
    token = _token(settings)
    bot = AskdocsBot(settings, engine)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def stop(signame: str) -> None:
        log.info("%s received: shutting down", signame)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            log.debug("cannot install a handler for %s", sig.name)
    try:
        async with bot:
            try:
                await bot.start(token)
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired) as exc:
                raise connection_error(exc, token) from None
            except CONNECTION_ERRORS as exc:
                # discord.py retries transient gateway failures itself once connected; what
                # reaches us is fatal (login impossible, or a close code it won't retry)
                log.debug("Discord connection failed", exc_info=True)
                raise connection_error(exc, token) from None
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    log.info("bot stopped")


async def sync_commands(settings: Settings) -> list[str]:
    """Register the slash commands with Discord (the dev guild when set, else globally)."""
    token = _token(settings)
    async with AskdocsBot(settings, None) as bot:
        try:
            await bot.login(token)
            if settings.dev_guild_id is not None:
                guild = discord.Object(settings.dev_guild_id)
                bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
                where = f"guild {settings.dev_guild_id}"
            else:
                synced = await bot.tree.sync()
                where = "globally (may take up to an hour to show up)"
        except discord.LoginFailure as exc:
            raise connection_error(exc, token) from None
        except discord.Forbidden as exc:
            if settings.dev_guild_id is None:
                raise connection_error(exc, token) from None
            raise BotConfigError(
                f"Discord refused to register the commands in guild {settings.dev_guild_id} "
                f"({http_status(exc, token)}): invite the bot to that server with the "
                "applications.commands scope, or fix ASKDOCS_DEV_GUILD_ID"
            ) from None
        except CONNECTION_ERRORS as exc:
            log.debug("Discord connection failed", exc_info=True)
            raise connection_error(exc, token) from None
        names = [command.name for command in synced]
        log.info("synced %d command(s) %s: %s", len(names), where, ", ".join(names))
        return names
