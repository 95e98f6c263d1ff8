"""The fake Discord's state: guilds with users, roles, channels, messages and commands."""

from __future__ import annotations

from typing import Any

from .payloads import (
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    Intent,
    Perm,
    Snowflakes,
)


class World:
    """Everything the REST API and the gateway share.

    Fixed cast (all attributes are public and may be tweaked by tests before the bot acts):

    * ``guild`` ("Fake Guild") owned by ``owner_user``;
    * roles: ``everyone_role`` (id == guild id), ``admin_role`` ("Admin", MANAGE_GUILD),
      ``helper_role`` ("Helper", MANAGE_MESSAGES | MANAGE_THREADS), ``bot_role`` (managed
      integration role of the bot);
    * members: ``bot_user``, ``owner_user``, ``admin_user`` (Admin), ``helper_user`` (Helper),
      ``regular_user`` (no roles);
    * channels: ``text_channel`` (#general), ``other_channel`` (#bot-testing),
      ``forum_channel`` (#help-forum, tags ``question`` and ``solved``).

    More guilds can be added with :meth:`add_guild` (e.g. one per shard); ``guilds`` holds
    them all, ``guild`` is the first.
    """

    def __init__(self) -> None:
        self.ids = Snowflakes()
        new = self.ids
        guild_id = new()
        self.bot_role = FakeRole(new(), "AskDocs", 0, position=3, managed=True)
        self.admin_role = FakeRole(
            new(),
            "Admin",
            Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES | Perm.MANAGE_ROLES,
            position=2,
            color=0xE74C3C,
        )
        self.helper_role = FakeRole(
            new(),
            "Helper",
            Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS,
            position=1,
            color=0x3498DB,
        )
        self.everyone_role = FakeRole(guild_id, "@everyone", Perm.EVERYONE_DEFAULT)
        self.bot_user = FakeUser(new(), "askdocs-test-bot", bot=True, role_ids=[self.bot_role.id])
        self.bot_role.tags = {"bot_id": str(self.bot_user.id)}
        self.bot_role.permissions = (
            Perm.EVERYONE_DEFAULT | Perm.MANAGE_THREADS | Perm.MANAGE_MESSAGES
        )
        # Since 2020 an application's id equals its bot user's id.
        self.application_id = self.bot_user.id
        self.owner_user = FakeUser(new(), "guild_owner", "Guild Owner")
        self.admin_user = FakeUser(new(), "admin_alice", "Alice", role_ids=[self.admin_role.id])
        self.helper_user = FakeUser(new(), "helper_hank", "Hank", role_ids=[self.helper_role.id])
        self.regular_user = FakeUser(new(), "regular_rita", "Rita")
        self.guild = FakeGuild(guild_id, "Fake Guild", self.owner_user.id)
        for role in (self.everyone_role, self.helper_role, self.admin_role, self.bot_role):
            self.guild.roles[role.id] = role
        for user in (
            self.bot_user,
            self.owner_user,
            self.admin_user,
            self.helper_user,
            self.regular_user,
        ):
            self.guild.members[user.id] = user
        self.text_channel = FakeChannel(
            new(), "general", ChannelType.GUILD_TEXT, guild_id, position=0, topic="General chat"
        )
        self.other_channel = FakeChannel(
            new(), "bot-testing", ChannelType.GUILD_TEXT, guild_id, position=1
        )
        self.forum_channel = FakeChannel(
            new(),
            "help-forum",
            ChannelType.GUILD_FORUM,
            guild_id,
            position=2,
            topic="Ask questions here",
        )
        self.forum_channel.available_tags = [
            {
                "id": str(new()),
                "name": name,
                "moderated": False,
                "emoji_id": None,
                "emoji_name": None,
            }
            for name in ("question", "solved")
        ]
        for channel in (self.text_channel, self.other_channel, self.forum_channel):
            self.guild.channels[channel.id] = channel
        self.guilds: dict[int, FakeGuild] = {guild_id: self.guild}
        # message id -> message object (REST shape), in creation order
        self.messages: dict[int, dict[str, Any]] = {}
        # registered application commands: (name, type) -> command object
        self.global_commands: dict[tuple[str, int], dict[str, Any]] = {}
        self.guild_commands: dict[int, dict[tuple[str, int], dict[str, Any]]] = {}
        self.unsynced_command_ids: dict[str, int] = {}
        # attachment bytes served by the fake CDN: (attachment id, filename) -> bytes
        self.cdn: dict[tuple[int, str], tuple[bytes, str]] = {}
        # application flags follow the privileged intents "enabled in the developer portal"
        self.privileged_intents = Intent.PRIVILEGED

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> FakeGuild:
        """Another guild the bot is in (add it before the bot connects): roles @everyone and
        the bot's managed role; members ``bot_user``, ``owner_user`` (its owner) and
        ``regular_user``; one text channel, #general (``guild.channel_named("general")``).
        ``shard=(shard_id, shard_count)`` gives it an id Discord routes to that shard."""
        guild_id = self.ids.on_shard(*shard) if shard else self.ids()
        guild = FakeGuild(guild_id, name, self.owner_user.id)
        bot_role = FakeRole(
            self.ids(),
            "AskDocs",
            Perm.EVERYONE_DEFAULT | Perm.MANAGE_THREADS | Perm.MANAGE_MESSAGES,
            position=1,
            managed=True,
            tags={"bot_id": str(self.bot_user.id)},
        )
        for role in (FakeRole(guild_id, "@everyone", Perm.EVERYONE_DEFAULT), bot_role):
            guild.roles[role.id] = role
        self.bot_user.role_ids.append(bot_role.id)  # role_ids spans guilds; payloads filter
        for user in (self.bot_user, self.owner_user, self.regular_user):
            guild.members[user.id] = user
        channel = FakeChannel(self.ids(), "general", ChannelType.GUILD_TEXT, guild_id)
        guild.channels[channel.id] = channel
        self.guilds[guild_id] = guild
        return guild

    # -- lookups -------------------------------------------------------------------------
    def user(self, user_id: int) -> FakeUser | None:
        return next(
            (g.members[user_id] for g in self.guilds.values() if user_id in g.members), None
        )

    def channel(self, channel_id: int) -> FakeChannel | None:
        return next(
            (g.channels[channel_id] for g in self.guilds.values() if channel_id in g.channels), None
        )

    def role(self, role_id: int) -> FakeRole | None:
        return next((g.roles[role_id] for g in self.guilds.values() if role_id in g.roles), None)

    def guild_of(self, channel: FakeChannel) -> FakeGuild:
        return self.guilds[channel.guild_id]

    def bot_can(self, channel: FakeChannel, permission: int) -> bool:
        return self.guild_of(channel).permissions_for(self.bot_user) & permission == permission

    @property
    def application_flags(self) -> int:
        flags = 0
        if self.privileged_intents & Intent.GUILD_PRESENCES:
            flags |= 1 << 13  # GATEWAY_PRESENCE_LIMITED
        if self.privileged_intents & Intent.GUILD_MEMBERS:
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED
        if self.privileged_intents & Intent.MESSAGE_CONTENT:
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    def find_command(
        self, name: str, ctype: int = 1, guild_id: int | None = None
    ) -> tuple[dict[str, Any] | None, int | None]:
        """A registered command by name (the guild's commands first; default: ``guild``) and
        its guild id."""
        guild_id = self.guild.id if guild_id is None else guild_id
        guild_cmd = self.guild_commands.get(guild_id, {}).get((name, ctype))
        if guild_cmd is not None:
            return guild_cmd, guild_id
        return self.global_commands.get((name, ctype)), None

    def add_thread(
        self,
        *,
        thread_id: int,
        parent: FakeChannel,
        name: str,
        owner: FakeUser,
        thread_type: int = ChannelType.PUBLIC_THREAD,
        applied_tags: list[int] | None = None,
    ) -> FakeChannel:
        thread = FakeChannel(
            thread_id,
            name,
            thread_type,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=owner.id,
            applied_tags=applied_tags or [],
        )
        self.guild_of(parent).channels[thread.id] = thread
        return thread
