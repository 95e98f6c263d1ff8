"""Benchmark the askdocs engine: model load, answer latency, index builds, FAISS and memory.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_engine.py [--quick]

Prints each figure as it is measured, then Markdown tables ready for the README. Timings are
wall-clock on whatever else the machine is doing: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from index.builder import build_index
from index.chunking import ChunkerSettings
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.loaders import load_file
from index.models import BuildReport
from index.normalize import fold
from index.store import HNSW_THRESHOLD, IndexData, build_faiss

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "source_docs"
QUESTIONS = Path("/work/shared/eval/seed_article_dev.jsonl")
DEBIAN = Path("/work/shared/corpora/debian-faq")
SECTION_WORDS = ("Overview of", "Notes on", "FAQ:", "Background:", "How to", "Details:", "About")
ROWS: list[tuple[str, str, str]] = []  # (figure, value, target)


def row(name: str, value: str, target: str = "") -> None:
    ROWS.append((name, value, target))
    print(f"  {name}: {value}" + (f"   [target {target}]" if target else ""), flush=True)


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pct(ms: list[float], q: float) -> float:
    return float(np.percentile(ms, q))


class Phases:
    """A build_index progress callback that timestamps its stages."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.marks: dict[str, float] = {}
        self.texts = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "embedding":
            self.texts = total
        key = f"writing{done}" if stage == "writing" else stage
        self.marks.setdefault(key, time.perf_counter())

    def split(self) -> str:
        m, t0 = self.marks, self.t0
        parts = (
            ("load", m["loading"] - t0),
            ("chunk", m["embedding"] - m["loading"]),
            ("embed", m["writing0"] - m["embedding"]),
            ("faiss+write", m["writing1"] - m["writing0"]),
        )
        return ", ".join(f"{name} {sec:.2f}s" for name, sec in parts)


def build(
    docs: Path, index_dir: Path, embedder: Embedder, *, full: bool
) -> tuple[IndexData, BuildReport, Phases]:
    phases = Phases()
    data, report = build_index(
        docs, index_dir, embedder, ChunkerSettings(), full=full, progress=phases
    )
    return data, report, phases


def bench_model() -> Embedder:
    print("== 1. model load", flush=True)
    t0 = time.perf_counter()
    import sentence_transformers  # noqa: F401  (timed apart from the weights)

    t1 = time.perf_counter()
    embedder = Embedder()
    t2 = time.perf_counter()
    row("Model load, total (import torch/ST + Embedder())", f"{t2 - t0:.2f} s")
    row("  of which import torch + sentence-transformers", f"{t1 - t0:.2f} s")
    row("  of which Embedder() (weights, tokenizer)", f"{t2 - t1:.2f} s")
    row("RSS after model load", f"{rss_mib():.0f} MiB")
    return embedder


def bench_answers(embedder: Embedder, tmp: Path, n: int) -> None:
    print("== 2. question-to-answer latency (article, in-process)", flush=True)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    engine = Engine(EngineConfig(docs_dir=ARTICLE, index_dir=tmp / "article-index"), embedder)
    engine.open()
    stream = [questions[i % len(questions)] for i in range(n)]
    for q in stream[:20]:
        engine.answer(q)
    ms, enc = [], []
    for q in stream:
        t0 = time.perf_counter()
        engine.answer(q)
        t1 = time.perf_counter()
        embedder.encode([fold(q)])
        ms.append((t1 - t0) * 1e3)
        enc.append((time.perf_counter() - t1) * 1e3)
    row(
        f"answer() p50 ({n} questions, {len(engine.retriever.data.chunks)} chunks)",
        f"{pct(ms, 50):.1f} ms",
        "<= 25 ms",
    )
    row("answer() p95 / p99", f"{pct(ms, 95):.1f} / {pct(ms, 99):.1f} ms")
    row("  of which query embedding p50", f"{pct(enc, 50):.1f} ms")
    t0 = time.perf_counter()
    for i in range(0, n, 32):
        engine.answer_many(stream[i : i + 32])
    row("answer_many(32) amortised per question", f"{(time.perf_counter() - t0) * 1e3 / n:.1f} ms")


def bench_rebuild(embedder: Embedder, tmp: Path, runs: int) -> None:
    print("== 3. full rebuild of the article", flush=True)
    secs, phases = [], None
    for _ in range(runs):
        _, report, phases = build(ARTICLE, tmp / "rebuild-index", embedder, full=True)
        secs.append(report.seconds)
    row(f"Article full rebuild, median of {runs}", f"{statistics.median(secs):.2f} s", "< 2 s")
    if phases:
        row("  phases (last run)", phases.split())


def make_corpus(root: Path, n_files: int, seed: int = 7) -> None:
    """The Debian FAQ pages, plus ``n_files`` Markdown notes recombining their paragraphs
    and the article's under varied headings (deterministic)."""
    (root / "debian-faq").mkdir(parents=True)
    for page in sorted(DEBIAN.glob("*.html")):
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
    print("== 4. build throughput on a larger corpus", flush=True)
    corpus = tmp / "corpus"
    make_corpus(corpus, n_files)
    for label, docs in (("Debian FAQ", corpus / "debian-faq"), (f"+ {n_files} notes", corpus)):
        data, report, phases = build(docs, tmp / "corpus-index", embedder, full=True)
        sentences = len({(c.source, s, e) for c in data.chunks for s, e in c.sentences})
        row(
            f"Full build, {label}: docs / chunks / sentences",
            f"{len(data.manifest.documents)} / {report.chunks} / {sentences}",
        )
        row(
            f"Full build, {label}: time, throughput",
            f"{report.seconds:.1f} s, {report.chunks / report.seconds:.0f} chunks/s, "
            f"{phases.texts / report.seconds:.0f} texts embedded/s ({phases.texts} texts)",
        )
        row(f"  phases ({label})", phases.split())
    note = corpus / "notes" / "note-007.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nOne more line, edited.\n", "utf-8")
    _, report, phases = build(corpus, tmp / "corpus-index", embedder, full=False)
    row(
        "Incremental rebuild, 1 file edited",
        f"{report.seconds:.2f} s, {report.embedded_chunks} chunks re-embedded of {report.chunks}",
    )
    row("  phases (incremental)", phases.split())


def clustered(
    n: int, centres: np.ndarray, spread: np.ndarray, rng: np.random.Generator, weights: np.ndarray
) -> np.ndarray:
    """Normalised points around uneven clusters of unequal spread, like sentence embeddings."""
    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    for lo in range(0, n, 50_000):
        hi = min(n, lo + 50_000)
        c = rng.choice(len(centres), size=hi - lo, p=weights)
        noise = rng.standard_normal((hi - lo, centres.shape[1]), dtype=np.float32)
        block = centres[c] + spread[c, None] * noise
        out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def per_query_ms(index: object, queries: np.ndarray, k: int = 30) -> float:
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], k)  # type: ignore[attr-defined]
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms)


def bench_faiss(sizes: tuple[int, ...], n_queries: int = 200, dim: int = 384) -> list[str]:
    print(f"== 5. FAISS flat vs HNSW ({dim}-d clustered vectors, {n_queries} queries)", flush=True)
    table = [
        "| N | flat ms/query | HNSW ms/query | HNSW build | HNSW recall@10 |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        rng = np.random.default_rng(n)
        k = max(100, n // 100)  # about 100 vectors per topic, like chunks of related documents
        common = rng.standard_normal(dim).astype(np.float32)
        raw = rng.standard_normal((k, dim), dtype=np.float32) + 0.4 * common / np.sqrt(dim)
        centres = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        spread = rng.uniform(0.035, 0.075, k).astype(np.float32)  # point-centre cosine 0.6..0.9
        weights = rng.gamma(0.7, size=k)
        weights /= weights.sum()
        vectors = clustered(n, centres, spread, rng, weights)
        queries = clustered(n_queries, centres, spread * 1.3, rng, weights)
        flat = build_faiss(vectors, hnsw_threshold=n + 1)
        flat_ms = per_query_ms(flat, queries)
        _, truth = flat.search(queries, 10)
        del flat
        t0 = time.perf_counter()
        hnsw = build_faiss(vectors, hnsw_threshold=0)
        built = time.perf_counter() - t0
        hnsw_ms = per_query_ms(hnsw, queries)
        _, found = hnsw.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
        del hnsw, vectors
        table.append(f"| {n:,} | {flat_ms:.2f} | {hnsw_ms:.2f} | {built:.1f} s | {recall:.3f} |")
        print(
            f"  N={n:,}: flat {flat_ms:.2f} ms/q, HNSW {hnsw_ms:.2f} ms/q, "
            f"build {built:.1f} s, recall@10 {recall:.3f}",
            flush=True,
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no 200k FAISS set")
    args = parser.parse_args()
    n_questions, runs, n_files = (100, 3, 60) if args.quick else (300, 5, 200)
    sizes = (10_000, 50_000) if args.quick else (10_000, 50_000, 200_000)
    load0 = os.getloadavg()
    print(f"cpus {os.cpu_count()}, load average at start {load0[0]:.2f} (1 min)", flush=True)
    with tempfile.TemporaryDirectory(prefix="askdocs-bench-") as tmpname:
        tmp = Path(tmpname)
        embedder = bench_model()
        bench_answers(embedder, tmp, n_questions)
        bench_rebuild(embedder, tmp, runs)
        bench_corpus(embedder, tmp, n_files)
    row("Peak RSS before the FAISS section (engine work)", f"{peak_mib():.0f} MiB")
    faiss_table = bench_faiss(sizes)
    print("== 6. memory", flush=True)
    row("Peak RSS at the end (incl. synthetic FAISS sets)", f"{peak_mib():.0f} MiB")
    load1 = os.getloadavg()
    print(f"load average at end {load1[0]:.2f} (1 min), {load1[2]:.2f} (15 min)\n")
    print("| Figure | Value | Target |\n|---|---|---|")
    for name, value, target in ROWS:
        print(f"| {name.strip()} | {value} | {target} |")
    print(f"\nFAISS, HNSW_THRESHOLD = {HNSW_THRESHOLD:,} (exact search below it):\n")
    print("\n".join(faiss_table))


if __name__ == "__main__":
    main()
