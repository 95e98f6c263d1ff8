"""BM25 keyword scoring (bm25s, English stemming and stop words)."""

from __future__ import annotations

import difflib
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from bm25s.tokenization import Tokenizer

log = logging.getLogger(__name__)

# bm25s' English list plus the words that make a question a question.
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(
    [
        "which",
        "what",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "why",
        "how",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "am",
        "be",
        "been",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "tell",
        "me",
        "explain",
        "describe",
        "know",
        "please",
        "any",
        "anything",
        "something",
        "about",
        "up",
        "down",
        "get",
        "got",
        "its",
        "it's",
        "i'm",
        "whats",
    ]
)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class TermCounter:
    """Stemmed content words (stop words dropped) as strings, and how many of a fixed
    list of texts hold each one (its document frequency)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self.size = len(texts)
        self.df: Counter[str] = Counter()
        for terms in self.terms_of(texts):
            self.df.update(terms)
        self._words = frozenset(w for t in texts for w in _TOKEN.findall(t.lower()))
        self._by_initial: dict[str, list[str]] = {}
        for w in self._words:
            self._by_initial.setdefault(w[0], []).append(w)

    def unknown_share(self, text: str) -> float:
        """Share of ``text``'s content words that no text uses, not even misspelt (a word
        within a small edit of a known word counts as known): what the question asks
        about that the documents never mention."""
        words = {w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS}
        if not words:
            return 0.0
        unknown = [
            w
            for w in words
            if w not in self._words
            and not difflib.get_close_matches(w, self._by_initial.get(w[0], ()), n=1, cutoff=0.8)
        ]
        return len(unknown) / len(words)

    def terms_of(self, texts: Sequence[str]) -> list[frozenset[str]]:
        words = [[w for w in _TOKEN.findall(t.lower()) if w not in _STOPWORDS] for t in texts]
        with self._lock:  # PyStemmer objects are not thread-safe
            return [frozenset(self._stemmer.stemWords(ws)) for ws in words]

    def idf(self, term: str) -> float:
        """Rarer terms weigh more; a term no text holds weighs most."""
        return math.log((self.size + 1) / (self.df.get(term, 0) + 0.5))

    def support(self, query: frozenset[str], held: frozenset[str]) -> float:
        """IDF-weighted share of ``query``'s terms that ``held`` contains (1.0 for none)."""
        total = sum(self.idf(t) for t in query)
        return sum(self.idf(t) for t in query & held) / total if total > 0 else 1.0


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
