"""askdocs beside a plain retrieval pipeline, same model, same documents, one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_pipeline.py [--runs 3]

The plain pipeline is what a LangChain tutorial builds, written out without LangChain (not a
dependency of this project): each page's text (BeautifulSoup ``get_text``, as LangChain's
HTML loader does), a recursive character splitter of 1,000 characters with 200 of overlap
(paragraph, line, word, character separators), the chunks embedded by sentence-transformers
(torch) with the same all-MiniLM-L6-v2, a FAISS inner-product index, saved to disk; a
question is embedded and searched. askdocs is its own ``askdocs index`` / ``askdocs ask``.
Documents: the Debian FAQ (17 HTML pages). Each figure is measured in fresh processes
(wall time and the child's own peak RSS from ``os.wait4``), the two alternating, best of
``--runs``:

* full build from the documents;
* one question from a cold start, the index on disk;
* per question, 300 questions in one process (the Debian FAQ questions repeated), model and
  index already loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
QUESTIONS = ROOT / "tests" / "data" / "debian_faq_eval.jsonl"
ASKDOCS = Path(sys.executable).parent / "askdocs"
BATCH = 300

PLAIN = r'''
import json, sys, time
from pathlib import Path

def split(text, size=1000, overlap=200, seps=("\n\n", "\n", " ", "")):
    """LangChain's RecursiveCharacterTextSplitter, in short."""
    sep = next(s for s in seps if s == "" or s in text)
    parts = list(text) if sep == "" else text.split(sep)
    rest = seps[seps.index(sep) + 1:]
    chunks, current = [], []
    for part in parts:
        if len(part) > size and rest:
            if current:
                chunks.append(sep.join(current)); current = []
            chunks.extend(split(part, size, overlap, rest)); continue
        if current and len(sep.join(current + [part])) > size:
            chunks.append(sep.join(current))
            while current and len(sep.join(current)) > overlap:
                current.pop(0)
        current.append(part)
    if current:
        chunks.append(sep.join(current))
    return [c.strip() for c in chunks if c.strip()]

mode, docs, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
import faiss, numpy as np
from sentence_transformers import SentenceTransformer
from index.embedding import resolve_model
model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
if mode == "build":
    from bs4 import BeautifulSoup
    chunks = []
    for page in sorted(docs.glob("*.html")):
        text = BeautifulSoup(page.read_bytes(), "html.parser").get_text()
        chunks += split(text)
    vectors = model.encode(chunks, batch_size=32, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1]); index.add(np.asarray(vectors, dtype="float32"))
    out.mkdir(exist_ok=True); faiss.write_index(index, str(out / "faiss.index"))
    (out / "chunks.json").write_text(json.dumps(chunks))
    print(json.dumps({"chunks": len(chunks)}))
else:
    index = faiss.read_index(str(out / "faiss.index"))
    chunks = json.loads((out / "chunks.json").read_text())
    questions = [json.loads(l)["q"] for l in open(sys.argv[4])]
    if mode == "ask":
        questions = questions[:1]
    else:
        questions = (questions * 3)[:300]
    began = time.perf_counter()
    for q in questions:
        v = model.encode([q], normalize_embeddings=True)
        _, ids = index.search(np.asarray(v, dtype="float32"), 3)
        answer = chunks[int(ids[0][0])]
    print(json.dumps({"per_question_ms": (time.perf_counter() - began) * 1000 / len(questions)}))
'''

ASKDOCS_BATCH = r"""
import json, sys, time
from pathlib import Path
from index.engine import Engine, EngineConfig
engine = Engine(EngineConfig(Path(sys.argv[1]), Path(sys.argv[2])))
engine.open(refresh=False)
questions = ([json.loads(l)["q"] for l in open(sys.argv[3])] * 3)[:300]
began = time.perf_counter()
for q in questions:
    engine.answer(q)
print(json.dumps({"per_question_ms": (time.perf_counter() - began) * 1000 / len(questions)}))
"""


def per_question(args: list[str]) -> float:
    """Run a batch script; the milliseconds per question it printed."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed: {done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["per_question_ms"])


def child_rss(args: list[str]) -> tuple[float, float]:
    """Run ``args`` (output discarded): wall seconds and the child's own peak RSS (MiB)."""
    began = time.perf_counter()
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(args[0], args, env, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args[:4])} failed")
    return time.perf_counter() - began, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from external import debian_faq_dir

    py = sys.executable
    best: dict[str, tuple[float, float]] = {}

    def keep(name: str, figure: tuple[float, float]) -> None:
        old = best.get(name)
        best[name] = (min(figure[0], old[0]), min(figure[1], old[1])) if old else figure

    with tempfile.TemporaryDirectory(prefix="askdocs-pipeline-") as tmp:
        work = Path(tmp)
        docs = work / "docs"
        shutil.copytree(debian_faq_dir(), docs)
        for _ in range(args.runs):
            shutil.rmtree(work / "plain", ignore_errors=True)
            shutil.rmtree(work / "askdocs", ignore_errors=True)
            keep(
                "plain build", child_rss([py, "-c", PLAIN, "build", str(docs), str(work / "plain")])
            )
            keep(
                "askdocs build",
                child_rss(
                    [str(ASKDOCS), "index", "--source-docs", str(docs), "--index-dir",
                     str(work / "askdocs"), "-q"]
                ),
            )  # fmt: skip
            question = json.loads(QUESTIONS.read_text().splitlines()[0])["q"]
            keep(
                "plain ask",
                child_rss([py, "-c", PLAIN, "ask", str(docs), str(work / "plain"), str(QUESTIONS)]),
            )
            keep(
                "askdocs ask",
                child_rss(
                    [str(ASKDOCS), "ask", "--source-docs", str(docs), "--index-dir",
                     str(work / "askdocs"), "-q", question]
                ),
            )  # fmt: skip
            for name, script in (
                ("plain batch", [py, "-c", PLAIN, "batch", str(docs), str(work / "plain"),
                                 str(QUESTIONS)]),
                ("askdocs batch", [py, "-c", ASKDOCS_BATCH, str(docs), str(work / "askdocs"),
                                   str(QUESTIONS)]),
            ):  # fmt: skip
                per = per_question(script)
                old = best.get(name)
                best[name] = (min(per, old[0]) if old else per, float("nan"))
    load = os.getloadavg()[0]
    print(f"\naskdocs beside a plain pipeline (Debian FAQ, 17 pages; 2 CPUs, load {load:.1f};")
    print(f"best of {args.runs}, fresh processes):")
    print("| figure | plain pipeline | askdocs | askdocs / plain |")
    print("| --- | ---: | ---: | ---: |")
    for label, key in (("full build", "build"), ("one question, cold start", "ask")):
        p, a = best[f"plain {key}"], best[f"askdocs {key}"]
        print(
            f"| {label}: wall, peak RSS | {p[0]:.2f} s, {p[1]:.0f} MiB | "
            f"{a[0]:.2f} s, {a[1]:.0f} MiB | {a[0] / p[0]:.2f}×, {a[1] / p[1]:.2f}× |"
        )
    p, a = best["plain batch"][0], best["askdocs batch"][0]
    print(f"| per question, {BATCH} in one process | {p:.1f} ms | {a:.1f} ms | {a / p:.2f}× |")


if __name__ == "__main__":
    main()
