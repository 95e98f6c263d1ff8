"""Normalisation, sentence splitting and chunking invariants (no model needed)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import (
    ChunkerSettings,
    approx_token_count,
    chunk_document,
    embedding_text,
    mended_text,
    normalize_document,
)
from index.models import Block, LoadedDocument
from index.normalize import fold, normalize
from index.sentences import mended, split_sentences

WORDS = st.sampled_from(
    [
        "Kim",
        "met",
        "U.S.",
        "Dr.",
        "the",
        "ﬁne",
        "“quoted”",
        "North",
        "Korea’s",
        "e.g.",
        "2019.",
        "talks!",
        "why?",
        "x" * 40,
        "naïve",
        "\u00a0",
        "end.",
        "(see",
        "Fig.",
        "3)",
        "—",
        "ok",
    ]
)
TEXT = st.lists(WORDS, min_size=1, max_size=60).map(" ".join)
BLOCKS = st.lists(
    st.one_of(
        TEXT.map(lambda t: Block("text", t)),
        st.tuples(st.integers(1, 4), st.text(min_size=1, max_size=30)).map(
            lambda p: Block("heading", p[1], p[0])
        ),
        st.text(max_size=200).map(lambda t: Block("text", t)),
    ),
    min_size=1,
    max_size=12,
)
SETTINGS = st.builds(
    ChunkerSettings,
    target_tokens=st.integers(16, 120),
    overlap_tokens=st.integers(0, 7),
    max_tokens=st.integers(120, 256),
    max_heading_tokens=st.integers(0, 40),
)


@given(blocks=BLOCKS, chunker=SETTINGS)
@settings(max_examples=150, deadline=None)
def test_chunk_invariants(blocks: list[Block], chunker: ChunkerSettings) -> None:
    doc = LoadedDocument("d.md", "d", tuple(blocks), "hash")
    ndoc, chunks = chunk_document(doc, chunker, approx_token_count)
    text = ndoc.text
    covered: set[int] = set()
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert approx_token_count(embedding_text(chunk)) <= chunker.max_tokens + 1
        # the embedded text is the chunk's with full stops inside sentences dropped, only
        mended = mended_text(chunk)
        assert mended == chunk.text or len(mended) < len(chunk.text)
        assert mended.replace(".", "") == chunk.text.replace(".", "")
        o_start, o_end = ndoc.norm.original_span(chunk.start, chunk.end)
        assert ndoc.original[o_start:o_end] == chunk.display
        assert fold(chunk.display) == fold(chunk.text)
        for (s, e), (ds, de) in zip(chunk.sentences, chunk.display_sentences, strict=True):
            assert chunk.start <= s < e <= chunk.end
            assert fold(chunk.display[ds:de]) == text[s:e]
            covered.update(range(s, e))
    # nothing under a heading is lost: every non-space character of a text block is in a chunk
    body = {i for i, ch in enumerate(text) if not ch.isspace()}
    heading_chars = _heading_chars(blocks, text)
    assert body - heading_chars <= covered


def _heading_chars(blocks: list[Block], text: str) -> set[int]:
    out: set[int] = set()
    pos = 0
    for block in blocks:
        norm = normalize(block.text).text
        if not norm:
            continue
        if block.kind == "heading":
            out.update(range(pos, pos + len(norm)))
        pos += len(norm) + 2
    return out


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_normalize_maps_back(text: str) -> None:
    norm = normalize(text)
    assert len(norm.starts) == len(norm.ends) == len(norm.text)
    assert norm.text == norm.text.strip()
    assert "  " not in norm.text and "\n" not in norm.text
    for i, ch in enumerate(norm.text):
        if ch != " ":
            assert (
                ch in fold(text[norm.starts[i] : norm.ends[i]])
                or ch in normalize(text[norm.starts[i] : norm.ends[i]]).text
            )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("North Korea’s “talks”", 'North Korea\'s "talks"'),
        ("  a \n\n\t b  ", "a b"),
        ("ﬁne", "fine"),
        ("soft\u00adhyphen", "softhyphen"),
        ("zero\u200bwidth", "zerowidth"),
        ("cafe\u0301", "café"),  # decomposed accents compose, as in a typed question
        ("\u00af", "\u0304"),  # NFKC output holding a space stays stripped
        ("", ""),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Kim met U.S. President Trump. Talks failed.",
            ["Kim met U.S. President Trump.", "Talks failed."],
        ),
        ("Dr. Smith came. He left!", ["Dr. Smith came.", "He left!"]),
        ("Is it? Yes. no split here.", ["Is it?", "Yes. no split here."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Version 2.0 is out. See e.g. the notes.", ["Version 2.0 is out.", "See e.g. the notes."]),
        ("No end punctuation", ["No end punctuation"]),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == sentences


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_sentences_cover_text(text: str) -> None:
    spans = split_sentences(text)
    joined = "".join(text[s:e] for s, e in spans)
    assert [c for c in joined if not c.isspace()] == [c for c in text if not c.isspace()]
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_headings_become_paths_and_never_cross() -> None:
    doc = LoadedDocument(
        "a.md",
        "Title",
        (
            Block("heading", "Title", 1),
            Block("text", "Intro sentence."),
            Block("heading", "Part A", 2),
            Block("text", "Alpha one. Alpha two."),
            Block("heading", "Detail", 3),
            Block("text", "Deep text."),
            Block("heading", "Part B", 2),
            Block("text", "Beta."),
        ),
        "h",
    )
    _, chunks = chunk_document(doc, ChunkerSettings(), approx_token_count)
    assert [c.heading for c in chunks] == [
        ("Title",),
        ("Title", "Part A"),
        ("Title", "Part A", "Detail"),
        ("Title", "Part B"),
    ]
    assert embedding_text(chunks[1]).startswith("Title > Part A\n")


def test_long_sentence_is_split_not_truncated() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    doc = LoadedDocument("a.txt", "a", (Block("text", words),), "h")
    chunker = ChunkerSettings(target_tokens=100, overlap_tokens=10, max_tokens=128)
    _, chunks = chunk_document(doc, chunker, approx_token_count)
    assert len(chunks) > 10
    assert all(approx_token_count(c.text) <= 128 for c in chunks)
    rebuilt = " ".join(c.text for c in chunks).split()
    assert set(rebuilt) == set(words.split())


def test_overlap_repeats_trailing_sentences() -> None:
    sentences = " ".join(f"Sentence number {i} is here." for i in range(60))
    doc = LoadedDocument("a.txt", "a", (Block("text", sentences),), "h")
    _, chunks = chunk_document(
        doc, ChunkerSettings(target_tokens=40, overlap_tokens=12), approx_token_count
    )
    assert len(chunks) > 3
    for a, b in pairwise(chunks):
        assert b.start < a.end  # overlap
        assert b.start > a.start  # progress


@pytest.mark.parametrize(("sentences", "chunks"), [(20, 1), (60, 5)])
def test_a_section_that_fits_the_window_is_one_chunk(sentences: int, chunks: int) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(sentences))  # ~7 tokens
    doc = LoadedDocument("a.txt", "a", (Block("text", text),), "h")
    settings = ChunkerSettings(target_tokens=100, overlap_tokens=0, max_tokens=254)
    _, found = chunk_document(doc, settings, approx_token_count)
    assert len(found) == chunks
    assert all(approx_token_count(c.text) <= settings.max_tokens for c in found)


def test_normalize_document_joins_blocks() -> None:
    doc = LoadedDocument("a", "a", (Block("text", " One  two "), Block("text", "Three")), "h")
    ndoc, _ = normalize_document(doc)
    assert ndoc.text == "One two\n\nThree"
    assert ndoc.original == " One  two \n\nThree"  # the blocks' own text, unchanged


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "It is clear that this meeting holds. Significant implications for the region.",
            "It is clear that this meeting holds Significant implications for the region.",
        ),
        ("Mr. Potato was, of course, a toy.", "Mr Potato was, of course, a toy."),
        ("Use version 2.0 of the tool.", "Use version 2.0 of the tool."),
        ("One sentence only.", "One sentence only."),
        ("Ends with dots...", "Ends with dots..."),
    ],
)
def test_mended_drops_full_stops_inside_a_sentence(sentence: str, expected: str) -> None:
    assert mended(sentence) == expected
