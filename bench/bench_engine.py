"""Benchmark the askdocs engine: model load, answer latency, index builds, FAISS and memory.

Run ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_engine.py [--quick]``. Prints figures as
they come, then Markdown tables. Timings are wall-clock: the load average is printed too."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.builder import build_index
from index.chunking import ChunkerSettings
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.loaders import load_file
from index.store import HNSW_THRESHOLD, build_faiss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # external data lookups live with the tests
from external import Unavailable, debian_faq_dir, shared_file  # noqa: E402

ARTICLE = ROOT / "source_docs"
QUESTIONS = "eval/seed_article_dev.jsonl"  # only in ../shared/ beside the repository
SECTION_WORDS = ("Overview of", "Notes on", "FAQ:", "Background:", "How to", "Details:", "About")
CHUNKER = ChunkerSettings()
ROWS: list[tuple[str, str, str]] = []  # (figure, value, target)


def row(name: str, value: str, target: str = "") -> None:
    ROWS.append((name, value, target))
    print(f"  {name}: {value}" + (f"   [target {target}]" if target else ""), flush=True)


def section(title: str) -> None:
    print(f"== {title}  (load average {os.getloadavg()[0]:.2f})", flush=True)


def timed(fn: Callable[..., Any], *args: object) -> tuple[Any, float]:
    t0 = time.perf_counter()
    return fn(*args), time.perf_counter() - t0


def ms(fn: Callable[..., Any], *args: object) -> float:
    return timed(fn, *args)[1] * 1e3


class Build:
    """Runs build_index, timestamping its stages through the progress callback."""

    def __init__(self, docs: Path, out: Path, embedder: Embedder, *, full: bool) -> None:
        self.marks = {"start": time.perf_counter()}
        self.texts = 0  # chunks + distinct sentences + headings embedded
        built = build_index(docs, out, embedder, CHUNKER, full=full, progress=self)
        self.data, self.report = built.data, built.report

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.texts = total if stage == "embedding" else self.texts
        key = stage + (str(done) if stage == "writing" else "")
        self.marks.setdefault(key, time.perf_counter())

    def split(self) -> str:
        keys = ("start", "loading", "embedding", "writing0", "writing1")
        names = ("load", "chunk", "embed", "faiss+write")
        secs = np.diff([self.marks[k] for k in keys])
        return ", ".join(f"{name} {sec:.2f}s" for name, sec in zip(names, secs, strict=True))


def bench_model(threads: int | None, backend: str) -> Embedder:
    section("1. model load")
    import index.onnx_runtime

    if threads:
        index.onnx_runtime.INTRA_OP_THREADS = threads
        faiss.omp_set_num_threads(threads)
    embedder, load = timed(lambda: Embedder(backend=backend))  # type: ignore[arg-type]
    ort_threads, faiss_threads = index.onnx_runtime.INTRA_OP_THREADS, faiss.omp_get_max_threads()
    print(f"  {embedder.backend}; threads: onnxruntime {ort_threads}, faiss {faiss_threads}")
    row(f"Model load ({embedder.backend}): imports + Embedder()", f"{load:.2f} s")
    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    row("RSS after model load", f"{rss / 2**20:.0f} MiB")
    return embedder


def bench_answers(embedder: Embedder, tmp: Path, n: int) -> None:
    section("2. question-to-answer latency (article, in-process)")
    try:
        lines = shared_file(QUESTIONS).read_text(encoding="utf-8").splitlines()
    except Unavailable as exc:
        print(f"  skipped: {exc}", flush=True)
        return
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    engine = Engine(EngineConfig(docs_dir=ARTICLE, index_dir=tmp / "article-index"), embedder)
    engine.open()
    stream = [questions[i % len(questions)] for i in range(n)]
    for q in stream[:20]:
        engine.answer(q)
    p50, p95, p99 = np.percentile([ms(engine.answer, q) for q in stream], [50, 95, 99])
    enc = [ms(engine.retriever.embed, [q]) for q in stream]
    figures = f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms"
    row(f"answer() p50 / p95 / p99 ({n} questions)", figures, "p50 <= 25 ms")
    row("  of which query embedding p50", f"{np.percentile(enc, 50):.1f} ms")
    t0 = time.perf_counter()
    for i in range(0, n, 32):
        engine.answer_many(stream[i : i + 32])
    row("answer_many(32) amortised per question", f"{(time.perf_counter() - t0) * 1e3 / n:.1f} ms")


def bench_rebuild(embedder: Embedder, tmp: Path, runs: int) -> None:
    section("3. full rebuild of the article")
    builds = [Build(ARTICLE, tmp / "rebuild-index", embedder, full=True) for _ in range(runs)]
    median = statistics.median(b.report.seconds for b in builds)
    row(f"Article full rebuild, median of {runs}", f"{median:.2f} s", "< 2 s")
    row("  phases (last run)", builds[-1].split())


def make_corpus(root: Path, n_files: int, seed: int = 7) -> None:
    """The Debian FAQ, plus Markdown notes recombining its and the article's paragraphs."""
    (root / "debian-faq").mkdir(parents=True)
    for page in sorted(debian_faq_dir().glob("*.html")):
        shutil.copy(page, root / "debian-faq" / page.name)
    paras: list[str] = []
    heads: list[str] = []
    for path in sorted((root / "debian-faq").glob("*.html")) + sorted(ARTICLE.glob("*.txt")):
        for block in load_file(path, path.parent).blocks:
            text = " ".join(block.text.split())
            if block.kind == "text" and len(text) > 60:
                paras.append(text)
            elif block.kind == "heading" and len(text) < 70:
                heads.append(text)
    rng = random.Random(seed)
    (root / "notes").mkdir()
    for i in range(n_files):
        lines = [f"# {rng.choice(heads)} (note {i})", ""]
        for _ in range(rng.randint(3, 6)):
            lines += [f"## {rng.choice(SECTION_WORDS)} {rng.choice(heads)}", ""]
            lines += [p + "\n" for p in rng.sample(paras, rng.randint(2, 5))]
        (root / "notes" / f"note-{i:03d}.md").write_text("\n".join(lines), encoding="utf-8")


def bench_corpus(embedder: Embedder, tmp: Path, n_files: int) -> None:
    section("4. build throughput on a larger corpus")
    corpus = tmp / "corpus"
    try:
        make_corpus(corpus, n_files)
    except Unavailable as exc:
        print(f"  skipped: {exc}", flush=True)
        return
    for label, docs in (("Debian FAQ", corpus / "debian-faq"), (f"+ {n_files} notes", corpus)):
        b = Build(docs, tmp / "corpus-index", embedder, full=True)
        r, docs_n = b.report, len(b.data.manifest.documents)
        sentences = len({(c.source, s, e) for c in b.data.chunks for s, e in c.sentences})
        row(f"Full build, {label}: {docs_n} docs, {r.chunks} chunks, {sentences} sentences",
            f"{r.seconds:.1f} s, {r.chunks / r.seconds:.1f} chunks/s")  # fmt: skip
        row("  texts embedded (chunks + sentences + headings)",
            f"{b.texts} ({b.texts / r.seconds:.0f}/s)")  # fmt: skip
        row(f"  phases ({label})", b.split())
    note = corpus / "notes" / "note-007.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nOne more line, edited.\n", "utf-8")
    b = Build(corpus, tmp / "corpus-index", embedder, full=False)
    redone = f"{b.report.embedded_chunks} of {b.report.chunks} chunks re-embedded"
    row("Incremental rebuild, 1 file edited", f"{b.report.seconds:.2f} s, {redone}")
    row("  phases (incremental)", b.split())


def clustered(n: int, nq: int, rng: np.random.Generator, dim: int = 384) -> tuple[np.ndarray, ...]:
    """``n`` points and ``nq`` queries, unit length, in a topic > subtopic (~100 points, uneven
    sizes and spreads) > point hierarchy, like chunks of related documents, not uniform noise."""
    topics = _unit(rng.standard_normal((max(10, n // 2000), dim), dtype=np.float32))
    n_sub = max(1, n // 100)
    picked = topics[rng.integers(0, len(topics), n_sub)]
    subs = _unit(picked + 0.06 * rng.standard_normal((n_sub, dim), dtype=np.float32))
    weights = (g := rng.gamma(0.7, size=n_sub)) / g.sum()
    out = []
    for m, scale in ((n, 1.0), (nq, 1.3)):  # queries sit a little further from their topic
        c = rng.choice(n_sub, size=m, p=weights)
        spread = scale * rng.uniform(0.035, 0.075, (m, 1)).astype(np.float32)
        out.append(_unit(subs[c] + spread * rng.standard_normal((m, dim), dtype=np.float32)))
    return tuple(out)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def per_query_ms(index: Any, queries: np.ndarray) -> float:
    """Median time of one-query searches for 30 hits (the retriever's candidate count)."""
    return statistics.median(ms(index.search, q[None, :], 30) for q in queries)


def bench_faiss(sizes: tuple[int, ...], n_queries: int = 200) -> list[str]:
    section(f"5. FAISS flat vs HNSW (384-d clustered vectors, {n_queries} queries)")
    threads = faiss.omp_get_max_threads()
    cols = f"N | flat ms/query ({threads} threads) | flat, 1 thread | HNSW ms/query | HNSW build"
    table = [f"| {cols} | HNSW recall@10 |", "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        vectors, queries = clustered(n, n_queries, np.random.default_rng(n))
        flat = build_faiss(vectors, hnsw_threshold=n + 1)
        flat_ms = per_query_ms(flat, queries)
        faiss.omp_set_num_threads(1)
        flat_ms1 = per_query_ms(flat, queries)
        faiss.omp_set_num_threads(threads)
        _, truth = flat.search(queries, 10)
        del flat
        hnsw, built = timed(build_faiss, vectors, 0)
        hnsw_ms = per_query_ms(hnsw, queries)
        _, found = hnsw.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
        del hnsw, vectors
        table.append(f"| {n:,} | {flat_ms:.2f} | {flat_ms1:.2f} | {hnsw_ms:.2f} | {built:.1f} s |")
        table[-1] += f" {recall:.3f} |"
        print("  " + table[-1], flush=True)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no 200k FAISS set")
    parser.add_argument("--threads", type=int, help="onnxruntime and FAISS threads")
    parser.add_argument(
        "--backend", choices=("auto", "sentence-transformers"), default="auto", help="embedder"
    )
    args = parser.parse_args()
    n_questions, runs, n_files = (100, 3, 60) if args.quick else (300, 5, 200)
    sizes = (10_000, 50_000) if args.quick else (10_000, 50_000, 200_000)
    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="askdocs-bench-") as tmpname:
        tmp = Path(tmpname)
        embedder = bench_model(args.threads, args.backend)
        bench_answers(embedder, tmp, n_questions)
        bench_rebuild(embedder, tmp, runs)
        bench_corpus(embedder, tmp, n_files)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    row("Peak RSS before the FAISS section (engine work)", f"{peak:.0f} MiB")
    faiss_table = bench_faiss(sizes)
    section("6. memory")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row("Peak RSS at the end (incl. synthetic FAISS sets)", f"{peak:.0f} MiB")
    print("load average at end (1, 5, 15 min): {:.2f} {:.2f} {:.2f}\n".format(*os.getloadavg()))
    print("| Figure | Value | Target |\n|---|---|---|")
    for name, value, target in ROWS:
        print(f"| {name.strip()} | {value} | {target} |")
    print(f"\nFAISS, HNSW_THRESHOLD = {HNSW_THRESHOLD:,} (exact search below it):\n")
    print("\n".join(faiss_table))


if __name__ == "__main__":
    main()
