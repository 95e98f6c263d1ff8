"""Unit tests of /docs and build progress logic: the paged list, names offered while typing,
change reports, progress texts, throttled edits, one index change at a time."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import discord
import pytest

from bot.discord_app import limits
from bot.discord_app.doc_pages import PAGE_ID, documents_message
from bot.discord_app.doc_reports import (
    CHOICE_CHARS,
    MAX_CHOICES,
    PAGE_SIZE,
    change_embed,
    documents_page,
    matching_names,
    not_indexed_embed,
)
from bot.discord_app.indexing import IndexBusyError, IndexJobs
from bot.discord_app.progress import BuildStatus, LiveReply, thread_progress
from index.errors import SourceDocsError
from index.models import BuildReport, DocumentInfo


def docs(*names: str) -> list[DocumentInfo]:
    return [DocumentInfo(n, "T", 3, "h", "2024-05-01T10:00:00+00:00") for n in names]


def assert_within_limits(embed: discord.Embed) -> None:
    assert limits.embed_size(embed) <= limits.EMBED_TOTAL
    assert len(embed.description or "") <= limits.EMBED_DESCRIPTION


# -- the paged list ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "page", "shown", "first", "last"),
    [
        (25, 0, 0, "doc-000", "doc-009"),
        (25, 2, 2, "doc-020", "doc-024"),
        (25, 9, 2, "doc-020", "doc-024"),  # past the end: the last page
        (25, -3, 0, "doc-000", "doc-009"),
        (10, 0, 0, "doc-000", "doc-009"),  # exactly one page
    ],
)
def test_documents_page(count: int, page: int, shown: int, first: str, last: str) -> None:
    documents = docs(*(f"doc-{i:03}-{'x' * 80}.txt" for i in reversed(range(count))))
    embed, got = documents_page(documents, page)
    lines = (embed.description or "").splitlines()
    assert got == shown and f"{count} indexed documents" in (embed.title or "")
    assert first in lines[0] and last in lines[-1] and len(lines) <= PAGE_SIZE
    assert "<t:" in lines[0] and "3 chunks" in lines[0]
    footer = embed.footer.text or ""
    assert (f"Page {shown + 1} of" in footer) if count > PAGE_SIZE else not footer
    assert_within_limits(embed)


def test_documents_message_buttons() -> None:
    _, none = documents_message(docs("a.md", "b.md"), 0)
    assert none is None  # one page: no buttons
    documents = docs(*(f"d{i:02}.md" for i in range(25)))
    for page, prev_disabled, next_disabled in (
        (0, True, False),
        (1, False, False),
        (2, False, True),
    ):
        _, view = documents_message(documents, page)
        assert view is not None
        prev, nxt = (item.item for item in view.children)  # type: ignore[attr-defined]
        assert prev.custom_id == PAGE_ID.format(page=page - 1) and prev.disabled is prev_disabled
        assert nxt.custom_id == PAGE_ID.format(page=page + 1) and nxt.disabled is next_disabled
    empty, _ = documents_page([], 0)
    assert "/docs add" in (empty.description or "")


def test_matching_names() -> None:
    documents = docs(
        "Guide.md", "faq/install guide.txt", "kim.txt", "x" * 101 + ".md", "gui\nde.md"
    )
    assert [s for _, s in matching_names(documents, "GUI")] == [
        "gui\nde.md",  # names starting with what was typed come first
        "Guide.md",
        "faq/install guide.txt",
    ]
    labels = dict((s, label) for label, s in matching_names(documents, ""))
    assert labels["gui\nde.md"] == "gui\\nde.md"  # shown on one line
    assert all(len(s) <= CHOICE_CHARS for s in labels)  # too long for a choice: left out
    many = docs(*(f"n{i}.md" for i in range(40)))
    assert len(matching_names(many, "n")) == MAX_CHOICES


def test_change_reports() -> None:
    report = BuildReport(added=("new.md",), unchanged=("kim.txt",), chunks=9, embedded_chunks=2)
    embed = change_embed("added", "new.md", report)
    assert embed.title == "✅ `new.md` added; the index is updated"
    assert "**1** added" in (embed.description or "") and embed.fields[0].name == "Added"
    failed = not_indexed_embed("removed", "old.md", SourceDocsError("no document could be indexed"))
    assert "`old.md` removed, but the index was not updated" in (failed.title or "")
    assert "no document could be indexed" in (failed.description or "")
    assert "/reindex" in (failed.description or "")


# -- progress -----------------------------------------------------------------------------------


def test_build_status_text_follows_the_stages() -> None:
    status = BuildStatus("🔄 Updating the index…")
    assert status.text(0.2) == "🔄 Updating the index… (0 s)\n📄 Reading the documents folder…"
    status.update("reading", 3, 17)
    assert "📄 Documents: 3 of 17 read" in status.text(1)
    status.update("reading", 17, 17)
    status.update("loading", 16, 16)
    status.update("chunking", 1, 2)
    status.update("embedding", 600, 1352)
    text = status.text(12.4)
    assert text.splitlines() == [
        "🔄 Updating the index… (12 s)",
        "📄 Documents: 17 of 17 read · 1 of 2 new or changed chunked",
        "🧩 Chunks, sentences and headings embedded: 600 of 1,352 `█████░░░░░░░` 44%",
    ]
    status.update("writing", 0, 1)
    assert status.text(13).endswith("💾 Writing the new index…")


async def test_thread_progress_runs_the_callback_on_the_loop() -> None:
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, int, int, bool]] = []
    done = asyncio.Event()

    def callback(stage: str, n: int, total: int) -> None:
        seen.append((stage, n, total, threading.current_thread() is threading.main_thread()))
        if n == total:
            done.set()

    progress = thread_progress(loop, callback)
    await asyncio.to_thread(lambda: [progress("embedding", i, 3) for i in range(4)])
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [("embedding", i, 3, True) for i in range(4)]


class Edits:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, **message: Any) -> None:
        self.times.append(time.monotonic())
        self.messages.append(message)


async def test_live_reply_edits_at_most_once_per_interval_and_shows_the_latest() -> None:
    edits = Edits()
    started = time.monotonic()
    reply = LiveReply(edits, started=started, interval=0.2)
    for i in range(30):  # a burst of updates over ~0.6 s
        reply.show(content=f"step {i}")
        await asyncio.sleep(0.02)
    await reply.settle()
    final_at = time.monotonic()
    assert edits.times[0] - started >= 0.2  # not before one interval after the defer
    assert all(b - a >= 0.2 - 0.01 for a, b in zip(edits.times, edits.times[1:], strict=False))
    assert final_at - edits.times[-1] >= 0.2 - 0.01  # the final message may come now
    assert 2 <= len(edits.messages) <= 4 and edits.messages[-1]["content"].startswith("step")
    assert reply.edits == len(edits.messages)


async def test_live_reply_quick_build_and_deadline() -> None:
    edits = Edits()
    reply = LiveReply(edits, started=time.monotonic(), interval=0.2)
    reply.show(content="reading")
    began = time.monotonic()
    await reply.settle()  # finished before the first edit was due: no edit, no wait
    assert edits.messages == [] and time.monotonic() - began < 0.1
    late = LiveReply(edits, started=time.monotonic(), interval=0.0, until=time.monotonic())
    late.show(content="too late")
    await late.settle()
    assert edits.messages == []


async def test_live_reply_survives_a_failed_edit() -> None:
    calls = 0

    async def flaky(**_: Any) -> None:
        nonlocal calls
        calls += 1
        raise discord.HTTPException(FakeResponse(), "rate limited")

    reply = LiveReply(flaky, started=time.monotonic() - 1, interval=0.05)
    reply.show(content="one")
    await asyncio.sleep(0.01)
    reply.show(content="two")
    await asyncio.sleep(0.15)
    await reply.settle()
    assert calls == 2


class FakeResponse:
    status = 429
    reason = "Too Many Requests"


def test_index_jobs_one_change_at_a_time() -> None:
    jobs = IndexJobs()
    with jobs.claim(engine_building=False):
        assert jobs.running
        with pytest.raises(IndexBusyError, match="already running"), jobs.claim(False):
            pass
    assert not jobs.running
    with pytest.raises(IndexBusyError), jobs.claim(engine_building=True):
        pass
    assert not jobs.running
