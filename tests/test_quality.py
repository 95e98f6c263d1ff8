"""Answer quality on the dev sets, through the real model and the real index.

Figures are printed (run with -s to see them). Targets: the gold span in the first passage
for >= 90% of answerable questions, in the top 3 for all of the shipped article's questions,
and every off-topic question abstains.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunking import embedding_text
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.evaluation import EvalReport, evaluate, load_cases

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"
SHARED = REPO.parent / "shared"
SEED_EVAL = SHARED / "eval" / "seed_article_dev.jsonl"
DEBIAN_EVAL = SHARED / "eval" / "debian_faq_dev.jsonl"
DEBIAN_DOCS = SHARED / "corpora" / "debian-faq"


_ENGINES: dict[str, Engine] = {}


def _run(docs: Path, cases_path: Path, tmp: Path, embedder: Embedder) -> EvalReport:
    engine = Engine(EngineConfig(docs, tmp / "ix"), embedder)
    engine.open()
    _ENGINES[docs.name] = engine
    report = evaluate(engine.retriever, load_cases(cases_path))
    print(f"\n{docs.name}: {report.summary()}")
    for r in report.results:
        if (r.case.abstain and not r.answer.abstained) or (not r.case.abstain and not r.ok_top1):
            print(f"  miss (gold rank {r.gold_rank}): {r.case.question}")
    return report


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> EvalReport:
    return _run(SOURCE_DOCS, SEED_EVAL, tmp_path_factory.mktemp("seed"), embedder)


@pytest.fixture(scope="module")
def debian(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> EvalReport:
    return _run(DEBIAN_DOCS, DEBIAN_EVAL, tmp_path_factory.mktemp("debian"), embedder)


def test_seed_article(seed: EvalReport) -> None:
    assert seed.top3 == 1.0, "every answerable question has its gold span in the top 3"
    assert seed.top1 >= 0.90
    assert seed.offtopic_abstain == 1.0
    assert seed.false_abstain == 0.0


def test_debian_faq(debian: EvalReport) -> None:
    assert debian.top1 >= 0.90
    assert debian.top3 >= 0.98
    assert debian.offtopic_abstain == 1.0
    assert debian.false_abstain <= 0.01


def test_both_corpora_together(seed: EvalReport, debian: EvalReport) -> None:
    answerable = seed.answerable + debian.answerable
    top1 = sum(r.ok_top1 for r in answerable) / len(answerable)
    print(f"\ncombined top-1 over {len(answerable)} answerable questions: {top1:.1%}")
    assert top1 >= 0.90


def test_answer_shape(seed: EvalReport) -> None:
    for r in seed.answerable:
        best = r.answer.passages[0]
        assert r.answer.text and r.answer.text in best.text.replace("\n\n", "\n\n")
        assert best.highlights and 0.0 <= r.answer.confidence <= 1.0
        assert len(r.answer.passages) <= 3
    for r in seed.offtopic:
        assert r.answer.text == "" and r.answer.best is None
        assert r.answer.passages, "closest passages are still shown, marked as not an answer"
        assert all(not p.highlights for p in r.answer.passages)


def test_chunks_fit_the_model_window(debian: EvalReport, embedder: Embedder) -> None:
    """Measured with the real tokenizer: nothing the index embeds is ever truncated."""
    chunks = _ENGINES["debian-faq"].retriever.data.chunks
    longest = max(embedder.count_tokens(embedding_text(c)) for c in chunks)
    print(f"\nlongest embedded chunk: {longest} of {embedder.max_tokens} tokens")
    assert longest <= embedder.max_tokens
