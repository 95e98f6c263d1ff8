"""The keyword and term tables of an index, computed once at build time and saved with it.

Keyword search (BM25 postings) and the content terms of every passage and sentence (for term
support and unknown words) are packed into flat numpy arrays: a term's postings, or a
passage's terms, are a slice ``ids[offsets[i]:offsets[i + 1]]``. Strings are stored as one
UTF-8 blob of newline-separated terms (terms never hold a newline). Loading them is a few
``np.load`` calls, with no text to tokenise and no per-passage Python objects, so a big index
opens fast and stays small in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.chunking import HEADING_SEPARATOR
from index.lexical import LexicalIndex
from index.models import Chunk
from index.terms import TermCounter, content_words

ROWS_PER_BATCH = 2048


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


def pack_strings(strings: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(strings).encode("utf-8"), dtype=np.uint8)


def unpack_strings(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


@dataclass(frozen=True, slots=True, eq=False)
class Packed:
    """Rows of int32 ids: row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray
    offsets: np.ndarray

    def row(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def of(cls, rows: Sequence[Sequence[int]]) -> Packed:
        lengths = [len(r) for r in rows]
        ids = np.fromiter((i for r in rows for i in r), dtype=np.int32, count=sum(lengths))
        return cls(ids, np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]))


@dataclass(frozen=True, slots=True, eq=False)
class SearchTables:
    """Keyword index and content terms of one index's passages.

    Invariants: ``len(chunk_terms) == passages``; ``len(sentence_terms)`` is the number of
    sentences (in passage order, like the sentence vectors); every id in them indexes
    ``terms``; ``term_df[t]`` is the number of passages whose terms hold ``t``; row ``t`` of
    ``postings`` lists the passages holding BM25 term ``lexical_terms[t]``, with their BM25
    weights in ``weights`` (aligned with ``postings.ids``)."""

    terms: list[str]
    term_df: np.ndarray
    words: list[str]
    chunk_terms: Packed
    sentence_terms: Packed
    lexical_terms: list[str]
    postings: Packed
    weights: np.ndarray
    average_length: float

    @property
    def passages(self) -> int:
        return len(self.chunk_terms)

    def term_set(self, packed: Packed, i: int) -> frozenset[str]:
        terms = self.terms
        return frozenset([terms[t] for t in packed.row(i).tolist()])

    def counter(self) -> TermCounter:
        df = dict(zip(self.terms, self.term_df.tolist(), strict=True))
        return TermCounter.from_stats(self.passages, df, frozenset(self.words))

    def lexical(self) -> LexicalIndex:
        offsets = self.postings.offsets
        return LexicalIndex.from_postings(
            self.passages,
            self.average_length,
            {
                term: (self.postings.row(t), self.weights[offsets[t] : offsets[t + 1]])
                for t, term in enumerate(self.lexical_terms)
            },
        )

    @classmethod
    def compute(cls, chunks: Sequence[Chunk]) -> SearchTables:
        """The tables of ``chunks`` (tokenises every passage and sentence once)."""
        counter = TermCounter([])
        vocabulary: dict[str, int] = {}
        terms: list[str] = []
        df: Counter[int] = Counter()
        words: set[str] = set()
        chunk_rows: list[list[int]] = []
        sentence_rows: list[list[int]] = []

        def ids(row: frozenset[str]) -> list[int]:
            out = []
            for term in sorted(row):
                at = vocabulary.get(term)
                if at is None:
                    at = vocabulary[term] = len(terms)
                    terms.append(term)
                out.append(at)
            return out

        for lo in range(0, len(chunks), ROWS_PER_BATCH):
            batch = chunks[lo : lo + ROWS_PER_BATCH]
            chunk_words = [content_words(lexical_text(c)) for c in batch]
            for ws in chunk_words:
                words.update(ws)
            for row in counter.stem(chunk_words):
                chunk_rows.append(ids(row))
                df.update(chunk_rows[-1])
            sentences = [content_words(s) for c in batch for s in sentence_texts(c)]
            sentence_rows.extend(ids(row) for row in counter.stem(sentences))
        lexical = LexicalIndex([lexical_text(c) for c in chunks])
        lexical_terms = sorted(lexical.postings)
        postings = [lexical.postings[t] for t in lexical_terms]
        return cls(
            terms=terms,
            term_df=np.array([df[i] for i in range(len(terms))], dtype=np.int32),
            words=sorted(words),
            chunk_terms=Packed.of(chunk_rows),
            sentence_terms=Packed.of(sentence_rows),
            lexical_terms=lexical_terms,
            postings=Packed.of([p[0].tolist() for p in postings]),
            weights=np.concatenate([p[1] for p in postings]).astype(np.float32)
            if postings
            else np.zeros(0, dtype=np.float32),
            average_length=lexical.average_length,
        )

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            np.savez(
                fh,
                terms=pack_strings(self.terms),
                term_df=self.term_df,
                words=pack_strings(self.words),
                chunk_ids=self.chunk_terms.ids,
                chunk_offsets=self.chunk_terms.offsets,
                sentence_ids=self.sentence_terms.ids,
                sentence_offsets=self.sentence_terms.offsets,
                lexical_terms=pack_strings(self.lexical_terms),
                posting_ids=self.postings.ids,
                posting_offsets=self.postings.offsets,
                weights=self.weights,
                average_length=np.array([self.average_length]),
            )

    @classmethod
    def load(cls, path: Path) -> SearchTables:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                terms=unpack_strings(z["terms"]),
                term_df=z["term_df"],
                words=unpack_strings(z["words"]),
                chunk_terms=Packed(z["chunk_ids"], z["chunk_offsets"]),
                sentence_terms=Packed(z["sentence_ids"], z["sentence_offsets"]),
                lexical_terms=unpack_strings(z["lexical_terms"]),
                postings=Packed(z["posting_ids"], z["posting_offsets"]),
                weights=z["weights"],
                average_length=float(z["average_length"][0]),
            )
