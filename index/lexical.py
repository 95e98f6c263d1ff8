"""BM25 keyword scoring (Lucene's variant, English stemming and stop words).

The same numbers are computed by every passage store: a passage's BM25 score for a query is
the sum, over the query's terms (repeats count again), of ``idf(term) * weight(term, passage)``
where ``weight = tf / (tf + K1 * (1 - B + B * length / average_length))`` and
``idf = log(1 + (N - df + 0.5) / (df + 0.5))``. Weights are float32 and precomputed per
passage (:meth:`LexicalIndex.passage_weights`), so a database can hold them beside the text
and score exactly as the in-memory index does.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import Stemmer

STOPWORDS_EN = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
"""Lucene's English stop words (EnglishAnalyzer), as BM25 search leaves them out."""
K1 = 1.5
B = 0.75
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOP = STOPWORDS_EN


class Tokenizer:
    """Lowercased word tokens of at least two characters, stop words dropped, stemmed."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()  # PyStemmer objects are not thread-safe

    def __call__(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOP]
        with self._lock:
            return list(self._stemmer.stemWords(words))


def idf(size: int, df: int) -> float:
    return math.log(1 + (size - df + 0.5) / (df + 0.5))


class LexicalIndex:
    """BM25 over a fixed list of texts; ``scores(query)`` has one score per text (0 = no match).

    ``postings[term]`` holds the ids of the texts with ``term`` and their BM25 weights.
    Invariant: ``scores(q)[i] == score_of(query_idf(q), *passage_weights()[i])``.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        tokenize = Tokenizer()
        counts = [Counter(tokenize(t)) for t in texts]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        average_length = float(lengths.mean()) if len(texts) else 0.0
        average = average_length or 1.0
        ids: dict[str, list[int]] = {}
        weights: dict[str, list[float]] = {}
        for i, c in enumerate(counts):
            norm = K1 * (1 - B + B * lengths[i] / average)
            for t, tf in c.items():
                ids.setdefault(t, []).append(i)
                weights.setdefault(t, []).append(tf / (tf + norm))
        postings = {
            t: (np.array(ids[t], dtype=np.int32), np.array(weights[t], dtype=np.float32))
            for t in ids
        }
        self._setup(len(texts), average_length, postings)

    @classmethod
    def from_postings(
        cls, size: int, average_length: float, postings: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> LexicalIndex:
        """The index of ``size`` texts with these postings (as saved from another one)."""
        index = cls.__new__(cls)
        index._setup(size, average_length, postings)
        return index

    def _setup(
        self, size: int, average_length: float, postings: dict[str, tuple[np.ndarray, np.ndarray]]
    ) -> None:
        self.tokenize = Tokenizer()
        self.size = size
        self.average_length = average_length
        self.postings = postings
        self.df = {t: len(p[0]) for t, p in postings.items()}

    def idf(self, term: str) -> float:
        return idf(self.size, self.df.get(term, 0))

    def passage_weights(self) -> list[tuple[tuple[str, ...], np.ndarray]]:
        """Each passage's distinct terms (sorted) and their BM25 weights (float32), in order."""
        rows: list[list[tuple[str, float]]] = [[] for _ in range(self.size)]
        for term, (ids, w) in self.postings.items():
            for i, wt in zip(ids.tolist(), w.tolist(), strict=True):
                rows[i].append((term, wt))
        out = []
        for row in rows:
            row.sort()
            out.append(
                (tuple(t for t, _ in row), np.array([wt for _, wt in row], dtype=np.float32))
            )
        return out

    def query_idf(self, query: str) -> list[tuple[str, float]]:
        return query_idf(self.tokenize(query), self.size, self.df)

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for term, weight in self.query_idf(query):
            ids, w = self.postings[term]
            out[ids] += np.float32(weight) * w
        return out


def query_idf(terms: Sequence[str], size: int, df: Mapping[str, int]) -> list[tuple[str, float]]:
    """A query's known terms (of ``terms``, its tokens), in order and with repeats, each
    with its idf among ``size`` passages whose document frequencies are ``df``."""
    return [(t, idf(size, df[t])) for t in terms if t in df]


def score_of(
    query_idf: Sequence[tuple[str, float]], terms: Sequence[str], weights: np.ndarray
) -> float:
    """One passage's BM25 score from its stored terms and weights (see the module doc)."""
    at = {t: i for i, t in enumerate(terms)}
    total = np.float32(0.0)
    for term, weight in query_idf:
        i = at.get(term)
        if i is not None:
            total += np.float32(weight) * weights[i]
    return float(total)
