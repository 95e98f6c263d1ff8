"""Issue 7's memory and bot figures not covered by the other benches, in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_memory.py [--stdin 200,2000]
        [--bot-questions 1000] [--in-flight 10]

* ``askdocs ask --json`` answering N questions from stdin (the CLI answers them in batches
  of 64): the child's wall time and peak RSS (``os.wait4``), for 1 question as an argument
  and for each N; memory must not grow with N.
* The Discord bot in a fresh process with the index already on disk (the real AskdocsBot
  and engine, talking to the wire-level fake Discord of tests/fakediscord in the same
  process): seconds from the process being started to the engine opened, the bot ready and
  the first ``/ask`` answered (the import of the fake and its server start are timed
  apart and subtracted); RSS when ready, after a warm-up and after ``--bot-questions``
  questions (and after each of ``--rounds`` such rounds: does growth level off?); CPU per
  question over the first round with at most ``--in-flight`` at once
  (``resource.getrusage`` of the process, and split by thread: the event-loop thread runs
  the bot and the fake, the other threads run the engine and onnxruntime).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from measure import rss_mib

ROOT = Path(__file__).resolve().parent.parent
ASKDOCS = Path(sys.executable).parent / "askdocs"
EVAL = ROOT / "tests" / "data" / "article_eval.jsonl"


def load_questions() -> list[str]:
    with open(EVAL, encoding="utf-8") as fh:
        return [json.loads(line)["q"] for line in fh if line.strip()]


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    print(f"== the bot in a fresh process (load average {os.getloadavg()[0]:.2f})", flush=True)
    cmd = [sys.executable, __file__, "--child", "--work", str(work)]
    cmd += ["--bot-questions", str(questions), "--in-flight", str(in_flight)]
    cmd += ["--rounds", str(rounds)]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "BENCH_T0": repr(time.time())}
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    fig = json.loads(out.strip().splitlines()[-1])
    fake = fig["fake_import_s"] + fig["fake_start_s"]
    print(
        f"  launch: interpreter up after {fig['interpreter_s']:.2f} s; bot and engine "
        f"imported {fig['imported_s']:.2f} s; engine open (index loaded) {fig['open_s']:.2f} s; "
        f"bot ready {fig['ready_s']:.2f} s; first /ask answered {fig['first_answer_s']:.2f} s "
        f"from process start, of which {fake:.2f} s is the fake Discord's import and start "
        f"-> {fig['first_answer_s'] - fake:.2f} s for the bot alone"
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
    per = 1000 / questions
    print(
        f"  CPU per question, <= {in_flight} in flight, {questions} questions in "
        f"{fig['wall_s']:.1f} s: {fig['cpu_s'] * per:.2f} ms for the whole process = "
        f"{fig['loop_cpu_s'] * per:.2f} ms on the event-loop thread (bot + fake Discord) + "
        f"{fig['other_cpu_s'] * per:.2f} ms on other threads (engine, onnxruntime); "
        f"engine calls {fig['engine_s'] * per:.2f} ms of wall per question, "
        f"{fig['batches']} engine batches"
    )


async def ask(fake: Any, question: str) -> None:
    iid = await fake.slash_command("ask", {"question": question})
    await fake.wait_interaction_final(iid, timeout=30)


async def many(fake: Any, questions: list[str], total: int, in_flight: int) -> None:
    """``total`` questions by ``in_flight`` askers who re-ask when answered."""
    queue = list(range(total))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            await ask(fake, questions[i % len(questions)])

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    from bench_discord import forget  # after the timed start-up: it imports the engine

    forget(fake)  # the fake's own records grow with every request: not the bot's


def timed(engine: Any) -> list[float]:
    """Wrap ``engine.answer_many`` to add up the seconds spent in it."""
    busy = [0.0]
    answer_many = engine.answer_many

    def timed_answer_many(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return answer_many(*args, **kwargs)
        finally:
            busy[0] += time.perf_counter() - began

    engine.answer_many = timed_answer_many
    return busy


async def steady(
    fake: Any, bot: Any, busy: list[float], args: argparse.Namespace
) -> dict[str, Any]:
    """RSS over rounds of questions; CPU per question over the first round."""
    asked = load_questions()
    fig: dict[str, Any] = {"warm": 200}
    await many(fake, asked, fig["warm"], args.in_flight)
    gc.collect()
    fig["rss_warm"] = rss_mib()
    batches, loop_thread = bot.batcher.batches, threading.get_native_id()
    busy[0] = 0.0
    threads, cpu, wall = thread_cpu(), process_cpu(), time.perf_counter()
    await many(fake, asked, args.bot_questions, args.in_flight)
    wall, cpu = time.perf_counter() - wall, process_cpu() - cpu
    loop_cpu = thread_cpu()[loop_thread] - threads[loop_thread]
    fig.update(wall_s=wall, cpu_s=cpu, loop_cpu_s=loop_cpu, other_cpu_s=cpu - loop_cpu)
    fig.update(engine_s=busy[0], batches=bot.batcher.batches - batches)
    gc.collect()
    fig["rss_rounds"] = [rss_mib()]
    for _ in range(args.rounds - 1):  # more rounds: does the growth level off?
        await many(fake, asked, args.bot_questions, args.in_flight)
        gc.collect()
        fig["rss_rounds"].append(rss_mib())
    fig["rss_after"] = fig["rss_rounds"][0]
    return fig


def child(args: argparse.Namespace) -> None:
    """The bot's start-up and steady-state figures, as one JSON line on stdout."""
    t0 = float(os.environ["BENCH_T0"])
    fig: dict[str, Any] = {"interpreter_s": time.time() - t0}
    started = time.time()
    sys.path.insert(0, str(ROOT / "tests"))
    from fakediscord import FakeDiscord

    fig["fake_import_s"] = time.time() - started
    from bot.discord_app.bot import AskdocsBot
    from bot.shared.settings import Settings
    from index.engine import Engine, EngineConfig

    fig["imported_s"] = time.time() - t0
    engine = Engine(EngineConfig(args.work / "docs", args.work / "index"))
    engine.open()
    fig["open_s"] = time.time() - t0
    busy = timed(engine)

    async def run() -> None:
        began = time.time()
        async with FakeDiscord() as fake:
            fig["fake_start_s"] = time.time() - began
            fake.validator.schema_errors = lambda *a: []  # checked by bench_discord and tests
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                discord_token=fake.token,
                feedback_db=args.work / "feedback.sqlite3",
                cooldown_questions=1_000_000,
            )
            bot = AskdocsBot(settings, engine)
            await fake.start_client(bot)
            fig["ready_s"] = time.time() - t0
            fig["rss_ready"] = rss_mib()
            await ask(fake, "Who is Kim?")
            fig["first_answer_s"] = time.time() - t0
            fig.update(await steady(fake, bot, busy, args))

    asyncio.run(run())
    fig["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(fig))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdin", default="200,2000", help="question counts for stdin runs")
    parser.add_argument("--bot-questions", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --bot-questions")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.child:
        child(args)
        return
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
