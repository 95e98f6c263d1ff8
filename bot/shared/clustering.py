"""Grouping questions by meaning: greedy average-linkage clustering on cosine similarity.

Questions come in a fixed order (most asked first). Each one joins the cluster it is most
similar to on average (mean cosine with the cluster's members) if that mean is at least
:data:`SIMILARITY`, else it starts a new cluster; the first question of a cluster (the most
asked) represents it. One guard: a question asking *where* never joins a cluster asking
*when* (or who, why, how many): the embedding model rates such pairs alike ("Where/When are
Kim and Putin meeting?" score 0.94), but their answers differ. The result depends only on
the order, the texts and the vectors, so the same log always gives the same clusters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SIMILARITY = 0.68
"""Mean cosine (all-MiniLM-L6-v2) at or above which a question joins a cluster. Chosen on the
fixed set in tests/test_clustering.py: paraphrases of one question score 0.67-0.80 with each
other, distinct questions on the same topic up to ~0.66 with a cluster's members; over 31
orderings of that set, 0.68 gave the exact grouping most often (24; 0.65: 19, 0.70: 20)."""

_KINDS = (
    ("place", re.compile(r"\bwhere\b|\blocation\b|\b(which|what) (city|country|place|town)\b")),
    ("time", re.compile(r"\bwhen\b|\bdate\b|\bwhat (year|time|day|month)\b|\bhow long ago\b")),
    ("person", re.compile(r"\bwho(m|se)?\b")),
    ("reason", re.compile(r"\bwhy\b")),
    ("amount", re.compile(r"\bhow (many|much)\b")),
)
_WORDS = re.compile(r"\w+")


def question_key(question: str) -> str:
    """What makes two questions the same text: their words, case-folded ("How do I X?"
    and "how do i x" are one question)."""
    return " ".join(_WORDS.findall(question.casefold()))


def answer_kind(question: str) -> str | None:
    """The kind of answer a question asks for ("place", "time", "person", "reason",
    "amount"), or None when it does not say (how, what, yes/no, keywords)."""
    folded = question.casefold()
    return next((kind for kind, pattern in _KINDS if pattern.search(folded)), None)


def cluster_questions(
    questions: Sequence[str], vectors: np.ndarray, threshold: float = SIMILARITY
) -> list[list[int]]:
    """Cluster ``questions`` (with their L2-normalised embedding rows) in the given order;
    returns lists of indices, each led by its first, in the order the clusters started."""
    clusters: list[list[int]] = []
    sums = np.zeros((len(questions), vectors.shape[1] if vectors.ndim == 2 else 0))
    sizes = np.zeros(len(questions))
    kinds = np.zeros(len(questions), dtype=np.int64)  # per cluster: bits of the kinds asked
    bits = {kind: 1 << n for n, (kind, _) in enumerate(_KINDS)}
    for row, question in enumerate(questions):
        kind = answer_kind(question)
        bit = bits[kind] if kind is not None else 0
        count = len(clusters)
        if count:
            scores = sums[:count] @ vectors[row] / sizes[:count]  # mean cosine with members
            if bit:
                scores[(kinds[:count] != 0) & (kinds[:count] & bit == 0)] = -np.inf
            best = int(np.argmax(scores))  # the earliest cluster wins a tie
            if scores[best] >= threshold:
                clusters[best].append(row)
                sums[best] += vectors[row]
                sizes[best] += 1
                kinds[best] |= bit
                continue
        clusters.append([row])
        sums[count] = vectors[row]
        sizes[count] = 1
        kinds[count] = bit
    return clusters
