"""PostgreSQL + pgvector at scale: publish, index, query, recall and memory at 1M passages.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_pg.py [--passages 1000000] [--base-mb 8]

BASE (measured, real): Debian's documentation (bench/bench_scale.py's corpus: the Debian FAQ,
Debian Reference, Debian Administrator's Handbook, then its word-swapped variants) up to
``--base-mb`` of HTML is indexed by the real engine (``index.engine.Engine``, the bundled
model): about 1,000 real passages with real vectors per MB (7,743 at the default 8 MB; a
build takes ~25 passages/s on 2 idle cores). The build is cached in the test cache folder
(``pg-bench/``) and reused; figures are saved there too (``results-<N>.json``).

SCALE-UP (synthetic): embedding 1M passages on 2 cores would take hours, so the base is
copied until there are ``--passages`` rows. Copy j >= 1 of a passage has its sentences in a
shuffled order (the passage text is rebuilt from them, offsets and sentence vectors follow),
" <j>" appended to its deepest heading and to its document's name, and every vector (chunk,
heading, sentences) perturbed by gaussian noise of ``--noise`` per dimension and
re-normalised (σ = 0.025 on 384 dimensions: a copy's cosine with its original ≈ 0.9). BM25
weights and document frequencies, content terms and vocabulary are exact for that 1M-passage
corpus (computed from each base passage's token counts plus the heading's number, the way
``index.lexical`` and ``index.terms`` compute them; ``--check`` recomputes every row from
the copies' own text with ``LexicalIndex`` and ``TermCounter``, for a small ``--passages``).

The rows are written by ``index.pg_versions.publish_rows`` -- the COPY path of ``publish`` --
from a generator (no 1M-passage store in memory), into PostgreSQL 16 + pgvector 0.6.2 run by
tests/pg.py's ``PostgresServer`` with bench settings (``PG_SETTINGS``: durable, fsync on).

Measured: rows/s of the COPY; HNSW and GIN build times; in a fresh serving process
(``index.retriever.Retriever`` over ``index.pg_store.PgStore``, the real model embedding the
questions) its RSS and ``answer()`` p50/p99; the raw candidate SQL p50/p99; recall@10 of the
HNSW dense search against exact search (numpy, same float32 vectors) on the real questions
(tests/data/debian_faq_eval.jsonl + ../shared/eval/debian_faq_dev.jsonl, embedded by the
model), over all rows and over the real rows alone; the database's size on disk.

``--control`` measures HNSW recall on ``--passages`` vectors that are not clusters of copies
(each a random point between a real vector and one of its 10 nearest real neighbours, plus
σ = 0.01 noise), vectors only, same index and server settings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench_scale import fetch_packages, stream  # noqa: E402
from external import cache_dir, debian_faq_dir  # noqa: E402
from measure import pct, rss_mib  # noqa: E402

QUESTION_FILES = [
    ROOT / "tests" / "data" / "debian_faq_eval.jsonl",
    ROOT.parent / "shared" / "eval" / "debian_faq_dev.jsonl",
]


def base_index(base_mb: float) -> Path:
    """Folder holding ``docs/`` and ``index/``: the real engine's index of ``base_mb`` MB of
    the Debian documentation (built once, cached)."""
    from index.engine import Engine, EngineConfig

    pages = {f"faq-{p.name}": p.read_bytes() for p in sorted(debian_faq_dir().glob("*.html"))}
    pages |= fetch_packages(cache_dir() / "scale")
    texts = {name: raw.decode("utf-8", "replace") for name, raw in pages.items()}
    key = hashlib.sha256(
        json.dumps([base_mb, sorted((n, len(r)) for n, r in pages.items())]).encode()
    ).hexdigest()[:12]
    work = cache_dir() / "pg-bench" / f"base-{key}"
    docs = work / "docs"
    if not (work / "docs.done").exists():
        shutil.rmtree(work, ignore_errors=True)
        docs.mkdir(parents=True)
        written, goal = 0, int(base_mb * 1e6)
        for name, html in stream(texts):
            if written >= goal:
                break
            (docs / name).write_text(html, encoding="utf-8")
            written += len(html.encode())
        (work / "docs.done").write_text(str(written))
    engine = Engine(EngineConfig(docs, work / "index"))
    began = time.perf_counter()
    shown: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if time.perf_counter() - shown.get(stage, 0) > 60 or done == total:
            shown[stage] = time.perf_counter()
            print(f"  [{time.perf_counter() - began:5.0f} s] base: {stage} {done}/{total}",
                  flush=True)  # fmt: skip

    report = engine.open(refresh=True, progress=progress)
    if report is not None:
        took = time.perf_counter() - began
        count = engine.shared.store.size
        (work / "build.json").write_text(json.dumps({"seconds": took, "passages": count}))
        print(f"base index built: {count:,} passages in {took:.0f} s", flush=True)
    engine.close()
    return work


class Base:
    """The real index, and what every copy of one of its passages derives from."""

    def __init__(self, work: Path) -> None:
        from index.lexical import Tokenizer
        from index.store import read_index
        from index.tables import leads, lexical_text, sentence_texts
        from index.terms import TermCounter, content_words

        data = read_index(work / "index")
        self.data = data
        self.chunks = data.chunks
        self.size = len(data.chunks)
        self.dim = data.manifest.dimension
        self.vectors = np.asarray(data.chunk_vectors, dtype=np.float32)
        self.headings = np.asarray(data.heading_vectors, dtype=np.float32)
        self.sentences = np.asarray(data.sentence_vectors, dtype=np.float32)
        self.offsets = data.sentence_offsets
        self.has_heading = np.array([bool(c.heading) for c in self.chunks])
        self.lead = leads(self.chunks)
        tokenize = Tokenizer()
        self.tokenize = tokenize
        self.counter = TermCounter([])
        texts = [lexical_text(c) for c in self.chunks]
        self.tokens = [Counter(tokenize(t)) for t in texts]
        self.lengths = np.array([sum(c.values()) for c in self.tokens], dtype=np.float64)
        self.content = self.counter.terms_of(texts)
        self.words = frozenset(w for t in texts for w in content_words(t))
        self.sentence_terms = [
            [" ".join(sorted(t)) for t in self.counter.terms_of(sentence_texts(c))]
            for c in self.chunks
        ]
        self.chunk_dicts = [asdict(c) for c in self.chunks]
        self.token_bytes = [data.tokens.text_bytes(i) for i in range(self.size)]


class Scale:
    """Rows 0..n-1 of the scaled corpus: row r is copy r // base.size of base passage
    r % base.size (copy 0 is the real passage, untouched)."""

    def __init__(self, base: Base, n: int, noise: float) -> None:
        from index.terms import content_words

        self.base, self.n, self.noise = base, n, noise
        self.copies = -(-n // base.size)
        tokenize = base.tokenize
        # What the heading's number adds to a copy's BM25 tokens and content terms/words.
        self.suffix_tokens = [[] if j == 0 else tokenize(str(j)) for j in range(self.copies)]
        self.suffix_words = [[] if j == 0 else content_words(str(j)) for j in range(self.copies)]
        self.suffix_terms = [
            frozenset() if j == 0 else base.counter.terms_of([str(j)])[0]
            for j in range(self.copies)
        ]
        rows = [self.rows_of(j) for j in range(self.copies)]
        lengths = np.concatenate(
            [base.lengths[:m] + base.has_heading[:m] * len(self.suffix_tokens[j])
             for j, m in enumerate(rows)]
        )  # fmt: skip
        self.average_length = float(lengths.mean())
        self.lexical_df = self._df([set(c) for c in base.tokens], self.suffix_tokens, rows)
        self.content_df = self._df(base.content, [list(t) for t in self.suffix_terms], rows)
        self.words = set(base.words)
        for ws in self.suffix_words:
            self.words.update(ws)
        self.sentence_count = int(sum(base.offsets[m] for m in rows))
        self.token_count = int(sum(base.data.tokens.offsets[m] for m in rows))

    def rows_of(self, j: int) -> int:
        """Rows of copy ``j`` (the last copy may be cut short)."""
        return min(self.base.size, self.n - j * self.base.size)

    def _df(self, sets: list[Any], suffixes: list[list[str]], rows: list[int]) -> Counter[str]:
        """Document frequencies over the whole scaled corpus."""
        has = self.base.has_heading
        df: Counter[str] = Counter()
        prefix: dict[int, Counter[str]] = {}
        for m in set(rows):
            prefix[m] = Counter(t for s in sets[:m] for t in s)
        for j, m in enumerate(rows):
            for t, k in prefix[m].items():
                df[t] += k
            for t in set(suffixes[j]):  # passages of copy j that gain the term
                df[t] += sum(1 for i in range(m) if has[i] and t not in sets[i])
        return df

    def vocabulary(self) -> Iterator[tuple[str, str, int]]:
        for t, k in self.content_df.items():
            yield ("c", t, k)
        for t, k in self.lexical_df.items():
            yield ("l", t, k)
        for w in self.words:
            yield ("w", w, 0)

    def manifest(self) -> Any:
        from index.models import DocumentInfo

        base = self.base.data.manifest
        per_doc: list[Counter[str]] = []
        for j in range(self.copies):
            per_doc.append(Counter(c.source for c in self.base.chunks[: self.rows_of(j)]))
        docs = tuple(
            replace(d, source=self.source(d.source, j), chunks=per_doc[j][d.source]) if j else d
            for j in range(self.copies)
            for d in base.documents
            if per_doc[j][d.source]
        )
        assert all(isinstance(d, DocumentInfo) for d in docs)
        return replace(
            base, documents=docs, chunk_count=self.n, sentence_count=self.sentence_count,
            token_count=self.token_count, index_type="pgvector-hnsw", checksums={},
        )  # fmt: skip

    @staticmethod
    def source(name: str, j: int) -> str:
        return name if j == 0 else f"{name} {j}"

    def _noisy(self, vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = vectors + rng.standard_normal(vectors.shape, dtype=np.float32) * np.float32(
            self.noise
        )
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        zero = ~np.any(vectors, axis=1)  # no heading: stays zero
        out /= np.where(norms > 0, norms, 1)
        out[zero] = 0
        return out

    def copy_vectors(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Chunk (float32), heading and sentence vectors (float32, to be compacted) of copy
        ``j``, one row per base passage / sentence."""
        b = self.base
        m = self.rows_of(j)
        s = int(b.offsets[m])
        if j == 0:
            return b.vectors[:m], b.headings[:m], b.sentences[:s]
        rng = np.random.default_rng(1000 + j)
        return (
            self._noisy(b.vectors[:m], rng),
            self._noisy(b.headings[:m], rng),
            self._noisy(b.sentences[:s], rng),
        )

    def rows(self, keep: np.ndarray | None = None, texts: list[str] | None = None) -> Iterator[Any]:
        """Every row as a PassageRow; chunk vectors also go into ``keep`` (for exact search)
        and, for --check, each row's lexical text into ``texts``."""
        from index.chunking import HEADING_SEPARATOR
        from index.lexical import K1, B
        from index.models import Chunk
        from index.pg_versions import PassageRow
        from index.store import COMPACT_DTYPE

        b = self.base
        avg = self.average_length
        row_id = 0
        for j in range(self.copies):
            vectors, headings, sentences = self.copy_vectors(j)
            headings16 = headings.astype(COMPACT_DTYPE)
            sentences16 = sentences.astype(COMPACT_DTYPE)
            if keep is not None:
                keep[row_id : row_id + len(vectors)] = vectors
            shuffle = random.Random(j)
            suffix_tokens = self.suffix_tokens[j]
            suffix_terms = self.suffix_terms[j]
            for i in range(self.rows_of(j)):
                chunk = b.chunks[i]
                lo, hi = int(b.offsets[i]), int(b.offsets[i + 1])
                order = list(range(hi - lo))
                tokens = b.tokens[i]
                terms = b.content[i]
                fields = b.chunk_dicts[i]
                if j:
                    fields = dict(fields, source=self.source(chunk.source, j))
                    if chunk.heading:
                        heading = (*chunk.heading[:-1], f"{chunk.heading[-1]} {j}")
                        fields["heading"] = heading
                        tokens = tokens + Counter(suffix_tokens)
                        terms = terms | suffix_terms
                    if len(chunk.sentences) == len(chunk.display_sentences) > 1:
                        shuffle.shuffle(order)
                        fields |= _shuffled(chunk, order)
                length = b.lengths[i] + (len(suffix_tokens) if j and chunk.heading else 0)
                norm = K1 * (1 - B + B * np.float64(length) / avg)
                lex = sorted(tokens.items())
                lex_terms = tuple(t for t, _ in lex)
                if texts is not None:
                    texts.append(HEADING_SEPARATOR.join(fields["heading"]) + "\n" + fields["text"])
                sent = sentences16[lo:hi][order]
                yield PassageRow(
                    row_id,
                    json.dumps(asdict(Chunk(**fields)), ensure_ascii=False),
                    vectors[i],
                    headings16[i].tobytes(),
                    sent.tobytes(),
                    sorted(terms),
                    [b.sentence_terms[i][k] for k in order],
                    bool(b.lead[i]),
                    list(lex_terms),
                    np.array([tf / (tf + norm) for _, tf in lex], dtype=np.float32).tolist(),
                    b.token_bytes[i],  # the original passage's, like its sentence vectors
                )
                row_id += 1


def _shuffled(chunk: Any, order: list[int]) -> dict[str, Any]:
    """Text, display and sentence offsets of ``chunk`` with its sentences in ``order``."""
    out: dict[str, Any] = {}
    for text_key, spans_key, origin in (
        ("text", "sentences", chunk.start),
        ("display", "display_sentences", 0),
    ):
        text = getattr(chunk, text_key)
        spans = getattr(chunk, spans_key)
        base = chunk.start if text_key == "text" else 0
        parts, new_spans, at = [], [], 0
        for k in order:
            s, e = spans[k]
            piece = text[s - base : e - base]
            if parts:
                parts.append(" ")
                at += 1
            parts.append(piece)
            new_spans.append((origin + at, origin + at + len(piece)))
            at += len(piece)
        out[text_key] = "".join(parts)
        out[spans_key] = tuple(new_spans)
    out["end"] = chunk.start + len(out["text"])
    return out


def check(scale: Scale) -> None:
    """Recompute what the rows carry from the copies' own text, as the embedded store would
    (LexicalIndex and TermCounter over every row): for small --passages only."""
    from index.lexical import LexicalIndex
    from index.store import chunk_from_json
    from index.tables import sentence_texts
    from index.terms import TermCounter

    texts: list[str] = []
    rows = list(scale.rows(texts=texts))
    lexical = LexicalIndex(texts)
    counter = TermCounter(texts)
    weights = lexical.passage_weights()
    bad = 0
    for row, (terms, w), content in zip(rows, weights, counter.terms_of(texts), strict=True):
        chunk = chunk_from_json(json.loads(row.chunk))
        sentences = [" ".join(sorted(t)) for t in counter.terms_of(sentence_texts(chunk))]
        same = (
            list(terms) == row.lex_terms
            and w.tolist() == row.lex_weights
            and sorted(content) == row.chunk_terms
            and sentences == row.sentence_terms
            and len(row.sentence_vectors) == 2 * scale.base.dim * len(chunk.sentences)
        )
        bad += not same
    assert dict(lexical.df) == dict(scale.lexical_df), "BM25 document frequencies differ"
    assert dict(counter.df) == dict(scale.content_df), "content-term frequencies differ"
    assert counter.words == frozenset(scale.words), "content words differ"
    assert bad == 0, f"{bad} of {len(rows)} rows differ from their text's terms and weights"
    print(f"check: all {len(rows):,} rows match LexicalIndex / TermCounter over their text")


PG_SETTINGS = {
    # durable, as a real server runs (tests/pg.py's fast settings turn these off)
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "3GB",
    "maintenance_work_mem": "4GB",  # the HNSW graph of 1M 384-d vectors (~2.5 GB) fits
    "max_parallel_maintenance_workers": "1",  # 2 cores: leader + 1 worker
    "work_mem": "64MB",
    "effective_cache_size": "12GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "max_connections": "20",
}


def watch_index_build(url: str, stop: threading.Event, began: float) -> None:
    """Print the index build's progress every minute (pg_stat_progress_create_index)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.wait(60):
            row = conn.execute(
                "SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total "
                "FROM pg_stat_progress_create_index"
            ).fetchone()
            if row:
                print(f"  [{time.perf_counter() - began:6.0f} s] index build: {row}", flush=True)


def publish(url: str, scale: Scale, keep: np.ndarray) -> dict[str, Any]:
    from index.pg_versions import build_lock, publish_rows

    timings: dict[str, float] = {}
    began = time.perf_counter()
    step = max(2000, scale.n // 20 // 2000 * 2000)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            took = time.perf_counter() - began
            print(f"  [{took:6.0f} s] {done:,} / {total:,} rows ({done / took:,.0f} rows/s)",
                  flush=True)  # fmt: skip

    stop = threading.Event()
    watcher = threading.Thread(target=watch_index_build, args=(url, stop, began), daemon=True)
    watcher.start()
    try:
        with build_lock(url) as conn:
            conn.add_notice_handler(lambda d: print(f"  PostgreSQL: {d.message_primary}"))
            version = publish_rows(
                conn, "shared", scale.manifest(), scale.rows(keep), scale.vocabulary(),
                progress=progress, timings=timings,
            )  # fmt: skip
    finally:
        stop.set()
    timings["total"] = time.perf_counter() - began
    return {"version": version, "timings": timings}


def sizes(url: str, version: str, server: Any) -> dict[str, float]:
    import psycopg

    from index.pg_store import table_name

    table = table_name(version)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        indexes = dict(
            conn.execute(
                "SELECT am.amname, pg_relation_size(i.indexrelid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
                "WHERE i.indrelid = %s::regclass",
                (table,),
            ).fetchall()
        )
        row = conn.execute(
            "SELECT pg_database_size(current_database()), pg_total_relation_size(%s), "
            "pg_table_size(%s), pg_total_relation_size(%s), pg_total_relation_size(%s)",
            (table, table, table + "_terms", table + "_postings"),
        ).fetchone()
    assert row is not None
    du = subprocess.run(["du", "-sb", server.data], capture_output=True, text=True, check=True)
    wal = subprocess.run(
        ["du", "-sb", server.data / "pg_wal"], capture_output=True, text=True, check=True
    )
    gib = 1024**3
    return {
        "database": row[0] / gib, "table_total": row[1] / gib, "heap_toast": row[2] / gib,
        "terms": row[3] / gib, "hnsw": indexes.get("hnsw", 0) / gib,
        "postings": row[4] / gib, "btree": indexes.get("btree", 0) / gib,
        "data_dir": int(du.stdout.split()[0]) / gib, "wal": int(wal.stdout.split()[0]) / gib,
    }  # fmt: skip


def questions() -> list[str]:
    seen: dict[str, None] = {}
    for path in QUESTION_FILES:
        if path.is_file():
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        seen.setdefault(json.loads(line)["q"].strip(), None)
    return list(seen)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best rows of ``vectors`` by inner product for each query (brute force)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for lo in range(0, len(vectors), 200_000):
        scores = queries @ vectors[lo : lo + 200_000].T
        top = np.argpartition(-scores, k, axis=1)[:, :k] if scores.shape[1] > k else None
        ids = top if top is not None else np.tile(np.arange(scores.shape[1]), (len(queries), 1))
        cand_s = np.concatenate([best_s, np.take_along_axis(scores, ids, 1)], axis=1)
        cand_i = np.concatenate([best_i, ids + lo], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cand_s, keep, 1)
        best_i = np.take_along_axis(cand_i, keep, 1)
    return best_i


def hnsw_index(conn: Any, table: str) -> None:
    """An HNSW cosine index on ``table``'s embedding column, built as the store builds its own."""
    from psycopg import sql

    from index.pg_versions import HNSW_EF_CONSTRUCTION, HNSW_M

    conn.execute(
        sql.SQL(
            "CREATE INDEX ON {} USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = {}, ef_construction = {})"
        ).format(sql.Identifier(table), sql.Literal(HNSW_M), sql.Literal(HNSW_EF_CONSTRUCTION))
    )


def recall(
    url: str, version: str, vectors: np.ndarray, qvecs: np.ndarray, real: int
) -> dict[str, Any]:
    """recall@k of pgvector's HNSW search against exact search (numpy over the same float32
    vectors), per hnsw.ef_search; the same over the ``real`` base rows alone, in an HNSW
    index of their own (real vectors, no copies); and a check that exact search in SQL (no
    index) agrees with numpy on a few questions."""
    from pgvector.psycopg import register_vector
    from psycopg import sql

    from index.pg import connect
    from index.pg_store import table_name

    began = time.perf_counter()
    exact = exact_top(vectors, qvecs, 30)
    out: dict[str, Any] = {"queries": len(qvecs)}
    out["exact_ms"] = 1000 * (time.perf_counter() - began) / len(qvecs)
    real_exact = exact_top(vectors[:real], qvecs, 30)
    table = sql.Identifier(table_name(version))
    knn = "SELECT id FROM {} ORDER BY embedding <=> %s LIMIT %s"
    with connect(url) as conn:
        register_vector(conn)
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET max_parallel_workers_per_gather = 0")
        statement = sql.SQL(knn).format(table)
        agree = sum(
            [r[0] for r in conn.execute(statement, (q, 10)).fetchall()] == truth[:10].tolist()
            for q, truth in zip(qvecs[:3], exact[:3], strict=True)
        )
        out["sql_exact_agrees"] = f"{agree}/3"
        conn.execute("RESET enable_indexscan")
        began = time.perf_counter()
        conn.execute(
            sql.SQL("CREATE TABLE bench_real AS SELECT id, embedding FROM {} WHERE id < {}").format(
                table, sql.Literal(real)
            )
        )
        hnsw_index(conn, "bench_real")
        out["real_hnsw_s"] = time.perf_counter() - began
        for name, target, truths in (
            ("", table, exact),
            ("real_", sql.Identifier("bench_real"), real_exact),
        ):
            statement = sql.SQL(knn).format(target)
            for ef in (40, 100, 200):
                conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(ef)))
                for k in (10, 30):
                    hits, times = 0, []
                    for q, truth in zip(qvecs, truths, strict=True):
                        t0 = time.perf_counter()
                        got = [r[0] for r in conn.execute(statement, (q, k)).fetchall()]
                        times.append(1000 * (time.perf_counter() - t0))
                        hits += len(set(got) & set(truth[:k].tolist()))
                    out[f"{name}ef{ef}_at{k}"] = hits / (k * len(qvecs))
                    out[f"{name}ef{ef}_at{k}_p50"] = pct(times, 50)
        conn.execute("DROP TABLE bench_real")
    return out


def serve(url: str, budget: float) -> None:
    """The serving process: model + PgStore (vocabulary only) + Retriever; one JSON line."""
    from index.embedding import Embedder
    from index.pg_store import PgStore, Pool
    from index.pg_versions import current
    from index.retriever import Retriever

    fig: dict[str, Any] = {"rss_start": rss_mib()}
    embedder = Embedder("all-MiniLM-L6-v2")
    embedder.encode(["warm up"], batch_size=1)
    fig["rss_model"] = rss_mib()
    pool = Pool(url)
    began = time.perf_counter()
    with pool.connection() as conn:
        version, manifest = current(conn, "shared")
    store = PgStore(pool, version, manifest)
    fig["open_s"] = time.perf_counter() - began
    fig["rss_open"] = rss_mib()
    fig["vocabulary"] = len(store._lexical_df) + len(store.terms.df) + len(store.terms.words)
    retriever = Retriever(store, embedder)
    qs = questions()
    for q in qs[:3]:  # warm up
        retriever.answer(q)
    times: list[float] = []
    deadline = time.perf_counter() + budget
    for q in qs:
        t0 = time.perf_counter()
        retriever.answer(q)
        times.append(1000 * (time.perf_counter() - t0))
        if time.perf_counter() > deadline:
            break
    fig |= {"answer_n": len(times), "answer_p50": pct(times, 50), "answer_p99": pct(times, 99)}
    fig["rss_after"] = rss_mib()
    qvecs = embedder.encode([fold(q) for q in qs], batch_size=64)
    for name in ("sql", "dense", "lexical"):
        times = []
        deadline = time.perf_counter() + budget / 3
        for q, v in zip(qs, qvecs, strict=True):
            statement, params = raw_sql(store, fold(q), v)[name]
            t0 = time.perf_counter()
            pool.run(lambda conn, s=statement, p=params: conn.execute(s, p).fetchall())
            times.append(1000 * (time.perf_counter() - t0))
            if time.perf_counter() > deadline:
                break
        fig |= {f"{name}_n": len(times), f"{name}_p50": pct(times, 50)}
        fig[f"{name}_p99"] = pct(times, 99)
    fig["rss_end"] = rss_mib()
    fig["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pool.close()
    print(json.dumps(fig))


def fold(text: str) -> str:
    from index.normalize import fold as fold_text

    return fold_text(text)


def raw_sql(store: Any, query: str, qvec: np.ndarray) -> dict[str, tuple[Any, dict[str, Any]]]:
    """The statement PgStore.candidates sends for ``query`` (``sql``), and its dense and BM25
    halves alone, each with its parameters."""
    from psycopg import sql

    statement, params, query_idf = store.statement(query, qvec, 30)
    table = store._table
    lex = store.keyword_statement() if query_idf else sql.SQL("SELECT NULL::integer WHERE false")
    dense = sql.SQL("SELECT id FROM {} ORDER BY embedding <=> %(q)s LIMIT %(k)s").format(table)
    return {
        "sql": (statement, params),
        "dense": (dense, params),
        "lexical": (lex, params),
    }


def mixtures(base: Base, n: int, noise: float = 0.01) -> np.ndarray:
    """``n`` vectors without the copies' clusters: each is normalize(w a + (1 - w) b + noise),
    ``a`` a random real passage vector, ``b`` one of its 10 nearest real neighbours, ``w``
    uniform in [0, 1] (points along the edges of the real vectors' neighbour graph)."""
    rng = np.random.default_rng(11)
    real = base.vectors
    neighbours = exact_top(real, real, 11)[:, 1:]
    out = np.empty((n, base.dim), dtype=np.float32)
    for lo in range(0, n, 100_000):
        m = min(100_000, n - lo)
        a = rng.integers(0, len(real), m)
        b = neighbours[a, rng.integers(0, 10, m)]
        w = rng.random((m, 1), dtype=np.float32)
        v = w * real[a] + (1 - w) * real[b]
        v += rng.standard_normal(v.shape, dtype=np.float32) * np.float32(noise)
        out[lo : lo + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def control(base: Base, n: int) -> dict[str, Any]:
    """HNSW recall@k on ``n`` mixture vectors (see :func:`mixtures`), same index settings and
    server settings as the store, in a fresh PostgreSQL (vectors only, binary COPY)."""
    from pg import PostgresServer
    from pgvector.psycopg import register_vector
    from psycopg import sql

    from index.embedding import Embedder
    from index.pg import connect

    vectors = mixtures(base, n)
    qs = questions()
    qvecs = Embedder("all-MiniLM-L6-v2").encode([fold(q) for q in qs], batch_size=64)
    qvecs = qvecs.astype(np.float32)
    exact = exact_top(vectors, qvecs, 30)
    out: dict[str, Any] = {"vectors": n, "queries": len(qs)}
    with PostgresServer(settings=PG_SETTINGS) as server:
        url = server.create_database("askdocs_control")
        with connect(url) as conn:
            register_vector(conn)
            conn.execute(f"CREATE TABLE mix (id integer PRIMARY KEY, embedding vector({base.dim}))")
            began = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY mix FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "vector"])
                for i, v in enumerate(vectors):
                    copy.write_row((i, v))
            out["copy_s"] = time.perf_counter() - began
            began = time.perf_counter()
            hnsw_index(conn, "mix")
            out["hnsw_s"] = time.perf_counter() - began
            for ef in (40, 100, 200):
                conn.execute(sql.SQL("SET hnsw.ef_search = {}").format(sql.Literal(ef)))
                for k in (10, 30):
                    hits, times = 0, []
                    for q, truth in zip(qvecs, exact, strict=True):
                        t0 = time.perf_counter()
                        got = conn.execute(
                            "SELECT id FROM mix ORDER BY embedding <=> %s LIMIT %s", (q, k)
                        ).fetchall()
                        times.append(1000 * (time.perf_counter() - t0))
                        hits += len({r[0] for r in got} & set(truth[:k].tolist()))
                    out[f"ef{ef}_at{k}"] = hits / (k * len(qs))
                    out[f"ef{ef}_at{k}_p50"] = pct(times, 50)
    print(f"control: {json.dumps(out)}", flush=True)
    return out


def machine() -> str:
    with open("/proc/meminfo") as fh:
        mem = next(int(line.split()[1]) for line in fh if line.startswith("MemTotal"))
    return (
        f"{os.cpu_count()} CPUs, {mem / 1024**2:.0f} GiB RAM, load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--base-mb", type=float, default=8.0, help="real HTML indexed, MB")
    parser.add_argument("--noise", type=float, default=0.025, help="σ per dimension")
    parser.add_argument("--budget", type=float, default=300, help="query seconds per figure")
    parser.add_argument("--base-only", action="store_true", help="build the base index, stop")
    parser.add_argument("--check", action="store_true", help="check the rows (small N), stop")
    parser.add_argument("--base-dir", type=Path, help="use this folder's index/ as the base")
    parser.add_argument(
        "--control", action="store_true", help="recall on --passages mixture vectors only"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.budget)
        return
    work = args.base_dir or base_index(args.base_mb)
    if args.base_only:
        return
    started = time.perf_counter()
    base = Base(work)
    built = json.loads((work / "build.json").read_text()) if (work / "build.json").exists() else {}
    scale = Scale(base, args.passages, args.noise)
    print(f"{machine()}; base: {base.size:,} real passages ({built}); scaling to "
          f"{args.passages:,} ({scale.copies} copies, noise σ={args.noise}); prepared in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    if args.check:
        check(scale)
        return
    if args.control:
        results = cache_dir() / "pg-bench" / f"control-{args.passages}.json"
        results.write_text(json.dumps(control(base, args.passages) | {"machine": machine()}))
        return
    fig: dict[str, Any] = {"passages": args.passages, "base": base.size, "built": built}
    fig |= measure(scale, args.budget)
    fig["machine"] = machine()
    fig["noise"] = args.noise
    results = cache_dir() / "pg-bench" / f"results-{args.passages}.json"
    results.write_text(json.dumps(fig, indent=1))
    print(f"figures saved in {results}")
    table(fig)


def measure(scale: Scale, budget: float) -> dict[str, Any]:
    """Publish the scaled corpus into a fresh PostgreSQL, then measure it."""
    from pg import PostgresServer

    from index.embedding import Embedder

    fig: dict[str, Any] = {}
    keep = np.empty((scale.n, scale.base.dim), dtype=np.float32)
    server = PostgresServer(settings=PG_SETTINGS)
    try:
        server.start()
        url = server.create_database("askdocs_bench")
        print(f"PostgreSQL in {server.root}; publishing", flush=True)
        fig["publish"] = published = publish(url, scale, keep)
        print(f"published: {json.dumps(published)}", flush=True)
        fig["sizes"] = sizes(url, published["version"], server)
        print(f"sizes (GiB): {json.dumps(fig['sizes'])}", flush=True)
        qs = questions()
        qvecs = Embedder("all-MiniLM-L6-v2").encode([fold(q) for q in qs], batch_size=64)
        fig["recall"] = recall(
            url, published["version"], keep, qvecs.astype(np.float32), scale.base.size
        )
        print(f"recall: {json.dumps(fig['recall'])}", flush=True)
        del keep
        out = subprocess.run(
            [sys.executable, __file__, "--serve", url, "--budget", str(budget)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode:
            raise SystemExit(f"serving process failed: {out.stderr[-2000:]}")
        fig["serve"] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"serving: {json.dumps(fig['serve'])}", flush=True)
    finally:
        server.cleanup()
    return fig


def table(fig: dict[str, Any]) -> None:
    t = fig["publish"]["timings"]
    s, r, v, z = fig["serve"], fig["recall"], fig["sizes"], fig
    n = z["passages"]
    built = z["built"]
    real = f"measured on {z['base']:,} real passages"
    base_rate = "cached (built by an earlier run)"
    if built:
        base_rate = (
            f"{built['seconds']:.0f} s, {built['passages'] / built['seconds']:.0f} passages/s"
        )
    lines = [
        ("passages", f"{n:,} ({z['base']:,} real, the rest noisy copies)", "synthetic scale-up"),
        ("base index built by the engine (real model)", base_rate, real),
        ("publish: COPY of the rows", f"{t['rows']:.0f} s = {n / t['rows']:,.0f} rows/s",
         "measured"),
        ("publish: HNSW index build (m=16, ef_construction=64)", f"{t['hnsw']:.0f} s", "measured"),
        ("publish: keyword postings table + index", f"{t.get('postings', 0):.0f} s", "measured"),
        ("publish: vocabulary + ANALYZE + switch",
         f"{t['terms']:.1f} + {t['analyze']:.1f} + {t['switch']:.2f} s", "measured"),
        ("publish in all", f"{t['total']:.0f} s", "measured"),
        ("answer() through Retriever over PgStore, p50 / p99",
         f"{s['answer_p50']:.0f} / {s['answer_p99']:.0f} ms ({s['answer_n']} questions)",
         "measured"),
        ("candidate SQL (dense + BM25, one round trip), p50 / p99",
         f"{s['sql_p50']:.1f} / {s['sql_p99']:.1f} ms ({s['sql_n']})", "measured"),
        ("  dense part alone (HNSW, LIMIT 30, ef_search 100), p50 / p99",
         f"{s['dense_p50']:.1f} / {s['dense_p99']:.1f} ms", "measured"),
        ("  BM25 part alone (heaviest postings per term), p50 / p99",
         f"{s['lexical_p50']:.1f} / {s['lexical_p99']:.1f} ms", "measured"),
        ("HNSW recall@10 vs exact, ef_search 40 / 100 (the store's) / 200",
         f"{r['ef40_at10']:.3f} / {r['ef100_at10']:.3f} / {r['ef200_at10']:.3f} "
         f"({r['queries']} real questions)", "measured on synthetic vectors"),
        ("HNSW recall@30 (the store's k), ef_search 40 / 100 / 200",
         f"{r['ef40_at30']:.3f} / {r['ef100_at30']:.3f} / {r['ef200_at30']:.3f}",
         "measured on synthetic vectors"),
        (f"  same, over the {z['base']:,} real vectors alone: recall@10 / @30, ef_search 100",
         f"{r['real_ef100_at10']:.3f} / {r['real_ef100_at30']:.3f}", "measured, real"),
        ("  HNSW query alone (LIMIT 10), p50 at ef_search 40 / 100 / 200",
         f"{r['ef40_at10_p50']:.1f} / {r['ef100_at10_p50']:.1f} / {r['ef200_at10_p50']:.1f} ms",
         "measured"),
        ("  exact search in SQL (no index) = numpy's top 10", r["sql_exact_agrees"], "check"),
        ("exact search, numpy, per query", f"{r['exact_ms']:.0f} ms", "measured"),
        ("serving RSS: model loaded / store open / after the questions",
         f"{s['rss_model']:.0f} / {s['rss_open']:.0f} / {s['rss_after']:.0f} MiB "
         f"(vocabulary {s['vocabulary']:,} entries, opened in {s['open_s']:.2f} s)",
         "measured"),
        ("database on disk (pg_database_size)", f"{v['database']:.2f} GiB", "measured"),
        ("  table (heap + TOAST) / HNSW / postings / primary key",
         f"{v['heap_toast']:.2f} / {v['hnsw']:.2f} / {v['postings']:.2f} / {v['btree']:.2f} GiB",
         "measured"),
        ("  data folder incl. WAL", f"{v['data_dir']:.2f} GiB (WAL {v['wal']:.2f})", "measured"),
    ]  # fmt: skip
    print(f"\nbench_pg: {z['machine']}; PostgreSQL 16 + pgvector 0.6.2; noise σ={z['noise']}")
    print("| figure | value | kind |\n| --- | ---: | --- |")
    for a, b, c in lines:
        print(f"| {a} | {b} | {c} |")


if __name__ == "__main__":
    main()
