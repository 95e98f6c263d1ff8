"""Structure-aware chunking: headings stay with their passages, chunks end at sentences.

A document's blocks are normalised one by one and joined with blank lines into the
*normalised document text*; every chunk is a slice of it. Chunks never cross a heading,
hold whole sentences (a sentence longer than the budget is split at word boundaries) and
fit the embedding model's token limit together with their heading path. A section that fits
that limit whole is one chunk (its parts answer together: a directive's fields, its
description and its example); a longer one is cut into chunks of about ``target_tokens``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass

from index.errors import ConfigError
from index.models import Chunk, LoadedDocument
from index.normalize import Normalized, normalize
from index.sentences import common_words, mended, split_sentences

TokenCounter = Callable[[str], int]
MIN_CHUNK_TOKENS = 16
BLOCK_SEPARATOR = "\n\n"
HEADING_SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class ChunkerSettings:
    """``target_tokens``: chunk size aimed for in a section too long to be one chunk;
    ``overlap_tokens``: how much of the previous chunk's tail (whole sentences) starts the
    next one; ``max_tokens``: the hard limit of the embedding input (heading path + chunk
    text), normally the model's max sequence length minus its special tokens."""

    target_tokens: int = 128
    overlap_tokens: int = 24
    max_tokens: int = 254
    max_heading_tokens: int = 48

    def __post_init__(self) -> None:
        if not MIN_CHUNK_TOKENS <= self.target_tokens <= self.max_tokens:
            raise ConfigError(
                "chunk_tokens", f"must be between {MIN_CHUNK_TOKENS} and {self.max_tokens}"
            )
        if not 0 <= self.overlap_tokens < self.target_tokens:
            raise ConfigError("chunk_overlap", "must be at least 0 and below chunk_tokens")
        if not 0 <= self.max_heading_tokens <= self.max_tokens // 2:
            raise ConfigError("max_heading_tokens", "must be at most half of max_tokens")


@dataclass(frozen=True, slots=True)
class NormalizedDocument:
    """A document as the engine sees it. ``norm.text`` is the normalised document text;
    ``original`` is the document's own text, ``norm`` maps between the two."""

    source: str
    title: str
    original: str
    norm: Normalized

    @property
    def text(self) -> str:
        return self.norm.text


@dataclass(frozen=True, slots=True)
class _Section:
    heading: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # text blocks, offsets into the normalised text


def approx_token_count(text: str) -> int:
    """A model-free upper-bound-ish estimate (~1.3 word pieces per word) for tests and tools."""
    words = text.split()
    return sum(1 + len(w) // 6 for w in words) + text.count(",")


def embedding_text(chunk: Chunk) -> str:
    """The text embedded for ``chunk``: heading path, a newline, then the chunk text with
    each sentence ``mended`` (no full stop inside a sentence)."""
    text = mended_text(chunk)
    return HEADING_SEPARATOR.join(chunk.heading) + "\n" + text if chunk.heading else text


def mended_text(chunk: Chunk) -> str:
    """``chunk.text`` with each of its sentences ``mended``."""
    out, at = [], 0
    for s, e in chunk.sentences:
        lo, hi = s - chunk.start, e - chunk.start
        out += [chunk.text[at:lo], mended(chunk.text[lo:hi])]
        at = hi
    out.append(chunk.text[at:])
    return "".join(out)


def normalize_document(doc: LoadedDocument) -> tuple[NormalizedDocument, list[_Section]]:
    """Join ``doc``'s blocks into one normalised text and group text blocks by heading path."""
    originals: list[str] = []
    pieces: list[str] = []
    starts = array("q")
    ends = array("q")
    sections: list[_Section] = []
    path: list[tuple[int, str]] = []
    orig_pos = 0
    for block in doc.blocks:
        norm = normalize(block.text)
        if not norm.text:
            continue
        if pieces:
            sep_at = orig_pos - len(BLOCK_SEPARATOR)
            pieces.append(BLOCK_SEPARATOR)
            starts.extend(range(sep_at, sep_at + len(BLOCK_SEPARATOR)))
            ends.extend(range(sep_at + 1, sep_at + 1 + len(BLOCK_SEPARATOR)))
        begin = sum(len(p) for p in pieces) if pieces else 0
        pieces.append(norm.text)
        starts.extend(orig_pos + s for s in norm.starts)
        ends.extend(orig_pos + e for e in norm.ends)
        originals.append(block.text)
        orig_pos += len(block.text) + len(BLOCK_SEPARATOR)
        if block.kind == "heading":
            while path and path[-1][0] >= block.level:
                path.pop()
            path.append((block.level, norm.text))
            continue
        span = (begin, begin + len(norm.text))
        heading = tuple(title for _, title in path)
        if sections and sections[-1].heading == heading:
            sections[-1] = _Section(heading, (*sections[-1].spans, span))
        else:
            sections.append(_Section(heading, (span,)))
    original = BLOCK_SEPARATOR.join(originals)
    normed = Normalized("".join(pieces), starts, ends)
    return NormalizedDocument(doc.source, doc.title, original, normed), sections


def chunk_document(
    doc: LoadedDocument, settings: ChunkerSettings, count_tokens: TokenCounter
) -> tuple[NormalizedDocument, tuple[Chunk, ...]]:
    """Split ``doc`` into chunks. See the module docstring and ``Chunk`` for the invariants."""
    ndoc, sections = normalize_document(doc)
    text = ndoc.text
    vocabulary = common_words(text)
    chunks: list[Chunk] = []
    for section in sections:
        heading = _fit_heading(section.heading, settings.max_heading_tokens, count_tokens)
        budget = settings.max_tokens - (count_tokens(HEADING_SEPARATOR.join(heading)) + 1)
        target = min(settings.target_tokens, budget)
        sentences: list[tuple[int, int, int]] = []
        for block_start, block_end in section.spans:
            for s, e in split_sentences(text, block_start, block_end, vocabulary):
                sentences.extend(_fit_sentence(text, s, e, budget, count_tokens))
        fits_whole = sum(tokens for _, _, tokens in sentences) <= budget
        packs = [sentences] if fits_whole else _pack(sentences, target, settings.overlap_tokens)
        for packed in packs:
            group = packed
            start, end = group[0][0], group[-1][1]
            while count_tokens(text[start:end]) > budget and len(group) > 1:
                group = group[:-1]
                end = group[-1][1]
            o_start, o_end = ndoc.norm.original_span(start, end)
            spans = tuple((s, e) for s, e, _ in group)
            chunks.append(
                Chunk(
                    source=doc.source,
                    heading=heading,
                    start=start,
                    end=end,
                    text=text[start:end],
                    display=ndoc.original[o_start:o_end],
                    sentences=spans,
                    display_sentences=tuple(
                        (a - o_start, b - o_start)
                        for a, b in (ndoc.norm.original_span(s, e) for s, e in spans)
                    ),
                )
            )
    return ndoc, _dedupe(chunks)


def _fit_heading(heading: tuple[str, ...], limit: int, count: TokenCounter) -> tuple[str, ...]:
    """Drop outer headings (keeping the deepest) until the path fits ``limit`` tokens."""
    while len(heading) > 1 and count(HEADING_SEPARATOR.join(heading)) > limit:
        heading = heading[1:]
    if heading and count(heading[0]) > limit:
        words = heading[0].split()
        while len(words) > 1 and count(" ".join(words)) > limit:
            words = words[: max(1, len(words) * 3 // 4)]
        heading = (" ".join(words),)
    return heading


def _fit_sentence(
    text: str, start: int, end: int, budget: int, count: TokenCounter
) -> list[tuple[int, int, int]]:
    """Return ``[(start, end, tokens)]``: the sentence, or word-boundary pieces within budget."""
    tokens = count(text[start:end])
    if tokens <= budget:
        return [(start, end, tokens)]
    pieces: list[tuple[int, int, int]] = []
    words = _word_spans(text, start, end)
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)  # largest j with text[words[i].start:words[j-1].end] in budget
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[words[i][0] : words[mid - 1][1]]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        s, e = words[i][0], words[lo - 1][1]
        pieces.append((s, e, count(text[s:e])))
        i = lo
    return pieces


def _word_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    i = start
    while i < end:
        while i < end and text[i].isspace():
            i += 1
        j = i
        while j < end and not text[j].isspace():
            j += 1
        if j > i:
            spans.append((i, j))
        i = j
    return spans


def _pack(
    sentences: list[tuple[int, int, int]], target: int, overlap: int
) -> list[list[tuple[int, int, int]]]:
    """Greedily group sentences up to ``target`` tokens, each group starting with up to
    ``overlap`` tokens of whole sentences from the end of the previous one."""
    groups: list[list[tuple[int, int, int]]] = []
    i = 0
    while i < len(sentences):
        j, total = i, 0
        while j < len(sentences) and (j == i or total + sentences[j][2] <= target):
            total += sentences[j][2]
            j += 1
        groups.append(sentences[i:j])
        if j >= len(sentences):
            break
        k, carried = j, 0
        while k - 1 > i and carried + sentences[k - 1][2] <= overlap:
            k -= 1
            carried += sentences[k][2]
        i = k
    return groups


def _dedupe(chunks: list[Chunk]) -> tuple[Chunk, ...]:
    seen: set[tuple[int, int]] = set()
    out = []
    for chunk in chunks:
        if (chunk.start, chunk.end) not in seen:
            seen.add((chunk.start, chunk.end))
            out.append(chunk)
    return tuple(out)
