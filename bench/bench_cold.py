"""Before/after figures of the ONNX embedding backend against sentence-transformers (torch).

Run ``HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_cold.py [--quick]``. For each backend:

* cold start of one ``askdocs ask`` from an already built index (a fresh process each time:
  wall time and the child's peak RSS, from ``os.wait4``), median and best of ``--runs``;
* in a fresh process (best of ``--repeats`` rounds): model load, per-question latency one at
  a time (``Engine.answer``, and the query embedding alone) and in batches
  (``answer_many``), the full build time of the Debian FAQ (tests/external.py's
  ``debian_faq_dir()``), and that process's peak RSS.

"before" is sentence-transformers (what askdocs used until the ONNX backend, forced here with
``Embedder(backend="sentence-transformers")``); "after" is the default (ONNX), with 1 and 2
onnxruntime intra-op threads. The ``askdocs`` command is run through its entry point in
pyproject.toml. Timings are wall-clock on a shared machine: runs of the backends are
interleaved, the best of several is reported, and the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # external data lookups live with the tests
QUESTIONS = ROOT / "tests" / "data" / "article_eval.jsonl"
BACKENDS = (("sentence-transformers", 0), ("onnx", 1), ("onnx", 2))  # (backend, ORT threads)

# Runs `askdocs` from its pyproject entry point, optionally on another backend or thread count.
CLI = """
import functools, importlib, sys, tomllib
backend, threads, pyproject = sys.argv[1:4]
del sys.argv[1:4]
import index.engine, index.embedding, index.onnx_runtime
if backend == "sentence-transformers":
    index.engine.Embedder = functools.partial(index.embedding.Embedder, backend=backend)
if int(threads):
    index.onnx_runtime.INTRA_OP_THREADS = int(threads)
module, func = tomllib.load(open(pyproject, "rb"))["project"]["scripts"]["askdocs"].split(":")
sys.exit(getattr(importlib.import_module(module), func)(sys.argv[1:]))
"""


def label(backend: str, threads: int) -> str:
    return backend if backend != "onnx" else f"onnx, {threads} thread{'s' * (threads > 1)}"


def timed_child(args: list[str]) -> tuple[float, float, str]:
    """Run ``args``: its wall time (s), its own peak RSS (MiB, from wait4) and its stdout."""
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{args[:4]} failed ({proc.returncode}):\n{err.read()[-2000:]!r}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def cold_starts(work: Path, runs: int) -> dict[str, dict[str, float]]:
    """Runs interleaved across backends, so that other load on the machine hits them alike."""
    print(f"== cold start of `askdocs ask` (load average {os.getloadavg()[0]:.2f})", flush=True)
    folders = ["--source-docs", str(work / "docs"), "--index-dir", str(work / "index")]
    commands = {}
    for backend, threads in BACKENDS:
        cmd = [sys.executable, "-c", CLI, backend, str(threads), str(ROOT / "pyproject.toml")]
        commands[label(backend, threads)] = [*cmd, "ask", "--json", *folders, "Who is Kim?"]
        timed_child(commands[label(backend, threads)])  # warm the page cache
    results: dict[str, list[tuple[float, float, str]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            results[name].append(timed_child(cmd))
            assert json.loads(results[name][-1][2])["question"] == "Who is Kim?"
    out = {}
    for name, done in results.items():
        walls = [r[0] for r in done]
        out[name] = {"cold_wall_s": statistics.median(walls), "cold_wall_min_s": min(walls),
                     "cold_rss_mib": max(r[1] for r in done)}  # fmt: skip
        print(f"  {name}: median {out[name]['cold_wall_s']:.2f} s, best {min(walls):.2f} s, "
              f"peak RSS {out[name]['cold_rss_mib']:.0f} MiB", flush=True)  # fmt: skip
    return out


def in_process(work: Path, quick: bool, repeats: int) -> dict[str, dict[str, float]]:
    """Each backend in a fresh process, ``repeats`` rounds interleaved across backends; the
    best time of the rounds (the least disturbed by other load) and the largest RSS."""
    out: dict[str, dict[str, float]] = {}
    for round_ in range(1, repeats + 1):
        for backend, threads in BACKENDS:
            name = label(backend, threads)
            print(f"== {name} in one process, round {round_} (load average "
                  f"{os.getloadavg()[0]:.2f})", flush=True)  # fmt: skip
            cmd = [sys.executable, __file__, "--child", backend, "--threads", str(threads)]
            cmd += ["--work", str(work)] + (["--quick"] * quick)
            _, rss, text = timed_child(cmd)
            figures = json.loads(text.strip().splitlines()[-1]) | {"peak_rss_mib": rss}
            print("  " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
            best = out.setdefault(name, figures)
            for key, value in figures.items():
                best[key] = max(best[key], value) if "rss" in key else min(best[key], value)
    return out


def child(backend: str, threads: int, work: Path, quick: bool) -> None:
    """One backend's in-process figures, as one JSON line on stdout."""
    import numpy as np

    t0 = time.perf_counter()
    import index.onnx_runtime
    from index.chunking import ChunkerSettings
    from index.embedding import Embedder
    from index.engine import Engine, EngineConfig

    if threads:
        index.onnx_runtime.INTRA_OP_THREADS = threads
    embedder = Embedder(backend="sentence-transformers" if backend != "onnx" else "auto")
    assert embedder.backend == backend, embedder.backend
    fig: dict[str, float] = {"model_load_s": time.perf_counter() - t0}
    engine = Engine(EngineConfig(work / "docs", work / "index"), embedder)
    engine.open(refresh=False)
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    stream = questions * (1 if quick else 2)
    for q in stream[:20]:
        engine.answer(q)
    answer_ms = [_ms(engine.answer, q) for q in stream]
    embed_ms = [_ms(engine.retriever.embed, [q]) for q in stream]
    fig["answer_p50_ms"], fig["answer_p95_ms"] = np.percentile(answer_ms, [50, 95])
    fig["embed_one_p50_ms"] = float(np.median(embed_ms))
    for size in (8, 32):
        t = time.perf_counter()
        for i in range(0, len(stream), size):
            engine.answer_many(stream[i : i + size])
        fig[f"answer_many_{size}_ms_per_q"] = (time.perf_counter() - t) * 1e3 / len(stream)
        batches = [stream[i : i + size] for i in range(0, len(stream), size)]
        t = time.perf_counter()
        for batch in batches:
            engine.retriever.embed(batch)
        fig[f"embed_{size}_ms_per_q"] = (time.perf_counter() - t) * 1e3 / len(stream)
    fig["rss_before_build_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fig["debian_build_s"] = _build_debian(embedder, work, ChunkerSettings())
    print(json.dumps(fig), flush=True)


def _ms(fn: Any, *args: object) -> float:
    t = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t) * 1e3


def _build_debian(embedder: Any, work: Path, settings: Any) -> float:
    from index.builder import build_index

    out = Path(tempfile.mkdtemp(prefix="debian-", dir=work))
    t = time.perf_counter()
    build_index(work / "debian", out / "index", embedder, settings, full=True)
    seconds = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    return seconds


def prepare(work: Path) -> None:
    """The article's index (built with the default backend) and a copy of the Debian FAQ."""
    from external import debian_faq_dir

    from index.embedding import Embedder
    from index.engine import Engine, EngineConfig

    shutil.copytree(ROOT / "source_docs", work / "docs")
    (work / "debian").mkdir()
    for page in sorted(debian_faq_dir().glob("*.html")):
        shutil.copy(page, work / "debian" / page.name)
    Engine(EngineConfig(work / "docs", work / "index"), Embedder()).open()


ROWS = (  # (figure, key, unit)
    ("cold `askdocs ask` from a built index, wall (median)", "cold_wall_s", "s"),
    ("cold `askdocs ask`, wall (best)", "cold_wall_min_s", "s"),
    ("cold `askdocs ask`, peak RSS", "cold_rss_mib", "MiB"),
    ("model load in a process (imports + Embedder())", "model_load_s", "s"),
    ("answer(), one at a time, p50", "answer_p50_ms", "ms"),
    ("answer(), one at a time, p95", "answer_p95_ms", "ms"),
    ("  query embedding alone, p50", "embed_one_p50_ms", "ms"),
    ("answer_many(8), per question", "answer_many_8_ms_per_q", "ms"),
    ("answer_many(32), per question", "answer_many_32_ms_per_q", "ms"),
    ("  embedding in batches of 8, per question", "embed_8_ms_per_q", "ms"),
    ("  embedding in batches of 32, per question", "embed_32_ms_per_q", "ms"),
    ("full build, Debian FAQ", "debian_build_s", "s"),
    ("peak RSS serving (before the build)", "rss_before_build_mib", "MiB"),
    ("peak RSS with the build", "peak_rss_mib", "MiB"),
)


def report(figures: dict[str, dict[str, float]]) -> None:
    names = list(figures)
    print("\n| figure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for title, key, unit in ROWS:
        cells = [_cell(figures[n].get(key), unit) for n in names]
        print(f"| {title} | " + " | ".join(cells) + " |")


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    digits = {"MiB": 0, "ms": 1, "s": 2}[unit]
    return f"{value:.{digits}f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and questions")
    parser.add_argument("--runs", type=int, help="cold starts per backend (default 5, quick 3)")
    parser.add_argument("--repeats", type=int, help="in-process rounds (default 3, quick 1)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.work, args.quick)
        return
    runs = args.runs or (3 if args.quick else 5)
    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="askdocs-bench-cold-") as name:
        work = Path(name)
        prepare(work)
        cold = cold_starts(work, runs)
        warm = in_process(work, args.quick, args.repeats or (1 if args.quick else 3))
    print("load average at end (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    report({name: figures | warm.get(name, {}) for name, figures in cold.items()})


if __name__ == "__main__":
    main()
