"""AskdocsBot's stores follow ASKDOCS_DATABASE_URL (votes and the global cooldown in
PostgreSQL, nothing connected before first use); a failing database reaches askers as one
short line without the database's address or password; ``askdocs run`` waits while another
process builds the index it needs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.discord_app.batching import MicroBatcher
from bot.discord_app.bot import AskdocsBot
from bot.discord_app.cooldown import Cooldown
from bot.discord_app.errors import DATABASE_UNAVAILABLE
from bot.shared.cooldown_store import DatabaseCooldown
from bot.shared.feedback import FeedbackStore, PgFeedbackStore
from bot.shared.settings import Settings
from bot.terminal.cli import open_waiting
from index.errors import BuildInProgressError, DatabaseError
from index.models import Answer

URL = "postgresql://askdocs:s3cret@127.0.0.1:1/askdocs"


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        feedback_db=tmp_path / "feedback.sqlite3",
        index_dir=tmp_path / "index",
        **values,
    )


async def test_without_a_database_votes_are_in_sqlite_and_there_is_no_global_cooldown(
    tmp_path: Path,
) -> None:
    async with AskdocsBot(settings(tmp_path), None) as bot:
        assert isinstance(bot.feedback, FeedbackStore)
        assert bot.global_cooldown is None


async def test_with_a_database_votes_and_the_global_cooldown_are_in_postgresql(
    tmp_path: Path,
) -> None:
    # nothing connects until first use: the URL points nowhere and the bot still starts
    async with AskdocsBot(settings(tmp_path, database_url=URL), None) as bot:
        assert isinstance(bot.feedback, PgFeedbackStore)
        assert isinstance(bot.global_cooldown, DatabaseCooldown)
        assert bot.global_cooldown.fallback is bot.cooldown
        assert (bot.global_cooldown.questions, bot.global_cooldown.seconds) == (
            bot.settings.cooldown_questions,
            bot.settings.cooldown_seconds,
        )
        # unreachable: the process's own cooldown decides, a question is never refused
        assert await bot.global_cooldown.ahit(7) == 0.0
        assert len(bot.cooldown) == 1


async def test_a_given_empty_cooldown_is_used(tmp_path: Path) -> None:
    mine = Cooldown(1, 60.0)  # tracks nobody yet, so it is falsy
    async with AskdocsBot(settings(tmp_path), None, cooldown=mine) as bot:
        assert bot.cooldown is mine


class FailingEngine:
    def __init__(self) -> None:
        self.fail = True

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        if self.fail:
            raise DatabaseError(
                f"the database {URL} failed: connection refused\nIs the server running?"
            )
        return [Answer(q, False, 0.9, q, ()) for q in questions]


async def test_a_failing_database_is_one_short_line_for_the_asker_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = FailingEngine()
    async with AskdocsBot(settings(tmp_path), None) as bot:
        bot.batcher = MicroBatcher(engine, max_question_chars=99)
        with caplog.at_level(logging.INFO, logger="bot.discord_app.bot"):
            for question in ("first question?", "second question?"):
                with pytest.raises(DatabaseError) as failed:
                    await bot.ask(question)
                assert str(failed.value) == DATABASE_UNAVAILABLE
            engine.fail = False
            assert (await bot.ask("third question?")).question == "third question?"
        await bot.batcher.close()
    records = [r for r in caplog.records if r.name == "bot.discord_app.bot"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "connection refused" in warnings[0]
    assert any(r.getMessage() == "the database answers again" for r in records)
    assert "\n" not in DATABASE_UNAVAILABLE and "s3cret" not in DATABASE_UNAVAILABLE


class BusyEngine:
    """``open()`` finds another process building twice, then succeeds."""

    def __init__(self) -> None:
        self.opened = 0

    def open(self, **kwargs: object) -> None:
        self.opened += 1
        if self.opened <= 2:
            raise BuildInProgressError("another process is building the index")


def test_run_waits_while_another_process_builds_the_index(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = BusyEngine()
    with caplog.at_level(logging.INFO, logger="bot.terminal.cli"):
        open_waiting(engine, retry=0.01)  # type: ignore[arg-type]
    assert engine.opened == 3
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "another process is building the index: waiting for it to finish"
    assert messages[-1].startswith("the index is ready") and len(messages) == 2
