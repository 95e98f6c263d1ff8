"""A bot in its own process, connected to a FakeDiscord running in the bench's process.

Discord is never in a bot's process, and the fake Discord (JSON-schema checks, gateway
compression, deep copies of every message it stores) costs more CPU than a bot does; run
in one process and one event loop with the bot, it would be counted as the bot's CPU and
its work would queue behind the bot's (and the bot's behind its). So the bench keeps the
fake and the askers here and starts the bot under test as a child:

    python bench/botproc.py --kind askdocs|plain --port P --token T --work DIR

The child points discord.py at the fake, connects, and prints one JSON line per event on
stdout (``{"event": "imported" | "open" | "ready", "t": unix time}``). It then reads
commands on stdin: ``stats`` prints (and resets) where its time went — Discord round trips
by kind, time in the batcher's queue and in the engine, time composing the answer —
and ``quit`` closes the bot. The parent measures the child's CPU per thread and RSS from
``/proc``. The child logs at INFO, as ``askdocs run`` does, to ``<work>/<kind>-bot.log``.
``BENCH_MAX_BATCH``, ``BENCH_MAX_WAIT``, ``BENCH_CACHE_SIZE`` and ``BENCH_MAX_IN_FLIGHT``
override the batcher's defaults, and ``BENCH_PROFILE=PATH`` writes a cProfile of the
child's event-loop thread to ``PATH.<kind>`` (for experiments).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
T0 = time.time()


# -- the parent's side -------------------------------------------------------------------------
class BotProcess:
    """The bot under test, in a child process (see the module docstring)."""

    def __init__(self, kind: str, port: int, token: str, work: Path) -> None:
        self.kind = kind
        self.started = time.time()
        cmd = [sys.executable, __file__, "--kind", kind, "--port", str(port), "--token", token]
        cmd += ["--work", str(work)]
        env = os.environ | {"HF_HUB_OFFLINE": "1", "BENCH_T0": repr(self.started)}
        self.log = work / f"{kind}-bot.log"  # its log, at INFO as `askdocs run` writes it
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                text=True,
                bufsize=1,
            )
        self.pid = self.proc.pid
        self.events: dict[str, float] = {}

    def _line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the {self.kind} bot exited (status {self.proc.wait()}):\n{tail}")
        return json.loads(line)  # type: ignore[no-any-return]

    async def ready(self) -> dict[str, float]:
        """Wait for the child's ``ready`` event; seconds from process start to each event."""
        while "ready" not in self.events:
            event = await asyncio.to_thread(self._line)
            self.events[event["event"]] = event["t"] - self.started
        return self.events

    async def stats(self) -> dict[str, Any]:
        """The child's timings since the last call (and resets them)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return await asyncio.to_thread(self._line)

    async def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        await asyncio.to_thread(self.proc.wait, 30)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds (user + system) of (the event-loop thread, all the other threads)."""
        tick = os.sysconf("SC_CLK_TCK")
        loop = other = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            seconds = (int(fields[11]) + int(fields[12])) / tick
            if int(task.name) == self.pid:
                loop += seconds
            else:
                other += seconds
        # threads that ended are only in the process total
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / tick
        return loop, max(other, total - loop)

    def _status(self, field: str) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith(field)) / 1024

    def rss(self) -> float:
        """The child's resident memory now, in MiB."""
        return self._status("VmRSS:")

    def peak_rss(self) -> float:
        """The child's peak resident memory so far, in MiB."""
        return self._status("VmHWM:")


# -- the child's side --------------------------------------------------------------------------
class Timings:
    """Seconds and counts by kind, added up in the child's event loop."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, kind: str, seconds: float, count: int = 1) -> None:
        self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
        self.counts[kind] = self.counts.get(kind, 0) + count

    def snapshot(self) -> dict[str, Any]:
        out = {"seconds": self.seconds, "counts": self.counts}
        self.reset()
        return out


def _emit(event: str, **extra: Any) -> None:
    print(json.dumps({"event": event, "t": time.time(), **extra}), flush=True)


def _wrap_async(owner: Any, name: str, kind: Callable[..., str], timings: Timings) -> None:
    original = getattr(owner, name)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            timings.add(kind(*args, **kwargs), time.perf_counter() - began)

    setattr(owner, name, timed)


def _instrument(timings: Timings) -> None:
    """Time Discord round trips (interaction callbacks, webhook edits, REST calls)."""
    import discord.http
    import discord.webhook.async_ as webhooks

    def route_kind(_self: Any, route: Any, *_a: Any, **_k: Any) -> str:
        path = route.path
        if "/callback" in path:
            return "discord: interaction callback (defer)"
        if "/messages/@original" in path:
            return "discord: edit of the deferred response"
        return f"discord: {route.method} {path}"

    _wrap_async(webhooks.AsyncWebhookAdapter, "request", route_kind, timings)
    _wrap_async(discord.http.HTTPClient, "request", route_kind, timings)


def _askdocs_bot(args: argparse.Namespace, timings: Timings) -> Any:
    from bot.discord_app.bot import AskdocsBot
    from bot.shared.settings import Settings
    from index.engine import Engine, EngineConfig

    _emit("imported")
    engine = Engine(EngineConfig(args.work / "docs", args.work / "index"))
    engine.open()
    _emit("open")
    answer_many = engine.answer_many

    def timed_answer_many(*a: Any, **k: Any) -> Any:
        began = time.perf_counter()
        try:
            return answer_many(*a, **k)
        finally:  # from the engine's thread: a float add races nothing that matters here
            timings.add("engine: answer_many (worker thread)", time.perf_counter() - began)

    engine.answer_many = timed_answer_many  # type: ignore[method-assign]
    from bot.discord_app import batching

    defaults = batching.MicroBatcher.__init__.__kwdefaults__
    for name in ("max_batch", "max_wait", "cache_size", "max_in_flight"):  # BENCH_MAX_WAIT=0.005
        value = os.environ.get(f"BENCH_{name.upper()}")
        if value is not None and defaults is not None:
            defaults[name] = type(defaults[name])(value)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=args.token,
        feedback_db=args.work / "feedback.sqlite3",
        cooldown_questions=1_000_000,
    )
    return AskdocsBot(settings, engine)


def _plain_bot(timings: Timings) -> Any:
    sys.path.insert(0, str(Path(__file__).parent))
    from plain_bot import PlainBot

    _emit("imported")
    _emit("open")
    return PlainBot()


async def _serve(args: argparse.Namespace) -> None:
    import discord
    import yarl

    discord.http.Route.BASE = f"http://127.0.0.1:{args.port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{args.port}/")
    timings = Timings()
    _instrument(timings)
    client = _askdocs_bot(args, timings) if args.kind == "askdocs" else _plain_bot(timings)
    client._connection.guild_ready_timeout = 0.05
    loop = asyncio.get_running_loop()
    quit_ = asyncio.Event()

    async def snapshot() -> dict[str, Any]:  # on the loop: no torn dicts
        return _stats(client, timings)

    def commands() -> None:
        for line in sys.stdin:
            if line.strip() == "stats":
                stats = asyncio.run_coroutine_threadsafe(snapshot(), loop).result()
                print(json.dumps(stats), flush=True)
            elif line.strip() == "quit":
                break
        loop.call_soon_threadsafe(quit_.set)

    threading.Thread(target=commands, daemon=True, name="bench-commands").start()
    async with client:
        await client.login(args.token)
        task = asyncio.create_task(client.connect(reconnect=False))
        await client.wait_until_ready()
        cog = getattr(client, "get_cog", lambda _: None)("AskCog")  # see below
        if cog is not None:
            # load_extension imported the cog module anew: patch its class, not ours
            kind = "bot: compose (batcher queue + engine or cache + embed)"
            _wrap_async(type(cog), "compose", lambda *a, **k: kind, timings)
        _emit("ready")
        await quit_.wait()
        await client.close()
        await asyncio.gather(task, return_exceptions=True)


_last_batcher: dict[str, float] = {}


def _stats(client: Any, timings: Timings) -> dict[str, Any]:
    """Timings since the last call, and the batcher's counters over the same time."""
    out = timings.snapshot()
    batcher = getattr(client, "batcher", None)
    if batcher is not None and hasattr(batcher, "stats"):
        now = batcher.stats()
        out["batcher"] = {k: v - _last_batcher.get(k, 0) for k, v in now.items()}
        _last_batcher.update(now)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("askdocs", "plain"), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # logs go to stderr (a file), at INFO as in production; stdout carries the JSON lines
    if args.kind == "askdocs":
        from bot.terminal.cli import _configure_logging

        _configure_logging("INFO", verbose=False, quiet=False)
    else:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        asyncio.run(_serve(args))
        return
    import cProfile  # the event-loop thread only: where the bot's own CPU goes

    with cProfile.Profile() as profile:
        asyncio.run(_serve(args))
    profile.dump_stats(f"{profile_to}.{args.kind}")


if __name__ == "__main__":
    main()
