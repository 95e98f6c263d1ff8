"""Measure answer quality on a JSONL question set.

Each line: ``{"q": str, "gold": [str, ...]}`` (one gold span must appear in the answer
passage; the answer is right when the answer sentence holds one) or ``{"q": str,
"abstain": true}`` (the documents do not answer it). Optional fields: ``kind``
("answerable", "unanswerable": on topic but not answered, "offtopic"; an abstain line
without it is off-topic) and ``split`` ("tune" or "test").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from index.models import Answer
from index.normalize import fold

Kind = Literal["answerable", "unanswerable", "offtopic"]
KINDS: tuple[Kind, ...] = ("answerable", "unanswerable", "offtopic")


@dataclass(frozen=True, slots=True)
class EvalCase:
    question: str
    gold: tuple[str, ...]
    abstain: bool
    kind: Kind = "answerable"
    split: str = ""


@dataclass(frozen=True, slots=True)
class EvalResult:
    case: EvalCase
    answer: Answer
    gold_rank: int | None  # 1-based rank of the first passage holding a gold span
    sentence_ok: bool  # the answer sentence holds a gold span (and nothing was refused)

    @property
    def ok_top1(self) -> bool:
        return not self.case.abstain and not self.answer.abstained and self.gold_rank == 1

    @property
    def ok(self) -> bool:
        """Right: refused when it should be, else answered with gold in passage 1."""
        return self.answer.abstained if self.case.abstain else self.ok_top1


@dataclass(frozen=True, slots=True)
class EvalReport:
    results: tuple[EvalResult, ...]

    def of(self, kind: Kind) -> tuple[EvalResult, ...]:
        return tuple(r for r in self.results if r.case.kind == kind)

    @property
    def answerable(self) -> tuple[EvalResult, ...]:
        return self.of("answerable")

    @property
    def offtopic(self) -> tuple[EvalResult, ...]:
        return self.of("offtopic")

    @property
    def unanswerable(self) -> tuple[EvalResult, ...]:
        return self.of("unanswerable")

    @property
    def top1(self) -> float:
        """Share of answerable questions answered (not refused) with gold in passage 1."""
        return _share(r.ok_top1 for r in self.answerable)

    def top(self, k: int) -> float:
        """Share of answerable questions with gold in one of the first ``k`` passages."""
        return _share(r.gold_rank is not None and r.gold_rank <= k for r in self.answerable)

    @property
    def top3(self) -> float:
        return self.top(3)

    @property
    def sentence(self) -> float:
        """Share of answerable questions whose answer sentence holds a gold span."""
        return _share(r.sentence_ok for r in self.answerable)

    @property
    def false_abstain(self) -> float:
        return _share(r.answer.abstained for r in self.answerable)

    @property
    def false_abstain_count(self) -> int:
        return sum(r.answer.abstained for r in self.answerable)

    @property
    def offtopic_abstain(self) -> float:
        return _share(r.answer.abstained for r in self.offtopic)

    @property
    def unanswerable_abstain(self) -> float:
        return _share(r.answer.abstained for r in self.unanswerable)

    def summary(self) -> str:
        a, u, o = self.answerable, self.unanswerable, self.offtopic
        return (
            f"{len(a)} answerable: top-1 {self.top1:.1%}, top-3 {self.top3:.1%}, "
            f"sentence {self.sentence:.1%}, refused {self.false_abstain_count}; "
            f"{len(u)} unanswerable refused {sum(r.answer.abstained for r in u)}; "
            f"{len(o)} off-topic refused {sum(r.answer.abstained for r in o)}"
        )


class Answerer(Protocol):
    """Anything that answers a batch of questions (the engine, a retriever)."""

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]: ...


def load_cases(path: Path, split: str | None = None) -> list[EvalCase]:
    """The cases of a JSONL file; only those of ``split`` when it is given."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        abstain = bool(raw.get("abstain", False))
        kind = raw.get("kind") or ("offtopic" if abstain else "answerable")
        if kind not in KINDS:
            raise ValueError(f"{path}: unknown kind {kind!r}")
        case = EvalCase(raw["q"], tuple(raw.get("gold", ())), abstain, kind, raw.get("split", ""))
        if split is None or case.split == split:
            cases.append(case)
    return cases


def evaluate(answerer: Answerer, cases: Sequence[EvalCase], top_k: int = 3) -> EvalReport:
    answers = answerer.answer_many([c.question for c in cases], top_k=top_k)
    results = []
    for case, answer in zip(cases, answers, strict=True):
        gold = [fold(g) for g in case.gold]
        rank = next(
            (i + 1 for i, p in enumerate(answer.passages) if any(g in fold(p.text) for g in gold)),
            None,
        )
        sentence_ok = not answer.abstained and any(g in fold(answer.text) for g in gold)
        results.append(EvalResult(case, answer, rank, sentence_ok))
    return EvalReport(tuple(results))


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(1 for v in values if v) / len(values) if values else 1.0
