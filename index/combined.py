"""A server's own documents searched together with the shared ones, as one store."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from index.models import DocumentInfo
from index.passages import Candidates, PassageStore
from index.terms import TermCounter


class CombinedTerms(TermCounter):
    """Term statistics of two stores taken together, without copying either."""

    def __init__(self, first: TermCounter, second: TermCounter) -> None:
        super().__init__([])
        self._parts = (first, second)
        self.size = first.size + second.size

    def idf(self, term: str) -> float:
        df = sum(part.df.get(term, 0) for part in self._parts)
        return math.log((self.size + 1) / (df + 0.5))

    def _known(self, word: str) -> bool:
        return any(part._known(word) for part in self._parts)


class CombinedStore:
    """``first``'s passages, then ``second``'s (ids offset by ``first.size``).

    Each store ranks its own candidates by its own BM25 statistics; the retriever scales the
    keyword feature by the best candidate of the union, so scores stay comparable enough to
    mix. Invariant: every id of the second store is at least ``first.size``.
    """

    def __init__(self, first: PassageStore, second: PassageStore) -> None:
        self.first = first
        self.second = second
        self._terms = CombinedTerms(first.terms, second.terms)
        self._documents = first.documents + second.documents  # stores never change

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self._documents

    @property
    def size(self) -> int:
        return self.first.size + self.second.size

    @property
    def terms(self) -> TermCounter:
        return self._terms

    def candidates(self, query: str, qvec: np.ndarray, k: int) -> Candidates:
        a = self.first.candidates(query, qvec, k)
        b = self.second.candidates(query, qvec, k)
        return Candidates(
            ids=np.concatenate([a.ids, b.ids + self.first.size]),
            chunks=a.chunks + b.chunks,
            chunk_vectors=np.concatenate([a.chunk_vectors, b.chunk_vectors]),
            heading_vectors=np.concatenate([a.heading_vectors, b.heading_vectors]),
            sentence_vectors=a.sentence_vectors + b.sentence_vectors,
            chunk_terms=a.chunk_terms + b.chunk_terms,
            sentence_terms=a.sentence_terms + b.sentence_terms,
            lead=np.concatenate([a.lead, b.lead]),
            lexical=np.concatenate([a.lexical, b.lexical]),
        )

    def token_vectors(self, ids: Sequence[int]) -> list[np.ndarray]:
        cut = self.first.size
        first = self.first.token_vectors([i for i in ids if i < cut])
        second = self.second.token_vectors([i - cut for i in ids if i >= cut])
        return [first.pop(0) if i < cut else second.pop(0) for i in ids]
