"""The fake Discord's shards: READY and events per shard, GET /gateway/bot's shard count, and
unsharded connections that still get every guild (real discord.py clients, in-process)."""

from __future__ import annotations

import json

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands
from fakediscord import FakeDiscord
from fakediscord.payloads import FakeChannel, FakeGuild

TIMEOUT = 10.0

pytestmark = pytest.mark.e2e


class ShardBot(commands.AutoShardedBot):
    """Answers ``/where`` and mentions with the shard that got the event."""

    def __init__(self, shard_count: int | None = None, shard_ids: list[int] | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            shard_count=shard_count,
            shard_ids=shard_ids,
        )
        self.seen: list[discord.Message] = []

        @self.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"shard {interaction.guild.shard_id}")  # type: ignore[union-attr]

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before every non-initial IDENTIFY; not in tests."""

    async def on_message(self, message: discord.Message, /) -> None:
        if message.author != self.user:  # not its own /where answers
            self.seen.append(message)


def general(guild: FakeGuild) -> FakeChannel:
    return guild.channel_named("general")


async def where(fake: FakeDiscord, channel: FakeChannel) -> str:
    iid = await fake.slash_command("where", channel=channel)
    return (await fake.wait_interaction_final(iid, timeout=TIMEOUT))["content"]


async def test_each_shard_gets_only_its_guilds_and_their_events(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, 2)) for i in range(2)]
    assert [g.shard(2) for g in guilds] == [0, 1]
    bots = [ShardBot(2, [0]), ShardBot(2, [1])]
    for bot in bots:
        await fake.start_client(bot)
    await fake.wait_shards_ready(2, timeout=TIMEOUT)
    for shard_id, bot in enumerate(bots):
        expected = {g.id for g in fake.world.guilds.values() if g.shard(2) == shard_id}
        assert {g.id for g in bot.guilds} == expected
        assert guilds[shard_id].id in expected
    for shard_id, guild in enumerate(guilds):
        assert await where(fake, general(guild)) == f"shard {shard_id}"
        await fake.message(f"{fake.bot_user.mention} hello", channel=general(guild))
    await fake.wait_for(lambda: True if all(b.seen for b in bots) else None, "both mentions")
    for shard_id, bot in enumerate(bots):
        assert [m.guild.id for m in bot.seen if m.guild] == [guilds[shard_id].id]
    identifies = [p["d"]["shard"] for p in fake.gateway.received if p["op"] == 2]
    assert sorted(identifies) == [[0, 2], [1, 2]]


async def test_a_guild_whose_shard_runs_nowhere_gets_no_events(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, 2)) for i in range(2)]
    bot = ShardBot(2, [0])
    await fake.start_client(bot)
    assert guilds[1].id not in {g.id for g in bot.guilds}
    with pytest.raises(RuntimeError, match="no gateway session runs the shard"):
        await fake.slash_command("where", channel=general(guilds[1]))
    for guild in reversed(guilds):  # shard 1's first: it would arrive first if sent
        await fake.message(f"{fake.bot_user.mention} hello", channel=general(guild))
    await fake.wait_for(lambda: bot.seen or None, "the mention on shard 0")
    assert [m.guild.id for m in bot.seen if m.guild] == [guilds[0].id]


async def test_auto_sharding_runs_the_recommended_shard_count() -> None:
    async with FakeDiscord(recommended_shards=2) as fake:
        guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, 2)) for i in range(2)]
        bot = ShardBot()  # no shard_count: GET /gateway/bot decides
        await fake.start_client(bot)
        await fake.wait_shards_ready(2, timeout=TIMEOUT)
        assert bot.shard_count == 2 and len(bot.guilds) == len(fake.world.guilds)
        for shard_id, guild in enumerate(guilds):
            assert await where(fake, general(guild)) == f"shard {shard_id}"
        assert fake.requests_for("GET", "/gateway/bot")
    fake.assert_clean()


async def test_an_unsharded_client_gets_every_guild(fake_discord: FakeDiscord) -> None:
    fake = fake_discord
    extra = fake.world.add_guild("Second Guild")
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())
    tree: app_commands.CommandTree[commands.Bot] = bot.tree

    @tree.command(name="where", description="Which guild")
    async def where_cmd(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"guild {interaction.guild_id}")

    await fake.start_client(bot)
    assert {g.id for g in bot.guilds} == {fake.guild.id, extra.id}
    for guild in (fake.guild, extra):
        assert await where(fake, guild.channel_named("general")) == f"guild {guild.id}"


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0], "0,1"])
async def test_an_invalid_shard_is_closed_with_4010(
    fake_discord: FakeDiscord, shard: object
) -> None:
    url = fake_discord.base_ws_url + "/?v=10&encoding=json"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = json.loads((await ws.receive(timeout=TIMEOUT)).data)
        assert hello["op"] == 10
        identify = {
            "token": fake_discord.token,
            "intents": 1,
            "properties": {"os": "linux", "browser": "test", "device": "test"},
            "shard": shard,
        }
        await ws.send_json({"op": 2, "d": identify})
        closed = await ws.receive(timeout=TIMEOUT)
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4010


async def test_gateway_bot_recommends_one_shard_by_default(fake_discord: FakeDiscord) -> None:
    headers = {"Authorization": f"Bot {fake_discord.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake_discord.base_url + "/api/v10/gateway/bot", headers=headers) as resp,
    ):
        assert resp.status == 200 and (await resp.json())["shards"] == 1
