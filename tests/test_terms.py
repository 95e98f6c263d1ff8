"""Content words: what a question asks about and whether a passage holds it (index/terms.py)."""

from __future__ import annotations

import pytest

from index.terms import TermCounter

TEXTS = [
    "Neighboring countries, including South Korea and China, are paying close attention.",
    "Negotiations have stalled since the breakdown of the Hanoi Summit in 2019.",
    "The meeting is held in Russia.",
]


@pytest.fixture(scope="module")
def counter() -> TermCounter:
    return TermCounter(TEXTS)


@pytest.mark.parametrize(
    ("question", "text", "share"),
    [
        ("Which countries are paying attention?", TEXTS[0], 1.0),
        ("Which summit broke down?", TEXTS[1], 1.0),  # "broke" -> "break" ~ "breakdown"
        ("Where is the meeting held?", TEXTS[2], 1.0),  # "held" -> "hold" ~ "held"
        ("Which contries are paying atention?", TEXTS[0], 1.0),  # misspelt, no text has them
        ("Which countries are paying attention?", TEXTS[1], 0.0),
        ("What did they have for dinner?", TEXTS[2], 0.0),
        ("Where is the meeting held?", "", 0.0),
        ("Why?", TEXTS[0], 1.0),  # no content word: nothing is missing
    ],
)
def test_support_is_the_share_of_the_question_a_text_holds(
    counter: TermCounter, question: str, text: str, share: float
) -> None:
    query, held = counter.terms_of([question, text])
    assert counter.support(query, held) == pytest.approx(share)


def test_a_misspelling_matches_only_when_no_text_uses_the_word(counter: TermCounter) -> None:
    # "summit" is a word the texts use: "summits" is not read as a misspelling of "submit"
    query, held = counter.terms_of(["china summit", "China will submit"])
    assert 0.0 < counter.support(query, held) < 1.0


@pytest.mark.parametrize(
    ("question", "share"),
    [
        ("Which countries are paying attention?", 0.0),
        ("Which contries are paying atention?", 0.0),  # misspelt, still known
        ("Which dinner in Moscow?", 1.0),
        ("Was the Hanoi dinner served?", 2 / 3),
    ],
)
def test_unknown_share(counter: TermCounter, question: str, share: float) -> None:
    assert counter.unknown_share(question) == pytest.approx(share)


def test_unknown_words_are_the_ones_unknown_share_counts(counter: TermCounter) -> None:
    question = "Was the Hanoi dinner served by contries chef?"
    unknown = counter.unknown_words(question)
    assert unknown == ["chef", "dinner", "served"]  # "contries": misspelt "countries"
    assert counter.unknown_share(question) == pytest.approx(len(unknown) / 5)
