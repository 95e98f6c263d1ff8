"""PostgreSQL: the test server itself, connecting with one-line password-free errors (bad URL,
unreachable server, refused login, missing vector extension), the setting, and reconnecting
after the server restarts."""

from __future__ import annotations

import logging

import psycopg
import pytest
from pg import PASSWORD, PostgresServer

from bot.shared.database import Database, DatabaseError, check_database
from bot.shared.settings import Settings
from index import pg


def test_the_test_server_has_pgvector_and_listens_only_on_localhost(
    pg_server: PostgresServer, pg_url: str
) -> None:
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector").fetchone() == (1.0,)
        assert (
            conn.execute("SELECT current_setting('server_version_num')::int").fetchone()[0]
            >= 160000
        )
    assert pg_server.url.startswith("postgresql://postgres:")


def test_pg_database_is_fresh_for_each_test(pg_database: str) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('askdocs_schema')").fetchone() == (None,)
        conn.execute("CREATE TABLE scratch (x INTEGER)")


def test_check_database_accepts_a_database_with_vector(pg_database: str) -> None:
    check_database(pg_database)
    with pg.connect(pg_database) as conn:
        pg.require_vector(conn)


def test_missing_vector_extension_is_one_line(pg_server: PostgresServer) -> None:
    url = pg_server.create_database(vector=False)
    with pytest.raises(DatabaseError) as caught:
        check_database(url)
    message = str(caught.value)
    assert "lacks the vector extension" in message and "CREATE EXTENSION vector" in message
    assert "\n" not in message and PASSWORD not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root:hunter2@127.0.0.1/askdocs", "not a postgresql:// URL"),
        ("sqlite:///tmp/x.db", "not a postgresql:// URL"),
        ("postgresql://u:hunter2@[bad/db", "cannot connect"),
        ("postgresql://u:hunter2@127.0.0.1:5432/db?nonsense=1", "cannot connect"),
        (
            "postgresql://u:hunter2@127.0.0.1:1/db",
            "cannot connect to postgresql://u@127.0.0.1:1/db",
        ),
    ],
)
def test_bad_urls_and_unreachable_servers_are_one_line_without_the_password(
    url: str, expected: str
) -> None:
    with pytest.raises(DatabaseError) as caught:
        check_database(url)
    message = str(caught.value)
    assert expected in message and "\n" not in message and "hunter2" not in message


def test_a_wrong_password_is_refused_in_one_line_without_it(pg_server: PostgresServer) -> None:
    url = pg_server.url_for("postgres", password="not-the-password")
    with pytest.raises(DatabaseError) as caught:
        check_database(url)
    message = str(caught.value)
    assert "password authentication failed" in message
    assert "not-the-password" not in message and "\n" not in message


def test_redact_hides_passwords() -> None:
    assert pg.redact("postgresql://me:s3cret@h/db") == "postgresql://me:***@h/db"
    assert pg.redact("host=h password=s3cret dbname=x") == "host=h password=*** dbname=x"
    assert pg.describe("postgresql://me:s3cret@h:5433/db?sslmode=require") == (
        "postgresql://me@h:5433/db"
    )


# -- the setting ---------------------------------------------------------------------------------
def test_database_url_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).database_url is None
    monkeypatch.setenv("ASKDOCS_DATABASE_URL", "postgresql://askdocs:hunter2@db:5432/askdocs")
    settings = Settings(_env_file=None)
    assert settings.database_url is not None
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.database_url)
    assert settings.database_url.get_secret_value().endswith("@db:5432/askdocs")


def test_a_database_url_that_is_not_postgresql_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASKDOCS_DATABASE_URL", "mysql://askdocs:hunter2@db/askdocs")
    with pytest.raises(ValueError, match="database_url") as caught:
        Settings(_env_file=None)
    assert "hunter2" not in str(caught.value) and "must be a postgresql:// URL" in str(caught.value)


# -- a restarting server -------------------------------------------------------------------------
def test_a_connection_lost_to_a_restart_is_reopened_once(
    pg_own_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = pg_own_server.create_database()
    db = Database(url, name="test store")
    assert db.run("read", lambda c: c.execute("SELECT 1").fetchone()) == (1,)
    pg_own_server.restart()
    with caplog.at_level(logging.WARNING):
        assert db.run("read", lambda c: c.execute("SELECT 2").fetchone()) == (2,)
    assert not caplog.records
    pg_own_server.stop()
    try:
        with pytest.raises(DatabaseError) as caught:
            db.run("read", lambda c: c.execute("SELECT 3").fetchone())
        message = str(caught.value)
        assert message.startswith(
            "test store: cannot read: cannot connect to postgresql://postgres@127.0.0.1:"
        )
        assert "\n" not in message and PASSWORD not in message
    finally:
        pg_own_server.start()
    assert db.run("read", lambda c: c.execute("SELECT 4").fetchone()) == (4,)
    db.close()


# -- the command line ----------------------------------------------------------------------------
def test_run_checks_the_database_first_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_server: PostgresServer
) -> None:
    from bot.terminal.cli import main

    monkeypatch.setenv("ASKDOCS_DISCORD_TOKEN", "not-a-real-token")
    monkeypatch.setenv("ASKDOCS_DATABASE_URL", "postgresql://askdocs:hunter2@127.0.0.1:1/askdocs")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("askdocs: error: cannot connect to postgresql://askdocs@127.0.0.1:1/")
    assert err.count("\n") == 1 and "hunter2" not in err
    monkeypatch.setenv("ASKDOCS_DATABASE_URL", pg_server.create_database(vector=False))
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "lacks the vector extension" in err and PASSWORD not in err and err.count("\n") == 1


def test_feedback_and_report_commands_read_postgresql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pg_database: str
) -> None:
    from bot.shared.feedback import PgFeedbackStore
    from bot.terminal.cli import main

    monkeypatch.setenv("ASKDOCS_DATABASE_URL", pg_database)
    assert main(["feedback"]) == 0
    assert capsys.readouterr().out.startswith("No feedback recorded yet.")
    votes = PgFeedbackStore(pg_database)
    votes.record(1, "When did the Hanoi summit break down?", "a.txt", 7, 1)
    votes.close()
    assert main(["feedback"]) == 0
    assert "1 votes, 1 👍 / 0 👎" in capsys.readouterr().out
    assert main(["report"]) == 1  # no question log in this database yet
    err = capsys.readouterr().err
    assert "no question log at postgresql://postgres@127.0.0.1:" in err and PASSWORD not in err


def test_feedback_command_with_the_database_down_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.terminal.cli import main

    monkeypatch.setenv("ASKDOCS_DATABASE_URL", "postgresql://askdocs:hunter2@127.0.0.1:1/askdocs")
    assert main(["feedback"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("askdocs: error: feedback database: cannot read: cannot connect")
    assert err.count("\n") == 1 and "hunter2" not in err
