"""The Discord front end's named exceptions (the CLI turns them into one-line messages)."""

from __future__ import annotations


class BotError(Exception):
    """Base class for errors the bot raises on purpose; ``str(err)`` is user-facing."""


class BotConfigError(BotError):
    """The bot is not configured well enough to start (e.g. no token)."""


class BotLoginError(BotError):
    """Discord refused to log the bot in (bad or revoked token)."""


class BotConnectionError(BotError):
    """Discord could not be reached, or dropped the connection for good (network, DNS,
    firewall, an outage, or a gateway close code the client cannot recover from)."""
