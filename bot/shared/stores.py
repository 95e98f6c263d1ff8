"""Where the bot keeps its state, chosen by the settings: PostgreSQL when
``ASKDOCS_DATABASE_URL`` is set, else the embedded SQLite files beside the index.

Nothing here connects: every store opens its connection on first use (call
:func:`check_database_setting` at start-up to fail fast with a one-line error).
"""

from __future__ import annotations

from bot.shared.cooldown_store import DatabaseCooldown, LocalCooldown
from bot.shared.feedback import FeedbackStore, PgFeedbackStore, Votes
from bot.shared.question_log import PgQuestionLog, QuestionLog, QuestionStore
from bot.shared.settings import Settings


def database_url(settings: Settings) -> str | None:
    """The database URL (a secret: never log it), or None for the embedded default."""
    return settings.database_url.get_secret_value() if settings.database_url else None


def check_database_setting(settings: Settings) -> None:
    """With a database URL set: connect and check the ``vector`` extension, raising
    :class:`~index.errors.DatabaseError` (one line, no password). Without one: nothing."""
    from index.pg import check_database

    url = database_url(settings)
    if url is not None:
        check_database(url)


def open_feedback(settings: Settings) -> Votes:
    """The votes' store: PostgreSQL with a database URL, else the SQLite file."""
    url = database_url(settings)
    return PgFeedbackStore(url) if url else FeedbackStore(settings.feedback_path)


def open_question_log(settings: Settings) -> QuestionStore:
    """The question log's store (whether or not the log is switched on)."""
    url = database_url(settings)
    if url:
        return PgQuestionLog(url, retention_days=settings.question_log_days)
    return QuestionLog(settings.question_log_path, retention_days=settings.question_log_days)


def open_global_cooldown(
    settings: Settings, fallback: LocalCooldown | None = None
) -> DatabaseCooldown | None:
    """The cooldown shared by every bot process (PostgreSQL), or None without a database URL
    (the in-memory per-process :class:`~bot.discord_app.cooldown.Cooldown` is then enough).
    ``fallback`` (that in-memory cooldown) decides while the database is unreachable."""
    url = database_url(settings)
    if not url:
        return None
    return DatabaseCooldown(
        url, settings.cooldown_questions, settings.cooldown_seconds, fallback=fallback
    )
