"""Answer quality on our own evaluation sets (tests/data/), through the real model and index.

The sets were written by hand (see tests/data/README.md); the engine's weights and
thresholds were chosen on their ``tune`` halves, so the figures that count are the ``test``
halves'. Each test prints its figures (run with -s). The floors below are the measured
figures less a small margin: they catch regressions, they are not the goals (README).
The shared dev sets (../shared/eval/) are checked too when they are there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from external import require, shared_file

from index.chunking import embedding_text
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.evaluation import EvalReport, evaluate, load_cases

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"
DATA = Path(__file__).resolve().parent / "data"


def _report(name: str, engine: Engine, cases_path: Path, split: str | None) -> EvalReport:
    report = evaluate(engine.retriever, load_cases(cases_path, split))
    print(f"\n{name} ({split or 'all'}): {report.summary()}")
    for r in report.results:
        if not r.ok:
            print(f"  miss ({r.case.kind}, gold rank {r.gold_rank}): {r.case.question}")
    return report


@pytest.fixture(scope="module")
def article_engine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Engine:
    engine = Engine(EngineConfig(SOURCE_DOCS, tmp_path_factory.mktemp("article") / "ix"), embedder)
    engine.open()
    return engine


# (set, split, top-1 floor, top-3 floor, sentence floor, most false refusals,
#  least share of unanswerable refused). Raised when re-ranking by coverage (index.late)
#  lifted top-1 on every set, and Debian's when the best 10 (not 5) were re-ranked. When a
#  section that fits the window became one passage the article test half refused one
#  unanswerable question fewer (3 -> 2 of 14: its last section and closing paragraph, now
#  one passage, answer "how the White House reacted"); when names the documents never use
#  became evidence (Evidence.names) the unanswerable refused rose to 5 and 3 of 14 on the
#  article, 5 and 4 of 8 on the Debian FAQ: the floors are those less one question.
FLOORS = [
    ("article", "tune", 0.78, 0.95, 0.78, 4, 0.28),
    ("article", "test", 0.80, 0.95, 0.72, 2, 0.14),
    ("debian", "tune", 0.74, 0.86, 0.58, 2, 0.5),
    ("debian", "test", 0.84, 0.95, 0.64, 2, 0.375),
]


@pytest.mark.parametrize(
    ("corpus", "split", "top1", "top3", "sentence", "refused", "unans"), FLOORS
)
def test_own_sets(
    request: pytest.FixtureRequest,
    corpus: str,
    split: str,
    top1: float,
    top3: float,
    sentence: float,
    refused: int,
    unans: float,
) -> None:
    if corpus == "article":
        engine, cases = request.getfixturevalue("article_engine"), DATA / "article_eval.jsonl"
    else:
        engine, cases = request.getfixturevalue("debian_engine"), DATA / "debian_faq_eval.jsonl"
    report = _report(corpus, engine, cases, split)
    assert report.top1 >= top1 and report.top3 >= top3 and report.sentence >= sentence
    assert report.false_abstain_count <= refused
    assert report.unanswerable_abstain >= unans
    assert report.offtopic_abstain == 1.0, "every off-topic question is refused"


def test_shared_article_dev_set(article_engine: Engine) -> None:
    report = _report(
        "article dev",
        article_engine,
        require(lambda: shared_file("eval/seed_article_dev.jsonl")),
        None,
    )
    assert report.top1 >= 0.9 and report.top3 == 1.0
    assert report.offtopic_abstain == 1.0 and report.false_abstain_count <= 1


def test_shared_debian_dev_set(debian_engine: Engine) -> None:
    report = _report(
        "debian dev", debian_engine, require(lambda: shared_file("eval/debian_faq_dev.jsonl")), None
    )
    assert report.top1 >= 0.97 and report.top3 >= 0.98
    assert report.offtopic_abstain == 1.0 and report.false_abstain_count <= 1


def test_answer_shape(article_engine: Engine) -> None:
    """Answers quote passage 1; refusals show the closest passages, nothing highlighted;
    scores never rise down the list; refusal is exactly confidence below the threshold."""
    report = evaluate(article_engine.retriever, load_cases(DATA / "article_eval.jsonl"))
    threshold = article_engine.config.min_confidence
    for r in report.results:
        answer = r.answer
        scores = [p.score for p in answer.passages]
        assert scores == sorted(scores, reverse=True)
        assert answer.abstained == (answer.confidence < threshold)
        assert 0.0 <= answer.confidence <= 1.0 and 1 <= len(answer.passages) <= 3
        assert answer.evidence is not None and answer.evidence.explain()
        if answer.abstained:
            assert answer.text == "" and answer.best is None
            assert all(not p.highlights for p in answer.passages)
        else:
            best = answer.passages[0]
            assert best.highlights and answer.text == best.highlighted_text
            assert all(best.text[s:e].strip() in answer.text for s, e in best.highlights)


@pytest.mark.parametrize(
    "question",
    ["How do I stop apt from upgrading a package?", "Which branch should a server run?"],
)
def test_more_passages_than_are_re_ranked_keep_the_order_and_the_first_ones(
    debian_engine: Engine, question: str
) -> None:
    """Asking for more passages than coverage re-ranks (index/late.py) changes none of the
    first ones, and scores still never rise down the list."""
    retriever = debian_engine.retriever
    depth = retriever.settings.rerank_depth
    few, many = retriever.answer(question, top_k=3), retriever.answer(question, top_k=depth + 4)
    assert len(many.passages) > depth
    scores = [p.score for p in many.passages]
    assert scores == sorted(scores, reverse=True)
    assert many.passages[:3] == few.passages and many.text == few.text


def test_each_index_measures_its_own_off_topic_level(
    article_engine: Engine, debian_engine: Engine
) -> None:
    """Questions about other things reach a higher relevance in 17 FAQ pages than in one
    article; the level is measured once per index and every answer is judged against it."""
    article, debian = article_engine.retriever, debian_engine.retriever
    levels = article.background(), debian.background()
    print(f"\noff-topic levels: article {levels[0]:.3f}, Debian FAQ {levels[1]:.3f}")
    assert 0.1 < levels[0] < levels[1] < 0.5
    assert article.background() is levels[0]  # measured once
    answer = debian.answer("How do I bake sourdough bread at home?")
    assert answer.evidence is not None and answer.evidence.background == levels[1]
    assert answer.abstained and "off-topic level here" in answer.evidence.explain()


def test_a_yes_no_question_is_answered_by_the_sentence_that_says_it(
    article_engine: Engine,
) -> None:
    """A sentence holding a yes/no question's words is its answer, quoted alone (for a
    question asking for a kind of answer, such a sentence only restates it)."""
    answer = article_engine.answer("Does Russia border North Korea?")
    assert answer.text == (
        "Russia shares a border with North Korea, and the two countries have a complex "
        "history dating back to the Cold War era."
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is Kim Jong Un set to meet?", "Russian President Vladimir Putin"),
        ("Where is the meeting held?", "Meeting with Putin in Russia"),
        ("Who is Kim Jong Un meeting?", "Russian President Vladimir Putin"),
        ("What are the implications of the meeting?", "holds. Significant implications"),
    ],
)
def test_whole_thoughts(article_engine: Engine, question: str, expected: str) -> None:
    """A stray full stop does not cut a quote in two; the title run into the first
    paragraph answers where the meeting is, and is quoted with the sentence after it (a
    title is a label: the text says it)."""
    answer = article_engine.answer(question)
    assert not answer.abstained and expected in answer.text


def test_chunks_fit_the_model_window(debian_engine: Engine, embedder: Embedder) -> None:
    """Measured with the real tokenizer: nothing the index embeds is ever truncated."""
    chunks = debian_engine.retriever.store.data.chunks
    longest = max(embedder.count_tokens(embedding_text(c)) for c in chunks)
    print(f"\nlongest embedded chunk: {longest} of {embedder.max_tokens} tokens")
    assert longest <= embedder.max_tokens
