"""The Discord client: ``AskdocsBot`` and the two entry points the CLI calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.batching import MicroBatcher
from bot.cooldown import Cooldown
from bot.errors import BotConfigError, BotConnectionError, BotError, BotLoginError
from bot.feedback import FeedbackStore
from bot.settings import Settings
from bot.views import FeedbackView
from index.models import Answer, DocumentInfo

if TYPE_CHECKING:
    from index.engine import Engine

log = logging.getLogger(__name__)

EXTENSIONS = ("bot.cogs.ask", "bot.cogs.admin", "bot.cogs.info")
NOTICE_SECONDS = 10.0  # cooldown notices under mentions delete themselves after this


class AskdocsBot(commands.Bot):
    """Slash commands, mentions and answer channels over an opened :class:`Engine`.

    ``engine`` may be None only to sync commands (nothing is answered then).
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None,
        *,
        feedback: FeedbackStore | None = None,
        cooldown: Cooldown | None = None,
    ) -> None:
        intents = discord.Intents.default()
        # privileged: only needed to read messages that do not mention the bot
        intents.message_content = bool(settings.answer_channel_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
        )
        self.settings = settings
        self._engine = engine
        self.feedback = feedback or FeedbackStore(settings.feedback_path)
        self.cooldown = cooldown or Cooldown(settings.cooldown_questions, settings.cooldown_seconds)
        self.notice_seconds = NOTICE_SECONDS
        self.batcher: MicroBatcher | None = None
        self._titles: tuple[tuple[DocumentInfo, ...], dict[str, str]] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise BotConfigError("the bot was started without an engine")
        return self._engine

    async def setup_hook(self) -> None:
        if self._engine is not None:
            self.batcher = MicroBatcher(
                self._engine,
                max_question_chars=self.settings.max_question_chars,
                top_k=self.settings.top_k,
            )
        self.add_view(FeedbackView())  # persistent: buttons of earlier answers keep working
        self.tree.error(self.on_app_command_error)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def on_ready(self) -> None:
        log.info(
            "connected as %s (id %s) to %d guild(s); message content intent %s",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
            "on" if self.intents.message_content else "off",
        )

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the cogs listen to messages themselves."""

    async def ask(self, question: str) -> Answer:
        """Answer one question (batched with concurrent ones, off the event loop)."""
        if self.batcher is None:
            raise BotConfigError("the bot was started without an engine")
        return await self.batcher.answer(question)

    def titles(self) -> Mapping[str, str]:
        """Document titles by source, cached until the index changes."""
        documents = self.engine.documents
        if self._titles is None or self._titles[0] is not documents:
            self._titles = (documents, {d.source: d.title for d in documents})
        return self._titles[1]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            text = "You can't use this command here."
        else:
            log.error(
                "command %s failed",
                interaction.command and interaction.command.name,
                exc_info=error,
            )
            text = "Sorry, something went wrong on my side. The maintainers have been told."
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()
        await super().close()
        await asyncio.to_thread(self.feedback.close)


def _token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise BotConfigError(
            "no Discord bot token: set ASKDOCS_DISCORD_TOKEN (in the environment or .env)"
        )
    return token


_LOGIN_REJECTED = (
    "Discord rejected the bot token: check ASKDOCS_DISCORD_TOKEN "
    "(copy it again from the Developer Portal, Bot page)"
)
_PRIVILEGED_INTENTS = (
    "answer channels need the Message Content intent: enable it for the bot "
    "in the Developer Portal, or unset ASKDOCS_ANSWER_CHANNEL_IDS"
)
# Everything that means "Discord could not be reached or dropped us for good" while logging in,
# connecting or syncing. TimeoutError (asyncio's too) and aiohttp's connector errors are OSErrors.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    aiohttp.ClientError,
    discord.GatewayNotFound,
    discord.HTTPException,
    discord.ConnectionClosed,
)
# Gateway close codes discord.py does not reconnect after (4004 and 4014 have their own errors).
_CLOSE_CODES = {
    4010: "invalid shard",
    4011: "sharding required",
    4012: "invalid API version",
    4013: "invalid intents",
}
_DETAIL_CHARS = 160
_DNS_ERROR: type[BaseException] | tuple[()] = getattr(aiohttp, "ClientConnectorDNSError", ())


def _detail(exc: BaseException, token: str) -> str:
    """``exc``'s message on one short line, with the token (if it ever appears) masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if token:
        text = text.replace(token, "[token]")
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _http_status(exc: discord.HTTPException, token: str) -> str:
    """``HTTP 403 Forbidden: Missing Access`` (Discord's message, on one short line)."""
    status = f"HTTP {exc.status} {getattr(exc.response, 'reason', '') or ''}".strip()
    text = _detail(Exception(exc.text), token) if exc.text else ""
    return f"{status}: {text}" if text else status


def connection_error(exc: BaseException, token: str = "") -> BotError:
    """The one-line, token-free :class:`BotError` for a failure to reach Discord or to stay
    connected (network, DNS, TLS, timeouts, HTTP errors, fatal gateway close codes)."""
    if isinstance(exc, discord.LoginFailure):
        return BotLoginError(_LOGIN_REJECTED)
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return BotConfigError(_PRIVILEGED_INTENTS)
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:  # authentication failed
            return BotLoginError(_LOGIN_REJECTED)
        meaning = _CLOSE_CODES.get(exc.code)
        return BotConnectionError(
            f"Discord closed the gateway connection (close code {exc.code}"
            f"{': ' + meaning if meaning else ''}): check the bot's settings, then restart it"
        )
    if isinstance(exc, discord.HTTPException):
        what = _http_status(exc, token)
        if exc.status >= 500:
            return BotConnectionError(f"Discord is having trouble ({what}): try again later")
        return BotConnectionError(f"Discord refused the request ({what})")
    if isinstance(exc, discord.GatewayNotFound):
        return BotConnectionError(
            "cannot find Discord's gateway (probably a Discord outage): try again later"
        )
    if isinstance(exc, TimeoutError):
        return BotConnectionError("cannot reach Discord (timed out): check the network")
    if isinstance(exc, _DNS_ERROR):
        return BotConnectionError(
            f"cannot reach Discord (DNS lookup failed: {_detail(exc, token)}): check the network"
        )
    return BotConnectionError(f"cannot reach Discord ({_detail(exc, token)}): check the network")


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
                f"({_http_status(exc, token)}): invite the bot to that server with the "
                "applications.commands scope, or fix ASKDOCS_DEV_GUILD_ID"
            ) from None
        except CONNECTION_ERRORS as exc:
            log.debug("Discord connection failed", exc_info=True)
            raise connection_error(exc, token) from None
        names = [command.name for command in synced]
        log.info("synced %d command(s) %s: %s", len(names), where, ", ".join(names))
        return names
