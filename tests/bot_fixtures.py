"""Fixtures for the bot's end-to-end tests: an engine over a private copy of source_docs/
(built once per session, copied per test) and a factory starting AskdocsBot on FakeDiscord."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from fakediscord import FakeDiscord

from bot.discord_app.bot import AskdocsBot
from bot.shared.settings import Settings
from index.embedding import Embedder
from index.engine import Engine, EngineConfig

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"

BotFactory = Callable[..., Awaitable[AskdocsBot]]
TIMEOUT = 10.0
"""Seconds an end-to-end test waits for the bot's reply."""
DOC = "kim-jong-un-putin-meeting.txt"
"""The shipped document's name, as sources and citations show it."""


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A folder with ``docs/`` (a copy of source_docs) and its built ``index/``."""
    root = tmp_path_factory.mktemp("askdocs-template")
    shutil.copytree(SOURCE_DOCS, root / "docs")
    Engine(EngineConfig(root / "docs", root / "index"), embedder).open()
    return root


@pytest.fixture
def engine(built_index: Path, tmp_path: Path, embedder: Embedder) -> Engine:
    """An opened engine over a private copy of the docs and index (tests may change both)."""
    shutil.copytree(built_index / "docs", tmp_path / "docs")
    shutil.copytree(built_index / "index", tmp_path / "index")
    engine = Engine(EngineConfig(tmp_path / "docs", tmp_path / "index"), embedder)
    engine.open(refresh=False)
    return engine


def make_settings(fake: FakeDiscord, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "discord_token": fake.token,
        "source_docs": tmp_path / "docs",
        "index_dir": tmp_path / "index",
        "feedback_db": tmp_path / "feedback.sqlite3",
        "cooldown_questions": 1000,
        "cooldown_seconds": 60.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest_asyncio.fixture(loop_scope="function")
async def start_bot(
    fake_discord: FakeDiscord, engine: Engine, tmp_path: Path
) -> AsyncIterator[BotFactory]:
    """``await start_bot(**settings_overrides)``: an AskdocsBot connected to the fake and
    ready. Clients are closed by the fake_discord fixture, which then fails the test on API
    violations and ERROR logs."""

    async def start(**overrides: Any) -> AskdocsBot:
        bot = AskdocsBot(make_settings(fake_discord, tmp_path, **overrides), engine)
        await fake_discord.start_client(bot)
        return bot

    yield start
