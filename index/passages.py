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

from index.late import dequantize
from index.models import Chunk, DocumentInfo
from index.store import IndexData, VectorFile
from index.tables import leads
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

    def token_vectors(self, ids: Sequence[int]) -> list[np.ndarray]:
        """The content-token vectors (``index.late``) of passages ``ids``, float32, one
        matrix per id (only the few passages a question re-ranks are read)."""
        ...


class MemoryStore:
    """An index held in this process: FAISS for dense search, BM25 in memory.

    Keyword postings and content terms come packed from the index (``index.tables``); the
    term sets of a question's candidates are unpacked when it is asked."""

    def __init__(self, data: IndexData) -> None:
        self.data = data
        self.tables = data.tables
        self.lexical = data.tables.lexical()
        self._terms = data.tables.counter()
        self._lead = leads(data.chunks)
        self._files: tuple[VectorFile, VectorFile, VectorFile] | None = None
        self._token_files: tuple[VectorFile, VectorFile] | None = None
        if data.folder is not None:  # serve rows by pread, not through the memory maps
            self._files = (
                VectorFile(data.folder / "chunk_vectors.npy"),
                VectorFile(data.folder / "heading_vectors.npy"),
                VectorFile(data.folder / "sentence_vectors.npy"),
            )
            self._token_files = (
                VectorFile(data.folder / "token_codes.npy"),
                VectorFile(data.folder / "token_scales.npy"),
            )

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
        return self.tables.term_set(self.tables.chunk_terms, i)

    def sentence_terms(self, i: int) -> tuple[frozenset[str], ...]:
        lo, hi = self.data.sentence_offsets[i : i + 2]
        packed = self.tables.sentence_terms
        return tuple(self.tables.term_set(packed, s) for s in range(lo, hi))

    def candidates(self, query: str, qvec: np.ndarray, k: int) -> Candidates:
        data = self.data
        k = min(k, len(data.chunks))
        if k == 0:
            return _empty(data.chunk_vectors.shape[1] if data.chunk_vectors.ndim == 2 else 0)
        _, dense_ids = data.faiss_index.search(qvec[None, :].astype(np.float32), k)
        lexical = self.lexical.scores(query)
        found = {int(i) for i in dense_ids[0] if i >= 0} | {
            int(i) for i in top_k(lexical, k) if lexical[i] > 0
        }
        ids = np.array(sorted(found), dtype=np.int64)
        offsets = data.sentence_offsets
        if self._files is None:
            chunk_vectors, heading_vectors = data.chunk_vectors[ids], data.heading_vectors[ids]
            sentences = tuple(data.sentence_vectors[offsets[i] : offsets[i + 1]] for i in ids)
        else:
            chunk_file, heading_file, sentence_file = self._files
            chunk_vectors, heading_vectors = chunk_file.rows(ids), heading_file.rows(ids)
            sentences = tuple(sentence_file.block(offsets[i], offsets[i + 1]) for i in ids)
        return Candidates(
            ids=ids,
            chunks=tuple(data.chunks[i] for i in ids),
            chunk_vectors=chunk_vectors,
            heading_vectors=heading_vectors,
            sentence_vectors=sentences,
            chunk_terms=tuple(self.chunk_terms(i) for i in ids),
            sentence_terms=tuple(self.sentence_terms(i) for i in ids),
            lead=self._lead[ids],
            lexical=lexical[ids],
        )

    def token_vectors(self, ids: Sequence[int]) -> list[np.ndarray]:
        tokens = self.data.tokens
        if self._token_files is None:
            return [tokens.of(int(i)) for i in ids]
        codes, scales = self._token_files
        out = []
        for i in ids:
            lo, hi = tokens.rows(int(i))
            out.append(dequantize(codes.block(lo, hi), scales.block(lo, hi)))
        return out


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` highest scores, ties going to the lower id (the first ``k`` of a
    stable descending sort, in any order), in time linear in ``len(scores)``."""
    if k >= len(scores):
        return np.arange(len(scores))
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    ties = np.flatnonzero(scores == kth)[: k - len(above)]
    return np.concatenate([above, ties])


def _empty(dim: int) -> Candidates:
    nothing = np.zeros((0, dim), dtype=np.float32)
    return Candidates(
        np.zeros(0, dtype=np.int64), (), nothing, nothing, (), (), (), np.zeros(0), np.zeros(0)
    )
