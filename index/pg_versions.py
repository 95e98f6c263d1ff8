"""Versions of knowledge bases in PostgreSQL: publish, switch, follow, clean up.

Tables: ``askdocs_versions`` (name, knowledge base, state building/ready/retired, manifest,
times) and ``askdocs_current`` (the serving version of each knowledge base). A build
writes a new version's tables (``index.pg_store``), then one transaction retires the old
version, points ``askdocs_current`` at the new one and sends ``NOTIFY askdocs_versions``:
every process that follows (:class:`VersionFollower`) switches without a restart. A
process killed mid-build leaves a ``building`` version nobody points at; the next build
drops it. Retired versions are dropped after a grace period, so a reader in another process
finishes its questions on the version it holds.

One build at a time across all processes: :func:`build_lock` holds a PostgreSQL advisory
lock for the whole build (BuildInProgressError when another process holds it).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from index.errors import BuildInProgressError, DatabaseError, IndexNotFoundError
from index.passages import MemoryStore
from index.pg import connect, describe, one_line, require_vector
from index.pg_store import postings_name, table_name
from index.store import COMPACT_DTYPE, Manifest, manifest_from_dict
from index.tables import leads

log = logging.getLogger(__name__)

CHANNEL = "askdocs_versions"
LOCK_KEY = 7_241_318_001  # advisory lock: one build at a time
SCHEMA_LOCK_KEY = 7_241_318_002
GRACE_SECONDS = 300.0
"""How long a retired version stays readable after a newer one became current."""
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
COPY_ROWS_PER_REPORT = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS askdocs_versions (
    name text PRIMARY KEY,
    kb text NOT NULL,
    state text NOT NULL CHECK (state IN ('building', 'ready', 'retired')),
    manifest jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);
CREATE TABLE IF NOT EXISTS askdocs_current (
    kb text PRIMARY KEY,
    version text NOT NULL REFERENCES askdocs_versions (name)
);
CREATE TABLE IF NOT EXISTS askdocs_documents (
    kb text NOT NULL,
    source text NOT NULL,
    data bytea,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kb, source)
);
"""


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the version tables if missing (safe when several processes start at once)."""
    require_vector(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        conn.execute(_SCHEMA)


def current(conn: psycopg.Connection[Any], kb: str) -> tuple[str, Manifest]:
    """The serving version of ``kb`` and its manifest; IndexNotFoundError if none."""
    row = conn.execute(
        "SELECT v.name, v.manifest FROM askdocs_current c JOIN askdocs_versions v "
        "ON v.name = c.version WHERE c.kb = %s",
        (kb,),
    ).fetchone()
    if row is None:
        raise IndexNotFoundError(f"no index for knowledge base {kb!r} in the database yet")
    return row[0], manifest_from_dict(row[1])


def manifest_of(conn: psycopg.Connection[Any], version: str) -> Manifest:
    row = conn.execute(
        "SELECT manifest FROM askdocs_versions WHERE name = %s", (version,)
    ).fetchone()
    if row is None:
        raise IndexNotFoundError(f"index version {version} is not in the database")
    return manifest_from_dict(row[0])


def knowledge_bases(conn: psycopg.Connection[Any]) -> list[str]:
    """Names of the knowledge bases that have a current version."""
    try:
        return [r[0] for r in conn.execute("SELECT kb FROM askdocs_current ORDER BY kb")]
    except psycopg.errors.UndefinedTable:
        return []


@contextmanager
def build_lock(url: str) -> Iterator[psycopg.Connection[Any]]:
    """Hold the cluster-wide build lock on a connection of its own (yielded for writing).
    Raises BuildInProgressError when another process holds it. The lock ends with the
    connection, so a killed builder never leaves it held."""
    conn = connect(url)
    try:
        ensure_schema(conn)
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        if row is None or not row[0]:
            raise BuildInProgressError(
                "another process is building the index; try again when it has finished"
            )
        register_vector(conn)
        yield conn
    except psycopg.Error as exc:
        raise DatabaseError(f"the database {describe(url)} failed: {one_line(exc, url)}") from None
    finally:
        conn.close()


class PassageRow(NamedTuple):
    """One passage as written to a version's table (the COPY's columns, in order)."""

    id: int
    chunk: str  # the Chunk as JSON
    embedding: np.ndarray  # float32, normalised
    heading_vector: bytes  # COMPACT_DTYPE
    sentence_vectors: bytes  # COMPACT_DTYPE, one row per sentence
    chunk_terms: list[str]
    sentence_terms: list[str]  # each sentence's terms, space-separated
    lead: bool
    lex_terms: list[str]
    lex_weights: list[float]
    token_vectors: bytes  # content-token vectors, ``TokenVectors.text_bytes``


Term = tuple[str, str, int]
"""A vocabulary row: kind (``c`` content term, ``l`` BM25 term, ``w`` content word), term,
document frequency (0 for words)."""


def publish(
    conn: psycopg.Connection[Any],
    kb: str,
    store: MemoryStore,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write ``store`` as a new version of ``kb`` and make it current in one transaction
    (call inside :func:`build_lock`). Returns the version name."""
    return publish_rows(
        conn, kb, store.data.manifest, passage_rows(store), vocabulary(store), progress=progress
    )


def publish_rows(
    conn: psycopg.Connection[Any],
    kb: str,
    manifest: Manifest,
    rows: Iterable[PassageRow],
    terms: Iterable[Term],
    *,
    progress: Callable[[int, int], None] | None = None,
    timings: dict[str, float] | None = None,
) -> str:
    """:func:`publish` from rows made elsewhere (``manifest.chunk_count`` of them, ids 0..n-1,
    streamed, never all held). ``timings``, when given, receives the seconds spent on each
    step: ``rows`` (COPY), ``terms``, ``hnsw``, ``postings``, ``analyze``, ``switch``."""
    collect_garbage(conn)
    name = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(3)
    conn.execute(
        "INSERT INTO askdocs_versions (name, kb, state, manifest) VALUES (%s, %s, 'building', %s)",
        (name, kb, json.dumps(asdict(manifest))),
    )
    steps = _Steps(timings)
    _write_tables(conn, name, manifest, rows, terms, progress=progress, steps=steps)
    with conn.transaction():
        conn.execute(
            "UPDATE askdocs_versions SET state = 'retired', retired_at = now() "
            "WHERE name = (SELECT version FROM askdocs_current WHERE kb = %s)",
            (kb,),
        )
        conn.execute(
            "INSERT INTO askdocs_current (kb, version) VALUES (%s, %s) "
            "ON CONFLICT (kb) DO UPDATE SET version = EXCLUDED.version",
            (kb, name),
        )
        conn.execute("UPDATE askdocs_versions SET state = 'ready' WHERE name = %s", (name,))
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps({"kb": kb, "v": name})))
    steps.done("switch")
    log.info("published version %s of %r (%d passages)", name, kb, manifest.chunk_count)
    return name


class _Steps:
    """Seconds per step, into ``timings`` when one was given."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.began = time.perf_counter()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[step] = now - self.began
        self.began = now


def passage_rows(store: MemoryStore) -> Iterator[PassageRow]:
    """The rows of ``store``'s passages, in id order."""
    data = store.data
    lexical = store.lexical.passage_weights()
    lead = leads(data.chunks)
    offsets = data.sentence_offsets
    for i, chunk in enumerate(data.chunks):
        lex_terms, lex_weights = lexical[i]
        yield PassageRow(
            i,
            json.dumps(asdict(chunk), ensure_ascii=False),
            np.asarray(data.chunk_vectors[i], dtype=np.float32),
            np.asarray(data.heading_vectors[i], dtype=COMPACT_DTYPE).tobytes(),
            np.asarray(
                data.sentence_vectors[offsets[i] : offsets[i + 1]], dtype=COMPACT_DTYPE
            ).tobytes(),
            sorted(store.chunk_terms(i)),
            [" ".join(sorted(t)) for t in store.sentence_terms(i)],
            bool(lead[i]),
            list(lex_terms),
            lex_weights.tolist(),
            data.tokens.text_bytes(i),
        )


def vocabulary(store: MemoryStore) -> list[Term]:
    """``store``'s vocabulary rows (see :data:`Term`)."""
    rows: list[Term] = [("c", t, n) for t, n in store.terms.df.items()]
    rows += [("l", t, n) for t, n in store.lexical.df.items()]
    rows += [("w", w, 0) for w in store.terms.words]
    return rows


def record_document(
    conn: psycopg.Connection[Any], kb: str, source: str, data: bytes | None
) -> None:
    """Remember a document added (``data``) or removed (None) through a front end, so that
    every process's next build of ``kb`` has it (or drops it), whatever its own folder holds."""
    conn.execute(
        "INSERT INTO askdocs_documents (kb, source, data) VALUES (%s, %s, %s) "
        "ON CONFLICT (kb, source) DO UPDATE SET data = EXCLUDED.data, updated_at = now()",
        (kb, source, data),
    )


def sync_documents(conn: psycopg.Connection[Any], kb: str, folder: Path) -> list[str]:
    """Bring ``folder`` in line with the documents recorded for ``kb``: write the added ones
    whose bytes differ (atomically), delete the removed ones. Returns the sources changed."""
    changed = []
    for source, data in conn.execute(
        "SELECT source, data FROM askdocs_documents WHERE kb = %s ORDER BY source", (kb,)
    ):
        path = folder / source
        if data is None:
            if path.exists():
                path.unlink()
                changed.append(source)
            continue
        if path.is_file() and path.read_bytes() == bytes(data):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(bytes(data))
        os.replace(tmp, path)
        changed.append(source)
    if changed:
        log.info("documents of %r brought up to date from the database: %s", kb, changed)
    return changed


def collect_garbage(conn: psycopg.Connection[Any], grace: float = GRACE_SECONDS) -> list[str]:
    """Drop versions left ``building`` by a killed build and versions retired more than
    ``grace`` seconds ago (call with the build lock held). Returns the dropped names."""
    rows = conn.execute(
        "SELECT name FROM askdocs_versions WHERE state = 'building' OR (state = 'retired' "
        "AND retired_at < now() - make_interval(secs => %s))",
        (grace,),
    ).fetchall()
    for (name,) in rows:
        with conn.transaction():
            for table in (table_name(name) + "_terms", postings_name(name), table_name(name)):
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
            conn.execute("DELETE FROM askdocs_versions WHERE name = %s", (name,))
        log.info("dropped old index version %s", name)
    return [r[0] for r in rows]


def _write_tables(
    conn: psycopg.Connection[Any],
    name: str,
    manifest: Manifest,
    rows: Iterable[PassageRow],
    terms: Iterable[Term],
    *,
    progress: Callable[[int, int], None] | None,
    steps: _Steps,
) -> None:
    table = sql.Identifier(table_name(name))
    terms_table = sql.Identifier(table_name(name) + "_terms")
    conn.execute(
        sql.SQL(
            """CREATE TABLE {} (
            id integer PRIMARY KEY, chunk jsonb NOT NULL, embedding vector({}) NOT NULL,
            heading_vector bytea NOT NULL, sentence_vectors bytea NOT NULL,
            chunk_terms text[] NOT NULL, sentence_terms text[] NOT NULL, lead boolean NOT NULL,
            lex_terms text[] NOT NULL, lex_weights real[] NOT NULL,
            token_vectors bytea NOT NULL)"""
        ).format(table, sql.Literal(manifest.dimension))
    )
    total = manifest.chunk_count
    columns = sql.SQL(
        "COPY {} (id, chunk, embedding, heading_vector, sentence_vectors, chunk_terms, "
        "sentence_terms, lead, lex_terms, lex_weights, token_vectors) FROM STDIN"
    ).format(table)
    with conn.cursor() as cur, cur.copy(columns) as copy:
        for i, row in enumerate(rows):
            copy.write_row(row)
            if progress and (i + 1) % COPY_ROWS_PER_REPORT == 0:
                progress(i + 1, total)
    steps.done("rows")
    _write_terms(conn, terms_table, terms)
    steps.done("terms")
    conn.execute(
        sql.SQL(
            "CREATE INDEX ON {} USING hnsw (embedding vector_cosine_ops) WITH (m = {}, "
            "ef_construction = {})"
        ).format(table, sql.Literal(HNSW_M), sql.Literal(HNSW_EF_CONSTRUCTION))
    )
    steps.done("hnsw")
    _write_postings(conn, name)
    steps.done("postings")
    conn.execute(sql.SQL("ANALYZE {}").format(table))
    steps.done("analyze")
    if progress:
        progress(total, total)


def _write_postings(conn: psycopg.Connection[Any], name: str) -> None:
    """The keyword postings, one row per (term, passage) with its BM25 weight, indexed by
    term and weight: a question reads only the heaviest postings of its terms (see
    ``index.pg_store``), where scoring every passage that holds a common word took seconds
    at a million passages."""
    postings = sql.Identifier(postings_name(name))
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} AS SELECT t.term, t.w, p.id FROM {} AS p "
            "CROSS JOIN LATERAL unnest(p.lex_terms, p.lex_weights) AS t(term, w)"
        ).format(postings, sql.Identifier(table_name(name)))
    )
    conn.execute(sql.SQL("CREATE INDEX ON {} (term, w DESC, id)").format(postings))
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(postings))  # index-only scans


def _write_terms(
    conn: psycopg.Connection[Any], table: sql.Identifier, terms: Iterable[Term]
) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (kind char(1), term text, df integer, PRIMARY KEY (kind, term))"
        ).format(table)
    )
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN").format(table)) as copy:
        for row in terms:
            copy.write_row(row)


class VersionFollower:
    """Calls ``on_change(kb, version)`` whenever a version becomes current, from a thread
    that LISTENs on its own connection and reconnects (with a check of what is current,
    since a notice sent while disconnected is lost) until :meth:`stop`. A switch that
    fails (``on_change`` raised) is tried again every second until it succeeds or a newer
    version replaces it. An outage is logged once, and its end once."""

    def __init__(self, url: str, on_change: Callable[[str, str], None]) -> None:
        self.url = url
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="askdocs-follow", daemon=True)
        self._done: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._failing = False
        self._warned: set[tuple[str, str]] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                with connect(self.url) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self._catch_up(conn)
                    if self._failing:
                        log.info("following index versions again")
                        self._failing, delay = False, 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            payload = json.loads(note.payload)
                            self._pending[payload["kb"]] = payload["v"]
                        self._switch_pending()
            except (DatabaseError, psycopg.Error) as exc:
                if not self._failing:
                    log.warning(
                        "following index versions: %s; retrying until the database is back",
                        one_line(exc, self.url),
                    )
                    self._failing = True
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _catch_up(self, conn: psycopg.Connection[Any]) -> None:
        try:
            rows = conn.execute("SELECT kb, version FROM askdocs_current").fetchall()
        except psycopg.errors.UndefinedTable:
            return
        self._pending.update(dict(rows))
        self._switch_pending()

    def _switch_pending(self) -> None:
        for kb, version in list(self._pending.items()):
            if self._done.get(kb) != version:
                try:
                    self.on_change(kb, version)
                except Exception as exc:  # keep following; try again in a second
                    if (kb, version) not in self._warned:
                        self._warned.add((kb, version))
                        log.warning("switching %r to %s failed: %s; retrying", kb, version, exc)
                    continue
                self._done[kb] = version
            if self._pending.get(kb) == version:
                del self._pending[kb]
