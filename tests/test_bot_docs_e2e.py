"""End-to-end: /docs add, /docs remove (with autocomplete), /docs list and /sources (paged with
buttons), and live progress of /reindex and /docs — the real AskdocsBot and engine against
the wire-level FakeDiscord, which validates every request against Discord's OpenAPI spec."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from bot_fixtures import DOC, TIMEOUT, BotFactory
from fakediscord import FakeDiscord, MessageFlag

from bot.discord_app.doc_pages import PAGE_ID
from bot.discord_app.embeds import SOURCE_FIELD
from index.engine import Engine

pytestmark = pytest.mark.e2e


NEW_DOC = "zorblax-festival.md"
NEW_TEXT = (
    b"# The Zorblax Festival\n\n## Dates\n\n"
    b"The Zorblax festival is held every year in March in the mountain town of Quillby. "
    b"Visitors bring lanterns made of blue paper and float them on Lake Quillby at midnight.\n"
)
NEW_QUESTION = "When is the Zorblax festival held?"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
EDIT_ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"


def embed_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["embeds"], f"no embed in {message}"
    return message["embeds"][0]


def has_embed(message: dict[str, Any]) -> bool:
    return bool(message["embeds"])


async def docs(
    fake: FakeDiscord, sub: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> int:
    kwargs.setdefault("user", fake.admin_user)
    return await fake.slash_command("docs", options or {}, subcommand=sub, **kwargs)


async def final(fake: FakeDiscord, iid: int, **kwargs: Any) -> dict[str, Any]:
    return await fake.wait_interaction_final(iid, timeout=TIMEOUT, **kwargs)


async def ask(fake: FakeDiscord, question: str) -> dict[str, Any]:
    return await final(fake, await fake.slash_command("ask", {"question": question}))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- /docs add ----------------------------------------------------------------------------------
async def test_docs_add_saves_indexes_and_reports(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    await start_bot()
    iid = await docs(fake_discord, "add", {"file": (NEW_DOC, NEW_TEXT, "text/markdown")})
    report = await final(fake_discord, iid, predicate=has_embed)
    assert report["flags"] & MessageFlag.EPHEMERAL
    embed = embed_of(report)
    assert embed["title"] == f"✅ `{NEW_DOC}` added; the index is updated"
    assert "**1** added" in embed["description"] and "**1** unchanged" in embed["description"]
    assert not report["content"]  # no progress text left over
    assert (engine.config.docs_dir / NEW_DOC).read_bytes() == NEW_TEXT
    assert files_in(engine.config.docs_dir) == sorted([DOC, NEW_DOC])  # no temporary files
    assert fake_discord.cdn_requests and fake_discord.cdn_requests[-1].endswith(NEW_DOC)
    answer = embed_of(await ask(fake_discord, NEW_QUESTION))
    assert next(f["value"] for f in answer["fields"] if f["name"] == SOURCE_FIELD).startswith(
        NEW_DOC
    )

    # the same name again: refused without replace, replaced with it, under another name too
    changed = NEW_TEXT.replace(b"March", b"April")
    iid = await docs(fake_discord, "add", {"file": (NEW_DOC, changed, "text/markdown")})
    refused = await final(fake_discord, iid)
    assert "already exists" in refused["content"] and "replace" in refused["content"]
    assert (engine.config.docs_dir / NEW_DOC).read_bytes() == NEW_TEXT
    options = {"file": (NEW_DOC, changed, "text/markdown"), "replace": True}
    replaced = await final(
        fake_discord, await docs(fake_discord, "add", options), predicate=has_embed
    )
    assert embed_of(replaced)["title"].startswith(f"✅ `{NEW_DOC}` replaced")
    assert "**1** changed" in embed_of(replaced)["description"]
    options = {"file": ("notes.txt", b"Quillby has a ferry.", "text/plain"), "name": "ferry.txt"}
    renamed = await final(
        fake_discord, await docs(fake_discord, "add", options), predicate=has_embed
    )
    assert "`ferry.txt` added" in embed_of(renamed)["title"]
    assert (engine.config.docs_dir / "ferry.txt").exists()
    assert not (engine.config.docs_dir / "notes.txt").exists()


@pytest.mark.parametrize(
    ("options", "user", "shown", "downloaded"),
    [
        pytest.param(
            {"file": (NEW_DOC, NEW_TEXT, "text/markdown")},
            "regular_user",
            "Only server managers",
            False,
            id="non-admin",
        ),
        pytest.param(
            {"file": ("huge.txt", b"a" * 10_000_001, "text/plain")},
            "admin_user",
            "is too large (10.0 MB; the limit is 10 MB",
            False,
            id="over-the-limit",
        ),
        pytest.param(
            {"file": ("picture.txt", PNG, "text/plain")},
            "admin_user",
            "`picture.txt` was not saved: binary file",
            True,
            id="binary-named-txt",
        ),
        pytest.param(
            {"file": (NEW_DOC, NEW_TEXT, "text/markdown"), "name": "../../etc/cron.d/x.md"},
            "admin_user",
            "can't be used as a document name: the name has a path in it",
            False,
            id="path-in-name",
        ),
        pytest.param(
            {"file": (NEW_DOC, NEW_TEXT, "text/markdown"), "name": "sub/dir.md"},
            "admin_user",
            "the name has a path in it",
            False,
            id="subfolder-in-name",
        ),
        pytest.param(
            {"file": (NEW_DOC, NEW_TEXT, "text/markdown"), "name": "pаypal.md"},
            "admin_user",
            "mixes writing systems (Cyrillic and Latin)",
            False,
            id="look-alike-name",
        ),
        pytest.param(
            {"file": ("notes.docx", b"PK\x03\x04", "application/msword")},
            "admin_user",
            "unsupported file type (.docx)",
            False,
            id="unsupported-type",
        ),
        pytest.param(
            {"file": ("headings.md", b"# Title\n\n## Only headings\n", "text/markdown")},
            "admin_user",
            "no text to index (only headings)",
            True,
            id="only-headings",
        ),
    ],
)
async def test_docs_add_refuses_bad_input_and_changes_nothing(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    options: dict[str, Any],
    user: str,
    shown: str,
    downloaded: bool,
) -> None:
    await start_bot()
    before = files_in(engine.config.docs_dir)
    documents = engine.documents
    iid = await docs(fake_discord, "add", options, user=getattr(fake_discord, user))
    refused = await final(fake_discord, iid)
    assert refused["flags"] & MessageFlag.EPHEMERAL and not refused["embeds"]
    assert shown in refused["content"]
    assert "\n" not in refused["content"].strip()  # one line
    assert bool(fake_discord.cdn_requests) is downloaded
    assert files_in(engine.config.docs_dir) == before and engine.documents is documents
    if user == "regular_user":
        assert any("refused /docs add" in r.getMessage() for r in caplog.records)


# -- /docs remove ---------------------------------------------------------------------------------
async def test_docs_remove_with_autocomplete(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    await start_bot()
    await final(
        fake_discord,
        await docs(fake_discord, "add", {"file": (NEW_DOC, NEW_TEXT, "text/markdown")}),
        predicate=has_embed,
    )
    choices = await fake_discord.autocomplete(
        "docs", {"name": "ZORB"}, "name", subcommand="remove", user=fake_discord.admin_user
    )
    assert choices == [{"name": NEW_DOC, "value": NEW_DOC}]
    everything = await fake_discord.autocomplete("docs", {"name": ""}, "name", subcommand="remove")
    assert [c["value"] for c in everything] == [DOC, NEW_DOC]

    iid = await docs(fake_discord, "remove", {"name": NEW_DOC})
    report = embed_of(await final(fake_discord, iid, predicate=has_embed))
    assert report["title"] == f"✅ `{NEW_DOC}` removed; the index is updated"
    assert "**1** removed" in report["description"]
    assert not (engine.config.docs_dir / NEW_DOC).exists()
    assert [d.source for d in engine.documents] == [DOC]
    assert "don't cover" in embed_of(await ask(fake_discord, NEW_QUESTION))["description"]

    for name, user, shown in (
        (NEW_DOC, fake_discord.admin_user, "There is no indexed document named"),
        ("../outside.txt", fake_discord.admin_user, "There is no indexed document named"),
        (DOC, fake_discord.admin_user, "is the only indexed document"),
        (DOC, fake_discord.regular_user, "Only server managers"),
    ):
        refused = await final(
            fake_discord, await docs(fake_discord, "remove", {"name": name}, user=user)
        )
        assert refused["flags"] & MessageFlag.EPHEMERAL and shown in refused["content"]
    assert (engine.config.docs_dir / DOC).exists()


# -- /docs list and /sources ----------------------------------------------------------------------
async def test_docs_list_pages_with_buttons_and_sources_is_the_same_list(
    fake_discord: FakeDiscord, start_bot: BotFactory, engine: Engine
) -> None:
    for i in range(21):
        text = f"# Note {i}\n\nQuillby note number {i} is about lanterns and ferries.\n"
        (engine.config.docs_dir / f"note-{i:02}.md").write_text(text, encoding="utf-8")
    engine.reindex()
    bot = await start_bot()
    listing = await final(
        fake_discord, await docs(fake_discord, "list", user=fake_discord.regular_user)
    )
    assert listing["flags"] & MessageFlag.EPHEMERAL
    assert "22 indexed documents" in embed_of(listing)["title"]
    assert "Page 1 of 3" in embed_of(listing)["footer"]["text"]
    assert DOC in embed_of(listing)["description"]
    message_id = int(listing["id"])
    shown = [embed_of(listing)["footer"]["text"]]
    for page in (1, 2):
        click = await fake_discord.click_button(message_id, PAGE_ID.format(page=page))
        updated = await final(fake_discord, click)
        assert fake_discord.interaction_log(click)[1].payload["type"] == 7  # edits the message
        shown.append(embed_of(updated)["footer"]["text"])
        buttons = {
            c["custom_id"]: c.get("disabled", False) for c in updated["components"][0]["components"]
        }
        assert buttons == {
            PAGE_ID.format(page=page - 1): False,
            PAGE_ID.format(page=page + 1): page == 2,
        }
    assert [s.split(" · ")[0] for s in shown] == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]
    assert "note-20.md" in embed_of(updated)["description"]
    assert not bot._connection._view_store._synced_message_views  # nothing kept per message

    await fake_discord.stop_client(bot)
    await start_bot()  # the buttons keep working after a restart
    click = await fake_discord.click_button(message_id, PAGE_ID.format(page=1))  # ◀ on page 3
    assert "Page 2 of 3" in embed_of(await final(fake_discord, click))["footer"]["text"]

    sources = await final(fake_discord, await fake_discord.slash_command("sources"))
    assert embed_of(sources)["description"] == embed_of(listing)["description"]
    assert [c["custom_id"] for c in sources["components"][0]["components"]] == [
        PAGE_ID.format(page=-1),
        PAGE_ID.format(page=1),
    ]


# -- live progress ------------------------------------------------------------------------------
def slow_embedding(engine: Engine, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make every embedding batch of a build take ``seconds`` (questions are not slowed)."""
    for name in ("encode", "encode_passages"):  # sentences and headings; chunks
        real = getattr(engine.embedder, name)

        def slowed(texts: Any, progress: Any = None, *, real: Any = real, **kwargs: Any) -> Any:
            if progress is not None:
                time.sleep(seconds)
            return real(texts, progress, **kwargs)

        monkeypatch.setattr(engine.embedder, name, slowed)


def progress_edits(fake: FakeDiscord, iid: int) -> list[Any]:
    return [e for e in fake.interaction_log(iid) if e.kind == "edit_original"]


@pytest.mark.parametrize("command", ["reindex", "docs add"])
async def test_reindex_and_docs_add_show_live_progress_then_the_summary(
    fake_discord: FakeDiscord,
    start_bot: BotFactory,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    for i in range(4):
        text = f"# Ferry {i}\n\nThe ferry number {i} leaves Quillby at {i + 6} o'clock.\n"
        (engine.config.docs_dir / f"ferry-{i}.md").write_text(text, encoding="utf-8")
    slow_embedding(engine, monkeypatch, 0.35)
    bot = await start_bot()
    bot.index_jobs.progress_every = 0.25
    if command == "reindex":
        iid = await fake_discord.slash_command("reindex", user=fake_discord.admin_user)
    else:
        iid = await docs(fake_discord, "add", {"file": (NEW_DOC, NEW_TEXT, "text/markdown")})
    report = embed_of(await final(fake_discord, iid, predicate=has_embed))
    added = 4 if command == "reindex" else 5  # the ferries (and the uploaded document)
    assert f"**{added}** added" in report["description"]
    edits = progress_edits(fake_discord, iid)
    progress, summary = edits[:-1], edits[-1]
    assert len(progress) >= 2, [e.payload for e in edits]
    texts = [e.payload["content"] for e in progress]
    assert all(t.startswith(("🔄 Rebuilding the index…", "🔄 Updating the index…")) for t in texts)
    assert any("📄 Documents:" in t and "read" in t for t in texts)
    assert any("embedded:" in t for t in texts)
    assert summary.payload["content"] is None and summary.payload["embeds"]  # text replaced
    times = [e.time for e in edits]
    assert all(b - a >= 0.25 - 0.02 for a, b in itertools.pairwise(times))
    created = fake_discord.interaction_log(iid)[0].time
    assert times[0] - created >= 0.25 - 0.02  # the first edit waits one interval too
    assert all(e.status == 200 for e in edits)
