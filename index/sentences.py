"""Rule-based sentence splitting on normalised text (no model, no network)."""

from __future__ import annotations

import itertools
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


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words that cannot end an English statement: a full stop after one of them is a stray
# stop inside a sentence ("set to meet with. Russian President ...").
_OPEN_ENDINGS = _wordset(
    "a an the of to with for from into onto by at in on as than and or but nor that which "
    "its his her their our my your whose is are was were be been has have had will would "
    "can could should shall may might must"
)
# Words that show a finite verb: auxiliaries, modals, copulas.
_AUXILIARIES = _wordset(
    "is are was were be been am has have had do does did can could will would shall "
    "should may might must isn't aren't wasn't weren't hasn't haven't hadn't doesn't "
    "don't didn't can't couldn't won't wouldn't shouldn't let's it's that's there's "
    "here's what's who's he's she's i'm we're you're they're i've we've you've they've "
    "i'll we'll you'll they'll it'll i'd we'd you'd they'd"
)
_DETERMINERS = _wordset(
    "the a an this that these those its his her their our my your some many all no any "
    "each every it them him me us you"
)
_OPENERS = _DETERMINERS | _wordset(
    "i we he she they there here however together overall also then finally please so but "
    "and or if when while for in at on as after before since because although though "
    "today now thus therefore moreover furthermore instead otherwise yes note see read "
    "use run try check visit what which who where why how"
)
_FUNCTION_WORDS = (
    _OPEN_ENDINGS
    | _DETERMINERS
    | _wordset(
        "about over under between through during without within including like via per "
        "against among towards toward upon across behind beyond near off out up down so if "
        "when while because since although though whether not also only just even both either "
        "neither such all"
    )
)
_PUNCTUATION = ".,;:!?()[]{}\"'"
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
MAX_FRAGMENT_WORDS = 20


def split_sentences(
    text: str,
    start: int = 0,
    end: int | None = None,
    common_words: frozenset[str] = frozenset(),
) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence spans ``(s, e)`` (offsets into ``text``).

    Invariants: spans are ordered, non-overlapping, stripped of surrounding whitespace, and
    together hold every non-space character of the range. Abbreviations ("Dr.", "e.g.") and
    initialisms ("U.S.") do not end a sentence; a sentence must be followed by whitespace and
    a character that can start one (not a lowercase letter).

    Quotes are whole thoughts: a stray full stop does not cut a sentence in two. A sentence
    ending in a word that cannot end a statement ("with.", "its.") is joined to the next
    one, and a short sentence with no sign of a finite verb ("Russian President Vladimir
    Putin.") is joined to the one before it (see ``is_fragment``; ``common_words`` is the
    set of words the document writes in lowercase, which tells a capitalised common word
    from a name).
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
    return _join_fragments(text, spans, common_words)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.replace("\u2019", "'"))


def ends_open(sentence: str) -> bool:
    """Whether ``sentence`` ends in a full stop right after a word that cannot end a
    statement (an article, preposition, conjunction, possessive or auxiliary)."""
    tokens = sentence[:-1].split()
    return sentence.endswith(".") and bool(tokens) and tokens[-1].lower() in _OPEN_ENDINGS


def is_fragment(sentence: str, common_words: frozenset[str] = frozenset()) -> bool:
    """Whether ``sentence`` reads as a piece of a sentence rather than a whole one.

    It ends with a full stop, has at most MAX_FRAGMENT_WORDS words, opens with a capitalised
    content word (not a pronoun, determiner, adverb or usual sentence opener) and shows no
    sign of a finite verb: no auxiliary or modal, no word ending in -ed, no content word
    followed by a determiner or object pronoun ("contains the", "take a"), and no -s word
    right after an opening name ("Russia shares")."""
    words = _words(sentence)
    if not sentence.endswith(".") or not words or len(words) > MAX_FRAGMENT_WORDS:
        return False
    lowered = [w.lower() for w in words]
    first = lowered[0]
    if not words[0][0].isupper() or first in _OPENERS or first.endswith("ly"):
        return False
    if any(w in _AUXILIARIES or (len(w) >= 4 and w.endswith("ed")) for w in lowered):
        return False
    if any(
        w not in _FUNCTION_WORDS and nxt in _DETERMINERS for w, nxt in itertools.pairwise(lowered)
    ):
        return False
    second = lowered[1] if len(lowered) > 1 else ""
    s_verb = len(second) > 2 and second.endswith("s") and not second.endswith(("ss", "us", "'s"))
    return not (s_verb and first not in common_words)


def _join_fragments(
    text: str, spans: list[tuple[int, int]], common_words: frozenset[str]
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        previous = text[out[-1][0] : out[-1][1]] if out else ""
        if previous.endswith(".") and (ends_open(previous) or is_fragment(text[s:e], common_words)):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def common_words(text: str) -> frozenset[str]:
    """The words ``text`` writes in lowercase somewhere (for ``is_fragment``)."""
    tokens = (t.strip(_PUNCTUATION) for t in text.split())
    return frozenset(t for t in tokens if t.isalpha() and t.islower())


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


_INNER_STOP = re.compile(r"\.(?=\s+\S)")


def mended(sentence: str) -> str:
    """``sentence`` as the model should read it: full stops inside it dropped. A sentence
    holds one only where a stray full stop was joined across ("this meeting holds.
    Significant implications ...": without it the model reads "holds" as ending a
    sentence) or after an abbreviation, which reads the same without it."""
    return _INNER_STOP.sub("", sentence)
