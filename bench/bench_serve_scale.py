"""Serving at scale: open an embedded index of N passages and answer questions from it.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_serve_scale.py [--passages 100000]

Embedding N real passages takes about an hour per 100k on 2 cores, so the index is made
from the Debian FAQ's real index (built with the real model, as the tests build it): its
passages are copied with the distribution's name changed in each copy (so keyword
statistics grow like a real corpus's would), and its vectors copied with gaussian noise
(sigma 0.02 per component, then re-normalised). The questions are the real Debian FAQ
evaluation questions, embedded by the model. What this measures is the serving side: time to
open, memory when open and after the questions, and per-question latency through
``Engine.answer`` -- in a fresh process, as a bot would start. It does not measure answer
quality (the copies make near-duplicates) or build speed (see bench_scale.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from measure import pct, rss_mib  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "debian_faq_eval.jsonl"
NOISE = 0.02


def base_index(work: Path) -> Path:
    """The Debian FAQ's real index (built once into ``work``)."""
    from external import debian_faq_dir

    from index.engine import Engine, EngineConfig

    engine = Engine(EngineConfig(debian_faq_dir(), work / "faq-index"))
    engine.open()
    return work / "faq-index"


def make_index(base: Path, target: Path, passages: int) -> None:
    from index.late import TokenVectors
    from index.store import (
        IndexData,
        build_faiss,
        compact,
        index_type_name,
        read_index,
        sentence_offsets,
        write_index,
    )
    from index.tables import SearchTables

    source = read_index(base)
    copies = passages // len(source.chunks) + 1
    chunks = tuple(
        dataclasses.replace(
            c,
            source=f"copy{r}/{c.source}",
            text=c.text.replace("Debian", f"Deb{r}an"),
            display=c.display.replace("Debian", f"Deb{r}an"),
        )
        for r in range(copies)
        for c in source.chunks
    )[:passages]
    offsets = sentence_offsets(chunks)
    rng = np.random.default_rng(0)

    def noisy(array: np.ndarray, rows: int) -> np.ndarray:
        tiled = np.tile(np.asarray(array, dtype=np.float32), (copies, 1))[:rows]
        tiled += rng.normal(0, NOISE, tiled.shape).astype(np.float32)
        return tiled / np.linalg.norm(tiled, axis=1, keepdims=True)

    began = time.perf_counter()
    vectors = noisy(source.chunk_vectors, passages)
    faiss_index = build_faiss(vectors)
    tables = SearchTables.compute(chunks)
    dim = source.tokens.codes.shape[1]
    tokens = TokenVectors.concat([source.tokens] * copies, dim).select(0, passages)
    manifest = dataclasses.replace(
        source.manifest,
        chunk_count=passages,
        sentence_count=int(offsets[-1]),
        token_count=len(tokens.codes),
        index_type=index_type_name(faiss_index),
    )
    data = IndexData(
        manifest,
        chunks,
        vectors,
        compact(noisy(source.sentence_vectors, int(offsets[-1]))),
        offsets,
        compact(noisy(source.heading_vectors, passages)),
        faiss_index,
        tables,
        tokens,
    )
    write_index(target, data)
    print(
        f"made {passages:,} passages ({int(offsets[-1]):,} sentences, {manifest.index_type}) "
        f"in {time.perf_counter() - began:.0f} s"
    )


def serve(index_dir: Path) -> dict[str, float]:
    """In this (fresh) process: open the index and answer every question twice."""
    from index.engine import Engine, EngineConfig

    engine = Engine(EngineConfig(Path("/nonexistent"), index_dir))
    model_rss = rss_mib()
    began = time.perf_counter()
    engine.open(refresh=False)
    opened = time.perf_counter() - began
    open_rss = rss_mib()
    with open(QUESTIONS, encoding="utf-8") as fh:
        questions = [json.loads(line)["q"] for line in fh if line.strip()]
    times = []
    for question in questions * 2:
        start = time.perf_counter()
        engine.answer(question)
        times.append((time.perf_counter() - start) * 1000)
    return {
        "open_s": opened,
        "model_rss": model_rss,
        "open_rss": open_rss,
        "after_rss": rss_mib(),
        "p50_ms": pct(times, 50),
        "p99_ms": pct(times, 99),
        "questions": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve)))
        return
    with tempfile.TemporaryDirectory(prefix="askdocs-serve-scale-") as tmp:
        work = Path(tmp)
        make_index(base_index(work), work / "index", args.passages)
        child = subprocess.run(
            [sys.executable, __file__, "--serve", str(work / "index")],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"\nserving {args.passages:,} passages (2 cores, fresh process, embedded store):")
    print(f"  open the index          {r['open_s']:.2f} s")
    print(f"  RSS: model loaded       {r['model_rss']:.0f} MiB")
    print(f"  RSS: index open         {r['open_rss']:.0f} MiB")
    print(f"  RSS: after {r['questions']} questions {r['after_rss']:.0f} MiB")
    print(f"  answer p50 / p99        {r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
