"""Content words of questions and passages: what a question asks about, and whether a
passage (or the documents at all) mention it.

Words are lowercased, stop words and question words dropped, irregular verb forms mapped to
their base ("held" -> "hold", "broke" -> "break") and stemmed. A question word matches a
passage word with the same stem, or one it begins ("break" ~ "breakdown", at least
MIN_PREFIX letters); a word the documents never use also matches one it is a misspelling of.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from collections import Counter
from collections.abc import Collection, Sequence

import Stemmer

from index.lexical import STOPWORDS_EN


def _split(words: str) -> list[str]:
    return words.split()


TOKEN = re.compile(r"(?u)\b\w\w+\b")
MIN_PREFIX = 4
MISSPELT = 0.8  # difflib's similarity ratio from which a word is read as a misspelling
# Lucene's English list plus the words that make a question a question.
STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(
    _split(
        "which what who whom whose where when why how do does did is are was were am be been can "
        "could would should will shall may might must tell me explain describe know please any "
        "anything something about up down get got its it's i'm whats"
    )
)
_IRREGULAR_PAIRS = _split(
    "held hold broke break broken break met meet went go gone go took take taken take made "
    "make said say told tell thought think began begin begun begin wrote write written write "
    "ran run saw see seen see gave give given give found find left leave kept keep brought "
    "bring bought buy sought seek built build sent send spent spend led lead fell fall fallen "
    "fall grew grow grown grow knew know known know chose choose chosen choose won win lost "
    "lose paid pay sold sell stood stand understood understand came come became become ate "
    "eat eaten eat drove drive driven drive flew fly flown fly spoke speak spoken speak meant "
    "mean felt feel heard hear struck strike threw throw thrown throw drew draw drawn draw "
    "hid hide hidden hide forgot forget forgotten forget"
)
IRREGULAR = dict(zip(_IRREGULAR_PAIRS[::2], _IRREGULAR_PAIRS[1::2], strict=True))


def content_words(text: str) -> list[str]:
    """Lowercased words of ``text`` that carry content, irregular forms mapped to the base."""
    words = (w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS)
    return [IRREGULAR.get(w, w) for w in words]


class TermCounter:
    """Stemmed content words of a fixed list of texts and how many texts hold each one."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self.size = len(texts)
        self.df: Counter[str] = Counter()
        for terms in self.terms_of(texts):
            self.df.update(terms)
        self._set_words(frozenset(w for t in texts for w in content_words(t)))

    @classmethod
    def from_stats(cls, size: int, df: dict[str, int], words: frozenset[str]) -> TermCounter:
        """The counter of ``size`` texts whose stemmed terms have document frequencies
        ``df`` and whose content words are ``words`` (as a store saved them)."""
        counter = cls([])
        counter.size = size
        counter.df = Counter(df)
        counter._set_words(words)
        return counter

    @property
    def words(self) -> frozenset[str]:
        """Every content word the texts use (unstemmed)."""
        return self._words

    def _set_words(self, words: frozenset[str]) -> None:
        self._words = words
        self._by_initial: dict[str, list[str]] = {}
        for w in sorted(words):
            self._by_initial.setdefault(w[0], []).append(w)

    def terms_of(self, texts: Sequence[str]) -> list[frozenset[str]]:
        return self.stem([content_words(t) for t in texts])

    def stem(self, words: Sequence[list[str]]) -> list[frozenset[str]]:
        """The stemmed terms of each list of content words."""
        with self._lock:  # PyStemmer objects are not thread-safe
            return [frozenset(self._stemmer.stemWords(ws)) for ws in words]

    def idf(self, term: str) -> float:
        """Rarer terms weigh more; a term no text holds weighs most."""
        return math.log((self.size + 1) / (self.df.get(term, 0) + 0.5))

    def support(self, query: frozenset[str], held: frozenset[str]) -> float:
        """IDF-weighted share of ``query``'s terms that ``held`` matches (1.0 for none). A
        term no text holds also matches a held term it is a misspelling of ("contri" from
        "contries" ~ "countri"): the question misspelt it."""
        total = found = 0.0
        starts = ""  # "\n"-joined held terms: a prefix is found by one substring search
        for term in query:
            weight = self.idf(term)
            total += weight
            if term in held:
                found += weight
            elif len(term) >= MIN_PREFIX:
                starts = starts or "\n" + "\n".join(held)
                if "\n" + term in starts or (term not in self.df and _misspelt(term, held)):
                    found += weight
        return found / total if total > 0 else 1.0

    def unknown_share(self, text: str) -> float:
        """Share of ``text``'s content words that no text uses, not even misspelt or as the
        start of a longer word: what a question asks about that the documents never mention."""
        words = set(content_words(text))
        if not words:
            return 0.0
        return len(self.unknown_words(text)) / len(words)

    def unknown_words(self, text: str) -> list[str]:
        """``text``'s content words that no text uses (as ``unknown_share`` counts them),
        sorted."""
        return sorted(w for w in set(content_words(text)) if not self._known(w))

    def _known(self, word: str) -> bool:
        if word in self._words:
            return True
        near = self._by_initial.get(word[0], ())
        if len(word) >= MIN_PREFIX and any(w.startswith(word) for w in near):
            return True
        return _misspelt(word, near)


def _misspelt(word: str, words: Collection[str]) -> bool:
    """Whether ``word`` is close enough to one of ``words`` to be a misspelling of it."""
    return bool(difflib.get_close_matches(word, words, n=1, cutoff=MISSPELT))
