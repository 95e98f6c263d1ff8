"""Hybrid retrieval (dense + BM25, reciprocal rank fusion), sentence picking and abstention."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.chunking import HEADING_SEPARATOR
from index.embedding import Embedder
from index.errors import QuestionError
from index.lexical import LexicalIndex
from index.models import Answer, Chunk, DocumentInfo, Passage
from index.normalize import fold
from index.store import IndexData

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """``abstain_below``: semantic relevance (cosine of the question with the best passage or
    its best sentence) under which the engine says the documents do not answer; calibrated
    on the dev sets (see README). ``candidates``: how many passages each ranker proposes."""

    top_k: int = 3
    candidates: int = 30
    weights: tuple[float, float, float, float, float, float] = (1.0, 0.75, 0.25, 0.3, 0.6, 0.3)
    abstain_below: float = 0.38
    confidence_slope: float = 12.0
    highlight_margin: float = 0.06
    max_question_chars: int = 1000


@dataclass(frozen=True, slots=True)
class _Scored:
    chunk: int
    relevance: float  # max of the chunk, best-sentence and heading cosines
    fused: float


def check_question(question: str, max_chars: int) -> str:
    """Return the stripped question or raise QuestionError with a user-facing reason."""
    cleaned = question.strip()
    if not cleaned:
        raise QuestionError("the question is empty; type a question after the command")
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"the question is too long ({len(cleaned)} characters, at most {max_chars}); "
            "shorten it to the essential words"
        )
    return cleaned


class Retriever:
    """Answers questions from one loaded index. Thread-safe for concurrent ``answer`` calls."""

    def __init__(
        self, data: IndexData, embedder: Embedder, settings: RetrievalSettings | None = None
    ) -> None:
        self.data = data
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self._lexical = LexicalIndex([_lexical_text(c) for c in data.chunks])
        self._sentence_terms = self._lexical.terms(
            [c.text[s - c.start : e - c.start] for c in data.chunks for s, e in c.sentences]
        )
        self._lead = np.array(
            [
                i == 0
                or (c.source, c.heading) != (data.chunks[i - 1].source, data.chunks[i - 1].heading)
                for i, c in enumerate(data.chunks)
            ],
            dtype=np.float32,
        )

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.data.manifest.documents

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        return self.answer_many([question], top_k)[0]

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        """Answer several questions with one batched embedding call (raises QuestionError
        before any work if one of them is invalid)."""
        cleaned = [check_question(q, self.settings.max_question_chars) for q in questions]
        if not cleaned:
            return []
        vectors = self.embedder.encode([fold(q) for q in cleaned], batch_size=len(cleaned))
        k = self.settings.top_k if top_k is None else max(1, top_k)
        return [self._answer(q, v, k) for q, v in zip(cleaned, vectors, strict=True)]

    def _answer(self, question: str, qvec: np.ndarray, top_k: int) -> Answer:
        ranked = self._rank(fold(question), qvec)
        if not ranked:
            return Answer(question, True, 0.0, "", ())
        best = ranked[0]
        confidence = 1.0 / (
            1.0
            + math.exp(
                -self.settings.confidence_slope * (best.relevance - self.settings.abstain_below)
            )
        )
        abstained = best.relevance < self.settings.abstain_below
        chosen = _diverse(ranked, self.data.chunks, top_k)
        passages = tuple(
            self._passage(s, qvec if i == 0 and not abstained else None)
            for i, s in enumerate(chosen)
        )
        text = "" if abstained else passages[0].highlighted_text
        return Answer(question, abstained, round(confidence, 4), text, passages)

    def features(self, query: str, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Candidate chunk ids and their ranking features, one row per candidate:
        dense chunk cosine, best sentence cosine, heading cosine, BM25 scaled to [0, 1] by the
        best candidate's score, 1 if the chunk opens its section, and the largest share of the
        question's (stemmed, non-stop-word) terms that one of its sentences holds."""
        data = self.data
        k = min(self.settings.candidates, len(data.chunks))
        _, dense_ids = data.faiss_index.search(qvec[None, :].astype(np.float32), k)
        lexical = self._lexical.scores(query)
        lex_ids = np.argsort(-lexical, kind="stable")[:k]
        ids = np.array(
            sorted(
                {int(i) for i in dense_ids[0] if i >= 0}
                | {int(i) for i in lex_ids if lexical[i] > 0}
            ),
            dtype=np.int64,
        )
        feats = np.zeros((len(ids), 6), dtype=np.float32)
        qterms = self._lexical.terms([query])[0]
        feats[:, 0] = data.chunk_vectors[ids] @ qvec
        feats[:, 2] = data.heading_vectors[ids] @ qvec
        top_lex = float(lexical[ids].max()) if len(ids) else 0.0
        if top_lex > 0:
            feats[:, 3] = lexical[ids] / top_lex
        feats[:, 4] = self._lead[ids]
        for row, c in enumerate(ids):
            lo, hi = data.sentence_offsets[c], data.sentence_offsets[c + 1]
            if hi > lo:
                feats[row, 1] = float((data.sentence_vectors[lo:hi] @ qvec).max())
                if qterms:
                    feats[row, 5] = max(len(qterms & t) for t in self._sentence_terms[lo:hi]) / len(
                        qterms
                    )
        return ids, feats

    def _rank(self, query: str, qvec: np.ndarray) -> list[_Scored]:
        if not self.data.chunks:
            return []
        ids, feats = self.features(query, qvec)
        fused = feats @ np.asarray(self.settings.weights, dtype=np.float32)
        relevance = feats[:, :3].max(axis=1)
        scored = [
            _Scored(int(c), float(relevance[row]), float(fused[row])) for row, c in enumerate(ids)
        ]
        scored.sort(key=lambda s: (-s.fused, s.chunk))
        return scored

    def _passage(self, scored: _Scored, qvec: np.ndarray | None) -> Passage:
        """The passage of ``scored``; its answer sentence(s) highlighted when ``qvec`` is given."""
        chunk = self.data.chunks[scored.chunk]
        highlights: tuple[tuple[int, int], ...] = ()
        if qvec is not None and chunk.display_sentences:
            lo, hi = self.data.sentence_offsets[scored.chunk : scored.chunk + 2]
            sims = self.data.sentence_vectors[lo:hi] @ qvec
            highlights = _pick_sentences(sims, chunk, self.settings.highlight_margin)
        return Passage(
            source=chunk.source,
            heading=chunk.heading,
            text=chunk.display,
            score=round(scored.relevance, 4),
            start=chunk.start,
            end=chunk.end,
            highlights=highlights,
        )


def _lexical_text(chunk: Chunk) -> str:
    return HEADING_SEPARATOR.join(chunk.heading) + "\n" + chunk.text


def _pick_sentences(sims: np.ndarray, chunk: Chunk, margin: float) -> tuple[tuple[int, int], ...]:
    """The best sentence, plus a neighbour that scores within ``margin`` of it."""
    best = int(np.argmax(sims))
    picked = [best]
    for neighbour in (best - 1, best + 1):
        if 0 <= neighbour < len(sims) and sims[neighbour] >= sims[best] - margin:
            picked.append(neighbour)
            break
    return tuple(chunk.display_sentences[i] for i in sorted(picked))


def _diverse(ranked: list[_Scored], chunks: tuple[Chunk, ...], top_k: int) -> list[_Scored]:
    """Top passages, skipping ones that mostly repeat an already chosen passage."""
    chosen: list[_Scored] = []
    for s in ranked:
        c = chunks[s.chunk]
        if any(_overlap(c, chunks[o.chunk]) > 0.5 for o in chosen):
            continue
        chosen.append(s)
        if len(chosen) == top_k:
            break
    return chosen


def _overlap(a: Chunk, b: Chunk) -> float:
    if a.source != b.source:
        return 0.0
    inter = min(a.end, b.end) - max(a.start, b.start)
    return max(0, inter) / max(1, min(a.end - a.start, b.end - b.start))
