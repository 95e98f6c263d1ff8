"""The fake guild's objects and the JSON shapes Discord uses for them (API v10)."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000


class Snowflakes:
    """Monotonic snowflake ids carrying the current time, like Discord's."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def on_shard(self, shard_id: int, shard_count: int) -> int:
        """A fresh id that Discord would route to shard ``shard_id`` of ``shard_count``:
        ``(id >> 22) % shard_count == shard_id`` (the timestamp moved at most
        ``shard_count - 1`` ms ahead)."""
        first = self()
        ms = first >> 22
        ms += (shard_id - ms) % shard_count
        self._last = max(self._last, (ms << 22) | (first & 0x3FFFFF))
        return self._last


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def snowflake_time(snowflake: int) -> str:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="microseconds")


class Perm:
    """Permission bits (https://discord.com/developers/docs/topics/permissions)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = (1 << 53) - 1

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS
    )


class Intent:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


class ChannelType:
    GUILD_TEXT = 0
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15
    THREAD_TYPES = (10, 11, 12)


class MessageFlag:
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15
    SETTABLE = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)
    locale: str = "en-US"

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "avatar": None,
            "discriminator": "0",
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    def member_json(
        self, *, with_user: bool = True, guild: FakeGuild | None = None
    ) -> dict[str, Any]:
        """The member object; with ``guild``, only that guild's roles (``role_ids`` holds the
        user's roles in every guild)."""
        roles = self.role_ids if guild is None else [r for r in self.role_ids if r in guild.roles]
        data: dict[str, Any] = {
            "roles": [str(r) for r in roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.to_json()
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    managed: bool = False
    tags: dict[str, Any] | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.tags is not None:
            data["tags"] = self.tags
        return data


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int
    guild_id: int
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    owner_id: int | None = None  # threads
    last_message_id: int | None = None
    message_count: int = 0
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    applied_tags: list[int] = field(default_factory=list)
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        return self.type in ChannelType.THREAD_TYPES

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "last_message_id": None if self.last_message_id is None else str(self.last_message_id),
            "rate_limit_per_user": 0,
            "flags": 0,
            "nsfw": False,
        }
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id),
                message_count=self.message_count,
                member_count=1,
                total_message_sent=self.message_count,
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 4320,
                    "archive_timestamp": self.created_at,
                    "locked": False,
                    "create_timestamp": self.created_at,
                },
                applied_tags=[str(t) for t in self.applied_tags],
            )
            if self.type == ChannelType.PRIVATE_THREAD:
                data["thread_metadata"]["invitable"] = True
            return data
        data.update(position=self.position, permission_overwrites=[], topic=self.topic)
        if self.type == ChannelType.GUILD_FORUM:
            data.update(
                available_tags=self.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_auto_archive_duration=4320,
                template="",
            )
        else:
            data.update(default_auto_archive_duration=4320, default_thread_rate_limit_per_user=0)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeUser] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_now)

    def permissions_for(self, user: FakeUser) -> int:
        """Guild-level permissions (the fake uses no channel overwrites)."""
        if user.id == self.owner_id:
            return Perm.ALL
        perms = self.roles[self.id].permissions
        for role_id in user.role_ids:
            if role_id in self.roles:  # role_ids holds the user's roles in every guild
                perms |= self.roles[role_id].permissions
        return Perm.ALL if perms & Perm.ADMINISTRATOR else perms

    def threads(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.is_thread]

    def channel_named(self, name: str) -> FakeChannel:
        return next(c for c in self.channels.values() if c.name == name)

    def shard(self, shard_count: int) -> int:
        """The shard Discord sends this guild's events to."""
        return (self.id >> 22) % shard_count

    def base_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": None,
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": [],
            "banner": None,
            "owner_id": str(self.owner_id),
            "application_id": None,
            "region": "us-east",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "roles": [r.to_json() for r in self.roles.values()],
            "default_message_notifications": 0,
            "mfa_level": 0,
            "explicit_content_filter": 0,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }

    def gateway_json(self, *, include_all_members: bool, bot_id: int) -> dict[str, Any]:
        """GUILD_CREATE payload; without GUILD_MEMBERS only the bot itself is listed."""
        members = [
            m.member_json(guild=self)
            for m in self.members.values()
            if include_all_members or m.id == bot_id
        ]
        data = self.base_json()
        data.update(
            joined_at=self.joined_at,
            large=False,
            unavailable=False,
            lazy=True,
            member_count=len(self.members),
            voice_states=[],
            members=members,
            channels=[c.to_json() for c in self.channels.values() if not c.is_thread],
            threads=[c.to_json() for c in self.threads()],
            presences=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
            embedded_activities=[],
            activity_instances=[],
            version=int(time.time() * 1000),
        )
        return data


_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


def mentioned_user_ids(content: str) -> list[int]:
    seen: list[int] = []
    for match in _MENTION_RE.finditer(content):
        uid = int(match.group(1))
        if uid not in seen:
            seen.append(uid)
    return seen


def mentioned_role_ids(content: str) -> list[int]:
    return list(dict.fromkeys(int(m.group(1)) for m in _ROLE_MENTION_RE.finditer(content)))


def message_json(
    *,
    message_id: int,
    channel: FakeChannel,
    author: FakeUser,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    components: list[dict[str, Any]] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    mentions: list[FakeUser] | None = None,
    mention_roles: list[int] | None = None,
    mention_everyone: bool = False,
    flags: int = 0,
    msg_type: int = 0,
    webhook_id: int | None = None,
    application_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A message object as REST returns it (gateway events add guild_id/member)."""
    data: dict[str, Any] = {
        "id": str(message_id),
        "type": msg_type,
        "channel_id": str(channel.id),
        "author": author.to_json(),
        "content": content,
        "timestamp": snowflake_time(message_id),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": mention_everyone,
        "mentions": [u.to_json() for u in mentions or []],
        "mention_roles": [str(r) for r in mention_roles or []],
        "attachments": attachments or [],
        "embeds": [normalize_embed(e) for e in embeds or []],
        "pinned": False,
        "flags": flags,
        "components": number_components(components or []),
    }
    if channel.is_thread:
        data["position"] = channel.message_count
    if webhook_id is not None:
        data["webhook_id"] = str(webhook_id)
    if application_id is not None:
        data["application_id"] = str(application_id)
    if extra:
        data.update(extra)
    return data


def normalize_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """Discord echoes embeds back with ``type: rich`` and string-free nulls removed."""
    out = {k: v for k, v in embed.items() if v is not None}
    out.setdefault("type", "rich")
    out.setdefault("content_scan_version", 0)
    return out


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy components as Discord echoes them: each gets the sequential numeric ``id``
    Discord assigns, and a unicode emoji loses the ``"id": null`` a request may carry."""
    counter = iter(range(1, 10_000))

    def walk(component: dict[str, Any]) -> dict[str, Any]:
        out = dict(component)
        out.setdefault("id", next(counter))
        if isinstance(out.get("emoji"), dict):
            out["emoji"] = {k: v for k, v in out["emoji"].items() if v is not None}
        for key in ("components", "items"):
            if isinstance(out.get(key), list):
                out[key] = [walk(c) if isinstance(c, dict) else c for c in out[key]]
        for key in ("accessory", "component"):
            if isinstance(out.get(key), dict):
                out[key] = walk(out[key])
        return out

    return [walk(c) for c in components]


def iter_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All components of a message, depth first."""
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        for key in ("components", "items"):
            if isinstance(component.get(key), list):
                found += iter_components([c for c in component[key] if isinstance(c, dict)])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                found += iter_components([component[key]])
    return found


def application_json(
    app_id: int, bot: FakeUser, owner: FakeUser, flags: int, guild_count: int = 1
) -> dict[str, Any]:
    return {
        "id": str(app_id),
        "name": bot.username,
        "icon": None,
        "description": "A fake application for end-to-end tests",
        "summary": "",
        "type": None,
        "is_monetized": False,
        "is_verified": False,
        "is_discoverable": False,
        "hook": True,
        "storefront_available": False,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": flags,
        "flags_new": str(flags),
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "approximate_user_authorization_count": 0,
        "owner": owner.to_json(),
        "team": None,
        "bot": bot.to_json(),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "approximate_guild_count": guild_count,
        "approximate_user_install_count": 0,
        "integration_types_config": {"0": {}},
        "explicit_content_filter": 0,
        "max_participants": None,
        "rpc_origins": [],
    }


def command_json(
    body: dict[str, Any], *, command_id: int, app_id: int, guild_id: int | None, version: int
) -> dict[str, Any]:
    """An ApplicationCommand as Discord echoes it after a create/bulk-overwrite."""
    perms = body.get("default_member_permissions")
    data: dict[str, Any] = {
        "id": str(command_id),
        "type": body.get("type") or 1,
        "application_id": str(app_id),
        "version": str(version),
        "name": body["name"],
        "name_localizations": body.get("name_localizations"),
        "description": body.get("description") or "",
        "description_localizations": body.get("description_localizations"),
        "default_member_permissions": None if perms is None else str(perms),
        "dm_permission": body.get("dm_permission", True),
        "nsfw": bool(body.get("nsfw", False)),
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types") or [0],
    }
    if body.get("options"):
        data["options"] = body["options"]
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    return data
