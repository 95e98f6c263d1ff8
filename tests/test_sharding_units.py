"""AskdocsBot runs the shards the settings name (an AutoShardedBot either way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord.ext import commands

from bot.discord_app.bot import AskdocsBot
from bot.shared.settings import Settings


@pytest.mark.parametrize(
    ("count", "ids", "text"),
    [
        (None, None, "shard 0 of 1"),  # before Discord recommends a count
        (2, None, "shards 0, 1 of 2"),
        (2, [1], "shard 1 of 2"),
        (4, [0, 2], "shards 0, 2 of 4"),
    ],
)
async def test_askdocs_bot_runs_the_configured_shards(
    count: int | None, ids: list[int] | None, text: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        feedback_db=tmp_path / "feedback.sqlite3",
        index_dir=tmp_path / "index",
        shard_count=count,
        shard_ids=ids,
    )
    # ``async with``: an AutoShardedClient can only be closed once set up (entered or logged in)
    async with AskdocsBot(settings, None) as bot:
        assert isinstance(bot, commands.AutoShardedBot)
        assert (bot.shard_count, bot.shard_ids) == (count, ids)
        assert bot.shards_text() == text
