"""The Discord front end's named exceptions (the CLI turns them into one-line messages), and
the translation of whatever discord.py, aiohttp or the network raise into them."""

from __future__ import annotations

import aiohttp
import discord

from index.errors import DatabaseError


class BotError(Exception):
    """Base class for errors the bot raises on purpose; ``str(err)`` is user-facing."""


class BotConfigError(BotError):
    """The bot is not configured well enough to start (e.g. no token)."""


class BotLoginError(BotError):
    """Discord refused to log the bot in (bad or revoked token)."""


class BotConnectionError(BotError):
    """Discord could not be reached, or dropped the connection for good (network, DNS,
    firewall, an outage, or a gateway close code the client cannot recover from)."""


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


def http_status(exc: discord.HTTPException, token: str) -> str:
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
        what = http_status(exc, token)
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


DATABASE_UNAVAILABLE = "the database is not answering; please try again in a minute"


def database_unavailable() -> DatabaseError:
    """What an asker is told when the engine's database fails (the engine's own error says
    which database and why: that is for the logs). Still a :class:`DatabaseError`, so
    whoever shows engine errors as "can't answer right now: <reason>" shows this one line."""
    return DatabaseError(DATABASE_UNAVAILABLE)
