"""Text normalisation for matching, with a map back to the document's own text.

Matching (embedding, BM25, gold-span checks) works on normalised text: Unicode NFKC,
typographic quotes folded to ASCII, invisible characters dropped and every run of
whitespace folded to one space. Users are shown the original text, so normalisation
keeps, for every normalised character, the span of original text it came from.
"""

from __future__ import annotations

import unicodedata
from array import array
from dataclasses import dataclass

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
    }
)  # fmt: skip
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus its origin map.

    Invariant: ``len(starts) == len(ends) == len(text)``; normalised character ``i`` came
    from ``original[starts[i]:ends[i]]``.
    """

    text: str
    starts: array[int]
    ends: array[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalised span ``[start, end)`` to the original text's span."""
        if start >= end:
            pos = (
                self.starts[start]
                if start < len(self.starts)
                else (self.ends[-1] if self.ends else 0)
            )
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def fold(text: str) -> str:
    """Normalise a short string (a question or a gold span) the same way documents are."""
    return normalize(text).text


def normalize(text: str) -> Normalized:
    """Normalise ``text``: NFKC, ASCII quotes, no invisibles, whitespace runs -> one space.

    NFKC is applied to each base character together with the combining marks that follow
    it, so decomposed text ("e" + U+0301) matches its composed form ("é").
    """
    out: list[str] = []
    starts = array("q")
    ends = array("q")
    pending_space: int | None = None
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        if cluster.isascii():
            piece = cluster
        else:
            piece = unicodedata.normalize("NFKC", cluster).translate(_QUOTES)
        for p in piece:
            if p in _INVISIBLE:
                continue
            if p.isspace():
                if pending_space is None:
                    pending_space = i
                continue
            if pending_space is not None and out:
                out.append(" ")
                starts.append(pending_space)
                ends.append(pending_space + 1)
            pending_space = None
            out.append(p)
            starts.append(i)
            ends.append(j)
        i = j
    return Normalized("".join(out), starts, ends)
