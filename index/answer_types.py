"""What kind of answer a question asks for, and whether a sentence holds one.

Rules, not a model: "who" wants a person, "where" a place, "when"/"what year" a time,
"how many"/"how old" a number, "why" a reason. A sentence *fits* when it holds something of
that kind (a name, a place after a preposition or a path, a year or date, a number, a
causal phrase). Questions of no particular kind fit every sentence. The earliest asking
phrase decides the kind ("what ... when they meet" asks *what*); "where ... come from" asks
for an origin, not a place; an ordinal ("the first time") is no count.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["person", "place", "time", "number", "reason"]

_TYPE_PATTERNS: tuple[tuple[str, AnswerType], ...] = (
    (
        r"\bhow (many|much|old|long|far|big|large|often)\b|\bwhat (number|percentage|age)\b",
        "number",
    ),
    (
        r"\bwhen\b|\bwhat (year|date|time|day|month)\b|\bwhich (year|date|day|month)\b|"
        r"\bhow long ago\b",
        "time",
    ),
    (r"\bwho(m|se)?\b|\bwhich (person|people|leader|president|man|woman)\b", "person"),
    (
        r"\bwhere\b(?!.*\bcomes? from\b)|"
        r"\b(which|what) (city|cities|country|countries|place|places|town|towns|region|regions|"
        r"directory|directories|file|files|location|locations)\b|\blocation\b",
        "place",
    ),
    (r"\bwhy\b|\bwhat for\b|\breason\b|\bmotive|\bpurpose\b", "reason"),
)
# Asking words of no particular kind: one before the typed ones decides ("what ... when").
_PLAIN = re.compile(
    r"^\W*(what|which|how)\b(?! (many|much|old|long|far|big|large|often)\b)|"
    r"^\W*(is|are|was|were|do|does|did|can|could|will|would|should|has|have)\b",
    re.IGNORECASE,
)
_QUESTION_TYPES = tuple((re.compile(p, re.IGNORECASE), kind) for p, kind in _TYPE_PATTERNS)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_TIME = re.compile(
    rf"\b(1[5-9]\d\d|20\d\d)s?\b|\b({_MONTHS})\b|\b(mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    r"\b(yesterday|today|tomorrow|ago|decade|century|recent years|last year|next year)\b|"
    r"\b\d{4}-\d\d-\d\d\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|dozen|dozens|several|single|"
    "both|once|twice"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_REASON = re.compile(
    r"\b(because|since|due to|owing to|as a result|in order to|so that|so as to|aim(s|ed)? to|"
    r"attempts? to|reasons?|motivat\w*|seeks?|sought|strategic|to gain|in exchange for|"
    r"leverage|allows?|lets|enables?|thanks to|caused|therefore|hence)\b",
    re.IGNORECASE,
)
_TITLES = re.compile(
    r"\b(President|Minister|leader|founder|maintainer|developer|author|Mr|Mrs|Ms|Dr|King|"
    r"Queen|Chairman|CEO)\b"
)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")
_PLACE = re.compile(
    r"\b(in|at|from|to|near|inside|into|on)\s+(the\s+)?[A-Z][a-z]|(?:^|\s)/[\w.-]+/|https?://|"
    r"\b(directory|folder|file|site|page|city|country|region)\b"
)


Detail = Literal["age", "date", "transport"]
# Narrower asks a passage either answers or does not: an age needs an age, a date a day (a
# year does not say on what date), "how did they travel" a means of travel.
_DETAIL_QUESTIONS: tuple[tuple[re.Pattern[str], Detail], ...] = (
    (re.compile(r"\bhow old\b|\b(what|which) age\b", re.IGNORECASE), "age"),
    (re.compile(r"\b(exact|what|which) (date|day)\b", re.IGNORECASE), "date"),
    (
        re.compile(
            r"\bhow (did|does|do|will|would|is|are|was|were) [\w' ]{1,40}?\b"
            r"(travel\w*|journey\w*)\b|\b(means|mode) of (transport\w*|travel)\b",
            re.IGNORECASE,
        ),
        "transport",
    ),
)
_DETAIL_ANSWERS: dict[Detail, re.Pattern[str]] = {
    "age": re.compile(
        r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|\bage of \d{1,3}\b|"
        r"\b(born|founded|created|established|started|began)\b[^.]{0,40}\b(1[5-9]\d\d|20\d\d)\b",
        re.IGNORECASE,
    ),
    "date": re.compile(
        rf"\b({_MONTHS}) \d{{1,2}}\b|\b\d{{1,2}}(st|nd|rd|th)? (of )?({_MONTHS})\b|"
        r"\b\d{4}-\d\d-\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|"
        r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(today|tomorrow|yesterday)\b",
        re.IGNORECASE,
    ),
    "transport": re.compile(
        r"\b(train|trains|rail|railway|plane|planes|aircraft|airplane|jet|flight|flights|flew|"
        r"fly|flying|car|cars|motorcade|bus|ship|boat|ferry|drove|drive|driving|taxi|"
        r"helicopter|bicycle|bike|on foot|walked|by (air|road|sea|land))\b",
        re.IGNORECASE,
    ),
}


def question_detail(question: str) -> Detail | None:
    """The narrow thing ``question`` asks for, if any: an age ("how old"), a date ("on
    what exact date", not "when": a year answers that), a means of travel ("how did he
    travel to ...")."""
    for pattern, detail in _DETAIL_QUESTIONS:
        if pattern.search(question):
            return detail
    return None


def holds_detail(detail: Detail, text: str) -> bool:
    """Whether ``text`` holds an answer of ``detail``: an age (or the year something was
    born, founded or created), a day-level date, a means of travel."""
    return bool(_DETAIL_ANSWERS[detail].search(text))


def question_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, or None when it asks for no particular kind.

    The earliest asking phrase decides: in "What is on the agenda when they meet?" the
    question asks *what*, and "when" only opens a clause ("what" asks for no kind)."""
    first: tuple[int, AnswerType | None] = (len(question), None)
    for pattern, kind in _QUESTION_TYPES:
        found = pattern.search(question)
        if found and found.start() < first[0]:
            first = (found.start(), kind)
    plain = _PLAIN.search(question)
    if plain and plain.start() < first[0]:
        return None
    return first[1]


def fits(kind: AnswerType | None, sentence: str) -> bool:
    """Whether ``sentence`` holds an answer of ``kind`` (always true for no kind)."""
    if kind is None:
        return True
    if kind == "time":
        return bool(_TIME.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "reason":
        return bool(_REASON.search(sentence))
    if kind == "person":
        return bool(_NAME.search(sentence) or _TITLES.search(sentence))
    return bool(_PLACE.search(sentence))
