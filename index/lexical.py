"""BM25 keyword scoring (bm25s, English stemming and stop words)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import Tokenizer

log = logging.getLogger(__name__)


class LexicalIndex:
    """BM25 over a fixed list of texts; ``scores(query)`` has one score per text (0 = no match)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._size = len(texts)
        self._lock = threading.Lock()
        self._tokenizer = Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")
        self._bm25 = bm25s.BM25()
        if texts:
            ids = self._tokenizer.tokenize(list(texts), return_as="ids", show_progress=False)
            self._bm25.index(ids, show_progress=False)
        self._empty_id = self._tokenizer.get_vocab_dict().get("", -1) if texts else -1

    def terms(self, texts: Sequence[str]) -> list[frozenset[int]]:
        """Stemmed, stop-word-free term ids of each text (terms unknown to the index dropped)."""
        if not self._size or not texts:
            return [frozenset() for _ in texts]
        with self._lock:
            ids = self._tokenizer.tokenize(
                list(texts), return_as="ids", update_vocab=False, show_progress=False
            )
        return [frozenset(i for i in row if i != self._empty_id) for row in ids]

    def scores(self, query: str) -> np.ndarray:
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            ids = self._tokenizer.tokenize(
                [query], return_as="ids", update_vocab=False, show_progress=False
            )[0]
            return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)
