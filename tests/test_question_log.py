"""The question log: retention, salted user hashes, schema migration, portable SQL, and a
corrupt or locked database that never stops answers (writes queued off the caller).

The behaviour tests run on both backends: SQLite (the default) and PostgreSQL (a real server
from tests/pg.py), including a server restarted under load."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pg import PostgresServer

from bot.shared import question_log as ql
from bot.shared.question_log import (
    DAY,
    MIGRATIONS,
    SCHEMA_VERSION,
    Cited,
    PgQuestionLog,
    QuestionEntry,
    QuestionLog,
    QuestionLogError,
    QuestionStore,
    hash_user,
)
from bot.shared.question_recorder import QuestionRecorder
from bot.shared.settings import Settings

NOW = 1_790_000_000.0
USER = 123456789012345678


def entry(
    question: str = "When did the Hanoi summit break down?", **fields: object
) -> QuestionEntry:
    values: dict[str, object] = {
        "outcome": "answered",
        "confidence": 0.9,
        "cited": (Cited("a.txt", "a.txt › Timing"), Cited("b.txt", "b.txt")),
        "guild_id": 42,
        "channel_kind": "text",
        "via": "slash",
        "user_id": USER,
        "message_id": 1001,
        "asked_at": NOW,
    }
    values.update(fields)
    return QuestionEntry(question, **values)  # type: ignore[arg-type]


MakeLog = Callable[..., QuestionStore]


@pytest.fixture(params=["sqlite", "postgres"])
def make_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeLog]:
    """Opens question logs on one backend: the same SQLite file, or the same fresh database."""
    url = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    made: list[QuestionStore] = []

    def make(retention_days: int = 30) -> QuestionStore:
        log: QuestionStore
        if url is not None:
            log = PgQuestionLog(url, retention_days=retention_days)
        else:
            log = QuestionLog(tmp_path / "questions.sqlite3", retention_days=retention_days)
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()


@pytest.fixture
def store(make_log: MakeLog) -> QuestionStore:
    return make_log()


def count(store: QuestionStore, table: str) -> int:
    return int(
        store._run("read", lambda conn: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    )


# -- recording and reading -----------------------------------------------------------------------
def test_a_question_is_stored_with_its_citations_and_read_back(store: QuestionStore) -> None:
    store.record(entry())
    store.record(entry("How do I bake bread?", outcome="refused", confidence=0.1, cited=(),
                       guild_id=7, message_id=None, asked_at=NOW + 1))  # fmt: skip
    rows = store.since(NOW - DAY)
    assert [r.question for r in rows] == ["When did the Hanoi summit break down?",
                                          "How do I bake bread?"]  # fmt: skip
    first, second = rows
    assert first.outcome == "answered" and first.confidence == pytest.approx(0.9)
    assert first.cited == (Cited("a.txt", "a.txt › Timing"), Cited("b.txt", "b.txt"))
    assert (first.guild_id, first.channel_kind, first.via, first.message_id) == (
        42, "text", "slash", 1001)  # fmt: skip
    assert second.outcome == "refused" and second.cited == () and second.message_id is None
    assert [r.question for r in store.since(NOW - DAY, guild_id=7)] == ["How do I bake bread?"]
    assert store.since(NOW + 2) == []


# -- retention -----------------------------------------------------------------------------------
def test_retention_deletes_older_questions_and_their_citations(store: QuestionStore) -> None:
    for age_days in (0, 29, 31, 400):
        store.record(entry(f"asked {age_days} days ago", asked_at=NOW - age_days * DAY))
    assert store.purge(now=NOW) == 2
    assert [r.question for r in store.since(0)] == ["asked 29 days ago", "asked 0 days ago"]
    assert count(store, "citations") == 4  # 2 questions × 2
    assert store.purge(now=NOW) == 0


async def test_the_recorder_applies_retention_on_start_and_then_periodically(
    make_log: MakeLog,
) -> None:
    store = make_log(retention_days=1)
    store.record(entry("old", asked_at=time.time() - 3 * DAY))
    recorder = QuestionRecorder(store, purge_every=0.05)
    recorder.start()
    try:
        deadline = time.monotonic() + 5
        while store.since(0) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert store.since(0) == []  # deleted on start
        store.record(entry("old again", asked_at=time.time() - 3 * DAY))
        while store.since(0) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert store.since(0) == []  # and again by the periodic run
    finally:
        await recorder.aclose()


def test_retention_setting_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKDOCS_QUESTION_LOG_DAYS", "0")
    with pytest.raises(ValueError, match="question_log_days"):
        Settings(_env_file=None)
    monkeypatch.setenv("ASKDOCS_QUESTION_LOG_DAYS", "7")
    monkeypatch.setenv("ASKDOCS_QUESTION_LOG", "true")
    settings = Settings(_env_file=None)
    recorder = QuestionRecorder.from_settings(settings)
    assert recorder.enabled and recorder.store is not None
    assert recorder.store.retention_days == 7
    assert recorder.store.path == settings.feedback_path.parent / "questions.sqlite3"


def test_the_log_is_off_by_default() -> None:
    recorder = QuestionRecorder.from_settings(Settings(_env_file=None))
    assert not recorder.enabled
    recorder.record(entry())  # a no-op
    assert recorder.purge() is None


# -- hashing -------------------------------------------------------------------------------------
def test_user_ids_are_stored_only_as_salted_hashes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = QuestionLog(tmp_path / "questions.sqlite3", retention_days=30)
    with caplog.at_level(logging.DEBUG):
        store.record(entry())
        store.record(entry(asked_at=NOW + 1))
    salt = store.salt_path.read_bytes()
    assert len(salt) == ql.SALT_BYTES
    assert stat.S_IMODE(store.salt_path.stat().st_mode) == 0o600
    first, second = store.since(0)
    assert first.user_hash == second.user_hash == hash_user(USER, salt)
    assert first.user_hash != hash_user(USER, b"another salt" * 3)
    for path in tmp_path.iterdir():  # the id appears in no file, in no form
        data = path.read_bytes()
        assert str(USER).encode() not in data and USER.to_bytes(8, "big") not in data
        assert USER.to_bytes(8, "little") not in data
    assert salt.hex() not in caplog.text and repr(salt) not in caplog.text
    store.close()


def test_postgresql_keeps_one_salt_per_database_and_no_user_id(
    pg_database: str, pg_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    one = PgQuestionLog(pg_database, retention_days=30)
    two = PgQuestionLog(pg_database, retention_days=30)  # another bot process, same database
    with caplog.at_level(logging.DEBUG):
        one.record(entry())
        two.record(entry(asked_at=NOW + 1))
    first, second = one.since(0)
    assert first.user_hash == second.user_hash  # every process hashes a user alike
    with psycopg.connect(pg_database) as conn:
        (salt_hex,) = conn.execute("SELECT salt FROM askdocs_salt").fetchone()
        dump = repr(conn.execute("SELECT * FROM questions").fetchall())
    assert first.user_hash == hash_user(USER, bytes.fromhex(salt_hex))
    assert str(USER) not in dump and salt_hex not in caplog.text
    other = PgQuestionLog(pg_server.create_database(), retention_days=30)
    other.record(entry())
    assert other.since(0)[0].user_hash != first.user_hash  # another database, another salt
    for log in (one, two, other):
        log.close()


def test_the_salt_is_made_once_and_kept(tmp_path: Path) -> None:
    one = QuestionLog(tmp_path / "q.sqlite3", retention_days=30)
    one.record(entry())
    one.close()
    salt = one.salt_path.read_bytes()
    two = QuestionLog(tmp_path / "q.sqlite3", retention_days=30)
    two.record(entry(asked_at=NOW + 1))
    assert two.salt_path.read_bytes() == salt
    assert len({r.user_hash for r in two.since(0)}) == 1  # same user, same hash after restart
    two.close()
    other = QuestionLog(tmp_path / "other" / "q.sqlite3", retention_days=30)
    other.record(entry())
    assert other.since(0)[0].user_hash != two.since(0)[0].user_hash  # another log, another salt
    other.close()


def test_concurrent_first_use_makes_one_salt(tmp_path: Path) -> None:
    path = tmp_path / "questions.salt"
    salts: list[bytes] = []
    threads = [threading.Thread(target=lambda: salts.append(ql.load_salt(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(salts)) == 1 and path.read_bytes() == salts[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["questions.salt"]


def test_a_damaged_salt_is_an_error_not_a_new_salt(tmp_path: Path) -> None:
    (tmp_path / "questions.salt").write_bytes(b"short")
    store = QuestionLog(tmp_path / "questions.sqlite3", retention_days=30)
    with pytest.raises(QuestionLogError, match=r"salt file .* damaged"):
        store.record(entry())


# -- schema and migration ------------------------------------------------------------------------
def make_v1(path: Path) -> None:
    """A log as the first schema left it, with one question."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(ql._VERSION_TABLE)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO askdocs_schema (component, version) VALUES ('question_log', 1)")
    conn.execute(
        "INSERT INTO questions (id, asked_at, guild_id, channel_kind, outcome, confidence, "
        "question, user_hash, message_id) VALUES ('q1', ?, 42, 'text', 'answered', 0.8, "
        "'an old question', 'h', 5)",
        (int(NOW),),
    )
    conn.execute(
        "INSERT INTO citations (question_id, passage_rank, source) VALUES ('q1', 0, 'a.txt')"
    )
    conn.close()


def test_migration_from_v1_keeps_the_rows_and_adds_the_new_columns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "questions.sqlite3"
    make_v1(path)
    store = QuestionLog(path, retention_days=30)
    with caplog.at_level(logging.INFO, logger="bot.shared.question_log"):
        assert store.schema_version() == SCHEMA_VERSION == 2
    assert "migrated to v2" in caplog.text
    store.record(entry("a new question", asked_at=NOW + 1))
    old, new = store.since(0)
    assert (old.question, old.via, old.message_id) == ("an old question", None, 5)
    assert old.cited == (Cited("a.txt", "a.txt"),)  # no citation text in v1: the file name
    assert (new.via, new.cited[0].citation) == ("slash", "a.txt › Timing")
    store.close()
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"questions_asked_at", "questions_message_id"} <= indexes
    conn.close()
    again = QuestionLog(path, retention_days=30)  # opening again migrates nothing
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.shared.question_log"):
        assert again.schema_version() == 2
    assert "migrated" not in caplog.text
    again.close()


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    QuestionLog(path, retention_days=30).open()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE askdocs_schema SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(QuestionLogError, match=r"schema v99, newer than this askdocs \(v2\)"):
        QuestionLog(path, retention_days=30).open()


SQL_TYPES = {"VARCHAR", "TEXT", "INTEGER", "BIGINT", "DOUBLE PRECISION"}
SQLITE_ONLY = re.compile(
    r"AUTOINCREMENT|INSERT OR|REPLACE INTO|ON CONFLICT|WITHOUT ROWID|PRAGMA|DATETIME|"
    r"STRFTIME|JULIANDAY|\bGLOB\b|\bIFNULL\b|\bBLOB\b|COLLATE NOCASE|RETURNING",
    re.IGNORECASE,
)


def test_the_sql_is_portable_to_postgresql() -> None:
    """Standard types only, ids made by the application, no SQLite-only syntax."""
    statements = [s for step in MIGRATIONS for s in step] + [ql._VERSION_TABLE]
    statements += [ql._INSERT_QUESTION, ql._INSERT_CITATION, ql._SELECT_QUESTIONS,
                   ql._SELECT_CITATIONS]  # fmt: skip
    for statement in statements:
        assert not SQLITE_ONLY.search(statement), statement
    column = re.compile(r"^\s+(\w+)\s+([A-Z]+(?: PRECISION)?)", re.MULTILINE)
    for statement in statements:
        for name, kind in column.findall(statement):
            if name not in {"PRIMARY", "CHECK"}:
                assert kind in SQL_TYPES, (name, kind)
    source = Path(ql.__file__).read_text(encoding="utf-8")
    assert not SQLITE_ONLY.search(source.split("def connect_sqlite")[0].split('"""', 2)[2])


# -- a corrupt or locked database ----------------------------------------------------------------
def test_a_corrupt_database_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "questions.sqlite3"
    path.write_bytes(b"this is not a database\n" * 200)
    store = QuestionLog(path, retention_days=30)
    with pytest.raises(QuestionLogError) as caught:
        store.record(entry())
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)
    assert "not a database" in str(caught.value)


def test_a_corrupt_database_is_logged_once_and_nothing_waits_for_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "questions.sqlite3"
    path.write_bytes(b"this is not a database\n" * 200)
    recorder = QuestionRecorder(QuestionLog(path, retention_days=30))
    with caplog.at_level(logging.DEBUG, logger="bot"):
        for n in range(5):
            recorder.record(entry(f"question {n}"))
        recorder.flush()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "still answered but not logged" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    path.unlink()  # the operator removes the broken file: logging resumes, and says so
    with caplog.at_level(logging.INFO, logger="bot"):
        recorder.record(entry("after the repair"))
        recorder.flush()
    assert "writable again" in caplog.text
    assert [r.question for r in recorder.store.since(0)] == ["after the repair"]
    recorder.close()


def test_a_locked_database_delays_no_one_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "questions.sqlite3"
    store = QuestionLog(path, retention_days=30, busy_timeout=0.1)
    store.open()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    recorder = QuestionRecorder(store)
    with caplog.at_level(logging.WARNING, logger="bot"):
        started = time.perf_counter()
        for n in range(3):
            recorder.record(entry(f"question {n}"))
        assert time.perf_counter() - started < 0.05  # queued: the caller never waits
        recorder.flush()
    assert len(caplog.records) == 1 and "locked" in caplog.records[0].getMessage()
    locker.execute("ROLLBACK")
    locker.close()
    recorder.record(entry("after the lock"))
    recorder.flush()
    assert [r.question for r in store.since(0)] == ["after the lock"]
    recorder.close()


def test_a_stuck_log_drops_writes_beyond_its_queue(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    class Stuck(QuestionLog):
        def record(self, entry: QuestionEntry) -> str:
            release.wait(5)
            return "x"

    recorder = QuestionRecorder(Stuck(Path("/nonexistent/q.sqlite3"), retention_days=1),
                                max_pending=3)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="bot"):
        for n in range(10):
            recorder.record(entry(f"q{n}"))
    assert len(caplog.records) == 1 and "dropping" in caplog.records[0].getMessage()
    release.set()
    recorder.close()


# -- PostgreSQL: migration, a newer schema, a server restarted under load -------------------------
def make_v1_pg(url: str) -> None:
    """A PostgreSQL log as the first schema left it, with one question."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ql._VERSION_TABLE)
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO askdocs_schema (component, version) VALUES ('question_log', 1)")
        conn.execute(
            "INSERT INTO questions (id, asked_at, guild_id, channel_kind, outcome, confidence, "
            "question, user_hash, message_id) VALUES ('q1', %s, 42, 'text', 'answered', 0.8, "
            "'an old question', 'h', 5)",
            (int(NOW),),
        )
        conn.execute(
            "INSERT INTO citations (question_id, passage_rank, source) VALUES ('q1', 0, 'a.txt')"
        )


def test_postgresql_migration_from_v1_keeps_the_rows(
    pg_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_v1_pg(pg_database)
    store = PgQuestionLog(pg_database, retention_days=30)
    with caplog.at_level(logging.INFO, logger="bot.shared"):
        assert store.schema_version() == SCHEMA_VERSION == 2
    assert "migrated to v2" in caplog.text
    store.record(entry("a new question", asked_at=NOW + 1))
    old, new = store.since(0)
    assert (old.question, old.via, old.message_id, old.cited) == (
        "an old question", None, 5, (Cited("a.txt", "a.txt"),))  # fmt: skip
    assert (new.via, new.cited[0].citation) == ("slash", "a.txt › Timing")
    store.close()
    with psycopg.connect(pg_database) as conn:
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    assert {"questions_asked_at", "questions_message_id"} <= indexes
    again = PgQuestionLog(pg_database, retention_days=30)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.shared"):
        assert again.schema_version() == 2
    assert "migrated" not in caplog.text
    again.close()


def test_postgresql_opened_by_many_processes_at_once_migrates_once(pg_database: str) -> None:
    stores = [PgQuestionLog(pg_database, retention_days=30) for _ in range(6)]
    errors: list[BaseException] = []

    def open_one(store: QuestionStore) -> None:
        try:
            store.open()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and {s.schema_version() for s in stores} == {SCHEMA_VERSION}
    for store in stores:
        store.close()


def test_postgresql_newer_schema_is_refused_in_one_line(pg_database: str) -> None:
    PgQuestionLog(pg_database, retention_days=30).open()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE askdocs_schema SET version = 99 WHERE component = 'question_log'")
    with pytest.raises(QuestionLogError, match=r"schema v99, newer than this askdocs \(v2\)"):
        PgQuestionLog(pg_database, retention_days=30).open()


def test_report_sees_no_postgresql_log_until_one_is_made(pg_database: str) -> None:
    store = PgQuestionLog(pg_database, retention_days=30)
    assert not store.exists()
    assert not store.exists()  # looking created nothing
    store.open()
    assert store.exists()
    store.close()


def test_a_restarted_postgresql_is_logged_once_and_writing_resumes(
    pg_own_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Questions go on being recorded while the server restarts: writes that fail while it is
    down are dropped with one warning, nobody waits for them, and after the restart writing
    resumes (and says so)."""
    url = pg_own_server.create_database()
    store = PgQuestionLog(url, retention_days=30, connect_timeout=2)
    recorder = QuestionRecorder(store)
    try:
        recorder.record(entry("before"))
        recorder.flush()
        pg_own_server.restart()  # the open connection is lost: reopened without a word
        with caplog.at_level(logging.DEBUG, logger="bot"):
            recorder.record(entry("after a restart", asked_at=NOW + 1))
            recorder.flush()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        pg_own_server.stop()
        with caplog.at_level(logging.DEBUG, logger="bot"):
            started = time.perf_counter()
            for n in range(20):
                recorder.record(entry(f"while down {n}", asked_at=NOW + 2))
            assert time.perf_counter() - started < 0.05  # queued: the caller never waits
            recorder.flush()
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "still answered but not logged" in warnings[0]
        assert "\n" not in warnings[0] and "password" not in warnings[0].lower()
        pg_own_server.start()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bot"):
            recorder.record(entry("back again", asked_at=NOW + 3))
            recorder.flush()
        assert "writable again" in caplog.text
        assert [r.question for r in store.since(0)] == ["before", "after a restart", "back again"]
    finally:
        if not pg_own_server.running:
            pg_own_server.start()
        recorder.close()
