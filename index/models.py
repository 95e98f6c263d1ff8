"""Frozen value types passed between the engine's stages and out to front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Block:
    """A heading or a paragraph of a loaded document, in the document's own text.

    ``level`` is 1..6 for headings (1 = title) and 0 for text blocks.
    """

    kind: Literal["heading", "text"]
    text: str
    level: int = 0


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A source file turned into structured blocks.

    ``source`` is the path relative to the docs folder, with ``/`` separators.
    ``content_hash`` is the sha256 hex digest of the file's raw bytes.
    """

    source: str
    title: str
    blocks: tuple[Block, ...]
    content_hash: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the loader passed over, and why (shown to the admin in build reports)."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of one document, the unit that is embedded and retrieved.

    Invariants (tested):
    - ``document.text[start:end] == text`` where ``document`` is the normalised document;
    - ``sentences`` are ``(start, end)`` offsets into the same normalised document text,
      ordered, inside ``[start, end]``, and together cover every non-space character of ``text``;
    - ``display`` is the document's own (un-normalised) text for the same span, and
      ``display_sentences`` are the sentences as offsets into ``display``.
    """

    source: str
    heading: tuple[str, ...]
    start: int
    end: int
    text: str
    display: str
    sentences: tuple[tuple[int, int], ...]
    display_sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk as shown to a user.

    ``text`` is the document's own text. ``highlights`` are ``(start, end)`` offsets into
    ``text`` of the sentence(s) that best answer the question (empty for non-answers).
    ``start``/``end`` are the chunk's offsets into the normalised document. ``score`` is
    the ranking score the passages are ordered by (never rises down an answer's list).
    """

    source: str
    heading: tuple[str, ...]
    text: str
    score: float
    start: int
    end: int
    highlights: tuple[tuple[int, int], ...] = ()

    @property
    def highlighted_text(self) -> str:
        """The highlighted sentences joined by a space (empty when there are none)."""
        return " ".join(self.text[s:e].strip() for s, e in self.highlights)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the answer/refusal decision rests on (shown by ``askdocs ask -v``).

    ``relevance``: best cosine of the question with the top passage, its best sentence or
    its heading. ``sentence``: cosine with the picked answer sentence. ``support``: share of
    the question's content words (weighted by rarity) found in the top passage and its
    heading. ``unknown``: share of the question's content words the documents never use.
    ``answer_type``: the kind of answer asked for ("person", "place", "time", "number",
    "reason") or None; ``fits``: whether the picked sentence holds one. ``background``: the
    relevance questions about other things reach in these documents (``index.background``).
    ``on_topic`` and ``answered``: the two confidences (see ``RetrievalSettings``) whose
    minimum is the answer's. ``coverage``: how well the top passage's words, in context,
    cover the question's (``index.late.maxsim``, 0 to 1). ``names``: the question's words
    the documents never use that the model only knows in pieces ("nftables", "flatpak",
    "cosmodrome"): names of things the documents do not mention. ``missing``: the narrow
    thing the question asks for (an age, a date, a means of travel; see
    ``index.answer_types.question_detail``) when the top passage holds none, else None.
    """

    relevance: float
    sentence: float
    support: float
    unknown: float
    answer_type: str | None
    fits: bool
    background: float = 0.0
    on_topic: float = 1.0
    answered: float = 1.0
    coverage: float = 0.0
    names: tuple[str, ...] = ()
    missing: str | None = None

    def explain(self) -> str:
        kind = f"asks for a {self.answer_type}: {'found' if self.fits else 'none found'}"
        return (
            f"relevance {self.relevance:.2f} (off-topic level here {self.background:.2f}), "
            f"answer sentence {self.sentence:.2f}, "
            f"question words in the passage {self.support:.0%} "
            f"(covered in context {self.coverage:.2f}), "
            f"never in the documents {self.unknown:.0%}"
            + (f" (names {', '.join(self.names)})" if self.names else "")
            + "; "
            + (kind if self.answer_type else "no particular kind of answer asked for")
            + (f"; the {self.missing} asked for is not in the passage" if self.missing else "")
            + f"; on topic {self.on_topic:.2f}, answered {self.answered:.2f}"
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """The engine's reply to one question.

    When ``abstained`` is true the documents do not hold the answer: ``passages`` are the
    closest passages, to be shown as "not an answer", and ``text`` is empty.
    Otherwise ``passages[0]`` is the answer passage and ``text`` its highlighted sentence(s).
    ``confidence`` is in ``[0, 1]``; the engine refuses exactly when it is below its
    threshold (``RetrievalSettings.min_confidence``). ``evidence`` says why.
    """

    question: str
    abstained: bool
    confidence: float
    text: str
    passages: tuple[Passage, ...]
    evidence: Evidence | None = None

    @property
    def best(self) -> Passage | None:
        return None if self.abstained or not self.passages else self.passages[0]


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One indexed document as listed by ``/sources``."""

    source: str
    title: str
    chunks: int
    content_hash: str
    indexed_at: str


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What an index build did."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    chunks: int = 0
    embedded_chunks: int = 0
    seconds: float = 0.0
    full_rebuild: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.removed)
