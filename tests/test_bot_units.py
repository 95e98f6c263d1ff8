"""Unit tests of the bot's plain logic: limits, embeds, cooldown, permissions, feedback,
the micro-batcher and message parsing. No Discord connection involved."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace

import aiohttp
import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_app import limits
from bot.discord_app.batching import MicroBatcher, question_key
from bot.discord_app.cooldown import Cooldown
from bot.discord_app.embeds import (
    CLOSEST_FIELD,
    SOURCE_FIELD,
    EmbedCache,
    answer_embed,
    confidence_label,
    escape,
    parse_answer_embed,
    quote_passage,
    unescape,
)
from bot.discord_app.errors import (
    BotConfigError,
    BotConnectionError,
    BotLoginError,
    connection_error,
)
from bot.discord_app.permissions import may_reindex
from bot.discord_app.questions import (
    answer_unprompted,
    clean_question,
    looks_like_question,
    mentions_user,
    replies_to_someone_else,
    short,
)
from bot.discord_app.reports import failure_reason, reindex_embed, retry_message
from bot.shared.citation import citation
from bot.shared.feedback import NO_SOURCE
from bot.shared.settings import Settings
from index.engine import Engine
from index.errors import AskdocsError, IndexNotFoundError, QuestionError
from index.models import Answer, BuildReport, Passage, SkippedFile

TEXT = st.text(
    alphabet=st.sampled_from(list("abc xyz.!?\n\t*_`~|>#-@ÄéΩ🙂")) | st.characters(),
    max_size=3000,
)


def embed_json_size(embed: discord.Embed) -> int:
    data = embed.to_dict()
    total = len(data.get("title", "")) + len(data.get("description", ""))
    total += len(data.get("footer", {}).get("text", ""))
    total += len(data.get("author", {}).get("name", ""))
    return total + sum(len(f["name"]) + len(f["value"]) for f in data.get("fields", []))


def assert_embed_within_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= limits.EMBED_TITLE
    assert len(data.get("description", "")) <= limits.EMBED_DESCRIPTION
    assert len(data.get("footer", {}).get("text", "")) <= limits.FOOTER
    fields = data.get("fields", [])
    assert len(fields) <= limits.EMBED_FIELDS
    for field in fields:
        assert 0 < len(field["name"]) <= limits.FIELD_NAME
        assert 0 < len(field["value"]) <= limits.FIELD_VALUE
    assert embed_json_size(embed) <= limits.EMBED_TOTAL


# -- limits ---------------------------------------------------------------------------------------
@given(text=TEXT, limit=st.integers(min_value=1, max_value=2500))
@settings(max_examples=400, deadline=None)
def test_truncate_fits_and_cuts_at_a_boundary(text: str, limit: int) -> None:
    out = limits.truncate(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
        return
    assert out.endswith(limits.ELLIPSIS)
    prefix = out[: -len(limits.ELLIPSIS)]
    assert text.startswith(prefix)
    room = limit - 1
    # a boundary: the original continues with whitespace right after the kept prefix, or the
    # window held no usable boundary at all (one very long word is cut)
    window = text[:room]
    on_boundary = prefix == "" or text[len(prefix)].isspace()
    no_boundary = not any(ch.isspace() for ch in window.strip())
    assert on_boundary or no_boundary or len(prefix) == room


def test_truncate_prefers_the_sentence_end() -> None:
    text = "First sentence here. Second sentence is much longer than the first one."
    assert limits.truncate(text, 40) == "First sentence here.…"
    assert limits.truncate("word " * 10, 12) == "word word…"
    assert limits.truncate("x" * 50, 10) == "x" * 9 + "…"
    assert limits.truncate("short", 5) == "short"


@given(
    title=TEXT,
    description=st.text(max_size=9000),
    fields=st.lists(st.tuples(TEXT, st.text(max_size=3000)), max_size=30),
    footer=TEXT,
)
@settings(max_examples=150, deadline=None)
def test_fit_embed_any_input_is_within_limits(
    title: str, description: str, fields: list[tuple[str, str]], footer: str
) -> None:
    embed = discord.Embed(title=title, description=description)
    for name, value in fields:
        embed.add_field(name=name, value=value)
    embed.set_footer(text=footer)
    assert_embed_within_limits(limits.fit_embed(embed))


@given(text=st.text(max_size=20000))
@settings(max_examples=100, deadline=None)
def test_fit_content(text: str) -> None:
    assert len(limits.fit_content(text)) <= limits.CONTENT


# -- answer embeds --------------------------------------------------------------------------------
def passage(text: str, highlights=(), source="kim-jong-un-putin-meeting.txt", heading=None):
    heading = heading or ("Kim Jong Un Meets Vladimir Putin", "Background")
    return Passage(source, heading, text, 0.8, 0, len(text), tuple(highlights))


def test_answer_embed_highlights_cites_and_rates() -> None:
    text = "Kim met Trump twice. The Hanoi Summit broke down in February 2019. Later talks."
    hl = (21, 66)
    best = passage(text, [hl])
    other = passage("Russia shares a border with North Korea.", heading=("T", "Russia"))
    answer = Answer("When did *Hanoi* fail? @everyone", False, 0.93, text[21:66], (best, other))
    embed = answer_embed(answer)
    assert "**The Hanoi Summit broke down in February 2019.**" in embed.description
    assert embed.description.startswith("> ")
    fields = {f.name: f.value for f in embed.fields}
    assert fields[SOURCE_FIELD] == "kim-jong-un-putin-meeting.txt › Background"
    assert fields["Confidence"].startswith("🟢 High confidence (0.93)")
    assert embed.colour == discord.Colour(0x2ECC71)
    assert any(name.startswith("Also relevant") and "Russia" in name for name in fields)
    assert "\\*Hanoi\\*" in embed.title and "@\u200beveryone" in embed.title
    assert parse_answer_embed(embed) == (
        "When did *Hanoi* fail? @everyone",
        "kim-jong-un-putin-meeting.txt › Background",
    )
    assert_embed_within_limits(embed)


def test_abstention_embed_says_not_covered_and_marks_closest_topics() -> None:
    answer = Answer("How do I bake bread?", True, 0.04, "", (passage("Some text."),))
    embed = answer_embed(answer)
    assert "don't cover" in embed.description and "rephras" in embed.description
    assert any(f.name.startswith(CLOSEST_FIELD) for f in embed.fields)
    assert "not an answer" in CLOSEST_FIELD
    assert parse_answer_embed(embed) == ("How do I bake bread?", NO_SOURCE)


def test_huge_passage_and_question_fit_the_limits() -> None:
    sentence = "This is a very long paragraph sentence about the summit and its aftermath. "
    text = sentence * 300  # ~22,000 chars
    start = len(sentence) * 200
    hl = (start, start + len(sentence) - 1)
    best = passage(text, [hl], heading=("T", "H" * 400))
    supports = tuple(passage(text, heading=("T", f"S{i}" * 300)) for i in range(3))
    answer = Answer("why? " * 900, False, 0.55, text[hl[0] : hl[1]], (best, *supports))
    embed = answer_embed(answer)
    assert_embed_within_limits(embed)
    assert "**This is a very long paragraph sentence" in embed.description
    assert embed.description.startswith("> …")
    assert embed.description.endswith("…")


@given(text=st.text(max_size=6000), data=st.data())
@settings(max_examples=100, deadline=None)
def test_quote_passage_within_limit(text: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=4)))
    highlights = tuple(zip(cuts[::2], cuts[1::2], strict=False))
    limit = data.draw(st.integers(20, 4096))
    assert len(quote_passage(text, highlights, limit)) <= limit


@given(text=st.text(max_size=300))
def test_escape_round_trips(text: str) -> None:
    if "\\" in text or "http" in text or "[" in text:
        return  # escape_markdown leaves links and URLs as they are
    if "\u200b" in text:
        return  # the zero-width space is escape_mentions' own marker ("@" + it)
    assert unescape(escape(text)) == text


def test_citation_and_confidence_labels() -> None:
    assert (
        citation(passage("x", heading=("Title", "A", "B")))
        == "kim-jong-un-putin-meeting.txt › A › B"
    )
    assert citation(
        passage("x", heading=("Title",)), {"kim-jong-un-putin-meeting.txt": "Title"}
    ) == ("kim-jong-un-putin-meeting.txt")
    assert confidence_label(0.6)[0] == "🟡 Medium confidence (0.60)"
    assert confidence_label(0.2)[0] == "🟠 Low confidence (0.20)"


# -- reports --------------------------------------------------------------------------------------
def test_reindex_report_lists_changes_and_reasons() -> None:
    report = BuildReport(
        added=("new.md",),
        changed=("a.txt",),
        removed=("old.txt",),
        skipped=(SkippedFile("bad.pdf", "no text layer"),),
        chunks=42,
        embedded_chunks=5,
        seconds=1.25,
    )
    embed = reindex_embed(report)
    text = embed.description + "".join(f.name + f.value for f in embed.fields)
    for piece in (
        "1** added",
        "1** changed",
        "1** removed",
        "1** skipped",
        "42 chunks",
        "1.2 s",
        "new.md",
        "old.txt",
        "bad.pdf` — no text layer",
    ):
        assert piece in text
    assert_embed_within_limits(embed)


def test_retry_message_rounds_up() -> None:
    assert "try again in 3 s" in retry_message(2.1)


# -- questions from messages ----------------------------------------------------------------------
def test_mentions_user_and_short() -> None:
    assert mentions_user("yo <@!123>", 123) and mentions_user("<@123> hi", 123)
    assert not mentions_user("yo <@1234>", 123) and not mentions_user("<@&123>", 123)
    assert short("a " * 100).endswith("…")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@123> when was   the summit?", "when was the summit?"),
        ("hey <@!123> what? <@123>", "hey what?"),
        ("who is <@42>?", "who is?"),
        ("line one <#7>\n\n<@&9>\nline two", "line one\nline two"),
        ("mail me@here.com about <:blob:1234>", "mail me@here.com about"),
        ("use </ask:99> or </config set:12> please", "use or please"),
        # nothing meaningful left: the question is empty
        ("<@123>", ""),
        ("<@123> <@!456> <@&789>", ""),
        ("@everyone @here", ""),
        ("<#1> <a:dance:2> <:ok:3>  </help:4>", ""),
        ("<@123> 👍 ?!", ""),
        ("   \n\t ", ""),
        # a digit or a letter in any script is meaningful
        ("<@123> 42", "42"),
        ("<@123> 何時ですか", "何時ですか"),
    ],
)
def test_clean_question(text: str, expected: str) -> None:
    assert clean_question(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("When did the Hanoi summit break down?", True),
        ("summit date?", True),  # a question mark
        ("summit date? 🙂", True),
        ("how", True),  # a question word
        ("Does it work", True),
        ("should I reinstall", True),
        ("the summit broke down in Hanoi", False),  # a statement, however long
        ("going to grab a coffee now brb", False),
        ("explain the timing", True),
        ("thanks!", False),
        ("ok", False),
        ("", False),
        ("lol same", False),
        ("see you soon", False),
        ("howdy folks", False),  # "howdy" is not "how"
    ],
)
def test_looks_like_question(text: str, expected: bool) -> None:
    assert looks_like_question(text) is expected


@pytest.mark.parametrize(
    ("question", "replies_to_other", "expected"),
    [
        ("How did Kim travel to Russia?", False, True),
        ("How did Kim travel to Russia?", True, False),  # people talking to each other
        ("thanks!", False, False),
        (clean_question("👍"), False, False),
        (clean_question("<@5> ok"), False, False),
        ("", False, False),
    ],
)
def test_answer_unprompted(question: str, replies_to_other: bool, expected: bool) -> None:
    assert answer_unprompted(question, replies_to_other=replies_to_other) is expected


@pytest.mark.parametrize(
    ("replied_author", "is_reply", "expected"),
    [
        (None, False, False),  # not a reply at all
        (2, True, True),  # another person's message
        (None, True, True),  # unknown or deleted: someone else's
        (1, True, False),  # the author's own message
        (99, True, False),  # the bot's answer: a follow-up question
    ],
)
def test_replies_to_someone_else(
    replied_author: int | None, is_reply: bool, expected: bool
) -> None:
    assert replies_to_someone_else(1, 99, replied_author, is_reply=is_reply) is expected


# -- connection errors ----------------------------------------------------------------------------
TOKEN = "MTIz.secret-token.value"


def http_error(status: int, reason: str, message: object) -> discord.HTTPException:
    response = SimpleNamespace(status=status, reason=reason)
    cls = discord.Forbidden if status == 403 else discord.HTTPException
    if status >= 500:
        cls = discord.DiscordServerError
    return cls(response, message)  # type: ignore[arg-type]


def connector_error(error: OSError) -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="discord.com", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, error)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (connector_error(ConnectionRefusedError(111, "Connect call failed")), BotConnectionError,
         "cannot reach Discord (Cannot connect to host discord.com:443"),
        (aiohttp.ClientConnectorDNSError(
            SimpleNamespace(host="discord.com", port=443, ssl=True),  # type: ignore[arg-type]
            OSError(-2, "Name or service not known"),
        ), BotConnectionError, "DNS lookup failed"),
        (OSError(101, "Network is unreachable"), BotConnectionError, "Network is unreachable"),
        (TimeoutError(), BotConnectionError, "timed out"),
        (aiohttp.ServerDisconnectedError(), BotConnectionError, "cannot reach Discord"),
        (discord.GatewayNotFound(), BotConnectionError, "gateway"),
        (http_error(503, "Service Unavailable", "upstream connect error"), BotConnectionError,
         "Discord is having trouble (HTTP 503 Service Unavailable: upstream connect error)"),
        (http_error(403, "Forbidden", {"code": 50001, "message": "Missing Access",
                                        "errors": {"a": {"_errors": [{"code": "X", "message":
                                                                      "line\ntwo"}]}}}),
         BotConnectionError, "Discord refused the request (HTTP 403 Forbidden: Missing Access"),
        (http_error(400, "Bad Request", f"bad token {TOKEN}"), BotConnectionError, "[token]"),
        (discord.ConnectionClosed(None, shard_id=None, code=4013),  # type: ignore[arg-type]
         BotConnectionError, "close code 4013: invalid intents"),
        (discord.ConnectionClosed(None, shard_id=None, code=4004),  # type: ignore[arg-type]
         BotLoginError, "rejected the bot token"),
        (discord.LoginFailure(), BotLoginError, "ASKDOCS_DISCORD_TOKEN"),
        (discord.PrivilegedIntentsRequired(None), BotConfigError, "Message Content intent"),
    ],
)  # fmt: skip
def test_connection_errors_become_one_line_bot_errors(
    exc: BaseException, kind: type[Exception], text: str
) -> None:
    error = connection_error(exc, TOKEN)
    assert type(error) is kind
    message = str(error)
    assert text in message
    assert "\n" not in message and TOKEN not in message and len(message) < 300


def test_failure_reason() -> None:
    disk = OSError(28, "No space left on device", "/srv/index/vectors.npy")
    assert failure_reason(disk) == (
        "cannot read or write the index files: No space left on device (/srv/index/vectors.npy)"
    )
    assert failure_reason(AskdocsError("cannot write the index: disk full")) == (
        "cannot write the index: disk full"
    )
    assert failure_reason(OSError("odd")) == "odd"


# -- cooldown -------------------------------------------------------------------------------------
def test_cooldown_sliding_window() -> None:
    now = [1000.0]
    cd = Cooldown(2, 30.0, clock=lambda: now[0])
    assert cd.hit(1) == 0.0
    now[0] += 10
    assert cd.hit(1) == 0.0
    assert cd.hit(1) == pytest.approx(20.0)  # first hit expires 30 s after it happened
    assert cd.hit(2) == 0.0  # other users are independent
    now[0] += 20
    assert cd.hit(1) == 0.0
    assert cd.hit(1) == pytest.approx(10.0)


def test_cooldown_retry_after_records_nothing() -> None:
    now = [1000.0]
    cd = Cooldown(1, 30.0, clock=lambda: now[0])
    assert cd.retry_after(1) == 0.0 and cd.retry_after(1) == 0.0  # asking does not spend
    assert cd.hit(1) == 0.0
    assert cd.retry_after(1) == pytest.approx(30.0)
    now[0] += 31
    assert cd.retry_after(1) == 0.0


def test_cooldown_forgets_idle_users() -> None:
    now = [0.0]
    cd = Cooldown(1, 5.0, clock=lambda: now[0])
    for user in range(5000):
        cd.hit(user)
        now[0] += 0.01
    assert len(cd) < 1500


# -- permissions ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user_id", "roles", "manage", "users", "role_ids", "expected"),
    [
        (1, [], True, [], [], True),  # Manage Server
        (1, [], False, [], [], False),  # nobody special
        (1, [], False, [1], [], True),  # user allowlist
        (2, [], False, [1], [], False),
        (1, [7, 8], False, [], [8], True),  # role allowlist
        (1, [7], False, [], [8], False),
    ],
)
def test_may_reindex(user_id, roles, manage, users, role_ids, expected) -> None:
    s = Settings(_env_file=None, admin_user_ids=users, admin_role_ids=role_ids)
    assert may_reindex(user_id, roles, manage, s) is expected


# -- micro-batcher --------------------------------------------------------------------------------
class FakeEngine:
    def __init__(self, fail: Exception | None = None, limit: int | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail
        self.limit = limit

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        self.calls.append(list(questions))
        if self.fail:
            raise self.fail
        if self.limit and any(len(q) > self.limit for q in questions):
            raise QuestionError("too long for the engine")
        time.sleep(0.01)
        return [Answer(q, False, 0.9, q, ()) for q in questions]


async def test_batcher_groups_concurrent_questions_and_isolates_bad_ones() -> None:
    engine = FakeEngine()
    batcher = MicroBatcher(engine, max_question_chars=50, max_batch=32, max_wait=0.02)
    questions = [f"question {i}" for i in range(40)] + ["", "x" * 51]
    results = await asyncio.gather(*(batcher.answer(q) for q in questions), return_exceptions=True)
    assert [r.question for r in results[:40]] == questions[:40]
    assert all(isinstance(r, QuestionError) for r in results[40:])
    assert len(engine.calls) == 2 and len(engine.calls[0]) == 32


async def test_batcher_spreads_engine_errors_and_falls_back_per_question() -> None:
    batcher = MicroBatcher(FakeEngine(fail=IndexNotFoundError("no index")), max_question_chars=99)
    with pytest.raises(IndexNotFoundError):
        await batcher.answer("hello")
    strict = MicroBatcher(FakeEngine(limit=5), max_question_chars=99, max_wait=0.01)
    ok, bad = await asyncio.gather(
        strict.answer("short"), strict.answer("much longer"), return_exceptions=True
    )
    assert ok.question == "short" and isinstance(bad, QuestionError)
    await strict.close()


async def test_batcher_runs_one_batch_at_a_time_and_regroups_waiting_questions() -> None:
    active, peak = [0], [0]
    lock = threading.Lock()

    class Counting(FakeEngine):
        def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            try:
                time.sleep(0.05)
                return super().answer_many(questions, top_k)
            finally:
                with lock:
                    active[0] -= 1

    engine = Counting()
    batcher = MicroBatcher(engine, max_question_chars=50, max_batch=32, max_wait=0.001)
    first = asyncio.create_task(batcher.answer("first"))
    await asyncio.sleep(0.02)  # "first" is being answered; these 10 queue up meanwhile
    rest = await asyncio.gather(*(batcher.answer(f"q{i}") for i in range(10)))
    assert (await first).question == "first" and len(rest) == 10
    assert peak[0] == 1
    assert [len(c) for c in engine.calls] == [1, 10]
    default = MicroBatcher(Counting(), max_question_chars=50)  # batches of 8, no waiting
    first = asyncio.create_task(default.answer("first"))
    await asyncio.sleep(0.02)
    await asyncio.gather(*(default.answer(f"r{i}") for i in range(10)))
    assert [len(c) for c in default.engine.calls] == [1, 8, 2]  # type: ignore[attr-defined]


async def test_batcher_answers_a_repeated_question_from_its_cache() -> None:
    engine = FakeEngine()
    batcher = MicroBatcher(engine, max_question_chars=50, max_wait=0.001)
    first = await batcher.answer("When was  the summit?")
    again = await batcher.answer("  When was the\tsummit? ")
    assert engine.calls == [["When was  the summit?"]]
    assert first.question == "When was  the summit?"
    assert again.question == "When was the\tsummit?"  # the asker's own (stripped) words
    assert again.confidence == first.confidence and again.text == first.text
    await batcher.answer("when was the summit?")  # another text: asked anew
    assert len(engine.calls) == 2
    assert batcher.counts.cached == 1
    await batcher.close()


async def test_batcher_cache_is_emptied_when_the_index_changes() -> None:
    engine = FakeEngine()
    index = [("v1",)]
    batcher = MicroBatcher(
        engine, max_question_chars=50, max_wait=0.001, version=lambda _server: index[0]
    )
    await batcher.answer("hello")
    await batcher.answer("hello")
    assert len(engine.calls) == 1
    index[0] = ("v2",)  # a reindex: a new documents tuple
    await batcher.answer("hello")
    assert len(engine.calls) == 2
    off = MicroBatcher(engine, max_question_chars=50, max_wait=0.001, cache_size=0)
    await off.answer("hello")
    assert len(engine.calls) == 3
    await batcher.close()
    await off.close()


async def test_batcher_cache_is_bounded_and_answers_from_a_replaced_index_are_not_kept() -> None:
    engine = FakeEngine()
    index = [("v1",)]
    batcher = MicroBatcher(
        engine, max_question_chars=50, max_wait=0.001, cache_size=2, version=lambda _: index[0]
    )
    for q in ("a", "b", "c", "a"):  # "a" was pushed out by "c"
        await batcher.answer(q)
    assert [c[0] for c in engine.calls] == ["a", "b", "c", "a"]
    asking = asyncio.create_task(batcher.answer("d"))
    await asyncio.sleep(0.003)  # "d" is being answered from v1 ...
    index[0] = ("v2",)  # ... when the index changes
    await asking
    await batcher.answer("d")
    assert [c[0] for c in engine.calls][-2:] == ["d", "d"]
    await batcher.close()


async def test_batcher_embeds_a_question_asked_twice_at_once_only_once() -> None:
    engine = FakeEngine()
    batcher = MicroBatcher(engine, max_question_chars=50, max_wait=0.01)
    a, b, c = await asyncio.gather(
        batcher.answer("why?"), batcher.answer(" why? "), batcher.answer("how?")
    )
    assert engine.calls == [["why?", "how?"]]
    assert (a.question, b.question, c.question) == ("why?", "why?", "how?")
    gone = asyncio.create_task(batcher.answer("who?"))
    stays = asyncio.create_task(batcher.answer("who?"))
    await asyncio.sleep(0)
    gone.cancel()  # one asker going away does not cancel the other's answer
    assert (await stays).question == "who?"
    await batcher.close()


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_question_key_is_how_the_engine_reads_ascii_questions(text: str) -> None:
    from index.normalize import fold

    assert question_key(text) == fold(text)
    assert question_key("caf\u00e9  au lait") == "caf\u00e9  au lait"  # not ASCII: as it is


async def test_batcher_keeps_servers_apart() -> None:
    asked: list[tuple[list[str], int | None]] = []

    class PerServer(FakeEngine):
        def answer_many(
            self, questions: Sequence[str], top_k: int | None = None, server: int | None = None
        ) -> list[Answer]:
            asked.append((list(questions), server))
            return [Answer(q, False, 0.9, f"{q} from {server}", ()) for q in questions]

    batcher = MicroBatcher(PerServer(), max_question_chars=50, max_wait=0.01)
    one, two, shared = await asyncio.gather(
        batcher.answer("why?", server=1), batcher.answer("why?", server=2), batcher.answer("why?")
    )
    assert (one.text, two.text, shared.text) == ("why? from 1", "why? from 2", "why? from None")
    assert sorted(map(str, asked)) == sorted(
        map(str, [(["why?"], 1), (["why?"], 2), (["why?"], None)])
    )
    assert (await batcher.answer("why?", server=2)).text == "why? from 2"  # cached, per server
    assert len(asked) == 3
    await batcher.close()


def test_questions_with_one_cache_key_get_the_same_answer_from_the_engine(engine: Engine) -> None:
    """What the answer cache relies on: the engine answers the folded text."""
    plain = "When did the Hanoi summit break down?"
    spaced = "  When did  the Hanoi\tsummit\nbreak down? "
    assert question_key(plain) == question_key(spaced.strip())
    alone, spaced_answer = engine.answer_many([plain, spaced])
    assert dataclasses.replace(spaced_answer, question=plain) == alone


def test_embed_cache_renders_each_answer_object_once() -> None:
    passage = Passage("a.txt", ("A",), "Kim met Putin.", 0.9, 0, 14, ((0, 14),))
    answer = Answer("Who met?", False, 0.9, "Kim met Putin.", (passage,))
    cache = EmbedCache(size=2)
    first = cache.answer_embed(answer, {"a.txt": "A"})
    assert first.to_dict() == answer_embed(answer, {"a.txt": "A"}).to_dict()
    assert cache.answer_embed(answer, {"a.txt": "A"}) is not first  # other titles object
    titles = {"a.txt": "A"}
    shown = cache.answer_embed(answer, titles)
    assert cache.answer_embed(answer, titles) is shown
    assert cache.answer_embed(answer, titles, note="n") is not shown
    same_words = dataclasses.replace(answer)  # an equal answer, another object
    assert cache.answer_embed(same_words, titles) is not shown
