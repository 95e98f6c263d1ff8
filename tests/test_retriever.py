"""Retriever units without the model: overlap dropping, highlight margin, the refusal
boundary, answer types, an empty index, and the title/fragment rules answers rely on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.answer_types import Detail, fits, holds_detail, question_detail, question_type
from index.late import TokenVectors
from index.models import Chunk, Evidence
from index.passages import MemoryStore, top_k
from index.retriever import (
    RetrievalSettings,
    Retriever,
    _diverse,
    _pick_sentences,
    _Scored,
    judge,
)
from index.store import IndexData, Manifest, build_faiss, sentence_offsets
from index.tables import SearchTables

DIM = 8


def chunk(start: int, end: int, source: str = "a.txt", text: str = "") -> Chunk:
    text = (text or f"{source}:{start}").ljust(end - start, "x")[: end - start]
    return Chunk(source, (), start, end, text, text, ((start, end),), ((0, end - start),))


@pytest.mark.parametrize(
    ("spans", "kept"),
    [
        ([(0, 100), (10, 110), (200, 300)], [0, 2]),  # 90% overlap: the second is dropped
        ([(0, 100), (60, 160), (200, 300)], [0, 1, 2]),  # 40% overlap: kept
        ([(0, 100), (0, 100, "b.txt"), (5, 50)], [0, 1]),  # other document kept; inside dropped
        (
            [(0, 50, "a.txt", "Contents"), (0, 50, "b.txt", "Contents"), (0, 50, "c.txt")],
            [0, 2],
        ),  # the same text in another document: boilerplate, dropped
    ],
)
def test_overlapping_passages_are_dropped(spans: list[tuple], kept: list[int]) -> None:
    chunks = tuple(chunk(*s) for s in spans)
    ranked = [_Scored(i, i, 0.5, 1.0 - i / 10) for i in range(len(chunks))]
    assert [s.chunk for s in _diverse(ranked, chunks, top_k=3)] == kept


def test_top_k_limits_passages() -> None:
    chunks = tuple(chunk(i * 100, i * 100 + 50) for i in range(5))
    ranked = [_Scored(i, i, 0.5, 1.0) for i in range(5)]
    assert len(_diverse(ranked, chunks, top_k=2)) == 2


@pytest.mark.parametrize(
    ("scores", "margin", "picked"),
    [
        ([0.2, 0.9, 0.5], 0.06, [1]),  # no neighbour close enough
        ([0.2, 0.9, 0.86], 0.06, [1, 2]),  # the next one is within the margin
        ([0.85, 0.9, 0.86], 0.06, [0, 1]),  # the one before is preferred, one neighbour only
        ([0.9], 0.06, [0]),
        ([0.5, 0.5], 0.0, [0, 1]),  # a tie is within a zero margin
    ],
)
def test_highlight_margin(scores: list[float], margin: float, picked: list[int]) -> None:
    assert _pick_sentences(np.array(scores), margin) == picked


@pytest.mark.parametrize(
    ("scores", "announces", "picked"),
    [
        ([0.9, 0.2, 0.1], [True, False, False], [0, 1]),  # "... execute either:" + command
        ([0.85, 0.9, 0.1], [False, True, False], [0, 1, 2]),  # after the neighbour pair
        ([0.2, 0.9], [False, True], [1]),  # nothing follows the last sentence
        ([0.9, 0.2, 0.1], [False, True, False], [0]),  # only the picked one's colon counts
    ],
)
def test_a_sentence_ending_in_a_colon_brings_the_next(
    scores: list[float], announces: list[bool], picked: list[int]
) -> None:
    texts = ["Run this:" if a else "A statement of some length." for a in announces]
    assert _pick_sentences(np.array(scores), 0.06, texts) == picked


@pytest.mark.parametrize(
    ("texts", "scores", "restates", "picked"),
    [
        # the best sentence refers back to the one before it
        (["Add the user to the group.", "This way the file stays as it is.", "Other."],
         [0.3, 0.9, 0.1], [False] * 3, [0, 1]),
        # the one after it refers back to it
        (["The stable branch suits servers.", "It is the safest choice.", "Other."],
         [0.9, 0.3, 0.1], [False] * 3, [0, 1]),
        # a bare reply before it is part of the answer
        (["Yes.", "You can boot the installer from the network.", "Other."],
         [0.1, 0.9, 0.2], [False] * 3, [0, 1]),
        # it restates the question: the next one answers it
        (["The timing is significant.", "Talks had stalled.", "Other."],
         [0.9, 0.3, 0.1], [True, False, False], [0, 1]),
        # it is itself a question the page asks: the next one answers it
        (["Shouldn't this be XHTML?", "Old browsers could not show it.", "Other."],
         [0.9, 0.3, 0.1], [False] * 3, [0, 1]),
        # none of these: the best one alone
        (["The timing is significant.", "Talks had stalled.", "Other."],
         [0.9, 0.3, 0.1], [False] * 3, [0]),
        # at most three sentences
        (["Yes.", "It works.", "This is why."], [0.1, 0.9, 0.86], [False] * 3, [0, 1, 2]),
    ],
)  # fmt: skip
def test_quotes_are_whole_thoughts(
    texts: list[str], scores: list[float], restates: list[bool], picked: list[int]
) -> None:
    assert _pick_sentences(np.array(scores), 0.06, texts, restates) == picked


@pytest.mark.parametrize(
    ("labels", "picked"), [([True, False, False], [0, 1]), ([False, False, False], [0])]
)
def test_a_heading_run_into_the_text_brings_the_sentence_after_it(
    labels: list[bool], picked: list[int]
) -> None:
    texts = ["Kim Meets Putin in Russia: What It Means.", "The world is watching.", "Other."]
    assert _pick_sentences(np.array([0.9, 0.3, 0.1]), 0.06, texts, [False] * 3, labels) == picked


def evidence(
    relevance: float, support: float = 1.0, unknown: float = 0.0, background: float = 0.25
) -> Evidence:
    return Evidence(relevance, relevance, support, unknown, None, True, background)


@pytest.mark.parametrize(
    ("ev", "refused"),
    [
        (evidence(0.10), True),  # off topic
        (evidence(0.25), True),  # no more relevant than questions about other things
        (evidence(0.34, background=0.36), True),  # ... in a large manual: the level is higher
        (evidence(0.34, background=0.20), False),  # ... in a short article: lower
        (evidence(0.80), False),  # close and fully supported
        (evidence(0.45, support=0.0, unknown=1.0), True),  # on topic, nothing asked is there
        (evidence(0.60, support=0.5), False),
    ],
)
def test_refusal_boundary(ev: Evidence, refused: bool) -> None:
    settings = RetrievalSettings()
    judged = judge(ev, settings)
    confidence = min(judged.on_topic, judged.answered)
    assert (confidence < settings.min_confidence) is refused
    assert "relevance" in judged.explain()


def test_confidence_rises_with_evidence() -> None:
    settings = RetrievalSettings()
    low, high = judge(evidence(0.5, 0.3), settings), judge(evidence(0.5, 0.9), settings)
    assert high.answered > low.answered
    assert judge(evidence(0.9), settings).on_topic > judge(evidence(0.4), settings).on_topic


@pytest.mark.parametrize(
    ("question", "detail"),
    [
        ("How old is Kim Jong Un?", "age"),
        ("what age was he", "age"),
        ("On what exact date will the meeting take place?", "date"),
        ("Which day was Debian 11 released?", "date"),
        ("How did Kim travel to Russia?", "transport"),
        ("what means of transport did they use", "transport"),
        ("When did the Hanoi summit break down?", None),  # a year answers "when"
        ("how do i get to the next slide", None),
        ("How many days does a fix wait?", None),
        ("What is the date format?", None),
    ],
)
def test_narrow_asks(question: str, detail: str | None) -> None:
    assert question_detail(question) == detail


@pytest.mark.parametrize(
    ("detail", "text", "held"),
    [
        ("age", "He is 39 years old.", True),
        ("age", "The project was created by Ian Murdock in 1993.", True),
        ("age", "He has met world leaders since 2019.", False),
        ("date", "The summit opens on September 13.", True),
        ("date", "Released 2024-04-09.", True),
        ("date", "since the breakdown of the Hanoi Summit in 2019", False),
        ("transport", "He arrived by armoured train.", True),
        ("transport", "The two leaders will meet in Russia.", False),
    ],
)
def test_holds_detail(detail: Detail, text: str, held: bool) -> None:
    assert holds_detail(detail, text) is held


def test_a_missing_detail_refuses_on_its_own() -> None:
    settings = RetrievalSettings()
    judged = judge(replace(evidence(0.8), missing="age"), settings)
    assert min(judged.on_topic, judged.answered) < settings.min_confidence
    assert "the age asked for is not in the passage" in judged.explain()


def test_a_name_the_documents_never_use_lowers_the_answered_confidence() -> None:
    settings = RetrievalSettings()
    plain = judge(evidence(0.5, 0.8), settings)
    named = judge(replace(evidence(0.5, 0.8), names=("nftables",)), settings)
    assert named.answered < plain.answered and named.on_topic == plain.on_topic
    assert "names nftables" in named.explain() and "names" not in plain.explain()


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who is Kim meeting?", "person"),
        ("where is the meeting held", "place"),
        ("When did the summit break down?", "time"),
        ("What year was Debian founded?", "time"),
        ("How many architectures are there?", "number"),
        ("how old is he", "number"),
        ("Why is the timing significant?", "reason"),
        ("What is Debian?", None),
        # the earliest asking phrase decides: "when" here only opens a clause
        ("What is likely to top the agenda when they meet?", None),
        ("who started debian and in what year", "person"),
        ("In which countries do they hold assets?", "place"),
        ("Where does the name come from?", None),  # an origin, not a place
        ("Is it known when they meet?", None),  # a yes/no question
    ],
)
def test_question_types(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(
    ("kind", "sentence", "expected"),
    [
        ("time", "It broke down in 2019.", True),
        ("time", "It broke down.", False),
        ("number", "There are three of them.", True),
        ("number", "It is not the first time.", False),  # an ordinal is no count
        ("person", "He met Donald Trump.", True),
        ("person", "It is significant.", False),
        ("place", "The meeting is in Russia.", True),
        ("reason", "It did so because talks stalled.", True),
        (None, "Anything at all.", True),
    ],
)
def test_answer_type_fit(kind: str | None, sentence: str, expected: bool) -> None:
    assert fits(kind, sentence) is expected  # type: ignore[arg-type]


class FakeEmbedder:
    """Deterministic vectors without a model (enough for an empty index)."""

    model_id = "fake"
    dimension = DIM
    max_tokens = 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def encode(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        batch_size: int | None = None,
    ) -> np.ndarray:
        out = np.ones((len(texts), DIM), dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_tokens(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        batch_size: int | None = None,
        keep: frozenset[str] = frozenset(),
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        vectors = self.encode(texts, progress, batch_size=batch_size)
        return vectors, [v[None, :] for v in vectors]


def test_empty_index_refuses_without_passages() -> None:
    empty = np.zeros((0, DIM), np.float32)
    manifest = Manifest("fake", DIM, {}, (), "now", {}, "flat", 0, 0)
    data = IndexData(
        manifest,
        (),
        empty,
        empty,
        sentence_offsets(()),
        empty,
        build_faiss(empty),
        SearchTables.compute(()),
        TokenVectors.empty(DIM),
    )
    answer = Retriever(MemoryStore(data), FakeEmbedder()).answer("Anything there?")  # type: ignore[arg-type]
    assert answer.abstained and answer.passages == () and answer.text == ""


@given(
    scores=st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]), max_size=60),
    k=st.integers(1, 70),
)
def test_top_k_is_the_head_of_a_stable_descending_sort(scores: list[float], k: int) -> None:
    array = np.array(scores, dtype=np.float32)
    expected = set(np.argsort(-array, kind="stable")[:k].tolist())
    assert set(top_k(array, k).tolist()) == expected
