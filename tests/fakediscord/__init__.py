"""A wire-level fake Discord (REST API v10 + gateway) for end-to-end tests of discord.py bots.

See :mod:`fakediscord.server` for the API and :mod:`fakediscord.openapi` for how requests are
validated against Discord's OpenAPI spec.
"""

from __future__ import annotations

from .interactions import InteractionEvent, InteractionRecord
from .logwatch import ErrorLogWatcher
from .openapi import OpenAPIValidator, RequestCheck
from .payloads import FakeChannel, FakeRole, FakeUser, Intent, MessageFlag, Perm
from .rest import RecordedRequest
from .server import FakeDiscord, FakeDiscordTimeout

__all__ = [
    "ErrorLogWatcher",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordTimeout",
    "FakeRole",
    "FakeUser",
    "Intent",
    "InteractionEvent",
    "InteractionRecord",
    "MessageFlag",
    "OpenAPIValidator",
    "Perm",
    "RecordedRequest",
    "RequestCheck",
]
