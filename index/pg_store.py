"""Passages in PostgreSQL with pgvector: a reader (:class:`PgStore`) per published version.

Each version of a knowledge base is one table ``askdocs_p_<version>`` (written by
``index.pg_versions``): one row per passage with its chunk (JSON), its vector (``vector``,
HNSW index, cosine), heading and sentence vectors (float16 bytes), content terms, BM25 terms
and weights. ``askdocs_p_<version>_postings`` holds one row per (term, passage) with its
BM25 weight, indexed by term and weight. ``askdocs_p_<version>_terms`` holds the vocabulary:
document frequencies of content terms (kind ``c``) and of BM25 terms (``l``), and the
content words (``w``).

A question costs one round trip: PostgreSQL finds the nearest passages (HNSW) and the best
BM25 matches (from the heaviest postings of the question's terms, see
``POSTINGS_PER_TERM``), and returns the candidates' rows, whose BM25 scores are then
computed exactly as ``index.lexical`` does. Scoring, answer picking and
refusal then run in ``index.retriever`` as for the embedded store, so both give the same
answers for the same documents. Only the vocabulary is held in this process.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from index.errors import DatabaseError
from index.late import from_bytes
from index.lexical import Tokenizer, query_idf, score_of
from index.models import DocumentInfo
from index.passages import Candidates
from index.pg import connect, describe, one_line, require_vector
from index.store import COMPACT_DTYPE, Manifest, chunk_from_json
from index.terms import TermCounter

log = logging.getLogger(__name__)

EF_SEARCH = 100
"""HNSW candidates kept while searching (pgvector's ``hnsw.ef_search``; at least ``k``)."""
POOL_SIZE = 4
T = TypeVar("T")
Connection = psycopg.Connection[Any]


def table_name(version: str) -> str:
    return f"askdocs_p_{version}"


def postings_name(version: str) -> str:
    return f"askdocs_p_{version}_postings"


POSTINGS_PER_TERM = 1000
"""Heaviest postings read per question term when choosing keyword candidates: exact BM25
top-k while no term is in more passages than this; beyond, passages that hold a common word
only lightly may be missed by keyword search (the dense search still finds them)."""


class Pool:
    """A few connections for concurrent readers; one is borrowed per question."""

    def __init__(self, url: str, size: int = POOL_SIZE) -> None:
        self.url = url
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._slots = threading.Semaphore(size)
        self._closed = False

    def _open(self) -> Connection:
        conn = connect(self.url)
        try:
            require_vector(conn)
            register_vector(conn)
        except BaseException:
            conn.close()
            raise
        conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(EF_SEARCH)))
        return conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection; DatabaseError (one line) when the database cannot answer. A
        connection that failed is dropped, so the next use reconnects."""
        with self._slots:
            conn, _ = self._borrow()
            with self._holding(conn):
                yield conn

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)``; when a kept connection turns out to be dead (the server
        restarted since it was last used), once more on a new one."""
        with self._slots:
            conn, kept = self._borrow()
            try:
                with self._holding(conn):
                    return work(conn)
            except DatabaseError:
                if not kept:
                    raise
            self._drain()  # the others are as dead as this one
            log.info("reconnecting to %s", describe(self.url))
            conn, _ = self._borrow()
            with self._holding(conn):
                return work(conn)

    def _borrow(self) -> tuple[Connection, bool]:
        """An idle connection (True: kept from earlier use), or a new one."""
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            return self._open(), False

    @contextmanager
    def _holding(self, conn: Connection) -> Iterator[None]:
        """Give ``conn`` back when the block succeeds; close it when it fails (a psycopg
        error becomes a one-line DatabaseError)."""
        try:
            yield
        except psycopg.Error as exc:
            conn.close()
            raise self._failed(exc) from None
        except BaseException:
            conn.close()
            raise
        self._give_back(conn)

    def _give_back(self, conn: Connection) -> None:
        if self._closed or conn.closed:
            conn.close()
        else:
            self._idle.put(conn)

    def _failed(self, exc: psycopg.Error) -> DatabaseError:
        return DatabaseError(f"the database {describe(self.url)} failed: {one_line(exc, self.url)}")

    def _drain(self) -> None:
        """Close the idle connections (after a failure they may all be dead)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def close(self) -> None:
        self._closed = True
        self._drain()


class PgStore:
    """One published version of a knowledge base, read from PostgreSQL."""

    def __init__(self, pool: Pool, version: str, manifest: Manifest) -> None:
        self.pool = pool
        self.version = version
        self.manifest = manifest
        self._tokenize = Tokenizer()
        self._table = sql.Identifier(table_name(version))
        self._postings = sql.Identifier(postings_name(version))
        with pool.connection() as conn:
            rows = conn.execute(
                sql.SQL("SELECT kind, term, df FROM {}").format(
                    sql.Identifier(table_name(version) + "_terms")
                )
            ).fetchall()
        content = {t: df for k, t, df in rows if k == "c"}
        self._lexical_df = {t: df for k, t, df in rows if k == "l"}
        self._terms = TermCounter.from_stats(
            manifest.chunk_count, content, frozenset(t for k, t, _ in rows if k == "w")
        )

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.manifest.documents

    @property
    def size(self) -> int:
        return self.manifest.chunk_count

    @property
    def terms(self) -> TermCounter:
        return self._terms

    def candidates(self, query: str, qvec: np.ndarray, k: int) -> Candidates:
        statement, params, query_idf = self.statement(query, qvec, k)
        # binary results: vectors, arrays and bytes arrive without text parsing (half the time)
        rows = self.pool.run(lambda conn: conn.execute(statement, params, binary=True).fetchall())
        return self._candidates(rows, query_idf)

    def token_vectors(self, ids: Sequence[int]) -> list[np.ndarray]:
        if not len(ids):
            return []
        statement = sql.SQL("SELECT id, token_vectors FROM {} WHERE id = ANY(%s)").format(
            self._table
        )
        wanted = [int(i) for i in ids]
        rows = self.pool.run(lambda conn: conn.execute(statement, [wanted], binary=True).fetchall())
        found = {int(r[0]): from_bytes(bytes(r[1]), self.manifest.dimension) for r in rows}
        if missing := sorted(set(wanted) - set(found)):
            raise DatabaseError(f"index version {self.version} has no passage {missing[0]}")
        return [found[i] for i in wanted]

    def statement(
        self, query: str, qvec: np.ndarray, k: int
    ) -> tuple[sql.Composed, dict[str, Any], list[tuple[str, float]]]:
        """The one statement that finds a question's candidates, its parameters, and the
        question's BM25 terms with their idf. Its ``lexical`` part alone is
        ``keyword_statement()`` with the same parameters."""
        terms = query_idf(self._tokenize(query), self.size, self._lexical_df)
        params: dict[str, Any] = {"q": np.asarray(qvec, dtype=np.float32), "k": k}
        lexical: sql.Composable = sql.SQL("SELECT NULL::integer AS id WHERE false")
        if terms:
            params |= {
                "terms": [t for t, _ in terms],
                "idfs": [w for _, w in terms],
                "per_term": POSTINGS_PER_TERM,
            }
            lexical = self.keyword_statement()
        return _CANDIDATES.format(table=self._table, lexical=lexical), params, terms

    def keyword_statement(self) -> sql.Composed:
        return _LEXICAL.format(self._postings)

    def _candidates(self, rows: list[Any], query_idf: list[tuple[str, float]]) -> Candidates:
        dim = self.manifest.dimension
        chunks = tuple(chunk_from_json(r[1]) for r in rows)
        return Candidates(
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            chunks=chunks,
            chunk_vectors=np.array([r[2].to_numpy() for r in rows], dtype=np.float32).reshape(
                -1, dim
            ),
            heading_vectors=np.array(
                [np.frombuffer(r[3], dtype=COMPACT_DTYPE) for r in rows]
            ).reshape(-1, dim),
            sentence_vectors=tuple(
                np.frombuffer(r[4], dtype=COMPACT_DTYPE).reshape(-1, dim) for r in rows
            ),
            chunk_terms=tuple(frozenset(r[5]) for r in rows),
            sentence_terms=tuple(tuple(frozenset(s.split()) for s in r[6]) for r in rows),
            lead=np.array([r[7] for r in rows], dtype=np.float32),
            lexical=np.array(
                [score_of(query_idf, r[8], np.array(r[9], dtype=np.float32)) for r in rows],
                dtype=np.float32,
            ),
        )


_LEXICAL = sql.SQL(
    """SELECT p.id FROM unnest(%(terms)s::text[], %(idfs)s::real[]) AS q(term, idf)
    CROSS JOIN LATERAL (
        SELECT id, w FROM {} WHERE term = q.term ORDER BY w DESC, id LIMIT %(per_term)s
    ) AS p
    GROUP BY p.id ORDER BY sum(q.idf * p.w) DESC, p.id LIMIT %(k)s"""
)
_CANDIDATES = sql.SQL(
    """WITH dense AS (SELECT id FROM {table} ORDER BY embedding <=> %(q)s LIMIT %(k)s),
    lexical AS ({lexical})
    SELECT id, chunk, embedding, heading_vector, sentence_vectors, chunk_terms,
           sentence_terms, lead, lex_terms, lex_weights
    FROM {table} WHERE id IN (SELECT id FROM dense UNION SELECT id FROM lexical)
    ORDER BY id"""
)
