"""End-to-end: two askdocs bot *processes*, shards 0 and 1 of 2, against one FakeDiscord with
guilds on both shards. Each process is the real ``askdocs run`` (through
``fakediscord.launch``) over the session's built index; each gets only its shard's guilds and
answers the questions asked in them. The fake validates every request against the OpenAPI
spec and fails the test on in-process ERROR logs; the processes' stderr must hold no ERROR
and no traceback, and they must stop cleanly on SIGTERM."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from bot_fixtures import DOC, TIMEOUT
from bot_process import BotProcess, base_env, start_bot_process
from fakediscord import FakeDiscord
from fakediscord.payloads import FakeChannel, FakeGuild

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
SHARDS = 2
STARTUP = 60.0
"""Seconds a bot process may take to start: imports, model, index, connect, READY."""
QUESTION = "When did the Hanoi summit break down?"
HANOI = "It comes at a time when talks between the United States and North Korea"
BAD_LINE = re.compile(r"Traceback|\b(ERROR|CRITICAL)\b")


def bot_env(fake: FakeDiscord, root: Path, shard_id: int) -> dict[str, str]:
    """The process's environment: no inherited ASKDOCS_* settings, the fake's token, the
    shared docs and index, its own feedback database, its shard."""
    env = base_env()
    env.update(
        ASKDOCS_DISCORD_TOKEN=fake.token,
        ASKDOCS_SOURCE_DOCS=str(root / "docs"),
        ASKDOCS_INDEX_DIR=str(root / "index"),
        ASKDOCS_FEEDBACK_DB=str(root / f"feedback-{shard_id}.sqlite3"),
        ASKDOCS_SHARD_COUNT=str(SHARDS),
        ASKDOCS_SHARD_IDS=str(shard_id),
        ASKDOCS_LOG_LEVEL="INFO",
    )
    return env


@pytest_asyncio.fixture(loop_scope="function")
async def shard_processes(
    fake_discord: FakeDiscord, built_index: Path, tmp_path: Path
) -> AsyncIterator[Callable[[], Any]]:
    """``await start()``: one ``askdocs run`` process per shard, over one copy of the
    session's built index (copied with its mtimes, so nothing is rebuilt). Whatever is still
    running at teardown is stopped (killed if it ignores SIGTERM)."""
    root = tmp_path / "shared"
    shutil.copytree(built_index / "docs", root / "docs")
    shutil.copytree(built_index / "index", root / "index")
    started: list[BotProcess] = []

    async def start() -> list[BotProcess]:
        for shard_id in range(SHARDS):
            env = bot_env(fake_discord, root, shard_id)
            log = tmp_path / f"shard-{shard_id}.log"
            started.append(await start_bot_process(fake_discord, shard_id, root, env, log))
        return started

    try:
        yield start
    finally:
        for bot in started:
            if bot.proc.returncode is None:
                bot.proc.kill()
                await bot.proc.wait()


def general(guild: FakeGuild) -> FakeChannel:
    return guild.channel_named("general")


def answer_text(message: dict[str, Any]) -> str:
    assert message["embeds"], f"no embed in {message}"
    embed = message["embeds"][0]
    return embed["description"] + "".join(f["value"] for f in embed.get("fields", []))


async def test_two_shard_processes_answer_their_own_guilds(
    fake_discord: FakeDiscord, shard_processes: Callable[[], Any]
) -> None:
    fake = fake_discord
    guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, SHARDS)) for i in range(SHARDS)]
    bots: list[BotProcess] = await shard_processes()

    def ready() -> bool | None:
        for bot in bots:
            if bot.proc.returncode is not None:
                raise AssertionError(
                    f"shard {bot.shard_id} exited with {bot.proc.returncode}:\n{bot.tail()}"
                )
        live = fake.gateway.live_shards() >= {(i, SHARDS) for i in range(SHARDS)}
        logged = all("connected as" in bot.output() for bot in bots)
        return True if live and logged else None

    await fake.wait_for(ready, "both shard processes connected and ready", STARTUP)
    sessions = {s.shard: s for s in fake.gateway.sessions.values() if s.valid}
    for shard_id, bot in enumerate(bots):
        mine = [g for g in fake.world.guilds.values() if g.shard(SHARDS) == shard_id]
        assert f"to {len(mine)} guild(s) on shard {shard_id} of {SHARDS}" in bot.output()
        assert "no index yet" not in bot.output() and "documents changed" not in bot.output()

    for shard_id, guild in enumerate(guilds):
        iid = await fake.slash_command("ask", {"question": QUESTION}, channel=general(guild))
        final = await fake.wait_interaction_final(iid, timeout=TIMEOUT)
        assert HANOI in answer_text(final) and DOC in answer_text(final)
        mid = await fake.message(f"{fake.bot_user.mention} {QUESTION}", channel=general(guild))
        reply = await fake.wait_message(channel_id=general(guild).id, after=mid, timeout=TIMEOUT)
        assert HANOI in answer_text(reply)
        # delivered on this guild's shard only: the other process never saw the question
        for shard, session in sessions.items():
            got = {
                int(e["d"]["id"])
                for e in session.events
                if e["t"] in ("INTERACTION_CREATE", "MESSAGE_CREATE")
            }
            assert (iid in got and mid in got) == (shard == (shard_id, SHARDS)), shard

    assert fake.requests and not fake.violations  # every request checked against the spec
    for bot in bots:
        assert await bot.stop() == 0, bot.tail()
        output = bot.output()
        assert "bot stopped" in output
        bad = [line for line in output.splitlines() if BAD_LINE.search(line)]
        assert not bad, f"shard {bot.shard_id} logged:\n" + "\n".join(bad)
