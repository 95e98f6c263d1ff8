"""Late interaction (index/late.py): content tokens, quantized storage, maxsim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from index.embedding import Embedder
from index.late import (
    QUESTION_WORDS,
    TokenVectors,
    content_mask,
    from_bytes,
    maxsim,
    unit_rows,
)

DIM = 8


@pytest.mark.parametrize(
    ("tokens", "kept"),
    [
        (["[CLS]", "why", "did", "the", "summit", "fail", "?", "[SEP]"], ["summit", "fail"]),
        (["[CLS]", "nf", "##tables", "firewall", "[SEP]"], ["nf", "##tables", "firewall"]),
        (["[CLS]", "what", "is", "it", "[SEP]", "[PAD]"], []),
        (["[CLS]", "whose", "is", "this", "[SEP]"], []),
        (["2019", "-", "v0", "##.", "##9", "html5"], ["2019", "v0", "##9", "html5"]),
        ([], []),
    ],
)
def test_content_tokens_drop_special_tokens_punctuation_and_stop_words(
    tokens: list[str], kept: list[str]
) -> None:
    mask = content_mask(tokens)
    assert [t for t, k in zip(tokens, mask, strict=True) if k] == kept


finite = st.floats(-4, 4, allow_nan=False, width=32)
matrices = st.lists(
    st.integers(0, 5).flatmap(lambda n: hnp.arrays(np.float32, (n, DIM), elements=finite)),
    max_size=6,
)


@given(matrices)
def test_quantized_vectors_keep_their_texts_and_lie_within_half_a_step(
    parts: list[np.ndarray],
) -> None:
    packed = TokenVectors.quantize(parts, DIM)
    assert packed.texts == len(parts)
    assert packed.offsets[0] == 0 and packed.offsets[-1] == len(packed.codes)
    assert np.all(np.diff(packed.offsets) >= 0)
    assert packed.codes.dtype == np.int8 and packed.scales.shape == (len(packed.codes), 1)
    for i, original in enumerate(parts):
        lo, hi = packed.offsets[i], packed.offsets[i + 1]
        error = np.abs(packed.of(i) - original)
        assert np.all(error <= packed.scales[lo:hi] / 2 + 1e-6)


@given(matrices, matrices)
def test_concat_then_select_gives_back_each_part(
    first: list[np.ndarray], second: list[np.ndarray]
) -> None:
    a, b = TokenVectors.quantize(first, DIM), TokenVectors.quantize(second, DIM)
    both = TokenVectors.concat([a, b], DIM)
    assert both.texts == len(first) + len(second)
    for part, (lo, hi) in ((a, (0, a.texts)), (b, (a.texts, both.texts))):
        again = both.select(lo, hi)
        assert np.array_equal(again.offsets, part.offsets)
        assert np.array_equal(again.codes, part.codes)
        assert np.array_equal(again.scales, part.scales)


@given(matrices)
def test_database_bytes_round_trip(parts: list[np.ndarray]) -> None:
    packed = TokenVectors.quantize(parts, DIM)
    for i in range(packed.texts):
        lo, hi = packed.offsets[i], packed.offsets[i + 1]
        data = packed.text_bytes(i)
        assert len(data) == (hi - lo) * (4 + DIM)
        assert np.array_equal(from_bytes(data, DIM), packed.of(i))
    with pytest.raises(ValueError, match="whole tokens"):
        from_bytes(b"\0" * (4 + DIM + 1), DIM)


def test_maxsim_is_the_mean_best_cosine_clamped_to_the_unit_interval() -> None:
    rng = np.random.default_rng(0)
    question = unit_rows(rng.normal(size=(3, DIM)))
    assert maxsim(question, question) == pytest.approx(1.0)
    assert maxsim(question, np.zeros((0, DIM), np.float32)) == 0.0
    assert maxsim(np.zeros((0, DIM), np.float32), question) == 0.0
    assert maxsim(question, -question[:1]) >= 0.0
    passage = unit_rows(rng.normal(size=(20, DIM)))
    expected = float((question @ passage.T).max(axis=1).mean())
    assert maxsim(question, passage) == pytest.approx(min(1.0, max(0.0, expected)))


def test_coverage_prefers_the_passage_that_says_it_in_other_words(embedder: Embedder) -> None:
    """The point of it: "collapse" finds "breakdown" in context, a passage on something
    else with the question's other words does not cover it as well."""
    _, tokens = embedder.encode_tokens(
        [
            "why did the hanoi summit collapse",
            "Talks stalled after the breakdown of the Hanoi Summit in 2019.",
            "The Hanoi Summit venue was a hotel in the city centre.",
        ]
    )
    question, answer, other = tokens
    assert maxsim(question, answer) > maxsim(question, other)
    assert all(np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5) for t in tokens)


def test_a_question_keeps_its_question_words() -> None:
    tokens = ["[CLS]", "where", "is", "the", "meeting", "held", "?", "[SEP]"]
    assert content_mask(tokens).tolist() == [False, False, False, False, True, True, False, False]
    kept = content_mask(tokens, QUESTION_WORDS)
    assert [t for t, k in zip(tokens, kept, strict=True) if k] == ["where", "meeting", "held"]
