"""Tests for index.loaders: one loader per format, bad files, and the folder walk."""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from index.engine import check_document
from index.errors import DocumentError, SourceDocsError
from index.loaders import (
    SUPPORTED_SUFFIXES,
    _front_matter_end,
    is_heading_line,
    load_data,
    load_documents,
    load_file,
)
from index.md_inline import render_inline as render_markdown
from index.models import Block, LoadedDocument
from index.rst_inline import render_inline
from index.rst_tables import read_list_table, read_table


def heading(text: str, level: int) -> Block:
    return Block("heading", text, level)


def para(text: str) -> Block:
    return Block("text", text)


def load(tmp_path: Path, name: str, content: str | bytes) -> LoadedDocument:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return load_file(path, tmp_path)


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text line per entry, one page per list."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))).encode(), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = ["BT /F1 12 Tf 14 TL 72 720 Td"]
        ops += [f"({line}) Tj T*" for line in lines]
        stream = "\n".join([*ops, "ET"]).encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    if title:
        objects.append(b"<< /Title (%s) >>" % title.encode("latin-1"))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info %d 0 R" % len(objects) if title else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def blank_pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- plain text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Background", True),
        ("Why the Timing Matters", True),
        ("Russia's Role", True),
        ("INSTALLATION NOTES", True),
        ("1.2 Getting Started", True),
        ("  Looking Ahead  ", True),
        ("Installing the Bot", True),
        ("How to install the bot", False),  # sentence case
        ("This is a sentence.", False),
        ("What Was Discussed?", False),
        ("Note:", False),
        ("Well, Then", True),
        ("Hello, World,", False),
        ("- Bullet Item Here", False),
        ("> Quoted Text", False),
        ("12345", False),
        ("----", False),
        ("", False),
        ("   ", False),
        ("A Very Long Title " * 5, False),  # > 80 chars
        ("One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen", False),
    ],
)
def test_is_heading_line(line: str, expected: bool) -> None:
    assert is_heading_line(line) is expected


@given(st.text(max_size=120))
def test_is_heading_line_is_total_and_respects_hard_limits(line: str) -> None:
    result = is_heading_line(line)
    assert isinstance(result, bool)
    stripped = line.strip()
    if len(stripped) > 80 or stripped.endswith(tuple(".!?,;:")) or not stripped:
        assert result is False


def test_plain_text(tmp_path: Path) -> None:
    content = (
        "Kim Meets Putin\nin the Far East\n\n"
        "First paragraph, line one.\n  line two.\n\n\n"
        "Background\n\n"
        "Not a heading because it is a sentence.\n\n"
        "WHAT COMES NEXT\n\n"
        "Last words.\n"
    )
    doc = load(tmp_path, "news/kim.txt", content)
    assert doc.source == "news/kim.txt"
    assert doc.title == "Kim Meets Putin"
    assert doc.content_hash == hashlib.sha256(content.encode()).hexdigest()
    assert doc.blocks == (
        heading("Kim Meets Putin", 1),
        para("in the Far East"),
        para("First paragraph, line one.\n  line two."),
        heading("Background", 2),
        para("Not a heading because it is a sentence."),
        heading("WHAT COMES NEXT", 2),
        para("Last words."),
    )


def test_plain_text_bom_and_crlf(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.text", "\ufeffTitle\r\n\r\nBody text\r\nmore.\r\n".encode())
    assert doc.blocks == (heading("Title", 1), para("Body text\nmore."))


# --- Markdown ---------------------------------------------------------------------------

MARKDOWN = """\
Intro paragraph with *emphasis* and [a link](http://x).

# Main Title #

## Install ##
Run this:

```bash
# not a heading
pip install askdocs
```

Setext One
==========

Setext Two
----------

***

~~~
## still code
~~~

###### Deep C#
####### seven hashes is text
#hashtag is text
"""


def test_markdown(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.md", MARKDOWN)
    assert doc.title == "Main Title"
    assert doc.blocks == (
        para("Intro paragraph with emphasis and a link."),
        heading("Main Title", 1),
        heading("Install", 2),
        para("Run this:"),
        para("```bash\n# not a heading\npip install askdocs\n```"),
        heading("Setext One", 1),
        heading("Setext Two", 2),
        para("~~~\n## still code\n~~~"),
        heading("Deep C#", 6),
        para("####### seven hashes is text\n#hashtag is text"),
    )


# (Markdown source, the blocks it reads as: "# x" a heading, else a paragraph)
MARKDOWN_NOT_CONTENT = [
    ("---\ntitle: Setup\nlayout: page\ntags:\n  - a\n---\n# Setup\n\nBody.", ["# Setup", "Body."]),
    ('+++\ntitle = "Setup"\n+++\nBody.', ["Body."]),
    ("---\n\nA rule, then text: not front matter.\n\n---\n\nMore.",
     ["A rule, then text: not front matter.", "More."]),
    ("Body.\n\n<!-- a note\nto editors -->\n\nMore.", ["Body.", "More."]),
    ("Inline <!-- comments --> stay.", ["Inline <!-- comments --> stay."]),
    ('See [the guide][g].\n\n[g]: https://example.org/guide "The guide"\n[h]: /x',
     ["See the guide."]),
    ("```\n[g]: https://example.org/ in code\n<!-- kept -->\n```",
     ["```\n[g]: https://example.org/ in code\n<!-- kept -->\n```"]),
    # attribute lists and site generators' tags are the site's, not the page's words
    ("## Install {#setup .big}\n\n{{< note >}}\nUse pip.\n{{< /note >}}\n\n{: .tip }\n"
     "Keep {braces}.\n\n{% include footer.html %}",
     ["# Install", "Use pip.", "Keep {braces}."]),
    # a table of contents and a "Next" link are navigation; links to the outside are content
    ("## Contents\n\n- [Install](#install)\n- [Use it](usage.md#start)\n1. [FAQ](../faq.html)\n\n"
     "[Next: Usage](usage.md)\n\nSee [Usage](usage.md).\n\n- [Docutils](https://docutils.sf.net)",
     ["# Contents", "See Usage.", "- Docutils"]),
]  # fmt: skip


def test_a_rule_over_a_long_list_of_notes_is_not_front_matter(tmp_path: Path) -> None:
    """Lines that could each be read two ways made the front-matter pattern backtrack
    exponentially (22 lines took a second; this page would never have loaded)."""
    source = "---\n" + "- Note: read the manual first.\n" * 60 + "The end.\n"
    doc = load(tmp_path, "notes.md", source)
    assert len(doc.blocks) == 1 and doc.blocks[0].text.count("- Note:") == 60


@pytest.mark.parametrize(("source", "blocks"), MARKDOWN_NOT_CONTENT)
def test_markdown_leaves_out_what_is_not_content(
    tmp_path: Path, source: str, blocks: list[str]
) -> None:
    doc = load(tmp_path, "page.md", source)
    assert ["# " + b.text if b.kind == "heading" else b.text for b in doc.blocks] == blocks


def test_markdown_unclosed_fence_runs_to_end(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.markdown", "# T\n\n````\n# x\n```\nstill code\n")
    assert doc.blocks == (heading("T", 1), para("````\n# x\n```\nstill code"))


def test_title_falls_back_to_prettified_stem(tmp_path: Path) -> None:
    assert load(tmp_path, "getting_started-guide.md", "just text").title == (
        "Getting started guide"
    )


MARKERS = set("#=-*_`~")
md_line = st.one_of(
    st.just(""),
    st.sampled_from(["#", "##", "###### x", "===", "---", "***", "```", "~~~", "    code"]),
    st.lists(
        st.one_of(
            st.from_regex(r"[A-Za-z0-9#*_`~=\-.,:!]{1,8}", fullmatch=True),
            st.sampled_from(["#", "##", "```", "==", "--"]),
        ),
        min_size=1,
        max_size=6,
    ).map(" ".join),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(md_line, min_size=1, max_size=25), suffix=st.sampled_from([".md", ".txt"]))
def test_every_word_survives(tmp_path: Path, lines: list[str], suffix: str) -> None:
    content = "\n".join(lines)
    try:
        doc = load(tmp_path, f"doc{suffix}", content)
    except DocumentError as err:
        assert str(err) in {"empty file", "no text found"}
        return
    body = content[_front_matter_end(content) :] if suffix == ".md" else content
    bare = str.maketrans("", "", "*_`~")  # inline markup: a page shows its words, not it
    for word in body.split():
        if not set(word) <= MARKERS:
            assert any(word.translate(bare) in b.text.translate(bare) for b in doc.blocks), word
    for block in doc.blocks:
        assert block.text == block.text.strip() and block.text
        assert (block.kind == "heading") == (1 <= block.level <= 6)


# (Markdown prose, as its built page reads; None: as typed)
MD_INLINE = [
    ("See [the guide](https://example.org/guide \"Guide\") or run `pip install -U x`.",
     "See the guide or run pip install -U x."),
    ("![a diagram](img/x.png) and [a reference][g], [another][] and [Wiki](https://w.org/X_(y))",
     "a diagram and a reference, another and Wiki"),
    ("<https://example.org/a_b> or <help@example.org>",
     "https://example.org/a_b or help@example.org"),
    ("**strong**, *emphasis*, ~~struck~~, __two words__ and _two more_",
     "strong, emphasis, struck, two words and two more"),
    ("Press <kbd>Ctrl</kbd>+<KBD>C</KBD>.<br>Then <span class=\"x\">wait</span>.",
     "Press Ctrl+C.\nThen wait."),
    ("A note[^1] and [^long-note] here.", "A note and here."),
    (r"a \*star\*, \[not a link\](x) and a \\ backslash",
     r"a *star*, [not a link](x) and a \ backslash"),
    ("`` `ticks` `` and ``[x](y)`` and `**`", "`ticks` and [x](y) and **"),
    ("[**bold** link](u) and [a \\*star\\*](v)", "bold link and a *star*"),
    ("2*3*4, snake_case_name, __init__, _private_, a * b, [x], <package> and *.txt", None),
    ("unclosed **bold and *em and `tick and [bracket", None),
]  # fmt: skip


@pytest.mark.parametrize(("source", "page"), MD_INLINE)
def test_markdown_inline_markup_reads_as_the_page(source: str, page: str | None) -> None:
    assert render_markdown(source) == (source if page is None else page)


@given(st.text(alphabet=st.characters(blacklist_characters="`*_~[<\\"), max_size=80))
def test_markdown_text_without_markup_characters_is_unchanged(text: str) -> None:
    assert render_markdown(text) == text


def test_markdown_labels_definitions_and_bracketed_links(tmp_path: Path) -> None:
    """A bold line standing alone heads what follows; a definition's ":" marker and a
    footnote link's brackets ("trees[[3]](#note3)" shows "trees[3]") are not the page's."""
    source = (
        "# Debian\n\n**Key features**\n\nFreedom:\n:   It stays free.\n\n"
        "See the trees[[3]](#note3). **Note:** a bold start is no label.\n"
    )
    doc = load(tmp_path, "features.md", source)
    assert doc.blocks == (
        heading("Debian", 1),
        heading("Key features", 6),
        para("Freedom:\nIt stays free."),
        para("See the trees[3]. Note: a bold start is no label."),
    )


def test_markdown_boxes_footnotes_and_tables_read_as_the_page(tmp_path: Path) -> None:
    source = (
        "# Install [askdocs](https://x.org)\n\n"
        '!!! warning "Back up first"\n    Copy `data/` away.\n\n'
        "!!! note\n    Plain box.\n\n"
        ":::tip Fast path\nUse **pip**.\n:::\n\n"
        "| Option | Meaning |\n|:--------|--------:|\n| `-v` | more output |\n\n"
        "Read the notes.[^1]\n\n[^1]: The *first* note.\n"
    )
    doc = load(tmp_path, "guide.md", source)
    assert [b.text for b in doc.blocks] == [
        "Install askdocs",
        "Back up first",
        "Copy data/ away.",
        "Note",
        "Plain box.",
        "Fast path",
        "Use pip.",
        "Option | Meaning\n-v | more output",
        "Read the notes.",
        "The first note.",
    ]


# --- reStructuredText -------------------------------------------------------------------

RST = """\
=========
 The Doc
=========

Intro text
over two lines.

Section A
=========

.. note:: A note's text is read.

----------

Sub A.1
-------

Section B
=========

Sub B.1
-------

Subsub
~~~~~~

Not a title
because the underline is short
===

x
"""


def test_rst(tmp_path: Path) -> None:
    doc = load(tmp_path, "doc.rst", RST)
    assert doc.title == "The Doc"
    assert doc.blocks == (
        heading("The Doc", 1),
        para("Intro text\nover two lines."),
        heading("Section A", 2),
        para("A note's text is read."),
        heading("Sub A.1", 3),
        heading("Section B", 2),
        heading("Sub B.1", 3),
        heading("Subsub", 4),
        para("Not a title\nbecause the underline is short\n==="),
        para("x"),
    )


# (reST source, the text blocks it reads as)
RST_MARKUP = [
    (".. contents::\n.. sectnum::\n\nBody.", ["Body."]),
    (".. include:: ../header.rst\n\nBody.", ["Body."]),
    (".. _target: https://example.org/\n.. _other:\n__ https://example.org/x\n\nBody.",
     ["Body."]),
    (".. A comment\n   that goes on.\n\n..\n   Empty-first-line comment.\n\nBody.", ["Body."]),
    (".. |sub| replace:: text\n.. |logo| image:: logo.png\n\nBody.", ["Body."]),
    (".. note:: Notes are read,\n   all of them.\n\nBody.",
     ["Notes are read,\nall of them.", "Body."]),
    (".. warning::\n\n   Back up first.\n\n   Then upgrade.", ["Back up first.", "Then upgrade."]),
    (".. code-block:: python\n   :linenos:\n\n   .. not a comment\n   x = 1",
     [".. not a comment\nx = 1"]),
    (".. figure:: pic.png\n   :alt: a picture\n\n   The caption.", ["The caption."]),
    (".. topic:: The title\n\n   The topic.", ["The title", "The topic."]),
    (".. [#] A footnote\n   over two lines.", ["A footnote\nover two lines."]),
    ("Example::\n\n   .. note:: shown, not read\n   .. _kept: as typed\n\nAfter.",
     ["Example:", ".. note:: shown, not read\n   .. _kept: as typed", "After."]),
    ("Run this ::\n\n   ``kept`` *as* `typed`_", ["Run this:",
     "``kept`` *as* `typed`_"]),
    ("Term\n  .. _inner: https://example.org/\n\n  Definition.",
     ["Term\n  .. _inner: https://example.org/", "Definition."]),
    ("* item\n\n  .. _inner: https://example.org/\n\n  More.", ["* item", "More."]),
    ("....\n\nA transition above.", ["A transition above."]),
    # an empty comment (".." then a blank line) takes nothing after it: a block quote follows
    ("Text.\n\n..\n\n    A quoted epigraph.\n\nAfter.", ["Text.", "A quoted epigraph.", "After."]),
]  # fmt: skip


@pytest.mark.parametrize(("source", "texts"), RST_MARKUP)
def test_rst_explicit_markup(tmp_path: Path, source: str, texts: list[str]) -> None:
    doc = load(tmp_path, "doc.rst", "Title\n=====\n\n" + source + "\n")
    assert [b.text for b in doc.blocks if b.kind == "text"] == texts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ["", "   ", ".. ", "..", "__ ", "::", "Text", "  indented", ".. note::", ".. _x: y",
             ".. code-block:: sh", "   :opt: v", "=====", "Title", ".. [1] f", ".. |s| replace:: t"]
        ),
        max_size=30,
    )
)  # fmt: skip
def test_rst_reader_reads_any_line_soup(lines: list[str]) -> None:
    try:
        doc = load_data("soup.rst", "\n".join(lines).encode())
    except DocumentError as exc:  # nothing but blanks or markup
        assert str(exc) in {"empty file", "no text found"}
        return
    for block in doc.blocks:
        assert block.text == block.text.strip() and block.text


# (reST prose, as its built page reads)
RST_INLINE = [
    ("See :ref:`the guide <install>` and :func:`os.path.join`.", "See the guide and os.path.join."),
    (":meth:`~Writer.write` and :class:`!Node`", "Writer.write and Node"),
    ("Read `Docutils <https://docutils.sf.net>`__ or `the FAQ`_.", "Read Docutils or the FAQ."),
    ("Use Emacs_ with reStructuredText_, or `<https://example.org/>`_.",
     "Use Emacs with reStructuredText, or https://example.org/."),
    ("Lists are _`colon-separated`.", "Lists are colon-separated."),
    ("Type ``*args`` or ``:ref:`x```, not *this* or **that**.",
     "Type *args or :ref:`x`, not this or that."),
    ("Version |version| is out [#]_ and cited [CIT2002]_ [1]_.",
     "Version version is out and cited [CIT2002]_."),
    ("See :RFC:`2396`, :pep:`8#naming` and `287`:PEP:.", "See RFC 2396, PEP 8 and PEP 287."),
    ("2*3*4 = 24, snake_case_name, __init__, a * b and *.txt files", None),
    ("Plain prose: nothing to render (really).", None),
    ("Example::", "Example:"),
    ("Example ::", "Example:"),
    ("::", ""),
    # escapes: a backslash makes the next character plain; "\<x>" is no link target
    (r"Elements: `\<note>`_, `\<tip>`_; a \*star\*, x\ y, \\ and ``\\ kept``",
     r"Elements: <note>, <tip>; a *star*, xy, \ and \\ kept"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "page"), RST_INLINE)
def test_rst_inline_markup_reads_as_the_page(source: str, page: str | None) -> None:
    assert render_inline(source) == (source if page is None else page)


@given(st.text(alphabet=st.characters(blacklist_characters="`*|_[:\\<"), max_size=80))
def test_rst_text_without_markup_characters_is_unchanged(text: str) -> None:
    assert render_inline(text) == text.rstrip()


# (renderer, an opener left unclosed): reST's and Markdown's inline markup
UNCLOSED = [(render_inline, o) for o in ("**a", "*a", "**a*")] + [
    (render_markdown, o) for o in ("**a", "*a", "[a", "~~a", "__a b", "<kbd ")
]


@pytest.mark.parametrize(("render", "opener"), UNCLOSED)
def test_unclosed_markup_stays_as_typed(render: Callable[[str], str], opener: str) -> None:
    # 12,000 unclosed openers in one paragraph: bounded spans keep this linear (an unbounded
    # "**...**" took 12 s on 80 kB)
    text = f" {opener}" * 12_000
    assert render(text) == text


@pytest.mark.parametrize("render", [render_inline, render_markdown])
@given(text=st.text(max_size=80))
def test_rendering_inline_markup_never_adds_text(render: Callable[[str], str], text: str) -> None:
    assert len(render(text)) <= len(text)


@given(st.from_regex(r"[^`\s]([^`]*[^`\s])?", fullmatch=True))
def test_rst_literal_text_is_kept_as_typed(text: str) -> None:
    assert render_inline(f"``{text}``") == text.rstrip()


# (reST table lines, its rows as read; None: no table)
RST_TABLES = [
    (["+-----+--------------+", "| Opt | Meaning      |", "+=====+==============+",
      "| -v  | Output more  |", "|     | detail       |", "+-----+--------------+",
      "| -q  |              |", "+-----+--------------+"],
     ["Opt | Meaning", "-v | Output more detail", "-q"]),
    (["  =====  =========", "  Key    Action", "  =====  =========", "  Space  Next slide,",
      "         or page", "  ---    ---------", "  Left   Back", "  =====  ========="],
     ["Key | Action", "Space | Next slide, or page", "Left | Back"]),
    (["=====", "A", "====="], None),  # one column: a title's over- and underline
    (["+---+", "| a |"], None),  # unclosed
    (["| a | b |", "| c | d |", "| e | f |"], None),
]  # fmt: skip


@pytest.mark.parametrize(("lines", "rows"), RST_TABLES)
def test_rst_tables_read_row_by_row(lines: list[str], rows: list[str] | None) -> None:
    assert read_table(lines) == rows


@given(st.lists(st.from_regex(r"[+=| a-c-]{0,12}", fullmatch=True), min_size=3, max_size=8))
def test_rst_table_rows_hold_only_the_tables_words(lines: list[str]) -> None:
    rows = read_table(lines)
    words = {w for line in lines for w in line.replace("|", " ").split()}
    for row in rows or []:
        assert row and set(row.replace(" | ", " ").split()) <= words


def test_rst_tables_in_a_document_read_row_by_row(tmp_path: Path) -> None:
    source = "Keys\n====\n\n.. table:: Moving\n\n   =====  ==========\n   Space  *Next* slide\n"
    source += "   Left   Back\n   =====  ==========\n"
    assert [b.text for b in load(tmp_path, "keys.rst", source).blocks] == [
        "Keys",
        "Moving",
        "Space | Next slide\nLeft | Back",
    ]


@given(st.lists(st.from_regex(r" {0,4}([*-] ){0,2}[a-c ]{0,6}", fullmatch=True), max_size=8))
def test_rst_list_table_rows_hold_only_the_tables_words(lines: list[str]) -> None:
    words = {w for line in lines for w in line.split() if w not in {"*", "-"}}
    for row in read_list_table(lines):
        assert row and set(row.replace(" | ", " ").replace(",", " ").split()) <= words


def test_rst_list_tables_read_row_by_row(tmp_path: Path) -> None:
    """Rows read across; the cells' markup is rendered once (a literal keeps its stars)."""
    source = (
        "Keys\n====\n\n.. list-table:: Moving around\n   :header-rows: 1\n\n"
        "   * - ``*Action*``\n     - Key(s)\n"
        "   * - Go to the *next* slide\n     - * Space bar\n       * Return\n"
        "   * - Go back\n     - Left arrow or\n       Backspace\n"
    )
    assert [b.text for b in load(tmp_path, "keys.rst", source).blocks] == [
        "Keys",
        "Moving around",
        "*Action* | Key(s)\nGo to the next slide | Space bar, Return\n"
        "Go back | Left arrow or Backspace",
    ]


def test_rst_version_notes_read_as_the_page(tmp_path: Path) -> None:
    """Sphinx's version notes say what the version is for: "3.2" alone answers nothing."""
    source = (
        "Options\n=======\n\n"
        ".. versionadded:: 3.2\n   The *fast* option.\n\n"
        ".. deprecated:: 3.4 Use :func:`y` instead.\n\n"
        ".. versionchanged:: 1.0\n"
    )
    assert [b.text for b in load(tmp_path, "opts.rst", source).blocks] == [
        "Options",
        "Added in version 3.2:\nThe fast option.",
        "Deprecated since version 3.4: Use y instead.",
        "Changed in version 1.0.",
    ]


def test_rst_titles_and_paragraphs_are_rendered(tmp_path: Path) -> None:
    doc = load(tmp_path, "doc.rst", "The ``rst2html`` tool\n=====================\n\n"
               "Run rst2html_ on *any* file::\n\n   rst2html_ *kept*\n")  # fmt: skip
    assert [b.text for b in doc.blocks] == [
        "The rst2html tool",
        "Run rst2html on any file:",
        "rst2html_ *kept*",
    ]


# --- HTML -------------------------------------------------------------------------------

HTML = """\
<!DOCTYPE html><html><head><title>Page Title</title><style>p {color: red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body><nav><a href="/">Home</a></nav><header>Site header</header>
<div class="toc"><a href="#q">1. A question?</a></div>
<div>Bare <b>div</b> text
  <h2 id="q">What is <code>askdocs</code>?</h2>
  <p>It answers <a href="#">questions</a>, using <em>your</em>
     own documents.<br>Second line.</p>
  <ul><li><p>Item one</p></li><li>Item <strong>two</strong><ul><li>nested</li></ul></li></ul>
  <pre>  code
    indented</pre>
  <table><tr><th>Key</th><td>Value</td></tr></table>
  <!-- a comment -->
</div>
<article><header><h1>Article Heading</h1></header><p>Body.</p><footer>By me</footer></article>
<footer>Site footer</footer><noscript>Enable JS</noscript>
</body></html>
"""


def test_html(tmp_path: Path) -> None:
    doc = load(tmp_path, "page.html", HTML)
    assert doc.title == "What is askdocs?"
    assert doc.blocks == (
        para("Bare div text"),
        heading("What is askdocs?", 2),
        para("It answers questions, using your own documents.\nSecond line."),
        para("Item one"),
        para("Item two"),
        para("nested"),
        para("code\n    indented"),
        para("Key | Value"),
        heading("Article Heading", 1),
        para("Body."),
        para("By me"),
    )


SPHINX_PAGE = """\
<div class="related" role="navigation"><a href="genindex.html">index</a></div>
<div role="search"><form><input name="q"></form> Search</div>
<div class="body" role="main"><section id="install">
<h1>Install<a class="headerlink" href="#install" title="Link to this heading">¶</a></h1>
<p>Run <code class="docutils literal"><span class="pre">pip install x</span></code>.</p>
<div class="toctree-wrapper compound"><ul><li><a href="usage.html">Usage</a></li></ul></div>
</section></div>
<div class="sphinxsidebar"><h3>Quick search</h3></div>
<div class="footer" role="contentinfo">&#169; Copyright 2026. Created using Sphinx.</div>
"""


def test_html_page_chrome_of_generated_docs_is_left_out(tmp_path: Path) -> None:
    """A Sphinx page: the permalink "¶" in every heading, the table of contents, the
    sidebar, search box, related links and footer are the site's, not the page's."""
    doc = load(tmp_path, "install.html", SPHINX_PAGE)
    assert doc.blocks == (heading("Install", 1), para("Run pip install x."))


def test_html_table_rows_read_across(tmp_path: Path) -> None:
    """A row of plain cells is one line, as a reader reads it; a cell holding a list of
    its own is read block by block."""
    html = "<table><tr><th>Option</th><th>Meaning</th></tr>"
    html += "<tr><td><code>--verbose</code></td><td><p>Print <em>more</em>.</p></td></tr>"
    html += "<tr><td>-q</td><td><ul><li>quiet</li><li>terse</li></ul></td></tr></table>"
    doc = load(tmp_path, "options.html", html)
    assert [b.text for b in doc.blocks] == [
        "Option | Meaning",
        "--verbose | Print more.",
        "-q",
        "quiet",
        "terse",
    ]


def test_html_title_fallback_and_latin1(tmp_path: Path) -> None:
    html = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head>'
    html += "<body><p>Cr\xe8me br\xfbl\xe9e</p></body></html>"
    doc = load(tmp_path, "x.htm", html.encode("latin-1"))
    assert doc.title == "Café"
    assert doc.blocks == (para("Crème brûlée"),)


def test_html_deeply_nested_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="nested too deeply"):
        load(tmp_path, "deep.html", "<div>" * 5000 + "text")


def _debian_pages(debian_faq: Path, tmp_path: Path) -> Path:
    root = tmp_path / "faq"
    root.mkdir()
    for page in debian_faq.glob("*.html"):
        shutil.copy(page, root / page.name)
    return root


def test_debian_faq_corpus(debian_faq: Path, tmp_path: Path) -> None:
    root = _debian_pages(debian_faq, tmp_path)
    docs, skipped = load_documents(root)
    assert (len(docs), skipped) == (17, [])
    for doc in docs:
        headings = [b for b in doc.blocks if b.kind == "heading"]
        texts = [b for b in doc.blocks if b.kind == "text"]
        assert headings and texts, doc.source
        assert doc.title == headings[0].text and headings[0].level == 1
        # No text lost or duplicated: the blocks hold exactly the non-space characters of
        # the page body minus navigation chrome (the source does repeat a few paragraphs).
        soup = BeautifulSoup((root / doc.source).read_bytes(), "html.parser")
        for chrome in soup.select(".navheader, .navfooter, .toc, head"):
            chrome.decompose()
        expected = "".join(soup.get_text().split())
        assert "".join("".join(b.text.split()) for b in doc.blocks) == expected, doc.source
    by_source = {doc.source: doc for doc in docs}
    basic = by_source["basic-defs.en.html"]
    assert heading("1.2.\xa0What is Debian GNU/Linux?", 2) in basic.blocks
    assert len(basic.blocks) == 52
    assert sum(len(doc.blocks) for doc in docs) == 965


# --- PDF --------------------------------------------------------------------------------


def test_pdf(tmp_path: Path) -> None:
    data = make_pdf([["Hello from page one.", "Second line."], ["Page two text."]], "Manual")
    doc = load(tmp_path, "manual.pdf", data)
    assert doc.title == "Manual"
    assert doc.blocks[0] == heading("Manual", 1)
    assert [b.kind for b in doc.blocks[1:]] == ["text", "text"]
    assert "Hello from page one." in doc.blocks[1].text
    assert "Second line." in doc.blocks[1].text
    assert doc.blocks[2] == para("Page two text.")


def test_pdf_without_metadata_title_uses_stem(tmp_path: Path) -> None:
    doc = load(tmp_path, "user-guide.pdf", make_pdf([["Some text."]]))
    assert doc.title == "User guide"
    assert doc.blocks == (para("Some text."),)


# --- bad files --------------------------------------------------------------------------

VALID_PDF = make_pdf([["Some text."]])


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("empty.pdf", b"", "empty file"),
        ("spaces.md", b" \n\t\r\n ", "empty file"),
        ("bom-only.txt", b"\xef\xbb\xbf\n  ", "empty file"),
        ("unicode-space.rst", "\u3000\u2003\n".encode(), "empty file"),
        ("nul.txt", b"hello\x00world", "binary file"),
        ("nul.html", b"<p>hi</p>\x00", "binary file"),
        ("controls.txt", bytes(range(1, 32)) * 4 + b"text", "binary file"),
        ("bad-utf16.txt", b"\xff\xfe\x00\xd8", "not valid UTF-16 text"),
        ("rules.md", b"---\n***\n", "no text found"),
        ("empty.html", b"<html><title>T</title><body> </body></html>", "no text found"),
        ("truncated.pdf", VALID_PDF[:200], "broken PDF: "),
        ("random.pdf", bytes(range(256)) * 4, "broken PDF: "),
        ("text.pdf", b"this is not a pdf at all", "broken PDF: "),
        ("blank.pdf", blank_pdf(), "no text found (scanned PDF?)"),
        ("locked.pdf", blank_pdf(password="secret"), "encrypted PDF"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    with pytest.raises(DocumentError) as err:
        load(tmp_path, name, content)
    assert str(err.value).startswith(reason)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cp1252.txt", "Caf\u00e9 \u201cquoted\u201d \u2013 na\u00efve.\n".encode("cp1252")),
        ("latin1.md", "# Caf\u00e9\n\nCaf\u00e9 na\u00efve.\n".encode("latin-1")),
        ("utf16.txt", "Caf\u00e9 \u201cquoted\u201d \u2013 na\u00efve.\n".encode("utf-16")),
        ("utf16be.rst", codecs.BOM_UTF16_BE + "Caf\u00e9 na\u00efve.\n".encode("utf-16-be")),
        ("utf32.txt", "Caf\u00e9 na\u00efve.\n".encode("utf-32")),
        ("utf16.html", "<p>Caf\u00e9 na\u00efve.</p>".encode("utf-16")),
        ("bom.txt", codecs.BOM_UTF8 + "Caf\u00e9 na\u00efve.\n".encode()),
    ],
)
def test_other_encodings_read_as_a_person_would(tmp_path: Path, name: str, content: bytes) -> None:
    """Windows-1252 / Latin-1 files and UTF-16/32 with a byte-order mark are text."""
    doc = load(tmp_path, name, content)
    text = " ".join(b.text for b in doc.blocks)
    assert "Caf\u00e9" in text and "na\u00efve" in text and "\ufeff" not in text
    assert "\x00" not in text


def test_unreadable_directory_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    with pytest.raises(DocumentError, match=r"^unreadable: is a directory$"):
        load_file(tmp_path / "x.txt", tmp_path)


def test_unreadable_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.md"
    path.write_text("# hi")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(DocumentError, match=r"^unreadable: permission denied$"):
        load_file(path, tmp_path)


def test_unsupported_suffix_in_load_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"unsupported file type \(\.docx\)"):
        load(tmp_path, "a.docx", b"PK")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600), suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)))
def test_arbitrary_bytes_only_raise_document_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    for content in (data, b"%PDF-1.4\n" + data, VALID_PDF[: len(data)]):
        try:
            doc = load(tmp_path, f"f{suffix}", content)
        except DocumentError:
            continue
        assert doc.blocks and doc.title


# --- bytes (uploads) ----------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.txt", PNG, r"^binary file$"),
        ("notes.txt", b"  \n\t ", r"^empty file$"),
        ("notes.docx", b"PK\x03\x04", r"^unsupported file type \(\.docx\)$"),
        ("notes", b"hello", r"^unsupported file type \(no extension\)$"),
        ("big.md", b"# Big\n\n" + b"word " * 300, r"^too large \(0\.0 MB, the limit is 0\.001 MB"),
        ("broken.pdf", b"%PDF-1.4 garbage", r"^broken PDF"),
        ("titles.md", b"# Only\n\n## Headings\n", r"^no text to index \(only headings\)$"),
    ],
)
def test_check_document_refuses_what_a_build_would_skip(
    name: str, data: bytes, reason: str
) -> None:
    with pytest.raises(DocumentError, match=reason):
        check_document(name, data, max_bytes=1000)


def test_load_data_reads_bytes_like_load_file(tmp_path: Path) -> None:
    text = "# Ferry Times\n\nThe ferry leaves at nine.\n"
    from_file = load(tmp_path, "sub/ferry.md", text)
    from_bytes = load_data("sub/ferry.md", text.encode())
    assert from_bytes == from_file
    assert check_document("ferry.md", text.encode()).title == "Ferry Times"
    untitled = check_document("getting_started-guide.txt", b"the ferry leaves at nine.")
    assert untitled.title == "Getting started guide"


# --- folder walk ------------------------------------------------------------------------


def test_load_documents_walks_sorted_and_reports_skips(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "z.txt").write_text("Zed\n\ntext")
    (tmp_path / "a.MD").write_text("# A\n\ntext")
    (tmp_path / "b" / "c" / "deep.rst").write_text("Deep\n====\n\ntext")
    (tmp_path / "b" / "notes.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "b" / "Makefile").write_text("all:")
    (tmp_path / "b" / "empty.txt").write_text("")
    (tmp_path / ".hidden" / "secret.txt").write_text("Secret")
    (tmp_path / ".dotfile.md").write_text("# Dot")
    with caplog.at_level(logging.WARNING, logger="index.loaders"):
        docs, skipped = load_documents(tmp_path)
    assert [(d.source, d.title) for d in docs] == [
        ("a.MD", "A"),
        ("b/c/deep.rst", "Deep"),
        ("z.txt", "Zed"),
    ]
    assert [(s.source, s.reason) for s in skipped] == [
        ("b/Makefile", "unsupported file type (no extension)"),
        ("b/empty.txt", "empty file"),
        ("b/notes.docx", "unsupported file type (.docx)"),
    ]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3
    assert any("b/notes.docx" in m and "unsupported file type (.docx)" in m for m in warned)
    assert not any("secret" in m or "dotfile" in m for m in warned)


def test_load_documents_is_deterministic(tmp_path: Path) -> None:
    for name in ["b.txt", "a/b.txt", "a.txt", "a-b.txt", "A.txt"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(f"Title {name}\n\nBody.")
    first, _ = load_documents(tmp_path)
    second, _ = load_documents(tmp_path)
    assert first == second
    assert [d.source for d in first] == sorted(d.source for d in first)


def test_empty_folder(tmp_path: Path) -> None:
    assert load_documents(tmp_path) == ([], [])


def test_missing_root_and_file_root(tmp_path: Path) -> None:
    with pytest.raises(SourceDocsError, match=r"not found.*nope"):
        load_documents(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(SourceDocsError, match=r"not a folder.*file\.txt"):
        load_documents(tmp_path / "file.txt")


def test_symlinks_outside_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.txt").write_text("Leak\n\nsecret")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "ok.txt").write_text("Ok\n\ntext")
    (root / "file-link.txt").symlink_to(outside / "leak.txt")
    (root / "dir-link").symlink_to(outside)
    (root / "dangling.txt").symlink_to(root / "missing.txt")
    docs, skipped = load_documents(root)
    assert [d.source for d in docs] == ["ok.txt"]
    assert [(s.source, s.reason) for s in skipped] == [
        ("dangling.txt", "broken symlink"),
        ("dir-link", "symlink points outside the documents folder"),
        ("file-link.txt", "symlink points outside the documents folder"),
    ]


def test_symlinks_inside_root_load_each_file_once_under_its_real_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "guide.md").write_text("# Guide\n\ntext")
    (tmp_path / "a-link.md").symlink_to(tmp_path / "real" / "guide.md")
    (tmp_path / "a-dir-link").symlink_to(tmp_path / "real")
    (tmp_path / "only-linked").mkdir()
    (tmp_path / ".store").mkdir()
    (tmp_path / ".store" / "kept.txt").write_text("Kept\n\ntext")
    (tmp_path / "only-linked" / "kept.txt").symlink_to(tmp_path / ".store" / "kept.txt")
    docs, skipped = load_documents(tmp_path)
    assert [d.source for d in docs] == ["only-linked/kept.txt", "real/guide.md"]
    assert skipped == []


def test_symlink_loops_do_not_hang(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "doc.txt").write_text("Doc\n\ntext")
    (tmp_path / "sub" / "up").symlink_to(tmp_path)
    (tmp_path / "sub" / "self").symlink_to(tmp_path / "sub")
    (tmp_path / "loop-a.txt").symlink_to(tmp_path / "loop-b.txt")
    (tmp_path / "loop-b.txt").symlink_to(tmp_path / "loop-a.txt")
    docs, skipped = load_documents(tmp_path)
    assert [d.source for d in docs] == ["sub/doc.txt"]
    assert [(s.source, s.reason) for s in skipped] == [
        ("loop-a.txt", "broken symlink"),
        ("loop-b.txt", "broken symlink"),
    ]


def test_special_files_are_skipped(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.txt")
    docs, skipped = load_documents(tmp_path)
    assert docs == []
    assert [(s.source, s.reason) for s in skipped] == [("pipe.txt", "not a regular file")]
