"""👍/👎 votes on both backends: SQLite (the default) and PostgreSQL (ASKDOCS_DATABASE_URL, a
real server from tests/pg.py): the same behaviour, one-line errors, a restarted server, and
the store chosen by the settings."""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from pg import PASSWORD, PostgresServer

from bot.shared import stores
from bot.shared.feedback import (
    NO_SOURCE,
    FeedbackError,
    FeedbackStore,
    PgFeedbackStore,
    Votes,
    format_summary,
    hash_user,
)
from bot.shared.settings import Settings

MakeVotes = Callable[[], Votes]


class _Clock(dt.datetime):
    """``datetime.now`` for bot.shared.feedback: a minute later on every call, from a fixed
    start."""

    calls = 0

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _Clock:  # type: ignore[override]
        cls.calls += 1
        return cls(2024, 5, 1, 12, 0, tzinfo=tz) + dt.timedelta(minutes=cls.calls)


@pytest.fixture(params=["sqlite", "postgres"])
def make_votes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeVotes]:
    """Opens vote stores on one backend: the same SQLite file, or the same fresh database."""
    url = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    made: list[Votes] = []

    def make() -> Votes:
        store: Votes
        if url is not None:
            store = PgFeedbackStore(url)
        else:
            store = FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def test_votes_summary_and_csv(make_votes: MakeVotes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Clock, "calls", 0)
    monkeypatch.setattr("bot.shared.feedback.dt", SimpleNamespace(datetime=_Clock, UTC=dt.UTC))
    store = make_votes()
    assert format_summary(store.summary()).startswith("No feedback")
    store.record(10, "q1", "a.txt › X", 111, 1)
    store.record(10, "q1", "a.txt › X", 222, 1)  # row 2, 12:02
    store.record(11, "bread?", NO_SOURCE, 111, -1)  # row 3, 12:03
    store.record(10, "q1", "a.txt › X", 222, -1)  # changed vote: still row 2, now 12:04
    summary = store.summary()
    assert (summary.up, summary.down) == (1, 2)
    by_source = {s.source: (s.up, s.down) for s in summary.per_source}
    assert by_source == {"a.txt › X": (1, 1), NO_SOURCE: (0, 1)}
    # Newest first by the time of the vote (a changed vote counts as new), not by row id.
    assert [(d.question, d.created_at) for d in summary.recent_downvotes] == [
        ("q1", "2024-05-01T12:04:00+00:00"),
        ("bread?", "2024-05-01T12:03:00+00:00"),
    ]
    out = io.StringIO()
    assert store.export_csv(out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0] == "message_id,question,source,user_hash,vote,created_at"
    assert lines[2].startswith("10,q1,a.txt › X,") and lines[2].endswith(
        ",-1,2024-05-01T12:04:00+00:00"
    )
    assert "111" not in out.getvalue() and hash_user(111) in out.getvalue()
    text = format_summary(summary)
    assert "3 votes" in text and "bread?" in text
    with pytest.raises(ValueError):
        store.record(1, "q", "s", 1, 0)
    store.close()
    assert make_votes().summary().total == 3  # kept when opened again


def test_votes_for_answers_with_discord_sized_ids(make_votes: MakeVotes) -> None:
    store = make_votes()
    big = 1_300_000_000_000_000_000  # Discord ids need 64 bits
    store.record(big, "q", "a.txt", 1, 1)
    store.record(big, "q", "a.txt", 2, -1)
    store.record(big + 1, "q", "a.txt", 1, 1)
    wanted = [big, big + 1, big + 2, *range(1, 1200)]  # more than one IN (...) batch
    assert store.votes_for(wanted) == {big: (1, 1), big + 1: (1, 0)}
    assert store.votes_for([]) == {}


def test_the_store_is_thread_safe(make_votes: MakeVotes) -> None:
    store = make_votes()
    threads = [
        threading.Thread(target=lambda i=i: [store.record(i, "q", "s", u, 1) for u in range(20)])
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.summary().up == 160


# -- the store the settings choose ---------------------------------------------------------------
def test_settings_choose_sqlite_by_default_and_postgresql_with_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    monkeypatch.setenv("ASKDOCS_INDEX_DIR", str(tmp_path / "ix"))
    sqlite = stores.open_feedback(Settings(_env_file=None))
    assert isinstance(sqlite, FeedbackStore) and sqlite.path == tmp_path / "ix" / "feedback.sqlite3"
    assert stores.open_global_cooldown(Settings(_env_file=None)) is None
    monkeypatch.setenv("ASKDOCS_DATABASE_URL", pg_url)
    settings = Settings(_env_file=None)
    postgres = stores.open_feedback(settings)
    assert isinstance(postgres, PgFeedbackStore) and PASSWORD not in repr(postgres)
    assert PASSWORD not in postgres.where
    stores.check_database_setting(settings)
    postgres.close()


# -- PostgreSQL: errors, schema, restarts ----------------------------------------------------------
def test_postgresql_feedback_schema_is_versioned(pg_database: str) -> None:
    store = PgFeedbackStore(pg_database)
    store.record(1, "q", "a.txt", 1, 1)
    with psycopg.connect(pg_database) as conn:
        assert conn.execute(
            "SELECT version FROM askdocs_schema WHERE component = 'feedback'"
        ).fetchone() == (1,)
        conn.execute("UPDATE askdocs_schema SET version = 5 WHERE component = 'feedback'")
        conn.commit()
    store.close()
    with pytest.raises(FeedbackError, match=r"schema v5, newer than this askdocs \(v1\)"):
        PgFeedbackStore(pg_database).summary()


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    store = PgFeedbackStore("postgresql://askdocs:hunter2@127.0.0.1:1/askdocs", connect_timeout=2)
    with pytest.raises(FeedbackError) as caught:
        store.summary()
    message = str(caught.value)
    assert message.startswith("feedback database: cannot read: cannot connect to ")
    assert "hunter2" not in message and "\n" not in message


def test_votes_fail_cleanly_while_postgresql_restarts_and_work_after(
    pg_own_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = PgFeedbackStore(pg_own_server.create_database(), connect_timeout=2)
    store.record(1, "q", "a.txt", 1, 1)
    pg_own_server.restart()
    store.record(1, "q", "a.txt", 2, 1)  # the lost connection is reopened: no error
    pg_own_server.stop()
    try:
        with pytest.raises(FeedbackError) as caught:
            store.record(1, "q", "a.txt", 3, 1)
        assert "\n" not in str(caught.value) and PASSWORD not in str(caught.value)
    finally:
        pg_own_server.start()
    with caplog.at_level(logging.WARNING):
        store.record(1, "q", "a.txt", 4, -1)
    assert not caplog.records
    assert store.votes_for([1]) == {1: (2, 1)}
    store.close()
