"""Clustering questions by meaning on a fixed set, with the real embedding model: paraphrases
land together, unrelated questions (and where/when twins) do not; the result is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from bot.shared.clustering import SIMILARITY, answer_kind, cluster_questions, question_key
from index.embedding import Embedder

# Each group: one question in users' words (paraphrases, keywords, lowercase, typos).
PARAPHRASES = [
    ["When did the Hanoi summit break down?", "When did the talks in Hanoi collapse?",
     "what year did the hanoi summit fail", "hanoi summit breakdown date"],
    ["Where are Kim and Putin meeting?",
     "Where is the meeting between Kim Jong Un and Putin taking place?",
     "kim putin meeting location", "In which city will Kim meet Putin?"],
    ["How do I install Debian?", "What's the way to install Debian on my computer?",
     "debian installation steps", "how to set up debian on a pc"],
    ["How do I upgrade all my packages?", "How can I update every installed package?",
     "upgrade installed packages with apt"],
    ["How do I reset my password?", "I forgot my password, how can I change it?",
     "password reset", "can't remember my password what do I do"],
    ["Is Debian free to use?", "Does Debian cost money?", "do I have to pay for debian"],
]  # fmt: skip
# Each its own question, several on the same topics as the groups above.
UNRELATED = [
    "What is the capital of France?",
    "How do I bake bread?",
    "When are Kim and Putin meeting?",  # the "where" group's twin: 0.94 cosine
    "Who maintains the Debian FAQ?",
    "What time does the server restart?",
    "How do I uninstall a package?",
    "Why did Kim travel by train?",
    "How do I change my username?",
    "How do I install Ubuntu?",
    "What does Putin want from North Korea?",
]


def expected_groups() -> tuple[list[str], list[set[str]]]:
    """The questions in the order a report clusters them (most asked first: each group's
    first question is asked most), and the grouping that is right."""
    order = [g[0] for g in PARAPHRASES] + UNRELATED + [q for g in PARAPHRASES for q in g[1:]]
    return order, [set(g) for g in PARAPHRASES] + [{q} for q in UNRELATED]


def test_paraphrases_land_together_and_unrelated_questions_do_not(embedder: Embedder) -> None:
    order, expected = expected_groups()
    clusters = cluster_questions(order, embedder.encode(order))
    found = [{order[i] for i in members} for members in clusters]
    assert sorted(found, key=sorted) == sorted(expected, key=sorted)
    # each cluster is led by its most asked question (first in the order)
    assert [order[c[0]] for c in clusters[: len(PARAPHRASES)]] == [g[0] for g in PARAPHRASES]


def test_clusters_are_deterministic(embedder: Embedder) -> None:
    order, _ = expected_groups()
    vectors = embedder.encode(order)
    assert cluster_questions(order, vectors) == cluster_questions(order, vectors.copy())


def test_where_never_joins_when_even_when_the_model_says_alike(embedder: Embedder) -> None:
    pair = ["Where are Kim and Putin meeting?", "When are Kim and Putin meeting?"]
    vectors = embedder.encode(pair)
    assert float(vectors[0] @ vectors[1]) > SIMILARITY  # the model alone would merge them
    assert cluster_questions(pair, vectors) == [[0], [1]]
    assert cluster_questions(pair[:1] * 2, embedder.encode(pair[:1] * 2)) == [[0, 1]]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Where is it?", "place"),
        ("kim putin meeting location", "place"),
        ("In which city will Kim meet Putin?", "place"),
        ("hanoi summit breakdown date", "time"),
        ("What year did it fail?", "time"),
        ("Who maintains it?", "person"),
        ("Why did Kim travel by train?", "reason"),
        ("How many people came?", "amount"),
        ("How do I install Debian?", None),
        ("Does Debian cost money?", None),
    ],
)
def test_answer_kind(question: str, kind: str | None) -> None:
    assert answer_kind(question) == kind


def test_question_key_ignores_case_and_punctuation() -> None:
    assert question_key("How do I install  Debian?") == question_key("how do i install debian")
    assert question_key("Install Debian!") != question_key("Uninstall Debian")


def test_empty_and_threshold_edges() -> None:
    assert cluster_questions([], np.zeros((0, 3))) == []
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    assert cluster_questions(["a", "b", "c"], vectors, threshold=0.8) == [[0, 1], [2]]
    assert cluster_questions(["a", "b", "c"], vectors, threshold=0.81) == [[0], [1], [2]]
