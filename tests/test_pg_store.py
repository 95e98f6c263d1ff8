"""The PostgreSQL + pgvector store against a real server: the same answers as the embedded
store, versions that every process follows, one build at a time, killed builds, a database
that goes away and comes back, and one-line errors for a bad URL or a missing extension."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
from pg import PostgresServer

from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.errors import BuildInProgressError, DatabaseError
from index.passages import MemoryStore
from index.pg_versions import build_lock, collect_garbage, publish
from index.store import FORMAT_VERSION

DATA = Path(__file__).parent / "data"
NEW_DOC = "zorblax.md"
NEW_TEXT = (
    "# The Zorblax Festival\n\nThe Zorblax festival is held every year in March in the "
    "mountain town of Quillby, where visitors float blue paper lanterns on the lake.\n"
)
NEW_QUESTION = "When is the Zorblax festival held?"


def questions(name: str) -> list[str]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line)["q"] for line in fh if line.strip()]


def pg_engine(docs: Path, index_dir: Path, url: str, embedder: Embedder) -> Engine:
    return Engine(EngineConfig(docs, index_dir, database_url=url), embedder)


def wait_for(predicate: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def versions(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (r[0], r[1])
            for r in conn.execute("SELECT name, state FROM askdocs_versions ORDER BY created_at")
        ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("corpus", "eval_set"),
    [("article", "article_eval.jsonl"), ("debian", "debian_faq_eval.jsonl")],
)
def test_the_database_gives_the_same_answers_as_the_embedded_store(
    corpus: str,
    eval_set: str,
    pg_database: str,
    embedder: Embedder,
    debian_engine: Engine,
    tmp_path: Path,
) -> None:
    """Same passages, order, scores, highlights, confidences and refusals, question by
    question, over both evaluation sets."""
    if corpus == "article":
        embedded = Engine(EngineConfig(Path("source_docs").resolve(), tmp_path / "ix"), embedder)
        embedded.open()
    else:
        embedded = debian_engine
    store = embedded.retriever.store
    assert isinstance(store, MemoryStore)
    with build_lock(pg_database) as conn:
        publish(conn, "shared", store)
    served = pg_engine(embedded.config.docs_dir, tmp_path / "cache", pg_database, embedder)
    try:
        assert served.open() is None  # served from the database, nothing built
        asked = questions(eval_set)
        assert served.answer_many(asked) == embedded.answer_many(asked)
        assert served.documents == embedded.documents
    finally:
        served.close()


def test_a_build_publishes_a_version_that_another_process_follows(
    pg_database: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    builder = pg_engine(docs_dir, tmp_path / "a", pg_database, embedder)
    reader = pg_engine(docs_dir, tmp_path / "b", pg_database, embedder)
    try:
        assert builder.open() is not None  # the first process builds and publishes
        assert reader.open() is None  # the second serves it without building
        first = reader.shared.version
        assert first == builder.shared.version
        reader.follow()
        (docs_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
        report = builder.reindex()
        assert report.added == (NEW_DOC,)
        assert wait_for(lambda: reader.shared.version == builder.shared.version != first)
        answer = reader.answer(NEW_QUESTION)
        assert not answer.abstained and answer.passages[0].source == NEW_DOC
        assert [state for _, state in versions(pg_database)] == ["retired", "ready"]
        with build_lock(pg_database) as conn:
            assert collect_garbage(conn, grace=3600) == []  # still within its grace period
            assert collect_garbage(conn, grace=0) == [first]
        assert [name for name, _ in versions(pg_database)] == [builder.shared.version]
    finally:
        builder.close()
        reader.close()


def test_one_build_at_a_time_across_processes(
    pg_database: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    engine = pg_engine(docs_dir, tmp_path / "ix", pg_database, embedder)
    try:
        engine.open()
        with build_lock(pg_database), pytest.raises(BuildInProgressError, match="another"):
            engine.reindex()
        engine.reindex()  # the lock ended with its connection
    finally:
        engine.close()


KILLED_BUILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import index.pg_versions as versions
    from index.engine import Engine, EngineConfig

    real = versions._write_terms

    def stall(*args, **kwargs):
        real(*args, **kwargs)
        print("written", flush=True)
        time.sleep(120)  # killed here: the passages are written, nothing is current yet

    versions._write_terms = stall
    docs, index_dir, url = sys.argv[1:4]
    Engine(EngineConfig(Path(docs), Path(index_dir), database_url=url)).reindex()
    """
)


@pytest.mark.slow
def test_a_process_killed_mid_build_leaves_no_partial_version(
    pg_database: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    engine = pg_engine(docs_dir, tmp_path / "ix", pg_database, embedder)
    try:
        engine.open()
        serving = engine.shared.version
        (docs_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
        env = os.environ | {"HF_HUB_OFFLINE": "1"}
        args = [sys.executable, "-c", KILLED_BUILD, str(docs_dir), str(tmp_path / "killed")]
        with subprocess.Popen(
            [*args, pg_database], stdout=subprocess.PIPE, text=True, env=env
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "written"
            child.send_signal(signal.SIGKILL)
        assert "building" in {state for _, state in versions(pg_database)}
        fresh = pg_engine(docs_dir, tmp_path / "other", pg_database, embedder)
        try:
            fresh.open()
            assert fresh.shared.version == serving  # the half-written version is not visible
            assert NEW_DOC not in {d.source for d in fresh.documents}
        finally:
            fresh.close()
        engine.reindex()  # the lock died with the killed process; its leftovers are dropped
        assert [state for _, state in versions(pg_database)] == ["retired", "ready"]
        assert NEW_DOC in {d.source for d in engine.documents}
    finally:
        engine.close()


def test_a_version_published_in_an_older_format_is_not_followed(
    pg_database: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    """Mid-upgrade, an older askdocs may publish a version this one cannot read (its rows
    lack token vectors): the follower keeps serving what it has and says why."""
    engine = pg_engine(docs_dir, tmp_path / "ix", pg_database, embedder)
    try:
        engine.open()
        serving = engine.shared.version
        before = engine.answer("Where is the meeting held?")
        assert serving is not None and before.evidence is not None
        manifest = engine.shared.store.manifest  # type: ignore[attr-defined]
        older = dataclasses.replace(manifest, format_version=FORMAT_VERSION - 1)
        engine.shared.switch("v-published-by-an-older-askdocs", older)
        assert engine.shared.version == serving
        assert engine.answer("Where is the meeting held?") == before
    finally:
        engine.close()


def test_questions_fail_clearly_while_the_database_is_down_then_recover(
    pg_own_server: PostgresServer, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    url = pg_own_server.create_database()
    engine = pg_engine(docs_dir, tmp_path / "ix", url, embedder)
    try:
        engine.open()
        before = engine.answer("Where is the meeting held?")
        assert not before.abstained
        pg_own_server.stop()
        with pytest.raises(DatabaseError) as failed:
            engine.answer("Where is the meeting held?")
        assert "\n" not in str(failed.value) and "password" not in str(failed.value)
        pg_own_server.start()
        assert engine.answer("Where is the meeting held?") == before
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("make_url", "message"),
    [
        (lambda server: "postgresql://nobody:secret@127.0.0.1:1/none", "cannot connect"),
        (lambda server: server.create_database(vector=False), "vector extension"),
    ],
    ids=["unreachable", "no-vector"],
)
def test_a_bad_database_is_a_one_line_error(
    make_url: object,
    message: str,
    pg_server: PostgresServer,
    embedder: Embedder,
    docs_dir: Path,
    tmp_path: Path,
) -> None:
    url = make_url(pg_server)  # type: ignore[operator]
    engine = pg_engine(docs_dir, tmp_path / "ix", url, embedder)
    with pytest.raises(DatabaseError, match=message) as failed:
        engine.open()
    text = str(failed.value)
    assert "\n" not in text and "secret" not in text and "askdocs-test-password" not in text


def test_a_reindex_that_changes_nothing_publishes_nothing(
    pg_database: str, embedder: Embedder, docs_dir: Path, tmp_path: Path
) -> None:
    """Every process keeps its version (and its answer cache) when nothing changed, even
    when the builder's own cache is empty (a process on another machine)."""
    first = pg_engine(docs_dir, tmp_path / "a", pg_database, embedder)
    other = pg_engine(docs_dir, tmp_path / "b", pg_database, embedder)
    try:
        first.open()
        other.open()
        report = other.reindex()
        assert "nothing published" in " ".join(report.notes)
        assert len(versions(pg_database)) == 1
        assert other.shared.version == first.shared.version
    finally:
        first.close()
        other.close()
