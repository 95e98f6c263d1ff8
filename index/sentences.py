"""Rule-based sentence splitting on normalised text (no model, no network)."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "e.g",
        "i.e",
        "cf",
        "no",
        "nos",
        "fig",
        "figs",
        "approx",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "gen",
        "gov",
        "sen",
        "rep",
        "rev",
        "lt",
        "col",
        "sgt",
        "capt",
        "mt",
    ]
)
_INITIALISM = re.compile(r"(?:\b[A-Za-z]\.)+[A-Za-z]?\.?$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence spans ``(s, e)`` (offsets into ``text``).

    Invariants: spans are ordered, non-overlapping, stripped of surrounding whitespace, and
    together hold every non-space character of the range. Abbreviations ("Dr.", "e.g.") and
    initialisms ("U.S.") do not end a sentence; a sentence must be followed by whitespace and
    a character that can start one (not a lowercase letter).
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    sent_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        cut = match.end()
        nxt = _next_visible(text, cut, end)
        if nxt is None or text[nxt].islower() or _is_abbreviation(text, sent_start, match.start()):
            continue
        _add(spans, text, sent_start, cut)
        sent_start = nxt
    _add(spans, text, sent_start, end)
    return spans


def _next_visible(text: str, pos: int, end: int) -> int | None:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos if pos < end else None


def _is_abbreviation(text: str, sent_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > sent_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip("(\"'[")
    if not word:
        return False
    if word.lower() in _ABBREVIATIONS:
        return True
    return (len(word) == 1 and word.isalpha()) or bool(_INITIALISM.search(word + "."))


def _add(spans: list[tuple[int, int]], text: str, s: int, e: int) -> None:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    if s < e:
        spans.append((s, e))
