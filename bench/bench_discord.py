"""Benchmark the Discord front end end to end: the real AskdocsBot and engine in-process,
talking to the wire-level FakeDiscord (tests/fakediscord) over real HTTP and websockets.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_discord.py [--questions 200] [--memory 1000]
        [--rounds 2] [--validate {after,inline,off}]

Latency is measured by the fake's own clock: from the moment it dispatches the injected
``/ask`` INTERACTION_CREATE to the moment it receives the final answer (the edit of the
deferred response); time-to-defer is the first callback. Targets: p50 <= 50 ms and
p99 <= 500 ms with 50 concurrent askers, defer < 3 s, flat memory over 1,000 questions.

The fake runs in the same process and event loop as the bot, so its own work is included
in the figures. Its OpenAPI JSON-schema validation of every request and response costs
more CPU than the bot does, so by default (``--validate after``) the bodies are recorded
during the timed runs and validated once they are over (the count of violations is
printed and must be 0); ``inline`` validates as the tests do, ``off`` skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fakediscord package lives with the tests

from fakediscord import FakeDiscord  # noqa: E402
from measure import pct, rss_mib  # noqa: E402

from bot.discord_app.bot import AskdocsBot  # noqa: E402
from bot.shared.settings import Settings  # noqa: E402
from index.embedding import Embedder  # noqa: E402
from index.engine import Engine, EngineConfig  # noqa: E402
from index.models import Answer  # noqa: E402

QUESTIONS = [
    "When did the Hanoi summit break down?",
    "How did Kim travel to Russia?",
    "Where did the talks take place?",
    "What does Kim want from Russia?",
    "When did Putin last meet a North Korean leader?",
    "Why does the timing of the meeting matter?",
    "What do South Korea and China think about the talks?",
    "What sanctions limit North Korea's exports?",
    "How do I bake bread?",
    "Who is the president of Russia?",
]


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
    fake: FakeDiscord, total: int, concurrency: int
) -> tuple[list[float], list[float]]:
    latencies: list[float] = []
    defers: list[float] = []
    queue = list(range(total))

    async def worker(offset: int) -> None:
        while queue:
            i = queue.pop()
            lat, dfr = await ask_once(fake, QUESTIONS[(i + offset) % len(QUESTIONS)])
            latencies.append(lat)
            defers.append(dfr)

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    forget(fake)
    return latencies, defers


def report(name: str, latencies: list[float], defers: list[float], seconds: float) -> None:
    print(
        f"{name:>16}: n={len(latencies)}  p50={pct(latencies, 50):6.1f} ms  "
        f"p95={pct(latencies, 95):6.1f} ms  p99={pct(latencies, 99):6.1f} ms  "
        f"mean={statistics.fmean(latencies):6.1f} ms  max defer={max(defers):6.1f} ms  "
        f"throughput={len(latencies) / seconds:6.1f} q/s",
        flush=True,
    )


def timed(engine: Engine) -> list[float]:
    """Wrap ``engine.answer_many`` to add up the seconds spent in it."""
    busy = [0.0]
    answer_many = engine.answer_many

    def timed_answer_many(questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        started = time.perf_counter()
        try:
            return answer_many(questions, top_k)
        finally:
            busy[0] += time.perf_counter() - started

    engine.answer_many = timed_answer_many  # type: ignore[method-assign]
    return busy


async def run(args: argparse.Namespace, engine: Engine, work: Path) -> None:
    busy = timed(engine)
    async with FakeDiscord() as fake:
        deferred: list[tuple[str, Any, str]] = []
        check_schema = fake.validator.schema_errors
        if args.validate != "inline":
            # JSON-schema checks cost the shared event loop more than the bot itself does:
            # record the bodies now (routes and auth are still checked) and validate later.
            def record(pointer: str, instance: Any, where: str) -> list[str]:
                if args.validate == "after":
                    deferred.append((pointer, copy.deepcopy(instance), where))
                return []

            fake.validator.schema_errors = record  # type: ignore[method-assign]
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            discord_token=fake.token,
            feedback_db=work / "feedback.sqlite3",
            cooldown_questions=1_000_000,
        )
        bot = AskdocsBot(settings, engine)
        await fake.start_client(bot)
        await scenario(fake, 40, 8)  # warm-up
        print(
            f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, "
            f"schema validation {args.validate}",
            flush=True,
        )
        for concurrency in (1, 50):
            busy[0] = 0.0
            started = time.perf_counter()
            lat, dfr = await scenario(fake, args.questions, concurrency)
            wall = time.perf_counter() - started
            report(f"{concurrency} concurrent", lat, dfr, wall)
            print(
                f"{'':>16}  engine busy {busy[0]:.1f} s of {wall:.1f} s wall "
                f"({1000 * busy[0] / len(lat):.1f} ms of engine time per question)"
            )
        if args.validate != "off":
            problems = [e for p, i, w in deferred for e in check_schema(p, i, w)]
            problems += fake.violations + fake.response_violations
            print(
                f"{'validation':>16}: {len(deferred)} request/response bodies checked against "
                f"the OpenAPI spec after the timed runs: {len(problems)} violations",
                flush=True,
            )
            for problem in problems[:5]:
                print(f"{'':>16}  {problem}")
            deferred.clear()
        assert bot.batcher is not None
        batches_before = bot.batcher.batches
        forget(fake)
        gc.collect()
        before = rss_mib()
        readings = []
        late: list[str] = []
        for _ in range(args.rounds):
            for _ in range(args.memory // 200):
                await scenario(fake, 200, 50)
                late += [e for p, i, w in deferred for e in check_schema(p, i, w)]
                deferred.clear()
            forget(fake)
            gc.collect()
            readings.append(rss_mib())
        batches = bot.batcher.batches - batches_before
        asked = args.memory * args.rounds
        steps = ", ".join(f"{r:.1f}" for r in readings)
        print(
            f"{'memory':>16}: VmRSS {before:.1f} MiB before, {steps} MiB after each "
            f"{args.memory} questions ({readings[-1] - before:+.1f} MiB in total); "
            f"{batches} engine batches ({asked / max(batches, 1):.1f} questions per batch); "
            f"{len(late) + len(fake.violations)} API violations",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200, help="per scenario")
    parser.add_argument("--memory", type=int, default=1000, help="questions per memory round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --memory questions")
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
        engine = Engine(EngineConfig(work / "docs", work / "index"), Embedder())
        engine.open()
        asyncio.run(run(args, engine, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
