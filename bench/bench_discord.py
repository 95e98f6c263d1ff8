"""Benchmark the Discord front end end to end: the real AskdocsBot and engine, and beside it
the plain pipeline (``bench/plain_bot.py``: a bare discord.py bot that defers and posts a
similar embed, no search), each in its own process, talking over real HTTP and websockets
to the wire-level FakeDiscord (tests/fakediscord) that runs with the askers in this one.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_discord.py [--passes 4] [--memory 1000]
        [--rounds 2] [--bots askdocs,plain] [--validate {after,inline,off}]

Each scenario's questions are split over ``--passes`` passes, each with freshly started
bots, askdocs and plain taking turns (so that other load on the box hits both alike; every
pass starts with askdocs' answer cache empty). The figures pool the passes.

Latency is measured by the fake's own clock: from the moment it dispatches the injected
``/ask`` INTERACTION_CREATE to the moment it receives the final answer (the edit of the
deferred response); time-to-defer is the first callback. Askers re-ask the moment they are
answered, or (the last scenarios) first pause a random time of a given mean, as people
reading an answer do. Issue 7's targets: p50 <= 50 ms and p99 <= 200 ms with 50 askers,
CPU per question in the bot process <= 3 ms with <= 10 in flight, flat memory.

Questions are the hand-written article questions of tests/data/article_eval.jsonl in turn
(125 of them: they repeat, as questions in a community do) and, in the ``distinct``
scenario, each numbered so that no two are the same. For each bot: the child's CPU per
question (event-loop thread and the others, from /proc), where its time went (Discord
round trips, the batcher's queue, the engine, the /ask handler; see ``botproc.py``) and
its RSS over rounds of questions.

The fake's OpenAPI JSON-schema validation of every request and response costs more CPU
than a bot does, so by default (``--validate after``) the bodies are recorded during the
runs and validated once they are over (the count of violations is printed and must be 0);
``inline`` validates as the tests do, ``off`` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakediscord package lives with the tests

from botproc import BotProcess  # noqa: E402
from fakediscord import FakeDiscord  # noqa: E402
from measure import pct  # noqa: E402

from index.embedding import Embedder  # noqa: E402
from index.engine import Engine, EngineConfig  # noqa: E402

with open(ROOT / "tests" / "data" / "article_eval.jsonl", encoding="utf-8") as _fh:
    QUESTIONS = [json.loads(line)["q"] for line in _fh if line.strip()]


async def ask_once(fake: FakeDiscord, question: str) -> tuple[float, float]:
    """(latency ms, time-to-defer ms) of one /ask."""
    iid = await fake.slash_command("ask", {"question": question})
    await fake.wait_interaction_final(iid, timeout=30)
    log = fake.interaction_log(iid)
    created = log[0].time
    defer = next(e.time for e in log if e.kind == "callback")
    final = next(e.time for e in log if e.kind == "edit_original" and e.status == 200)
    return (final - created) * 1000, (defer - created) * 1000


def forget(fake: FakeDiscord) -> None:
    """Drop the fake's own records (they grow with every request and are not the bot's)."""
    fake.requests.clear()
    fake.interactions.clear()
    fake.interactions_by_token.clear()
    fake.world.messages.clear()
    fake.gateway.received.clear()
    if fake.gateway.current is not None:
        fake.gateway.current.events.clear()


async def scenario(
    fake: FakeDiscord,
    total: int,
    concurrency: int,
    *,
    distinct: bool = False,
    think: float = 0.0,
) -> tuple[list[float], list[float]]:
    """``total`` questions by ``concurrency`` askers who re-ask the moment they are answered
    or, with ``think`` > 0, after a pause drawn from an exponential distribution of that
    mean in seconds (as people read an answer before asking again; each starts after such a
    pause too, so they do not all ask in the same millisecond); ``distinct``: every question
    is numbered, so no two are the same."""
    latencies: list[float] = []
    defers: list[float] = []
    queue = list(range(total))[::-1]
    scenario.asked += total  # type: ignore[attr-defined]
    pauses = random.Random(total * 1000 + concurrency)

    async def worker() -> None:
        while queue:
            if think:
                await asyncio.sleep(pauses.expovariate(1 / think))
                if not queue:
                    break
            i = queue.pop()
            question = QUESTIONS[i % len(QUESTIONS)]
            if distinct:
                question = f"{question} ({scenario.asked + i})"  # type: ignore[attr-defined]
            lat, dfr = await ask_once(fake, question)
            latencies.append(lat)
            defers.append(dfr)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    forget(fake)
    return latencies, defers


scenario.asked = 0  # type: ignore[attr-defined]
# (name, askers at once, questions, every question distinct, mean pause between questions)
SCENARIOS = (
    ("1 asker", 1, 200, False, 0.0),
    ("10 askers", 10, 1000, False, 0.0),
    ("10 askers, distinct", 10, 1000, True, 0.0),
    ("50 askers", 50, 1000, False, 0.0),
    ("50 askers, distinct", 50, 1000, True, 0.0),
    ("50 askers, distinct, 1 s pauses", 50, 1000, True, 1.0),
    ("50 askers, distinct, 0.5 s pauses", 50, 1000, True, 0.5),
)


def cpu_ms(proc: BotProcess, before: tuple[float, float], questions: int) -> tuple[float, float]:
    loop, other = proc.cpu()
    return 1000 * (loop - before[0]) / questions, 1000 * (other - before[1]) / questions


def breakdown(stats: dict[str, Any]) -> str:
    """Where the bot's time went, per question: Discord round trips, queueing, engine."""
    parts = [
        f"{kind} {1000 * seconds / max(stats['counts'][kind], 1):.1f} ms"
        for kind, seconds in sorted(stats["seconds"].items())
    ]
    batcher = stats.get("batcher")
    if batcher and batcher["questions"]:
        embedded = max(batcher["embedded"], 1)
        parts.append(
            f"batcher: {batcher['cached']} of {batcher['questions']} from the answer cache, "
            f"{batcher['joined']} joined a question being answered, {batcher['embedded']} "
            f"embedded in {batcher['batches']} batches "
            f"({batcher['embedded'] / max(batcher['batches'], 1):.1f} per batch), "
            f"queued {1000 * batcher['queued_s'] / embedded:.1f} ms per embedded question"
        )
    return "; ".join(parts)


def merge(into: dict[str, Any], stats: dict[str, Any]) -> None:
    """Add the child's ``stats`` (see botproc) to ``into``."""
    for part in ("seconds", "counts", "batcher"):
        for key, value in stats.get(part, {}).items():
            into.setdefault(part, {})
            into[part][key] = into[part].get(key, 0) + value


async def start(kind: str, fake: FakeDiscord, work: Path) -> BotProcess:
    proc = BotProcess(kind, fake.port, fake.token, work)
    await proc.ready()
    await fake.wait_ready(timeout=60)
    await scenario(fake, 40, 8)  # warm-up
    await proc.stats()
    return proc


async def timed_pass(
    kind: str, fake: FakeDiscord, work: Path, passes: int, figures: dict[str, dict[str, Any]]
) -> None:
    """One pass of every scenario (1/``passes`` of its questions) with a fresh ``kind`` bot."""
    proc = await start(kind, fake, work)
    try:
        for name, concurrency, total, distinct, think in SCENARIOS:
            fig = figures.setdefault(name, {"lat": [], "dfr": [], "wall": 0.0, "cpu": [0.0, 0.0]})
            gc.collect()
            before = proc.cpu()
            started = time.perf_counter()
            lat, dfr = await scenario(
                fake, total // passes, concurrency, distinct=distinct, think=think
            )
            fig["wall"] += time.perf_counter() - started
            after = proc.cpu()
            fig["cpu"][0] += after[0] - before[0]
            fig["cpu"][1] += after[1] - before[1]
            fig["lat"] += lat
            fig["dfr"] += dfr
            merge(fig.setdefault("stats", {}), await proc.stats())
    finally:
        await proc.stop()


async def memory_pass(
    kind: str, fake: FakeDiscord, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """RSS of a fresh ``kind`` bot: ready, then after each round of distinct questions."""
    proc = BotProcess(kind, fake.port, fake.token, work)
    try:
        await proc.ready()
        await fake.wait_ready(timeout=60)
        out: dict[str, Any] = {"ready": proc.rss(), "rounds": []}
        await scenario(fake, 200, 50, distinct=True)
        out["warm"] = proc.rss()
        for _ in range(args.rounds):
            for _ in range(args.memory // 200):
                await scenario(fake, 200, 50, distinct=True)
            out["rounds"].append(proc.rss())
        out["peak"] = proc.peak_rss()
        return out
    finally:
        await proc.stop()


def print_scenarios(results: dict[str, dict[str, dict[str, Any]]]) -> None:
    for name, _, total, _, _ in SCENARIOS:
        print(f"== {name}, {total} questions")
        for kind, figures in results.items():
            fig = figures[name]
            lat, n = fig["lat"], len(fig["lat"])
            loop_ms, other_ms = (1000 * c / n for c in fig["cpu"])
            print(
                f"{kind:>8}: p50 {pct(lat, 50):6.1f} ms  p95 {pct(lat, 95):6.1f} ms  "
                f"p99 {pct(lat, 99):6.1f} ms  mean {statistics.fmean(lat):6.1f} ms  "
                f"max defer {max(fig['dfr']):6.1f} ms  {n / fig['wall']:6.1f} q/s  "
                f"bot CPU {loop_ms + other_ms:5.2f} ms/question "
                f"(event loop {loop_ms:.2f} + other threads {other_ms:.2f})",
                flush=True,
            )
            print(f"{'':>10}{breakdown(fig['stats'])}")


def print_memory(memory: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"== bot RSS: ready, after 200 warm-up questions, after each of {args.rounds} "
          f"round(s) of {args.memory} distinct questions (50 at once)")  # fmt: skip
    for kind, fig in memory.items():
        steps = ", ".join(f"{r:.1f}" for r in fig["rounds"])
        print(
            f"{kind:>8}: {fig['ready']:.1f} / {fig['warm']:.1f} / {steps} MiB "
            f"({fig['rounds'][0] - fig['warm']:+.1f} MiB over the first round, "
            f"{fig['rounds'][-1] - fig['ready']:+.1f} since ready); peak {fig['peak']:.1f} MiB",
            flush=True,
        )


async def run(args: argparse.Namespace, work: Path) -> None:
    async with FakeDiscord() as fake:
        deferred: list[tuple[str, Any, str]] = []
        check_schema = fake.validator.schema_errors
        if args.validate != "inline":
            # JSON-schema checks cost the fake more than a bot costs: record the bodies
            # now (routes and auth are still checked) and validate them afterwards
            def record(pointer: str, instance: Any, where: str) -> list[str]:
                if args.validate == "after":
                    deferred.append((pointer, copy.deepcopy(instance), where))
                return []

            fake.validator.schema_errors = record  # type: ignore[method-assign]
        print(
            f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, schema validation "
            f"{args.validate}; each bot in its own process, the fake Discord and the askers "
            "in this one",
            flush=True,
        )
        kinds = args.bots.split(",")
        results: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in kinds}
        for n in range(args.passes):  # alternate, so that other load on the box hits both
            for kind in kinds if n % 2 == 0 else kinds[::-1]:
                await timed_pass(kind, fake, work, args.passes, results[kind])
        memory = {kind: await memory_pass(kind, fake, work, args) for kind in kinds}
        print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)
        print_scenarios(results)
        print_memory(memory, args)
        if args.validate == "after":
            problems = [e for p, i, w in deferred for e in check_schema(p, i, w)]
            problems += fake.violations + fake.response_violations
            print(
                f"{len(deferred)} request/response bodies checked against the OpenAPI spec "
                f"after the runs: {len(problems)} violations"
            )
            for problem in problems[:5]:
                print(f"  {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", type=int, default=1000, help="questions per memory round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --memory questions")
    parser.add_argument("--bots", default="askdocs,plain", help="bots to measure")
    parser.add_argument(
        "--passes", type=int, default=4, help="timed passes per bot, alternating bots"
    )
    parser.add_argument(
        "--validate",
        choices=("after", "inline", "off"),
        default="after",
        help="when the fake checks bodies against the OpenAPI spec (default: after timing)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="askdocs-bench-"))
    try:
        shutil.copytree(ROOT / "source_docs", work / "docs")
        Engine(EngineConfig(work / "docs", work / "index"), Embedder()).open()  # build it
        asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
