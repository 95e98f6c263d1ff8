"""Issue 7's memory and bot figures not covered by the other benches, in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_memory.py [--stdin 200,2000]
        [--bot-questions 1000] [--in-flight 10]

* ``askdocs ask --json`` answering N questions from stdin (the CLI answers them in batches
  of 64): the child's wall time and peak RSS (``os.wait4``), for 1 question as an argument
  and for each N; memory must not grow with N.
* The Discord bot in its own fresh process with the index already on disk (the real
  AskdocsBot and engine, started by ``botproc.py``), talking to the wire-level fake Discord
  of tests/fakediscord running here: seconds from the process being started to the bot and
  engine imported, the engine opened, the bot ready and the first ``/ask`` answered; RSS
  when ready, after a warm-up and after ``--bot-questions`` distinct questions (and after
  each of ``--rounds`` such rounds: does growth level off?); CPU per question with at most
  ``--in-flight`` at once, for distinct questions and for the article's 125 evaluation
  questions asked in turn (they repeat, and repeats are answered from the cache), split by
  thread from ``/proc``: the event-loop thread runs the bot (and only the bot: the fake
  Discord is in this process), the other threads the engine and onnxruntime.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakediscord package lives with the tests

from bench_discord import forget  # noqa: E402
from botproc import BotProcess  # noqa: E402
from fakediscord import FakeDiscord  # noqa: E402

ASKDOCS = Path(sys.executable).parent / "askdocs"
EVAL = ROOT / "tests" / "data" / "article_eval.jsonl"


def load_questions() -> list[str]:
    with open(EVAL, encoding="utf-8") as fh:
        return [json.loads(line)["q"] for line in fh if line.strip()]


def timed_child(args: list[str], stdin: bytes | None = None) -> tuple[float, float, bytes]:
    """Run ``args``: wall time (s), the child's own peak RSS (MiB, from wait4), stdout."""
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile() as inp, tempfile.TemporaryFile() as out:
        inp.write(stdin or b"")
        inp.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdin=inp, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{args[:3]} failed with status {proc.returncode}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read()


def stdin_figures(work: Path, counts: list[int]) -> None:
    folders = ["--source-docs", str(work / "docs"), "--index-dir", str(work / "index")]
    questions = load_questions()
    print(f"== askdocs ask --json from stdin (load average {os.getloadavg()[0]:.2f})")
    wall, rss, _ = timed_child([str(ASKDOCS), "ask", "--json", *folders, "Who is Kim?"])
    print(f"  {'1 (argument)':>14}: {wall:6.2f} s, peak RSS {rss:6.1f} MiB", flush=True)
    runs = []
    for count in counts:
        # every line differs (a numbered suffix), so nothing can be served twice from a cache
        lines = [f"{questions[i % len(questions)]} ({i})" for i in range(count)]
        wall, rss, out = timed_child(
            [str(ASKDOCS), "ask", "--json", *folders], "\n".join(lines).encode() + b"\n"
        )
        answers = out.decode().splitlines()
        assert len(answers) == count, (len(answers), count)
        runs.append((count, wall))
        print(
            f"  {count:>14}: {wall:6.2f} s ({1000 * wall / count:.1f} ms per question "
            f"with start-up), peak RSS {rss:6.1f} MiB",
            flush=True,
        )
    if len(runs) > 1:
        (n1, t1), (n2, t2) = runs[0], runs[-1]
        print(f"  {1000 * (t2 - t1) / (n2 - n1):.1f} ms per question beyond the first {n1}")


def bot_figures(work: Path, questions: int, in_flight: int, rounds: int) -> None:
    print(f"== the bot in its own process (load average {os.getloadavg()[0]:.2f})", flush=True)
    fig = asyncio.run(bot_run(work, questions, in_flight, rounds))
    ev = fig["events"]
    print(
        f"  launch: bot and engine imported {ev['imported']:.2f} s; engine open (index "
        f"loaded) {ev['open']:.2f} s; bot ready {ev['ready']:.2f} s; first /ask answered "
        f"{fig['first_answer_s']:.2f} s from process start"
    )
    print(
        f"  RSS: {fig['rss_ready']:.1f} MiB when ready, {fig['rss_warm']:.1f} MiB after "
        f"{fig['warm']} warm-up questions, {fig['rss_after']:.1f} MiB after {questions} more "
        f"({fig['rss_after'] - fig['rss_warm']:+.1f} MiB; "
        f"{fig['rss_after'] - fig['rss_ready']:+.1f} MiB since ready); "
        f"peak {fig['peak_rss']:.1f} MiB; after each round of {questions}: "
        + ", ".join(f"{r:.1f}" for r in fig["rss_rounds"])
        + " MiB"
    )
    for name, cpu in fig["cpu"].items():
        per = 1000 / cpu["questions"]
        b = cpu["batcher"]
        print(
            f"  CPU per question, <= {in_flight} in flight, {cpu['questions']} {name} in "
            f"{cpu['wall_s']:.1f} s: {(cpu['loop_s'] + cpu['other_s']) * per:.2f} ms for the "
            f"bot's process = {cpu['loop_s'] * per:.2f} ms on the event-loop thread + "
            f"{cpu['other_s'] * per:.2f} ms on other threads (engine, onnxruntime); "
            f"{b['cached']} answered from the cache, {b['embedded']} embedded in "
            f"{b['batches']} batches ({1000 * b['engine_s'] / max(b['embedded'], 1):.2f} ms "
            f"of engine wall per embedded question)"
        )


async def ask(fake: Any, question: str) -> None:
    iid = await fake.slash_command("ask", {"question": question})
    await fake.wait_interaction_final(iid, timeout=30)


async def many(fake: Any, questions: list[str], total: int, in_flight: int) -> None:
    """``total`` questions by ``in_flight`` askers who re-ask when answered."""
    queue = list(range(total))[::-1]

    async def worker() -> None:
        while queue:
            i = queue.pop()
            await ask(fake, questions[i % len(questions)])

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    forget(fake)  # the fake's own records grow with every request: not the bot's


async def bot_run(work: Path, questions: int, in_flight: int, rounds: int) -> dict[str, Any]:
    """Launch, RSS over rounds of distinct questions and CPU per question of the bot in a
    child process (see botproc.py), with the fake Discord here."""
    asked = load_questions()
    distinct = [f"{asked[i % len(asked)]} ({i})" for i in range(questions + 200)]
    fig: dict[str, Any] = {"warm": 200}
    async with FakeDiscord() as fake:
        fake.validator.schema_errors = lambda *a: []  # checked by bench_discord and tests
        proc = BotProcess("askdocs", fake.port, fake.token, work)
        try:
            fig["events"] = await proc.ready()
            await fake.wait_ready(timeout=60)
            fig["rss_ready"] = proc.rss()
            await ask(fake, "Who is Kim?")
            fig["first_answer_s"] = time.time() - proc.started
            await many(fake, distinct[-fig["warm"] :], fig["warm"], in_flight)
            fig["rss_warm"] = proc.rss()
            fig["cpu"] = {}
            for name, pool in (("distinct questions", distinct), ("questions", asked)):
                await proc.stats()
                before, wall = proc.cpu(), time.perf_counter()
                await many(fake, pool, questions, in_flight)
                after, wall = proc.cpu(), time.perf_counter() - wall
                stats = await proc.stats()
                fig["cpu"][name] = {
                    "questions": questions,
                    "wall_s": wall,
                    "loop_s": after[0] - before[0],
                    "other_s": after[1] - before[1],
                    "batcher": stats["batcher"],
                }
                if name == "distinct questions":
                    fig["rss_after"] = proc.rss()
            fig["rss_rounds"] = [fig["rss_after"]]
            for n in range(rounds - 1):  # more rounds: does the growth level off?
                pool = [f"{q} [{n}]" for q in distinct[:questions]]
                await many(fake, pool, questions, in_flight)
                fig["rss_rounds"].append(proc.rss())
            fig["peak_rss"] = proc.peak_rss()
        finally:
            await proc.stop()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdin", default="200,2000", help="question counts for stdin runs")
    parser.add_argument("--bot-questions", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --bot-questions")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="askdocs-bench-"))
    try:
        shutil.copytree(ROOT / "source_docs", work / "docs")
        folders = ["--source-docs", str(work / "docs"), "--index-dir", str(work / "index")]
        timed_child([str(ASKDOCS), "index", *folders])  # the index on disk, the export cached
        print(f"{os.cpu_count()} CPUs; figures are wall-clock on a shared machine", flush=True)
        stdin_figures(work, [int(n) for n in args.stdin.split(",") if n])
        bot_figures(work, args.bot_questions, args.in_flight, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
