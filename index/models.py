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
    ``start``/``end`` are the chunk's offsets into the normalised document.
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
class Answer:
    """The engine's reply to one question.

    When ``abstained`` is true the documents do not hold the answer: ``passages`` are the
    closest passages, to be shown as "not an answer", and ``text`` is empty.
    Otherwise ``passages[0]`` is the answer passage and ``text`` its highlighted sentence(s).
    ``confidence`` is in ``[0, 1]``.
    """

    question: str
    abstained: bool
    confidence: float
    text: str
    passages: tuple[Passage, ...]

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
