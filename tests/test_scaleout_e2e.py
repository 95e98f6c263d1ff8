"""End-to-end scale-out: two real ``askdocs run`` processes (shards 0 and 1 of 2) and one
PostgreSQL + pgvector, against the fake Discord with guilds on both shards.

Each process has its own index folder (its build cache) and its own copy of the same
documents, and ASKDOCS_DATABASE_URL pointing at one database: passages are served from the
database, a /reindex in one process is published there and followed by the other, votes and
the question log are stored there. The test walks through, in order:

a. questions in guilds of both shards are answered (from the database's passages);
b. /reindex from shard 0's process after adding a document: shard 1's process serves the
   new version without a restart;
d. PostgreSQL stopped while questions are being asked: every question during the outage gets
   the one-line "try again" message (no traceback, no "something went wrong"); PostgreSQL
   started again: both processes answer again, votes and logged questions are stored, and a
   version published by one is followed by the other again (a vote or a /reindex during the
   outage is refused in one line);
c. shard 0's process killed (SIGKILL) in the middle of a /reindex (stalled by a test hook in
   ``fakediscord.launch``, after the new version's passages were written): nothing of it is
   visible, shard 1's process answers from the old version, and a /reindex from shard 1's
   process succeeds (the build lock died with the killed process); then, with PostgreSQL
   stopped again, that process still stops cleanly on SIGTERM.

Both processes start at once on the empty database (only one builds; the other serves what
it published). The processes' stderr may hold no traceback, no ERROR/CRITICAL line, and
WARNING lines only discord.py's at start and, while PostgreSQL is down, those listed in
``OUTAGE_WARNINGS``.

A bad ASKDOCS_DATABASE_URL, or a database without the vector extension, makes ``askdocs
run`` exit with one line on stderr (no traceback, no password), before the model loads.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from bot_fixtures import DOC, TIMEOUT
from bot_process import BotProcess, base_env, start_bot_process
from fakediscord import FakeDiscord
from fakediscord.launch import STALL_ENV, STALL_MARK
from fakediscord.payloads import FakeChannel, FakeGuild, MessageFlag
from pg import PASSWORD, PostgresServer

from bot.discord_app.errors import DATABASE_UNAVAILABLE
from bot.discord_app.views import UP_ID
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.errors import DatabaseError

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
SHARDS = 2
STARTUP = 90.0
"""Seconds both processes may take to start: imports, model, first build and publish, READY."""
QUESTION = "When did the Hanoi summit break down?"
HANOI = "It comes at a time when talks between the United States and North Korea"
OUTAGE_REPLY = f"⚠️ Sorry, I can't answer right now: {DATABASE_UNAVAILABLE}"
NEW_DOC = "zorblax.md"
NEW_TEXT = (
    "# The Zorblax Festival\n\nThe Zorblax festival is held every year in March in the "
    "mountain town of Quillby, where visitors float blue paper lanterns on the lake.\n"
)
NEW_QUESTION = "When is the Zorblax festival held?"
LATER_DOC = "brassknot.md"
LATER_TEXT = (
    "# Brassknot Ferry\n\nThe Brassknot ferry crosses the river Ollen nine times a day and "
    "carries bicycles free of charge on weekdays.\n"
)
LATER_QUESTION = "How often does the Brassknot ferry cross the river?"
KILLED_DOC = "glimmerfen.md"
KILLED_TEXT = (
    "# Glimmerfen Lighthouse\n\nThe Glimmerfen lighthouse was painted bright orange in 1987 "
    "by the volunteer keepers of the harbour, who still climb its 212 steps every evening.\n"
)
KILLED_QUESTION = "What colour was the Glimmerfen lighthouse painted?"
BAD_LINE = re.compile(r"Traceback|\b(ERROR|CRITICAL)\b")
WARNING_LINE = re.compile(r"\bWARNING\b")
STARTUP_WARNINGS = ("voice will NOT be supported",)
"""discord.py's warnings at every start (the bot has no voice)."""
OUTAGE_WARNINGS = (
    # the bot: the database's failure (which, and why) once per outage, then each question
    # it could not answer, with the reason askers are given
    "; askers are told to try again until it answers",
    f"': {DATABASE_UNAVAILABLE}",
    # the engine's follower of published versions, reconnecting with a back-off
    "WARNING index.pg_versions: following index versions: ",
    # a /reindex asked for during the outage
    "WARNING bot.discord_app.cogs.admin: reindex failed, the previous index keeps serving: ",
    # votes and the question log: once per outage each
    "; votes are refused politely until it works again",
    "WARNING bot.shared.question_recorder: question log: ",
    # the rate limit shared through the database: each process applies its own meanwhile
    "each process applies its own cooldown until the database is back",
)
"""The only WARNING lines allowed while PostgreSQL is down (and a few seconds after)."""
OUTAGE_GRACE = 5.0


# -- processes -------------------------------------------------------------------------------------
def bad_lines(bot: BotProcess, outages: Sequence[tuple[float, float]] = ()) -> list[str]:
    """Tracebacks, ERROR/CRITICAL lines, and warnings other than discord.py's at start
    and, within one of the ``outages`` (Unix times, from and to), an outage's own."""
    bad = []
    for line in bot.output().splitlines():
        if BAD_LINE.search(line):
            bad.append(line)
        elif WARNING_LINE.search(line) and not any(w in line for w in STARTUP_WARNINGS):
            expected = any(w in line for w in OUTAGE_WARNINGS)
            during = any(start <= logged_at(line) <= end for start, end in outages)
            if not (expected and during):
                bad.append(line)
    return bad


def logged_at(line: str) -> float:
    """The Unix time of a log line (``askdocs``'s format starts with the local time)."""
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return float("nan")  # not a log line: never within an outage


@dataclass
class Cluster:
    fake: FakeDiscord
    root: Path
    url: str
    bots: list[BotProcess] = field(default_factory=list)

    def docs(self, shard_id: int) -> Path:
        return self.root / f"docs-{shard_id}"

    def add_document(self, name: str, text: str) -> None:
        """Put ``name`` in both processes' copies of the documents (as a deployment would)."""
        for shard_id in range(SHARDS):
            (self.docs(shard_id) / name).write_text(text, encoding="utf-8")

    def env(self, shard_id: int, **extra: str) -> dict[str, str]:
        return base_env() | {
            "ASKDOCS_DISCORD_TOKEN": self.fake.token,
            "ASKDOCS_DATABASE_URL": self.url,
            "ASKDOCS_SOURCE_DOCS": str(self.docs(shard_id)),
            "ASKDOCS_INDEX_DIR": str(self.root / f"index-{shard_id}"),
            "ASKDOCS_FEEDBACK_DB": str(self.root / f"unused-feedback-{shard_id}.sqlite3"),
            "ASKDOCS_SHARD_COUNT": str(SHARDS),
            "ASKDOCS_SHARD_IDS": str(shard_id),
            "ASKDOCS_QUESTION_LOG": "true",
            "ASKDOCS_COOLDOWN_QUESTIONS": "1000",
            "ASKDOCS_LOG_LEVEL": "INFO",
            **extra,
        }

    async def start(self, shard_id: int, **extra: str) -> BotProcess:
        log = self.root / f"shard-{shard_id}.log"
        env = self.env(shard_id, **extra)
        bot = await start_bot_process(self.fake, shard_id, self.root, env, log)
        self.bots.append(bot)
        return bot


@pytest_asyncio.fixture(loop_scope="function")
async def cluster(
    fake_discord: FakeDiscord, built_index: Path, pg_own_server: PostgresServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """A fresh database on the module's own PostgreSQL, and per shard a copy of the session's
    built index (the build cache: nothing is embedded again) and of its documents. Processes
    still running at teardown are killed, and PostgreSQL is running again afterwards."""
    url = pg_own_server.create_database()
    root = tmp_path / "cluster"
    for shard_id in range(SHARDS):
        shutil.copytree(built_index / "docs", root / f"docs-{shard_id}")
        shutil.copytree(built_index / "index", root / f"index-{shard_id}")
    cluster = Cluster(fake_discord, root, url)
    try:
        yield cluster
    finally:
        for bot in cluster.bots:
            await bot.kill()
        if not pg_own_server.running:
            pg_own_server.start()  # on this (the main) thread: see restart_postgresql


# -- the database, seen from the test ------------------------------------------------------------
def query(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


async def current_version(url: str) -> str:
    rows = await asyncio.to_thread(
        query, url, "SELECT version FROM askdocs_current WHERE kb = 'shared'"
    )
    assert len(rows) == 1, rows
    return str(rows[0][0])


async def version_states(url: str) -> dict[str, str]:
    rows = await asyncio.to_thread(query, url, "SELECT name, state FROM askdocs_versions")
    return {str(name): str(state) for name, state in rows}


def restart_postgresql(server: PostgresServer) -> None:
    """Start the stopped server from the main thread, blocking the event loop (and the fake
    Discord) for a moment: PostgreSQL dies with the thread that started it (tests/pg.py), and
    asyncio's worker threads end with the test's event loop."""
    server.start()


# -- Discord, seen from the test -----------------------------------------------------------------
def general(guild: FakeGuild) -> FakeChannel:
    return guild.channel_named("general")


def answer_text(message: dict[str, Any]) -> str:
    assert message["embeds"], f"no embed in {message}"
    embed = message["embeds"][0]
    return embed["description"] + "".join(f["value"] for f in embed.get("fields", []))


def sources_of(message: dict[str, Any]) -> str:
    return "".join(f["value"] for f in message["embeds"][0].get("fields", []))


async def ask(fake: FakeDiscord, guild: FakeGuild, question: str) -> dict[str, Any]:
    iid = await fake.slash_command("ask", {"question": question}, channel=general(guild))
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT)


async def reindex(fake: FakeDiscord, guild: FakeGuild) -> int:
    return await fake.slash_command("reindex", user=fake.owner_user, channel=general(guild))


def variant(question: str, n: int) -> str:
    """``question`` with the case of its letters flipped by the bits of ``n``: the same
    question to the engine (the model and BM25 read it lowercased), another one to the bot's
    answer cache, so every variant really reaches the database."""
    out, bit = [], 0
    for ch in question:
        if ch.isalpha():
            out.append(ch.swapcase() if n >> bit & 1 else ch)
            bit += 1
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Load:
    """Questions asked one after another, alternately in each guild, until stopped; each
    reply sorted, with the time it was asked, into answered / told to try again / anything
    else (always a failure)."""

    fake: FakeDiscord
    guilds: list[FakeGuild]
    replies: list[tuple[float, int, str]] = field(default_factory=list)  # (asked, shard, kind)
    other: list[str] = field(default_factory=list)
    stopping: bool = False

    async def run(self, first: int) -> None:
        n = first
        while not self.stopping:
            for shard_id, guild in enumerate(self.guilds):
                n += 1
                asked = time.time()
                reply = await ask(self.fake, guild, variant(QUESTION, n))
                if reply["embeds"] and HANOI in answer_text(reply):
                    kind = "answered"
                elif reply["content"] == OUTAGE_REPLY:
                    kind = "try again"
                else:
                    kind = "other"
                    self.other.append(f"shard {shard_id}: {reply['content']!r} {reply['embeds']}")
                self.replies.append((asked, shard_id, kind))

    def since(self, moment: float) -> list[tuple[int, str]]:
        """(shard, kind) of the questions asked after ``moment``."""
        assert not self.other, self.other
        return [(shard, kind) for asked, shard, kind in self.replies if asked > moment]

    def each(self, moment: float, kind: str, at_least: int) -> bool | None:
        """Whether both shards gave ``at_least`` replies of ``kind`` to questions asked
        after ``moment``, and no other kind."""
        replies = self.since(moment)
        assert {k for _, k in replies} <= {kind}, replies
        counts = [sum(1 for s, _ in replies if s == shard) for shard in range(SHARDS)]
        return True if min(counts) >= at_least else None


# -- the walk-through ------------------------------------------------------------------------------
@pytest.mark.slow
async def test_two_processes_share_one_postgresql(
    cluster: Cluster, pg_own_server: PostgresServer
) -> None:
    fake, url = cluster.fake, cluster.url
    guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, SHARDS)) for i in range(SHARDS)]
    stall = cluster.root / "stall-builds"
    # both at once, on an empty database: one builds and publishes, the other serves it
    bots = [await cluster.start(0, **{STALL_ENV: str(stall)}), await cluster.start(1)]
    await wait_ready(fake, bots)
    first = await current_version(url)
    states = await version_states(url)
    # (a second version when the loser of the race took the build lock only after the
    # winner published: wasteful, not wrong)
    assert states[first] == "ready" and set(states.values()) <= {"ready", "retired"}, states

    # a. both shards answer, from the database
    for guild in guilds:
        reply = await ask(fake, guild, QUESTION)
        assert HANOI in answer_text(reply) and DOC in sources_of(reply)
        reply = await ask(fake, guild, NEW_QUESTION)
        assert NEW_DOC not in sources_of(reply)

    # b. /reindex in shard 0's process; shard 1's follows the published version
    cluster.add_document(NEW_DOC, NEW_TEXT)
    report = await fake.wait_interaction_final(await reindex(fake, guilds[0]), timeout=60.0)
    assert "**1** added" in report["embeds"][0]["description"], report
    second = await current_version(url)
    assert second != first
    await fake.wait_for(
        lambda: True if f"now serving version {second}" in bots[1].output() else None,
        "shard 1's process following the new version",
        TIMEOUT,
    )
    for guild in guilds:
        reply = await ask(fake, guild, NEW_QUESTION)
        assert "March" in answer_text(reply) and NEW_DOC in sources_of(reply)

    # d. PostgreSQL stopped under load, then started again
    load = Load(fake, guilds)
    load_task = asyncio.create_task(load.run(first=1))
    try:
        started = time.time()
        await fake.wait_for(lambda: load.each(started, "answered", 2), "answers", 30.0)
        to_vote_on = await ask(fake, guilds[0], QUESTION)
        outage_from = time.time()
        await asyncio.to_thread(pg_own_server.stop)
        stopped = time.time()  # every question asked from now on is told to try again
        await fake.wait_for(lambda: load.each(stopped, "try again", 3), "outage replies", 30.0)
        channel = general(guilds[1])
        mid = await fake.message(f"{fake.bot_user.mention} {variant(QUESTION, 0)}", channel=channel)
        reply = await fake.wait_message(channel_id=channel.id, after=mid, timeout=TIMEOUT)
        assert reply["content"] == OUTAGE_REPLY  # a mention is told the same
        click = await fake.click_button(int(to_vote_on["id"]), UP_ID, user=fake.admin_user)
        sorry = await fake.wait_interaction_final(click, timeout=TIMEOUT)
        assert sorry["content"] == "Sorry, I couldn't record that right now."
        failed = await fake.wait_interaction_final(await reindex(fake, guilds[1]), timeout=TIMEOUT)
        embed = failed["embeds"][0]
        assert embed["title"] == "❌ Reindex failed — the previous index is still answering"
        assert "cannot connect to postgresql://postgres@127.0.0.1:" in embed["description"]
        assert PASSWORD not in str(failed) and "\n" not in embed["description"]
        restart_postgresql(pg_own_server)
        restarted = time.time()  # every question asked from now on is answered
        outage = (outage_from, restarted + OUTAGE_GRACE)
        await fake.wait_for(
            lambda: load.each(restarted, "answered", 3), "answers after the restart", 30.0
        )
    finally:
        load.stopping = True
        await asyncio.wait_for(load_task, 2 * TIMEOUT)
    assert not load.other, load.other
    assert await current_version(url) == second
    # nothing lost after the recovery: votes and the question log are stored
    since = int(time.time()) - 1
    voted: list[int] = []
    for guild in guilds:
        reply = await ask(fake, guild, "Where did Kim Jong Un and Putin meet?")
        voted.append(int(reply["id"]))
        click = await fake.click_button(voted[-1], UP_ID, user=fake.admin_user)
        thanks = await fake.wait_interaction_final(click, timeout=TIMEOUT)
        assert thanks["content"].startswith("Thanks") and thanks["flags"] & MessageFlag.EPHEMERAL

    def stored() -> bool | None:
        votes = query(url, "SELECT message_id FROM feedback WHERE vote = 1")
        logged = query(
            url,
            "SELECT message_id FROM questions WHERE asked_at >= %s AND outcome = 'answered'",
            since,
        )
        want = set(voted)
        return True if want <= {r[0] for r in votes} and want <= {r[0] for r in logged} else None

    await fake.wait_for(stored, "the votes and questions in the database", TIMEOUT)
    # and both follow versions again: shard 1's process publishes, shard 0's switches to it
    cluster.add_document(LATER_DOC, LATER_TEXT)
    report = await fake.wait_interaction_final(await reindex(fake, guilds[1]), timeout=60.0)
    assert LATER_DOC in answer_text(report), report
    serving = await current_version(url)
    await fake.wait_for(
        lambda: True if f"now serving version {serving}" in bots[0].output() else None,
        "shard 0's process following the version published after the outage",
        30.0,  # its follower reconnects with a back-off of at most 10 s
    )
    reply = await ask(fake, guilds[0], LATER_QUESTION)
    assert LATER_DOC in sources_of(reply), reply

    # c. shard 0's process killed in the middle of a /reindex
    cluster.add_document(KILLED_DOC, KILLED_TEXT)
    stall.touch()
    await reindex(fake, guilds[0])
    await fake.wait_for(
        lambda: True if STALL_MARK in bots[0].output() else None,
        "shard 0's build writing its version",
        60.0,
    )
    await bots[0].kill()
    states = await version_states(url)
    assert await current_version(url) == serving and states[serving] == "ready"
    assert "building" in states.values()  # its half-written version, which nobody serves
    reply = await ask(fake, guilds[1], KILLED_QUESTION)
    assert KILLED_DOC not in str(reply)
    reply = await ask(fake, guilds[1], QUESTION)
    assert HANOI in answer_text(reply)
    report = await fake.wait_interaction_final(await reindex(fake, guilds[1]), timeout=60.0)
    assert KILLED_DOC in answer_text(report), report  # "Added": the lock died with the process
    rebuilt = await current_version(url)
    states = await version_states(url)
    assert rebuilt not in (first, second, serving) and "building" not in states.values(), states
    reply = await ask(fake, guilds[1], KILLED_QUESTION)
    assert "orange" in answer_text(reply) and KILLED_DOC in sources_of(reply)

    # stopped while the database is down: still a clean stop
    outage_from = time.time()
    await asyncio.to_thread(pg_own_server.stop)
    assert await bots[1].stop() == 0, bots[1].tail()
    assert "bot stopped" in bots[1].output()
    outages = [outage, (outage_from, time.time())]
    restart_postgresql(pg_own_server)
    assert fake.requests and not fake.violations
    for bot in bots:
        bad = bad_lines(bot, outages)
        assert not bad, f"shard {bot.shard_id} logged:\n" + "\n".join(bad)


async def wait_ready(fake: FakeDiscord, bots: list[BotProcess]) -> None:
    def ready() -> bool | None:
        for bot in bots:
            bot.check_alive()
        live = fake.gateway.live_shards() >= {(b.shard_id, SHARDS) for b in bots}
        return True if live and all("connected as" in b.output() for b in bots) else None

    shards = ", ".join(str(b.shard_id) for b in bots)
    await fake.wait_for(ready, f"the processes of shards {shards} connected and ready", STARTUP)


async def test_a_process_starting_while_another_builds_waits_for_its_version(
    cluster: Cluster,
) -> None:
    """The first build on an empty database takes a while; a process started meanwhile waits
    for it (rather than exiting with "another process is building") and serves it."""
    fake, url = cluster.fake, cluster.url
    guilds = [fake.world.add_guild(f"Shard {i} Guild", shard=(i, SHARDS)) for i in range(SHARDS)]
    stall = cluster.root / "stall-builds"
    stall.touch()
    builder = await cluster.start(0, **{STALL_ENV: str(stall)})
    await fake.wait_for(
        lambda: True if STALL_MARK in builder.output() else None, "the first build", STARTUP
    )
    waiter = await cluster.start(1)
    await fake.wait_for(
        lambda: True if "waiting for it to finish" in waiter.output() else None,
        "shard 1's process waiting for the build",
        STARTUP,
    )
    waiter.check_alive()
    stall.unlink()  # the build goes on and publishes
    await wait_ready(fake, [builder, waiter])
    version = await current_version(url)
    assert await version_states(url) == {version: "ready"}  # built once
    assert "no index for 'shared' in the database yet" in builder.output()
    assert "published version" not in waiter.output()
    for guild in guilds:
        assert HANOI in answer_text(await ask(fake, guild, QUESTION))
    for bot in (builder, waiter):
        assert await bot.stop() == 0, bot.tail()
        assert not bad_lines(bot), bot.tail()


# -- e. a bad database setting -----------------------------------------------------------------
async def run_askdocs(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from bot.terminal.cli import main; sys.exit(main(['run']))",
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60.0)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode(errors="replace")


@pytest.mark.parametrize(
    ("make_url", "status", "message"),
    [
        (
            lambda server: "postgresql://askdocs:hunter2@127.0.0.1:1/askdocs",
            1,
            "askdocs: error: cannot connect to postgresql://askdocs@127.0.0.1:1/askdocs: ",
        ),
        (
            lambda server: server.url_for("postgres", password="hunter2"),
            1,
            "askdocs: error: cannot connect to postgresql://postgres@127.0.0.1:",
        ),
        (
            lambda server: server.url_for("no_such_database"),
            1,
            "askdocs: error: cannot connect to postgresql://postgres@127.0.0.1:",
        ),
        (
            lambda server: server.create_database(vector=False),
            1,
            "askdocs: error: database 127.0.0.1:",
        ),
        (
            lambda server: "mysql://askdocs:hunter2@127.0.0.1/askdocs",
            2,
            "askdocs: error: invalid setting ASKDOCS_DATABASE_URL",
        ),
    ],
    ids=["unreachable", "wrong-password", "no-database", "no-vector", "not-postgresql"],
)
async def test_run_with_a_bad_database_is_one_line(
    make_url: Callable[[PostgresServer], str],
    status: int,
    message: str,
    pg_own_server: PostgresServer,
    tmp_path: Path,
) -> None:
    env = base_env() | {
        "ASKDOCS_DISCORD_TOKEN": "not-a-real-token",
        "ASKDOCS_DATABASE_URL": make_url(pg_own_server),
        "ASKDOCS_SOURCE_DOCS": str(tmp_path / "docs"),
        "ASKDOCS_INDEX_DIR": str(tmp_path / "index"),
    }
    started = time.monotonic()
    code, output = await run_askdocs(env, tmp_path)
    assert code == status, output
    assert output.startswith(message) and output.count("\n") == 1, output
    assert "Traceback" not in output
    assert "hunter2" not in output and PASSWORD not in output
    assert not (tmp_path / "index").exists()  # failed before building anything
    assert time.monotonic() - started < 30.0


# -- documents added or removed through one process reach every process's builds ------------
def test_a_document_added_through_one_process_survives_a_reindex_in_another(
    pg_own_server: PostgresServer, built_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    url = pg_own_server.create_database()
    engines = []
    for shard_id in range(SHARDS):
        shutil.copytree(built_index / "docs", tmp_path / f"docs-{shard_id}")
        config = EngineConfig(
            tmp_path / f"docs-{shard_id}", tmp_path / f"index-{shard_id}", database_url=url
        )
        engines.append(Engine(config, embedder))
    try:
        for engine in engines:
            engine.open()
        (tmp_path / "docs-0" / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")  # /docs add
        engines[0].record_document(NEW_DOC, NEW_TEXT.encode())
        engines[0].reindex()
        assert NEW_DOC in {d.source for d in engines[0].documents}
        engines[1].reindex()  # a /reindex in the other process
        assert NEW_DOC in {d.source for d in engines[1].documents}
        assert (tmp_path / "docs-1" / NEW_DOC).read_text(encoding="utf-8") == NEW_TEXT
        (tmp_path / "docs-1" / NEW_DOC).unlink()  # /docs remove in the other process
        engines[1].record_document(NEW_DOC, None)
        engines[1].reindex()
        engines[0].reindex()
        assert NEW_DOC not in {d.source for d in engines[0].documents}
        assert not (tmp_path / "docs-0" / NEW_DOC).exists()
    finally:
        for engine in engines:
            engine.close()


def test_a_failed_switch_to_a_published_version_is_retried(
    pg_database: str, built_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    shutil.copytree(built_index / "docs", tmp_path / "docs")
    builder, reader = (
        Engine(EngineConfig(tmp_path / "docs", tmp_path / name, database_url=pg_database), embedder)
        for name in ("a", "b")
    )
    try:
        builder.open()
        reader.open()
        real_switch, failures = reader.shared.switch, []

        def blink(version: str, manifest: Any) -> None:
            if not failures:
                failures.append(version)
                raise DatabaseError("the database failed: server closed the connection")
            real_switch(version, manifest)

        reader.shared.switch = blink  # type: ignore[method-assign]
        reader.follow()
        (tmp_path / "docs" / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
        builder.reindex()
        deadline = time.monotonic() + 5.0  # a switch takes milliseconds
        while reader.shared.version != builder.shared.version and time.monotonic() < deadline:
            time.sleep(0.1)
        assert failures, "the switch was never tried"
        assert reader.shared.version == builder.shared.version
    finally:
        builder.close()
        reader.close()
