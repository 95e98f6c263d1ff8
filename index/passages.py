"""Where passages live: the storage interface the retriever searches, and the embedded store.

A :class:`PassageStore` finds candidate passages for a question (dense and keyword search)
and hands them over with everything the retriever scores them on, as one
:class:`Candidates` batch. Ranking, answer picking and refusal stay in ``index.retriever``,
so every store gives the same answers for the same documents. Two stores exist:
:class:`MemoryStore` (an index read from files, held in this process) and
``index.pg_store.PgStore`` (PostgreSQL with pgvector; vectors stay in the database).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.chunking import HEADING_SEPARATOR
from index.lexical import LexicalIndex
from index.models import Chunk, DocumentInfo
from index.store import IndexData
from index.terms import TermCounter


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """Candidate passages for one question, row-aligned.

    Invariants: ``ids`` is strictly increasing; every other field has one entry per id;
    ``sentence_vectors[r]`` has one row per ``chunks[r].sentences`` entry and
    ``sentence_terms[r]`` one set per sentence; ``lexical`` is each passage's BM25 score
    (see ``index.lexical``) and ``lead`` is 1.0 where the passage opens its section.
    """

    ids: np.ndarray
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray
    heading_vectors: np.ndarray
    sentence_vectors: tuple[np.ndarray, ...]
    chunk_terms: tuple[frozenset[str], ...]
    sentence_terms: tuple[tuple[frozenset[str], ...], ...]
    lead: np.ndarray
    lexical: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class PassageStore(Protocol):
    """What the retriever needs from where the passages are kept."""

    @property
    def documents(self) -> tuple[DocumentInfo, ...]: ...

    @property
    def size(self) -> int:
        """Number of passages."""
        ...

    @property
    def terms(self) -> TermCounter:
        """Content-word statistics over all passages (support, unknown words)."""
        ...

    def candidates(self, query: str, qvec: np.ndarray, k: int) -> Candidates:
        """The union of the ``k`` nearest passages to ``qvec`` and the ``k`` best keyword
        matches of ``query`` (passages with a BM25 score above 0), ids ascending."""
        ...


def lexical_text(chunk: Chunk) -> str:
    """What keyword search reads of a passage: its headings, then its text."""
    return HEADING_SEPARATOR.join(chunk.heading) + "\n" + chunk.text


def sentence_texts(chunk: Chunk) -> list[str]:
    return [chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]


def leads(chunks: Sequence[Chunk]) -> np.ndarray:
    """1.0 for each passage that opens its section (first of its document and heading)."""
    return np.array(
        [
            i == 0 or (c.source, c.heading) != (chunks[i - 1].source, chunks[i - 1].heading)
            for i, c in enumerate(chunks)
        ],
        dtype=np.float32,
    )


class MemoryStore:
    """An index held in this process: FAISS for dense search, BM25 in memory."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        chunks = data.chunks
        texts = [lexical_text(c) for c in chunks]
        self.lexical = LexicalIndex(texts)
        self._terms = TermCounter(texts)
        self._chunk_terms = self._terms.terms_of(texts)
        flat = self._terms.terms_of([s for c in chunks for s in sentence_texts(c)])
        offsets = data.sentence_offsets
        self._sentence_terms = [
            tuple(flat[offsets[i] : offsets[i + 1]]) for i in range(len(chunks))
        ]
        self._lead = leads(chunks)

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.data.manifest.documents

    @property
    def size(self) -> int:
        return len(self.data.chunks)

    @property
    def terms(self) -> TermCounter:
        return self._terms

    def chunk_terms(self, i: int) -> frozenset[str]:
        return self._chunk_terms[i]

    def sentence_terms(self, i: int) -> tuple[frozenset[str], ...]:
        return self._sentence_terms[i]

    def candidates(self, query: str, qvec: np.ndarray, k: int) -> Candidates:
        data = self.data
        k = min(k, len(data.chunks))
        if k == 0:
            return _empty(data.chunk_vectors.shape[1] if data.chunk_vectors.ndim == 2 else 0)
        _, dense_ids = data.faiss_index.search(qvec[None, :].astype(np.float32), k)
        lexical = self.lexical.scores(query)
        lex_ids = np.argsort(-lexical, kind="stable")[:k]
        found = {int(i) for i in dense_ids[0] if i >= 0} | {
            int(i) for i in lex_ids if lexical[i] > 0
        }
        ids = np.array(sorted(found), dtype=np.int64)
        offsets = data.sentence_offsets
        return Candidates(
            ids=ids,
            chunks=tuple(data.chunks[i] for i in ids),
            chunk_vectors=data.chunk_vectors[ids],
            heading_vectors=data.heading_vectors[ids],
            sentence_vectors=tuple(data.sentence_vectors[offsets[i] : offsets[i + 1]] for i in ids),
            chunk_terms=tuple(self._chunk_terms[i] for i in ids),
            sentence_terms=tuple(self._sentence_terms[i] for i in ids),
            lead=self._lead[ids],
            lexical=lexical[ids],
        )


def _empty(dim: int) -> Candidates:
    nothing = np.zeros((0, dim), dtype=np.float32)
    return Candidates(
        np.zeros(0, dtype=np.int64), (), nothing, nothing, (), (), (), np.zeros(0), np.zeros(0)
    )
