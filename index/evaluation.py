"""Measure answer quality on a JSONL question set.

Each line: ``{"q": str, "gold": [str, ...]}`` (one gold span must appear in the answer
passage) or ``{"q": str, "abstain": true}`` (the documents do not answer it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from index.models import Answer
from index.normalize import fold
from index.retriever import Retriever


@dataclass(frozen=True, slots=True)
class EvalCase:
    question: str
    gold: tuple[str, ...]
    abstain: bool


@dataclass(frozen=True, slots=True)
class EvalResult:
    case: EvalCase
    answer: Answer
    gold_rank: int | None  # 1-based rank of the first passage holding a gold span

    @property
    def ok_top1(self) -> bool:
        return not self.case.abstain and not self.answer.abstained and self.gold_rank == 1


@dataclass(frozen=True, slots=True)
class EvalReport:
    results: tuple[EvalResult, ...]

    @property
    def answerable(self) -> tuple[EvalResult, ...]:
        return tuple(r for r in self.results if not r.case.abstain)

    @property
    def offtopic(self) -> tuple[EvalResult, ...]:
        return tuple(r for r in self.results if r.case.abstain)

    @property
    def top1(self) -> float:
        """Share of answerable questions answered (not abstained) with gold in passage 1."""
        return _share(r.ok_top1 for r in self.answerable)

    @property
    def top3(self) -> float:
        """Share of answerable questions with gold in any returned passage."""
        return _share(r.gold_rank is not None for r in self.answerable)

    @property
    def false_abstain(self) -> float:
        return _share(r.answer.abstained for r in self.answerable)

    @property
    def offtopic_abstain(self) -> float:
        return _share(r.answer.abstained for r in self.offtopic)

    def summary(self) -> str:
        return (
            f"{len(self.answerable)} answerable: top-1 {self.top1:.1%}, top-3 {self.top3:.1%}, "
            f"wrongly abstained {self.false_abstain:.1%}; {len(self.offtopic)} off-topic: "
            f"abstained {self.offtopic_abstain:.1%}"
        )


def load_cases(path: Path) -> list[EvalCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(
                EvalCase(raw["q"], tuple(raw.get("gold", ())), bool(raw.get("abstain", False)))
            )
    return cases


def evaluate(retriever: Retriever, cases: list[EvalCase], top_k: int = 3) -> EvalReport:
    answers = retriever.answer_many([c.question for c in cases], top_k=top_k)
    results = []
    for case, answer in zip(cases, answers, strict=True):
        gold = [fold(g) for g in case.gold]
        rank = next(
            (i + 1 for i, p in enumerate(answer.passages) if any(g in fold(p.text) for g in gold)),
            None,
        )
        results.append(EvalResult(case, answer, rank))
    return EvalReport(tuple(results))


def _share(flags: object) -> float:
    values = list(flags)  # type: ignore[call-overload]
    return sum(1 for v in values if v) / len(values) if values else 1.0
