"""Insights without Discord or the model: which questions are gaps, bounded clustering, the
/insights embed within Discord's limits whatever the log holds, and log entries of answers."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import numpy as np
import pytest

from bot.discord_app import limits
from bot.discord_app.asked import Asked, channel_kind, question_entry
from bot.discord_app.insights_embed import GAPS_FIELD, fit_lines, insights_embed
from bot.shared import insights as insights_module
from bot.shared.insights import DocumentCitations, Insights, QuestionCluster, build_insights
from bot.shared.question_log import DAY, Cited, LoggedQuestion
from index.models import Answer, Passage

NOW = 1_800_000_000.0


def row(
    question: str, outcome: str = "answered", message_id: int | None = None, **kw: object
) -> LoggedQuestion:
    values: dict[str, object] = {
        "id": f"{question}-{message_id}",
        "asked_at": int(NOW - 60),
        "guild_id": 1,
        "channel_kind": "text",
        "via": "slash",
        "outcome": outcome,
        "confidence": 0.9,
        "question": question,
        "user_hash": "u",
        "message_id": message_id,
        "cited": (Cited("a.txt", "a.txt › S"),) if outcome == "answered" else (),
    }
    values.update(kw)
    return LoggedQuestion(**values)  # type: ignore[arg-type]


def one_hot(texts: list[str]) -> np.ndarray:
    """Every distinct text its own direction: nothing clusters but identical texts."""
    return np.eye(len(texts), max(len(texts), 1), dtype=np.float32)


def test_gaps_are_refusals_and_net_downvoted_answers_not_errors() -> None:
    rows = [
        row("refused one", "refused", 1),
        row("liked", "answered", 2),
        row("disliked", "answered", 3),
        row("split", "answered", 4),
        row("broken", "error", None),
    ]
    votes = {2: (3, 0), 3: (1, 2), 4: (1, 1)}
    found = build_insights(rows, votes, ["a.txt", "b.txt"], one_hot, days=1, now=NOW)
    assert {g.question for g in found.gaps} == {"refused one", "disliked"}
    assert (found.up, found.down, found.errors) == (5, 3, 1)
    assert found.never_cited == ("b.txt",)
    assert found.cited == (DocumentCitations("a.txt", 3, 3),)


def test_old_rows_are_outside_the_period_and_days_are_filled() -> None:
    rows = [
        row("today", "answered", 1),
        row("last week", "refused", 2, asked_at=int(NOW - 7 * DAY)),
    ]
    found = build_insights(rows, {}, [], one_hot, days=3, now=NOW)
    assert found.questions == 1 and len(found.per_day) == 3
    assert [d.total for d in found.per_day] == [0, 0, 1]


def test_clustering_is_bounded_to_the_most_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(insights_module, "MAX_CLUSTERED", 2)
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        return one_hot(texts)

    rows = [row("often", "answered", n) for n in range(3)] + [
        row("sometimes", "refused", 10), row("sometimes", "refused", 11), row("once", "refused", 12)
    ]  # fmt: skip
    found = build_insights(rows, {}, [], embed, days=1, now=NOW)
    assert seen == [["often", "sometimes"]]  # one call, the two most asked only
    assert found.questions == 6 and [c.question for c in found.top_questions] == [
        "often",
        "sometimes",
    ]


def big_insights() -> Insights:
    long = "why " * 1200
    cluster = QuestionCluster(long, 5, 1, 4, 0, 9, "x" * 900, (long, long, long))
    return Insights(
        days=30, first_day="2026-11-01", last_day="2026-11-30", guild_id=1, questions=999,
        answered=500, refused=499, errors=0, up=1, down=2, askers=12, per_day=(),
        top_questions=(cluster,) * 10, gaps=(cluster,) * 10,
        cited=tuple(DocumentCitations(f"doc-{n}.md" * 10, n, n) for n in range(300)),
        never_cited=tuple(f"unused-{n}`\n.md" for n in range(500)),
    )  # fmt: skip


def test_insights_embed_stays_within_limits_with_gaps_first() -> None:
    embed = insights_embed(big_insights())
    assert embed.fields[0].name == GAPS_FIELD
    assert limits.embed_size(embed) <= limits.EMBED_TOTAL
    assert all(len(f.value or "") <= limits.FIELD_VALUE for f in embed.fields)
    assert all("…and" in (f.value or "") for f in embed.fields)
    never = embed.fields[-1].value or ""
    assert "`unused-0'\\n.md`" in never  # control characters and backticks made harmless


def test_fit_lines() -> None:
    assert fit_lines([]) == "—"
    assert fit_lines(["a", "b"], limit=10) == "a\nb"
    cut = fit_lines([f"line {n}" for n in range(100)], limit=40)
    assert len(cut) <= 40 and cut.endswith("more") and cut.startswith("line 0\n")


def test_question_entries_of_answers_refusals_and_errors() -> None:
    asked = Asked(guild_id=5, channel_kind="thread", via="mention", user_id=77)
    passage = Passage("a.txt", ("A", "Sec"), "text", 0.8, 0, 4)
    answer = Answer("q?", False, 0.91, "text", (passage, Passage("b.txt", (), "t", 0.5, 0, 1)))
    entry = question_entry(asked, "q?", answer, {"a.txt": "A"}, message_id=9)
    assert (entry.outcome, entry.confidence, entry.message_id) == ("answered", 0.91, 9)
    assert entry.cited == (Cited("a.txt", "a.txt › Sec"), Cited("b.txt", "b.txt"))
    assert (entry.guild_id, entry.channel_kind, entry.via, entry.user_id) == (
        5,
        "thread",
        "mention",
        77,
    )
    refusal = Answer("q?", True, 0.2, "", (passage,))
    assert question_entry(asked, "q?", refusal).outcome == "refused"
    assert question_entry(asked, "q?", refusal).cited == ()  # closest passages are no citation
    error = question_entry(asked, "q?", None)
    assert (error.outcome, error.confidence) == ("error", None)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (discord.ChannelType.text, "text"),
        (discord.ChannelType.news, "announcement"),
        (discord.ChannelType.voice, "voice"),
        (discord.ChannelType.private, "dm"),
        (discord.ChannelType.category, "other"),
    ],
)
def test_channel_kind(kind: discord.ChannelType, name: str) -> None:
    assert channel_kind(SimpleNamespace(type=kind)) == name
    assert channel_kind(None) == "other"
