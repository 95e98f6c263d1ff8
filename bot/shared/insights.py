"""What the question log says about a period: volumes, top questions and coverage gaps
(clustered by meaning), and which documents are cited. Shared by ``askdocs report`` (text,
JSON, HTML) and ``/insights``; plain data in, frozen dataclasses out.

A *gap* is a question the bot refused, or whose answer got more 👎 than 👍 (errors are the
bot's failures, not the documents', and are left out). Clusters: see
:mod:`bot.shared.clustering`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.shared.clustering import SIMILARITY, cluster_questions, question_key
from bot.shared.feedback import Votes
from bot.shared.question_log import DAY, LoggedQuestion, QuestionStore

REPORT_DAYS = 30  # default period of `askdocs report` and /insights
MAX_DAYS = 3650
TOP_CLUSTERS = 10
GAP_CLUSTERS = 10
EXAMPLES = 3  # other phrasings shown per cluster
MAX_CLUSTERED = 2000
"""Distinct questions clustered at most (the most asked); rarer ones are counted in the totals
but not clustered. Embedding 2,000 questions takes about 6 s on 2 busy cores (ONNX, batches of
16), in batches that let answers interleave; clustering them takes 0.04 s."""
CONTRACT_VERSION = 1  # of the --json output; bumped only by incompatible changes

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class DayCount:
    date: str  # YYYY-MM-DD, UTC
    answered: int
    refused: int
    errors: int

    @property
    def total(self) -> int:
        return self.answered + self.refused + self.errors


@dataclass(frozen=True, slots=True)
class QuestionCluster:
    """Questions asking the same thing: the most asked phrasing, how often, what happened."""

    question: str
    count: int
    answered: int
    refused: int
    up: int
    down: int
    source: str | None  # the citation most often answering it; None if never answered
    examples: tuple[str, ...]  # other phrasings, most asked first


@dataclass(frozen=True, slots=True)
class DocumentCitations:
    source: str
    answers: int  # answers quoting this document
    citations: int  # answers citing it at all (the answer passage or a supporting one)


@dataclass(frozen=True, slots=True)
class Insights:
    days: int
    first_day: str  # YYYY-MM-DD, UTC, inclusive
    last_day: str
    guild_id: int | None
    questions: int
    answered: int
    refused: int
    errors: int
    up: int
    down: int
    askers: int
    per_day: tuple[DayCount, ...]
    top_questions: tuple[QuestionCluster, ...]
    gaps: tuple[QuestionCluster, ...]
    cited: tuple[DocumentCitations, ...]  # most cited first
    never_cited: tuple[str, ...]


def period_start(days: int, now: float) -> float:
    """Unix time of the first moment of the period: midnight UTC ``days - 1`` days ago (so
    ``days=1`` is today)."""
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    return dt.datetime.combine(first, dt.time(), dt.UTC).timestamp()


def build_insights(
    rows: Sequence[LoggedQuestion],
    votes: Mapping[int, tuple[int, int]],
    documents: Iterable[str],
    embed: Embed,
    *,
    days: int,
    now: float,
    guild_id: int | None = None,
    threshold: float = SIMILARITY,
) -> Insights:
    """The insights for ``rows`` (the period's logged questions), given the votes by answer
    message id, the indexed documents' names and the embedding function."""
    start = period_start(days, now)
    rows = [r for r in rows if r.asked_at >= start]
    row_votes = [votes.get(r.message_id, (0, 0)) if r.message_id else (0, 0) for r in rows]
    outcomes = Counter(r.outcome for r in rows)
    groups = _Groups(rows, row_votes, embed, threshold)
    gap_rows = [
        i
        for i, (r, (up, down)) in enumerate(zip(rows, row_votes, strict=True))
        if r.outcome == "refused" or (r.outcome == "answered" and down > up)
    ]
    cited = _cited(rows)
    return Insights(
        days=days,
        first_day=_day(start),
        last_day=_day(now),
        guild_id=guild_id,
        questions=len(rows),
        answered=outcomes["answered"],
        refused=outcomes["refused"],
        errors=outcomes["error"],
        up=sum(up for up, _ in row_votes),
        down=sum(down for _, down in row_votes),
        askers=len({r.user_hash for r in rows if r.user_hash}),
        per_day=_per_day(rows, start, days),
        top_questions=groups.clusters(range(len(rows)), TOP_CLUSTERS),
        gaps=groups.clusters(gap_rows, GAP_CLUSTERS),
        cited=cited,
        never_cited=tuple(sorted(set(documents) - {c.source for c in cited})),
    )


def gather_insights(
    store: QuestionStore,
    feedback: Votes,
    documents: Iterable[str],
    embed: Embed,
    *,
    days: int = REPORT_DAYS,
    guild_id: int | None = None,
    now: float | None = None,
) -> Insights:
    """Read the period's questions and their votes, and build the insights (blocking: run it
    in a worker thread from async code). Raises QuestionLogError or FeedbackError."""
    moment = time.time() if now is None else now
    rows = store.since(period_start(days, moment), guild_id)
    votes = feedback.votes_for(r.message_id for r in rows if r.message_id)
    return build_insights(rows, votes, documents, embed, days=days, now=moment, guild_id=guild_id)


class _Groups:
    """Rows grouped first by identical text (:func:`question_key`), then by meaning."""

    def __init__(
        self,
        rows: Sequence[LoggedQuestion],
        votes: Sequence[tuple[int, int]],
        embed: Embed,
        threshold: float,
    ) -> None:
        self.rows, self.votes, self.threshold = rows, votes, threshold
        by_key: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_key.setdefault(question_key(row.question) or row.question, []).append(i)
        # most asked first; ties by first asked, then text: a fixed order for the clustering
        keys = sorted(by_key, key=lambda k: (-len(by_key[k]), by_key[k][0], k))[:MAX_CLUSTERED]
        self.members = {k: by_key[k] for k in keys}
        self.phrasing = {k: _most_common(rows[i].question for i in by_key[k]) for k in keys}
        self.order = {k: n for n, k in enumerate(keys)}
        vectors = embed([self.phrasing[k] for k in keys]) if keys else np.zeros((0, 1))
        self.vectors = {k: vectors[n] for n, k in enumerate(keys)}

    def clusters(self, subset: Iterable[int], limit: int) -> tuple[QuestionCluster, ...]:
        """Clusters of the rows in ``subset``, largest first, at most ``limit``."""
        wanted = set(subset)
        counts: dict[str, list[int]] = {}
        for key, members in self.members.items():
            chosen = [i for i in members if i in wanted]
            if chosen:
                counts[key] = chosen
        keys = sorted(counts, key=lambda k: (-len(counts[k]), self.order[k]))
        if not keys:
            return ()
        matrix = np.stack([self.vectors[k] for k in keys])
        groups = cluster_questions([self.phrasing[k] for k in keys], matrix, self.threshold)
        found = [self._summary([keys[n] for n in group], counts) for group in groups]
        found.sort(key=lambda c: (-c.count, c.question))
        return tuple(found[:limit])

    def _summary(self, keys: list[str], counts: Mapping[str, list[int]]) -> QuestionCluster:
        rows = [self.rows[i] for k in keys for i in counts[k]]
        votes = [self.votes[i] for k in keys for i in counts[k]]
        answers = Counter(r.cited[0].citation for r in rows if r.outcome == "answered" and r.cited)
        source = min(answers, key=lambda s: (-answers[s], s)) if answers else None
        return QuestionCluster(
            question=self.phrasing[keys[0]],
            count=len(rows),
            answered=sum(r.outcome == "answered" for r in rows),
            refused=sum(r.outcome == "refused" for r in rows),
            up=sum(up for up, _ in votes),
            down=sum(down for _, down in votes),
            source=source,
            examples=tuple(self.phrasing[k] for k in keys[1 : 1 + EXAMPLES]),
        )


def _most_common(texts: Iterable[str]) -> str:
    counts = Counter(texts)
    return min(counts, key=lambda t: (-counts[t], t))


def _cited(rows: Sequence[LoggedQuestion]) -> tuple[DocumentCitations, ...]:
    answers: Counter[str] = Counter()
    citations: Counter[str] = Counter()
    for row in rows:
        if row.outcome != "answered" or not row.cited:
            continue
        answers[row.cited[0].source] += 1
        citations.update({c.source for c in row.cited})
    ordered = sorted(citations, key=lambda s: (-citations[s], -answers[s], s))
    return tuple(DocumentCitations(s, answers[s], citations[s]) for s in ordered)


def _per_day(rows: Sequence[LoggedQuestion], start: float, days: int) -> tuple[DayCount, ...]:
    tally: dict[str, Counter[str]] = {}
    for row in rows:
        tally.setdefault(_day(row.asked_at), Counter())[row.outcome] += 1
    out = []
    for n in range(days):
        date = _day(start + n * DAY + DAY / 2)
        day = tally.get(date, Counter())
        out.append(DayCount(date, day["answered"], day["refused"], day["error"]))
    return tuple(out)


def _day(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).date().isoformat()


# -- the --json contract --------------------------------------------------------------------
def _cluster_json(cluster: QuestionCluster, *, gap: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"question": cluster.question, "count": cluster.count}
    if gap:
        out |= {"refused": cluster.refused, "down": cluster.down}
    else:
        out |= {
            "answered": cluster.answered,
            "refused": cluster.refused,
            "up": cluster.up,
            "down": cluster.down,
            "source": cluster.source,
        }
    out["examples"] = list(cluster.examples)
    return out


def insights_json(insights: Insights) -> dict[str, Any]:
    """The stable ``askdocs report --json`` object (README: "askdocs report --json")."""
    return {
        "version": CONTRACT_VERSION,
        "period": {
            "days": insights.days,
            "from": insights.first_day,
            "to": insights.last_day,
            "guild_id": None if insights.guild_id is None else str(insights.guild_id),
        },
        "questions": insights.questions,
        "answered": insights.answered,
        "refused": insights.refused,
        "errors": insights.errors,
        "votes": {"up": insights.up, "down": insights.down},
        "askers": insights.askers,
        "per_day": [
            {"date": d.date, "answered": d.answered, "refused": d.refused, "errors": d.errors}
            for d in insights.per_day
        ],
        "top_questions": [_cluster_json(c, gap=False) for c in insights.top_questions],
        "gaps": [_cluster_json(c, gap=True) for c in insights.gaps],
        "documents": {
            "cited": [
                {"source": c.source, "answers": c.answers, "citations": c.citations}
                for c in insights.cited
            ],
            "never_cited": list(insights.never_cited),
        },
    }
