"""Hybrid retrieval (dense + BM25, weighted features), answer picking and calibrated refusal."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from index.answer_types import (
    AnswerType,
    Detail,
    fits,
    holds_detail,
    question_detail,
    question_type,
)
from index.background import OFF_TOPIC_PROBES, background_level, probe_vectors
from index.embedding import Embedder
from index.errors import QuestionError
from index.late import QUESTION_WORDS, maxsim
from index.models import Answer, Chunk, DocumentInfo, Evidence, Passage
from index.normalize import fold
from index.passages import Candidates, PassageStore

log = logging.getLogger(__name__)

MAX_TOP_K = 10
"""The most passages one answer lists, and how deep coverage re-ranks by default."""
NAME_PIECES = 2
"""A word the documents never use names a thing when the model splits it into this many
word pieces or more (``Retriever._names``)."""


@dataclass(frozen=True, slots=True)
class RetrievalSettings:
    """How passages are ranked, answers picked and refusals decided.

    ``weights`` score each candidate passage (see ``Retriever.features``); the best
    ``rerank_depth`` of them (as many as an answer may list, so a passage ranked just
    below the list can rise into it) then gain ``late_weight`` times their coverage of the
    question's words in context (``index.late``, shrunk by ``coverage_prior``; see
    ``Retriever._rerank``) and are ordered again. A passage's reported ``score`` is that
    weighted sum divided by the sum of all the weights (``late_weight`` included). A
    heading *matches* the question when their cosine is at least ``heading_match``: the
    section then asks what the question asks. ``sentence_weights`` pick the answer
    sentence: its cosine with the question, plus these times its share of the question's
    words, whether it holds the kind of answer asked for, and (for the sentence opening a
    section whose heading matches, unless it repeats the heading) the heading's cosine. A
    sentence holding at least ``restates`` of the question's words (weighted by rarity) but
    not the kind of answer asked for restates the question. Refusal measures relevance
    against the index's off-topic level (``index.background``): a question is on topic as
    it rises ``on_topic_margin`` above it (a logistic of slope ``confidence_slope``), and
    ``confidence_weights`` (bias; relevance and answer-sentence cosine, both above that
    level; square root of support; unknown; coverage; 1 if the question has ``names``; 1 if
    the narrow thing it asks for is ``missing``; see ``Evidence``) give the answered
    confidence through a logistic regression. The engine refuses below ``min_confidence``.
    Weights were fitted on the tune halves of tests/data and the dev sets, the bias set so
    that 0.5 lets through all but ~1.5% of answerable questions; the weight of names was
    then chosen on the tune halves as the strongest that refuses no more answerable
    question there, and that of a missing detail set to refuse on its own (an age the
    passage does not give is not in the documents; see README).
    """

    top_k: int = 3
    candidates: int = 30
    weights: tuple[float, float, float, float, float, float, float] = (
        1.0, 0.45, 0.2, 0.45, 0.1, 0.6, 0.15
    )  # fmt: skip
    heading_match: float = 0.75
    late_weight: float = 4.5
    rerank_depth: int = MAX_TOP_K
    coverage_prior: float = 3.0
    sentence_weights: tuple[float, float, float] = (0.2, 0.1, 0.5)
    restates: float = 0.9
    confidence_weights: tuple[float, float, float, float, float, float, float, float] = (
        -2.89, 4.7, 0.68, 2.86, 0.13, 2.46, -1.0, -4.0
    )  # fmt: skip
    on_topic_margin: float = 0.03
    confidence_slope: float = 12.0
    min_confidence: float = 0.5
    highlight_margin: float = 0.06
    max_question_chars: int = 1000


@dataclass(frozen=True, slots=True)
class _Scored:
    row: int  # in the Candidates batch
    chunk: int  # passage id in the store
    relevance: float  # max of the chunk, best-sentence and heading cosines
    fused: float
    coverage: float = 0.0  # index.late.maxsim, for the re-ranked head


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
        self, store: PassageStore, embedder: Embedder, settings: RetrievalSettings | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self._background: float | None = None
        self._background_lock = threading.Lock()

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.store.documents

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        return self.answer_many([question], top_k)[0]

    def background(self) -> float:
        """This index's off-topic level (see ``index.background``), measured on first use."""
        with self._background_lock:
            if self._background is None:
                probes = [fold(p) for p in OFF_TOPIC_PROBES]
                levels = []
                for probe, vector in zip(probes, probe_vectors(self.embedder, probes), strict=True):
                    found = self.store.candidates(probe, vector, self.settings.candidates)
                    ranked = self._rank(found, vector, question_type(probe))
                    levels.append(ranked[0].relevance if ranked else 0.0)
                self._background = background_level(levels)
                log.debug("off-topic level of this index: %.3f", self._background)
            return self._background

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        """Answer several questions with one batched embedding call (raises QuestionError
        before any work if one of them is invalid)."""
        cleaned = [check_question(q, self.settings.max_question_chars) for q in questions]
        if not cleaned:
            return []
        vectors, tokens = self.embed(cleaned)
        k = self.settings.top_k if top_k is None else max(1, top_k)
        return [self._answer(q, v, t, k) for q, v, t in zip(cleaned, vectors, tokens, strict=True)]

    def embed(self, questions: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The questions' vectors and content-token vectors, as answering embeds them:
        folded, all at once, question words kept among the tokens (``index.late``)."""
        return self.embedder.encode_tokens(
            [fold(q) for q in questions], batch_size=max(1, len(questions)), keep=QUESTION_WORDS
        )

    def _answer(self, question: str, qvec: np.ndarray, qtokens: np.ndarray, top_k: int) -> Answer:
        query = fold(question)
        terms = self.store.terms
        qterms = terms.terms_of([query])[0]
        found = self.store.candidates(query, qvec, self.settings.candidates)
        kind, detail = question_type(query), question_detail(query)
        ranked = self._rerank(self._rank(found, qvec, kind, detail), qtokens)
        if not ranked:
            return Answer(question, True, 0.0, "", ())
        chosen = _diverse(ranked, found.chunks, top_k)
        highlights, evidence = self._pick(found, chosen[0], qvec, qterms, kind)
        evidence = replace(
            evidence,
            unknown=terms.unknown_share(query),
            background=self.background(),
            coverage=chosen[0].coverage,
            names=self._names(terms.unknown_words(query)),
            missing=_missing(detail, found.chunks[chosen[0].row]),
        )
        evidence = judge(evidence, self.settings)
        confidence = min(evidence.on_topic, evidence.answered)
        abstained = confidence < self.settings.min_confidence
        total = sum(self.settings.weights) + self.settings.late_weight or 1.0
        passages = tuple(
            self._passage(found, s, total, highlights if i == 0 and not abstained else ())
            for i, s in enumerate(chosen)
        )
        text = "" if abstained else passages[0].highlighted_text
        return Answer(question, abstained, round(confidence, 4), text, passages, evidence)

    def _names(self, unknown: Sequence[str]) -> tuple[str, ...]:
        """Of the question's words the documents never use, those the model only knows in
        pieces (at least ``NAME_PIECES`` word pieces): names of products, places and things
        ("nftables", "flatpak", "cosmodrome"), not the everyday words a paraphrase brings
        ("roughly", "weeks"), whose absence says little."""
        return tuple(w for w in unknown if self.embedder.count_tokens(w) >= NAME_PIECES)

    def _pick(
        self,
        found: Candidates,
        scored: _Scored,
        qvec: np.ndarray,
        qterms: frozenset[str],
        kind: AnswerType | None,
    ) -> tuple[tuple[tuple[int, int], ...], Evidence]:
        """The answer sentence(s) of the top passage, and the evidence for answering.

        Each sentence scores its cosine with the question plus weighted shares of the
        question's words it holds and of whether it holds the kind of answer asked for; the
        sentence opening a section whose heading matches the question gains the heading's
        cosine, weighted (an FAQ answers its heading's question first), unless it repeats
        the heading (a title run into the text). The best one is quoted as a whole thought
        (see ``_pick_sentences``)."""
        row = scored.row
        chunk = found.chunks[row]
        terms = self.store.terms
        support = terms.support(qterms, found.chunk_terms[row])
        if not chunk.sentences or not chunk.display_sentences:
            return (), Evidence(scored.relevance, 0.0, support, 0.0, kind, kind is None)
        sims = found.sentence_vectors[row] @ qvec
        w_support, w_fit, w_opening = self.settings.sentence_weights
        texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in chunk.sentences]
        fit = np.array([fits(kind, t) for t in texts])
        held = np.array([terms.support(qterms, t) for t in found.sentence_terms[row]])
        scores = sims + w_support * held + (w_fit * fit if kind else 0.0)
        heading = float(found.heading_vectors[row] @ qvec)
        title = fold(chunk.heading[-1]) if chunk.heading else ""
        labels = [False] * len(texts)  # the heading run into the text (a title sentence)
        labels[0] = bool(title) and title in fold(texts[0])
        if found.lead[row] and heading >= self.settings.heading_match and not labels[0]:
            scores[0] += w_opening * heading
        restates = [False] * len(texts)  # a question of no particular kind is answered by
        if kind:  # ... a sentence holding its words; one asking for a kind is only restated
            restates = ((held >= self.settings.restates) & ~fit).tolist()
        picked = _pick_sentences(scores, self.settings.highlight_margin, texts, restates, labels)
        best = picked[0] if len(picked) == 1 else max(picked, key=lambda i: scores[i])
        evidence = Evidence(
            relevance=scored.relevance,
            sentence=float(sims[best]),
            support=support,
            unknown=0.0,
            answer_type=kind,
            fits=bool(any(fit[i] for i in picked)),
        )
        return tuple(chunk.display_sentences[i] for i in picked), evidence

    def features(
        self,
        found: Candidates,
        qvec: np.ndarray,
        kind: AnswerType | None = None,
        detail: Detail | None = None,
    ) -> np.ndarray:
        """Ranking features, one row per candidate: dense chunk cosine, best sentence cosine,
        heading cosine, BM25 scaled to [0, 1] by the best candidate's score, 1 if the chunk
        opens its section, 1 if it opens a section whose heading matches the question
        (cosine at least ``heading_match``), and 1 if the chunk holds the kind of answer
        asked for (0 for questions asking for no particular kind; for a narrow ask, an age,
        a date or a means of travel, 1 if the chunk or its heading holds that)."""
        feats = np.zeros((len(found), 7), dtype=np.float32)
        if not len(found):
            return feats
        feats[:, 0] = found.chunk_vectors @ qvec
        feats[:, 2] = found.heading_vectors @ qvec
        top_lex = float(found.lexical.max())
        if top_lex > 0:
            feats[:, 3] = found.lexical / top_lex
        feats[:, 4] = found.lead
        feats[:, 5] = found.lead * (feats[:, 2] >= self.settings.heading_match)
        for row, vectors in enumerate(found.sentence_vectors):
            if len(vectors):
                feats[row, 1] = float((vectors @ qvec).max())
            if detail is not None:  # a narrower ask: an age, a date, a means of travel
                feats[row, 6] = holds_detail(detail, _with_heading(found.chunks[row]))
            elif kind is not None:
                feats[row, 6] = fits(kind, found.chunks[row].text)
        return feats

    def _rank(
        self,
        found: Candidates,
        qvec: np.ndarray,
        kind: AnswerType | None = None,
        detail: Detail | None = None,
    ) -> list[_Scored]:
        feats = self.features(found, qvec, kind, detail)
        fused = feats @ np.asarray(self.settings.weights, dtype=np.float32)
        relevance = feats[:, :3].max(axis=1)
        scored = [
            _Scored(row, int(found.ids[row]), float(relevance[row]), float(fused[row]))
            for row in range(len(found))
        ]
        scored.sort(key=lambda s: (-s.fused, s.chunk))
        return scored

    def _rerank(self, ranked: list[_Scored], qtokens: np.ndarray) -> list[_Scored]:
        """The best ``rerank_depth`` candidates gain ``late_weight`` times how well their
        words cover the question's (``index.late.maxsim``, in [0, 1]) and are ordered again.

        Coverage measured over a few word pieces is uncertain (in "where is the meeting
        held?" one decides it), so each is shrunk toward the candidates' mean as if the
        question had ``coverage_prior`` more content word pieces covered at that mean. A
        gain is never negative, so they stay ahead of the rest (scores never rise down the
        list), and ``top_k`` changes nothing of the first ``rerank_depth``."""
        head, tail = ranked[: self.settings.rerank_depth], ranked[self.settings.rerank_depth :]
        if not head:
            return ranked
        matrices = self.store.token_vectors([s.chunk for s in head])
        weight = self.settings.late_weight
        covered = [maxsim(qtokens, m) for m in matrices]
        words, prior = len(qtokens), self.settings.coverage_prior
        usual = sum(covered) / len(covered)
        gains = [(words * c + prior * usual) / (words + prior or 1.0) for c in covered]
        head = [
            replace(s, fused=s.fused + weight * gain, coverage=c)
            for s, c, gain in zip(head, covered, gains, strict=True)
        ]
        head.sort(key=lambda s: (-s.fused, s.chunk))
        return head + tail

    @staticmethod
    def _passage(
        found: Candidates,
        scored: _Scored,
        total_weight: float,
        highlights: tuple[tuple[int, int], ...],
    ) -> Passage:
        chunk = found.chunks[scored.row]
        return Passage(
            source=chunk.source,
            heading=chunk.heading,
            text=chunk.display,
            score=round(scored.fused / total_weight, 4),
            start=chunk.start,
            end=chunk.end,
            highlights=highlights,
        )


def judge(evidence: Evidence, settings: RetrievalSettings) -> Evidence:
    """Fill in the two confidences: on topic (how far relevance rises above the index's
    off-topic level, against ``on_topic_margin``) and answered (a logistic regression over
    the evidence, see ``RetrievalSettings``). The answer's confidence is the smaller; below
    ``min_confidence`` the engine refuses."""
    bias, *weights = settings.confidence_weights
    above = evidence.relevance - evidence.background
    x = (above, evidence.sentence - evidence.background, math.sqrt(evidence.support),
         evidence.unknown, evidence.coverage, float(bool(evidence.names)),
         float(evidence.missing is not None))  # fmt: skip
    z = bias + sum(w * v for w, v in zip(weights, x, strict=True))
    topic = settings.confidence_slope * (above - settings.on_topic_margin)
    return replace(evidence, on_topic=_logistic(topic), answered=_logistic(z))


def _missing(detail: Detail | None, chunk: Chunk) -> Detail | None:
    """The narrow thing the question asks for (``index.answer_types.question_detail``)
    when the answer passage ``chunk`` (text or heading) holds none of it, else None.
    Candidates holding it rank higher (``Retriever.features``), so one that does is on top
    when the documents have it."""
    if detail is None or holds_detail(detail, _with_heading(chunk)):
        return None
    return detail


def _with_heading(chunk: Chunk) -> str:
    return " ".join((*chunk.heading, chunk.text))


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# A sentence opening with one of these refers back to the one before it ("This way you
# won't have to ...", "It comes at a time when ..."): it continues that thought.
_REFERS_BACK = re.compile(
    r"^\W*(it|its|this|that|these|those|they|their|such|thus|therefore|hence)\b", re.IGNORECASE
)
# A bare reply ("Yes.", "No.", "Go ahead.") says nothing without the sentence after it.
BARE_REPLY_WORDS = 3


def _pick_sentences(
    scores: np.ndarray,
    margin: float,
    texts: Sequence[str] = (),
    restates: Sequence[bool] = (),
    labels: Sequence[bool] = (),
) -> list[int]:
    """The best-scoring sentence, quoted as a whole thought: with a neighbour that scores
    within ``margin`` of it; with the sentence before it when it refers back to that one
    ("This way ...") or that one is a bare reply ("Yes."); with the sentence after the last
    one picked when that one announces it (ends with a colon: "... execute either:" is no
    answer without the command that follows, and a heading run into the text, one of the
    ``labels``, is answered by the text after it), when the next one refers back to it, or
    when the best one ``restates`` the question (holds its words but not the answer asked
    for) or is itself a question (a page asking "Shouldn't this be ...?"): what follows
    answers it. ``texts``, ``restates`` and ``labels`` are per sentence, like ``scores``.
    At most three sentences are picked."""
    n = len(scores)
    best = int(np.argmax(scores))
    picked = [best]
    for neighbour in (best - 1, best + 1):
        if 0 <= neighbour < n and scores[neighbour] >= scores[best] - margin:
            picked.append(neighbour)
            break
    if texts and best > 0 and best - 1 not in picked:
        before = texts[best - 1]
        bare = len(before.split()) <= BARE_REPLY_WORDS and before.rstrip().endswith((".", "!"))
        if bare or _REFERS_BACK.search(texts[best]):
            picked.append(best - 1)
    last = max(picked)
    if texts and last + 1 < n and len(picked) < 3:
        announces = texts[last].rstrip().endswith(":") or (len(labels) > last and labels[last])
        if (
            announces
            or _REFERS_BACK.search(texts[last + 1])
            or (len(restates) > best and restates[best])
            or texts[best].rstrip().endswith("?")
        ):
            picked.append(last + 1)
    return sorted(picked)


def _diverse(ranked: list[_Scored], chunks: tuple[Chunk, ...], top_k: int) -> list[_Scored]:
    """Top passages, skipping ones that mostly repeat an already chosen passage: more than
    half of the same stretch of a document, or the same text in another one (a site's
    boilerplate, a notice every page repeats)."""
    chosen: list[_Scored] = []
    for s in ranked:
        c = chunks[s.row]
        if any(_overlap(c, chunks[o.row]) > 0.5 or c.text == chunks[o.row].text for o in chosen):
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
