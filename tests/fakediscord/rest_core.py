"""REST routes: users, application, gateway, application commands, guild and channel reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .payloads import FakeGuild, Intent, application_json, command_json
from .rest import ApiError, ApiRequest, Router, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

Reply = tuple[int, Any]


def register(router: Router, fake: FakeDiscord) -> None:
    world = fake.world

    # -- identity -----------------------------------------------------------------------------
    async def get_me(_: ApiRequest) -> Reply:
        return 200, {
            **world.bot_user.to_json(),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
            "bio": "",
        }

    async def get_user(req: ApiRequest) -> Reply:
        user = world.user(req.int_param("user_id"))
        if user is None:
            raise unknown("User", 10013)
        return 200, user.to_json()

    async def get_application(_: ApiRequest) -> Reply:
        return 200, application_json(
            world.application_id,
            world.bot_user,
            world.owner_user,
            world.application_flags,
            len(world.guilds),
        )

    async def get_gateway(_: ApiRequest) -> Reply:
        return 200, {"url": fake.base_ws_url}

    async def get_gateway_bot(_: ApiRequest) -> Reply:
        return 200, {
            "url": fake.base_ws_url,
            "shards": fake.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    router.add("GET", "/users/@me", get_me)
    router.add("GET", "/users/{user_id}", get_user)
    router.add("GET", "/oauth2/applications/@me", get_application)
    router.add("GET", "/applications/@me", get_application)
    router.add("GET", "/gateway", get_gateway, auth=False)
    router.add("GET", "/gateway/bot", get_gateway_bot)

    # -- application commands -------------------------------------------------------------
    def registry(req: ApiRequest) -> tuple[dict[tuple[str, int], dict[str, Any]], int | None]:
        if req.int_param("application_id") != world.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in req.params:
            return world.global_commands, None
        guild_id = req.int_param("guild_id")
        if guild_id not in world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return world.guild_commands.setdefault(guild_id, {}), guild_id

    def upsert(
        reg: dict[tuple[str, int], dict[str, Any]], body: dict[str, Any], guild_id: int | None
    ) -> tuple[bool, dict[str, Any]]:
        key = (body["name"], body.get("type") or 1)
        old = reg.get(key)
        command_id = int(old["id"]) if old else world.ids()
        reg[key] = command_json(
            body,
            command_id=command_id,
            app_id=world.application_id,
            guild_id=guild_id,
            version=world.ids(),
        )
        return old is None, reg[key]

    async def list_commands(req: ApiRequest) -> Reply:
        reg, _ = registry(req)
        return 200, list(reg.values())

    async def bulk_overwrite(req: ApiRequest) -> Reply:
        reg, guild_id = registry(req)
        bodies = req.json or []
        previous = dict(reg)
        reg.clear()
        for body in bodies:
            key = (body["name"], body.get("type") or 1)
            if key in previous:
                reg[key] = previous[key]  # keep the id, like Discord
            upsert(reg, body, guild_id)
        fake.command_syncs.append((guild_id, [c["name"] for c in reg.values()]))
        return 200, list(reg.values())

    async def create_command(req: ApiRequest) -> Reply:
        reg, guild_id = registry(req)
        created, command = upsert(reg, req.json, guild_id)
        return (201 if created else 200), command

    def find(req: ApiRequest) -> tuple[dict[tuple[str, int], dict[str, Any]], tuple[str, int]]:
        reg, _ = registry(req)
        for key, command in reg.items():
            if command["id"] == req.params["command_id"]:
                return reg, key
        raise unknown("application command", 10063)

    async def get_command(req: ApiRequest) -> Reply:
        reg, key = find(req)
        return 200, reg[key]

    async def edit_command(req: ApiRequest) -> Reply:
        reg, key = find(req)
        merged = {**reg[key], **req.json}
        del reg[key]
        _, command = upsert(reg, merged, reg_guild(req))
        return 200, command

    def reg_guild(req: ApiRequest) -> int | None:
        return int(req.params["guild_id"]) if "guild_id" in req.params else None

    async def delete_command(req: ApiRequest) -> Reply:
        reg, key = find(req)
        del reg[key]
        return 204, None

    async def command_permissions(req: ApiRequest) -> Reply:
        registry(req)
        return 200, []

    for base in (
        "/applications/{application_id}",
        "/applications/{application_id}/guilds/{guild_id}",
    ):
        router.add("GET", base + "/commands", list_commands)
        router.add("PUT", base + "/commands", bulk_overwrite)
        router.add("POST", base + "/commands", create_command)
        router.add("GET", base + "/commands/{command_id}", get_command)
        router.add("PATCH", base + "/commands/{command_id}", edit_command)
        router.add("DELETE", base + "/commands/{command_id}", delete_command)
    router.add(
        "GET",
        "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
        command_permissions,
    )

    # -- guild and channel reads -------------------------------------------------------------
    def guild_of(req: ApiRequest) -> FakeGuild:
        guild = world.guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    async def get_guild(req: ApiRequest) -> Reply:
        guild = guild_of(req)
        data = guild.base_json()
        if req.flag("with_counts"):
            data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return 200, data

    async def guild_channels(req: ApiRequest) -> Reply:
        guild = guild_of(req)
        return 200, [c.to_json() for c in guild.channels.values() if not c.is_thread]

    async def guild_roles(req: ApiRequest) -> Reply:
        return 200, [r.to_json() for r in guild_of(req).roles.values()]

    async def guild_member(req: ApiRequest) -> Reply:
        guild = guild_of(req)
        user = guild.members.get(req.int_param("user_id"))
        if user is None:
            raise unknown("Member", 10007)
        return 200, user.member_json(guild=guild)

    async def guild_members(req: ApiRequest) -> Reply:
        guild = guild_of(req)
        if not fake.gateway.intents() & Intent.GUILD_MEMBERS:
            raise ApiError(403, 50001, "Missing Access")
        after = int(req.query.get("after", 0))
        limit = int(req.query.get("limit", 1))
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
        return 200, [m.member_json(guild=guild) for m in members[:limit]]

    async def active_threads(req: ApiRequest) -> Reply:
        threads = guild_of(req).threads()
        return 200, {"threads": [t.to_json() for t in threads], "members": []}

    async def get_channel(req: ApiRequest) -> Reply:
        channel = world.channel(req.int_param("channel_id"))
        if channel is None:
            raise unknown("Channel", 10003)
        return 200, channel.to_json()

    router.add("GET", "/guilds/{guild_id}", get_guild)
    router.add("GET", "/guilds/{guild_id}/channels", guild_channels)
    router.add("GET", "/guilds/{guild_id}/roles", guild_roles)
    router.add("GET", "/guilds/{guild_id}/members", guild_members)
    router.add("GET", "/guilds/{guild_id}/members/{user_id}", guild_member)
    router.add("GET", "/guilds/{guild_id}/threads/active", active_threads)
    router.add("GET", "/channels/{channel_id}", get_channel)
