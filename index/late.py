"""Late interaction: matching a question's words against a passage's, in context.

The embedding model turns every word piece of a text into a contextual vector before they
are averaged into the text's one vector. Kept apart, they let each content word of a
question find its best match among a passage's content words ("collapsed" ~ "breakdown",
"organisation" ~ "organization", "teh" ~ "the" in context): the mean of those best cosines
(``maxsim``, as ColBERT and BERTScore compute it) says how much of what is asked the
passage covers. The retriever re-ranks its best few candidates with it.

Passage token vectors are computed while the index is built (the same model pass as the
chunk vector, so at no extra cost) and stored quantized: int8 with one float32 scale per
token (``TokenVectors``), a quarter of float32, and the re-ranking is unchanged by it
(measured on tests/data: the same passages rank first).

A *content token* is a word piece that is not a special token (``[CLS]``, ``[SEP]``,
padding) and holds a letter or digit; of those, word-piece continuations (``##...``) are
all kept, whole words only when they are not stop words. A question also keeps its
question words (``QUESTION_WORDS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.terms import STOPWORDS

QUESTION_WORDS = frozenset(["what", "which", "who", "whom", "whose", "where", "when", "why", "how"])
"""Stop words a question keeps among its tokens: in context, "where" leans toward places,
"who" toward people (tune halves: top-1 +1 question each on the article and Debian FAQ)."""
_SPECIAL = frozenset({"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "<s>", "</s>", "<pad>"})


def content_mask(tokens: Sequence[str], keep: frozenset[str] = frozenset()) -> np.ndarray:
    """True for each content token of ``tokens`` (see the module docstring), and for the
    stop words in ``keep``."""
    mask = np.zeros(len(tokens), dtype=bool)
    for i, token in enumerate(tokens):
        if token in _SPECIAL or not any(ch.isalnum() for ch in token):
            continue
        word = token.lower().lstrip("▁Ġ")
        mask[i] = token.startswith("##") or word not in STOPWORDS or word in keep
    return mask


def unit_rows(states: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32, as
    torch.nn.functional.normalize (eps 1e-12)."""
    norms = np.linalg.norm(states, axis=1, keepdims=True)
    unit: np.ndarray = (states / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


def maxsim(question: np.ndarray, passage: np.ndarray) -> float:
    """Mean over the question's token vectors of the best cosine among the passage's
    (rows unit length), clamped to [0, 1]; 0.0 when either side has no tokens."""
    if not len(question) or not len(passage):
        return 0.0
    best = (question @ passage.T).max(axis=1)
    return float(min(1.0, max(0.0, float(best.mean()))))


@dataclass(frozen=True, slots=True, eq=False)
class TokenVectors:
    """The content-token vectors of a sequence of texts, quantized.

    Invariants: ``codes`` is int8 ``[tokens, dim]``, ``scales`` float32 ``[tokens, 1]``,
    ``offsets`` int64 with one entry per text plus one, starting at 0, non-decreasing and
    ending at ``len(codes)``; text i owns rows ``offsets[i]:offsets[i + 1]`` and its token
    vectors are ``codes * scales`` (each within half a step, ``scales / 2``, of the
    original)."""

    codes: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray

    @classmethod
    def empty(cls, dim: int, texts: int = 0) -> TokenVectors:
        return cls(
            np.zeros((0, dim), np.int8),
            np.zeros((0, 1), np.float32),
            np.zeros(texts + 1, np.int64),
        )

    @classmethod
    def quantize(cls, matrices: Sequence[np.ndarray], dim: int) -> TokenVectors:
        """Pack one float matrix ``[tokens_i, dim]`` per text."""
        if not matrices:
            return cls.empty(dim)
        rows = np.vstack([np.asarray(m, np.float32).reshape(-1, dim) for m in matrices])
        peak = np.abs(rows).max(axis=1, keepdims=True)
        scales = (np.maximum(peak, 1e-12) / 127.0).astype(np.float32)
        codes = np.clip(np.rint(rows / scales), -127, 127).astype(np.int8)
        counts = [len(m) for m in matrices]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(codes, scales, offsets)

    @classmethod
    def concat(cls, parts: Sequence[TokenVectors], dim: int) -> TokenVectors:
        """The texts of ``parts``, one after another."""
        if not parts:
            return cls.empty(dim)
        ends = np.cumsum([0] + [len(p.codes) for p in parts[:-1]])
        offsets = np.concatenate(
            [[0]] + [p.offsets[1:] + end for p, end in zip(parts, ends, strict=True)]
        ).astype(np.int64)
        return cls(
            np.vstack([p.codes for p in parts]).astype(np.int8, copy=False),
            np.vstack([p.scales for p in parts]).astype(np.float32, copy=False),
            offsets,
        )

    @property
    def texts(self) -> int:
        return len(self.offsets) - 1

    def select(self, first: int, stop: int) -> TokenVectors:
        """Texts ``first:stop`` as their own ``TokenVectors``."""
        lo, hi = int(self.offsets[first]), int(self.offsets[stop])
        return TokenVectors(
            np.asarray(self.codes[lo:hi]),
            np.asarray(self.scales[lo:hi]),
            self.offsets[first : stop + 1] - lo,
        )

    def rows(self, text: int) -> tuple[int, int]:
        """The rows text ``text`` owns: ``offsets[text]:offsets[text + 1]``."""
        return int(self.offsets[text]), int(self.offsets[text + 1])

    def of(self, text: int) -> np.ndarray:
        """Text ``text``'s token vectors, float32."""
        lo, hi = self.rows(text)
        return dequantize(self.codes[lo:hi], self.scales[lo:hi])

    def text_bytes(self, text: int) -> bytes:
        """Text ``text``'s token vectors as bytes (its scales, then its codes), for a
        database row; ``from_bytes`` reads them back."""
        lo, hi = self.rows(text)
        return (
            np.asarray(self.scales[lo:hi], "<f4").tobytes()
            + np.asarray(self.codes[lo:hi], np.int8).tobytes()
        )


def dequantize(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.asarray(codes, np.float32) * np.asarray(scales, np.float32).reshape(-1, 1)


def from_bytes(data: bytes, dim: int) -> np.ndarray:
    """The float32 token vectors ``TokenVectors.text_bytes`` wrote."""
    count = len(data) // (4 + dim)
    if count * (4 + dim) != len(data):
        raise ValueError(f"{len(data)} bytes are not whole tokens of dimension {dim}")
    scales = np.frombuffer(data, "<f4", count)
    codes = np.frombuffer(data, np.int8, count * dim, offset=4 * count).reshape(count, dim)
    return dequantize(codes, scales)
