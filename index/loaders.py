"""Turn source files (plain text, Markdown, reST, HTML, PDF) into headings and paragraphs.

``load_file`` reads one file (``load_data`` the bytes of one) into a ``LoadedDocument`` whose
blocks keep the document's own text: only each block's outer whitespace is stripped (HTML
whitespace is collapsed the way a browser renders it; reST markup that holds no prose —
comments, link targets, directives such as ``contents`` — is left out, directive bodies
are dedented and inline markup is rendered as the built page reads). ``load_documents``
walks a documents folder: hidden entries are ignored, symlinks leaving the folder are not
followed, and a file reachable through several paths (symlinks inside the folder) is loaded
once, under its real path when it has one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from index.decoding import BINARY_SNIFF_BYTES, bom_encoding, decode_text
from index.errors import DocumentError, SourceDocsError
from index.md_inline import render_inline as render_markdown
from index.models import Block, LoadedDocument, SkippedFile
from index.rst_inline import render_inline
from index.rst_tables import read_list_table, read_table
from index.sentences import split_sentences

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".text", ".md", ".markdown", ".rst", ".html", ".htm", ".pdf"}
)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _add(blocks: list[Block], kind: str, text: str, level: int = 0) -> None:
    """Append a block with its outer whitespace stripped, unless it is empty."""
    text = text.strip()
    if text:
        blocks.append(Block("heading", text, level) if kind == "heading" else Block("text", text))


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split("\n".join(text.splitlines())) if p.strip()]


# --- plain text ---------------------------------------------------------------------------

_SENTENCE_END = tuple(".!?,;:")
_BULLETS = tuple("-*+•>|=~_")


def is_heading_line(line: str) -> bool:
    """Whether a line standing alone as a paragraph of plain text looks like a heading.

    Short (<= 80 chars, <= 12 words), has a letter, no sentence punctuation at the end, does
    not start like a list item/quote/rule, and is ALL CAPS or Title Case (more than half of
    the words of 4+ letters, or of all words if none is that long, start uppercase).
    """
    s = line.strip()
    words = s.split()
    if not s or len(s) > 80 or len(words) > 12 or s.endswith(_SENTENCE_END):
        return False
    if s.startswith(_BULLETS) or not any(c.isalpha() for c in s):
        return False
    if s.upper() == s and s.lower() != s:
        return True
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    long_words = [w for w in lettered if sum(c.isalpha() for c in w) >= 4] or lettered
    capitalised = sum(next(c for c in w if c.isalpha()).isupper() for w in long_words)
    return capitalised * 2 > len(long_words)


def looks_like_title(line: str) -> bool:
    """Whether a plain-text file's first line is its title: short (<= 150 chars, <= 20
    words), with a letter, and not ending like a sentence or a clause (. , ; : !)."""
    s = line.strip()
    return (
        0 < len(s) <= 150
        and len(s.split()) <= 20
        and any(c.isalpha() for c in s)
        and not s.endswith((".", ",", ";", ":", "!"))
    )


def is_headline(sentence: str) -> bool:
    """Whether a sentence reads as a headline: 3 to 20 words, and at least three quarters of
    its words of four or more letters start with a capital."""
    words = sentence.split()
    long_words = [w for w in words if sum(c.isalpha() for c in w) >= 4]
    if not 3 <= len(words) <= 20 or len(long_words) < 2:
        return False
    capitalised = sum(next(c for c in w if c.isalpha()).isupper() for w in long_words)
    return capitalised * 4 >= len(long_words) * 3


def _headline_sentence(para: str) -> str | None:
    """The first sentence of ``para`` when it is a headline followed by body text (a title
    run into the first paragraph: "Big News: What It Means. The world is ...")."""
    spans = split_sentences(para)
    if len(spans) < 2 or "\n" in para[: spans[0][1]]:
        return None
    first = para[spans[0][0] : spans[0][1]]
    return first if is_headline(first.rstrip(".")) else None


def _parse_text(text: str) -> list[Block]:
    """First line = title (level 1) when it looks like one; lone heading-like lines =
    level 2; the rest paragraphs. A first line that reads as a sentence stays text, unless
    its first sentence is a headline: then that sentence is also the title (the paragraph
    keeps it, so an answer can quote it)."""
    blocks: list[Block] = []
    for para in _paragraphs(text):
        first, _, rest = para.partition("\n")
        if not blocks and looks_like_title(first):
            _add(blocks, "heading", first, 1)
            _add(blocks, "text", rest)
        elif not blocks and (headline := _headline_sentence(para)):
            _add(blocks, "heading", headline.rstrip("."), 1)
            _add(blocks, "text", para)
        elif "\n" not in para and is_heading_line(para):
            _add(blocks, "heading", para, 2)
        else:
            _add(blocks, "text", para)
    return blocks


# --- Markdown -----------------------------------------------------------------------------

_MD_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_MD_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*")
_MD_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+$")
_MD_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_MD_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_MD_LINK_DEFINITION = re.compile(r" {0,3}\[[^\]^][^\]]*\]:[ \t]*\S+.*")  # [label]: url "title"
# A line that is only a link to another part of the documents (a relative address, maybe
# after a list marker): a paragraph of such lines is a table of contents or a "Next" link.
_MD_NAVIGATION = re.compile(
    r" {0,3}(?:[-*+]|\d{1,9}[.)])?[ \t]*\[[^\]]*\]\((?![a-z][a-z0-9+.-]*:)[^()\s]*\)[ \t]*",
    re.IGNORECASE,
)
_MD_LABEL = re.compile(r"(?:\*\*|__)([^*_\n]{1,80}?)(?:\*\*|__)")  # "**Table of Contents**"
_MD_ATTRIBUTES = re.compile(r"[ \t]*\{[ \t]*:?[ \t]*[#.][^{}]*\}[ \t]*$")  # "## Install {#setup}"
_MD_TEMPLATE_LINE = re.compile(r"[ \t]*(?:\{:[^{}]*\}|\{\{[<%].*?[%>]\}\}|\{%.*?%\})[ \t]*")
_MD_DEFINITION = re.compile(r"^ {0,3}:[ \t]+")  # ":   the definition" of a term above it
_MD_FOOTNOTE = re.compile(r" {0,3}\[\^[^\]]+\]:[ \t]*(.*)")  # [^1]: the note's text
_MD_TABLE_RULE = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
# A box's first line: MkDocs' "!!! note "Title"" (or "??? tip"), Docusaurus' ":::tip Title";
# and Docusaurus' closing ":::".
_MD_ADMONITION = re.compile(
    r" {0,3}(?:(?:!!!|\?\?\?\+?)[ \t]*([\w-]+)(?:[ \t]+\"([^\"]*)\")?"
    r"|:::+[ \t]*([\w-]*)[ \t]*(.*?))[ \t]*"
)
# Each line is a key (starts with a letter or digit), a list item, comment or continuation
# (starts with "-", "#" or a blank) or empty: the first character picks the one way it can
# match, so a long page that only looks like front matter fails in linear time.
_FRONT_MATTER = re.compile(
    r"(?:---|\+\+\+)[ \t]*\n(?:\w[\w-]*[ \t]*[:=][^\n]*\n|[ \t#-][^\n]*\n|\n)*?"
    r"(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|$)"
)


def _front_matter_end(text: str) -> int:
    """Where the text starts after its front matter: a YAML or TOML block of ``key: value``
    (or ``key = value``) lines between ``---`` / ``+++`` lines at the very top, as Jekyll,
    Hugo and MkDocs pages have (0 when there is none)."""
    m = _FRONT_MATTER.match(text)
    return m.end() if m is not None and m.group().strip("-+. \t\n") else 0


def _parse_markdown(text: str) -> list[Block]:
    """ATX and setext headings, paragraphs, fenced code kept whole; rules, front matter,
    link reference definitions and HTML comments standing alone are dropped (page settings
    and notes to editors, not content), and so are a table's rule line and a box's markers
    (a box's title is kept: "!!! warning "Back up first"" reads "Back up first", a box
    without one its kind: "Warning"), and so is a paragraph of links to other parts of the
    documents (a table of contents). A bold line standing alone ("**Contents**") is a
    heading (level 6). Inline markup is rendered as the page shows it
    (``index.md_inline``): "[the guide](url)" reads "the guide"."""
    blocks: list[Block] = []
    para: list[str] = []
    fence: list[str] = []  # lines of the open fenced code block, opening fence first
    marker = ""  # its opening ``` or ~~~ run
    comment = False  # inside an HTML comment that started a paragraph

    def flush() -> None:
        _add(blocks, *_md_block(para))
        para.clear()

    for line in text[_front_matter_end(text) :].splitlines():
        if comment or (not para and not fence and line.lstrip().startswith("<!--")):
            comment = not line.rstrip().endswith("-->")
            continue
        if fence:
            fence.append(line)
            closing = line.strip()
            if closing.startswith(marker) and closing == marker[0] * len(closing):
                _add(blocks, "text", "\n".join(fence))
                fence.clear()
        elif (m := _MD_FENCE.fullmatch(line)) and not (m[1][0] == "`" and "`" in m[2]):
            flush()
            fence.append(line)
            marker = m[1]
        elif not line.strip():
            flush()
        elif (heading := _md_heading(line, para)) is not None:
            flush()  # (a setext heading took the paragraph's lines as its title)
            _add(blocks, "heading", render_markdown(heading[0]), heading[1])
        elif _md_not_content(line, para):
            continue
        elif (ends := _md_break(line)) is not None:
            flush()
            para.append(ends[1])
            if ends[0] != "note":  # a box's label stands alone; a note's text goes on below
                flush()
        else:
            para.append(line)
    _add(blocks, "text", "\n".join(fence))  # an unclosed fence runs to the end
    flush()
    return blocks


def _md_block(lines: list[str]) -> tuple[str, str, int]:
    """A paragraph as the page reads it: kind, text and level for ``_add``. A bold line
    standing alone heads what follows (a heading of level 6); a table's rows lose their
    outer pipes, a definition its ":" marker; a paragraph that is only navigation (every
    line a link to another part of the documents: a table of contents, a "Next" link)
    gives nothing."""
    if (label := _MD_LABEL.fullmatch("\n".join(lines).strip())) is not None:
        return "heading", render_markdown(label[1]), 6
    if all(_MD_NAVIGATION.fullmatch(line) for line in lines):
        return "text", "", 0
    lines = [_MD_DEFINITION.sub("", line, count=1) for line in lines]
    if all(line.strip().startswith("|") for line in lines):  # a table: rows of cells
        lines = [
            " | ".join(c.strip() for c in line.strip().strip("|").split("|")) for line in lines
        ]
    return "text", render_markdown("\n".join(lines)), 0


def _md_heading(line: str, para: list[str]) -> tuple[str, int] | None:
    """The title and level of the heading ``line`` ends or is: a setext underline takes
    the open paragraph's lines as its title (``para`` is emptied), an ATX line is one."""
    if para and (m := _MD_SETEXT.fullmatch(line)):
        title = _MD_ATTRIBUTES.sub("", "\n".join(para))
        para.clear()
        return title, 1 if m[1][0] == "=" else 2
    if m := _MD_ATX.fullmatch(line):
        title = _MD_ATX_CLOSE.sub("", _MD_ATTRIBUTES.sub("", (m[2] or "").strip()))
        return title, len(m[1])
    return None


def _md_not_content(line: str, para: list[str]) -> bool:
    """A link reference definition standing alone, a table's rule line, or a line that is
    only an attribute list (``{: .note}``) or a site generator's tag (Hugo's
    ``{{< note >}}``, Jekyll's ``{% include x.html %}``)."""
    if _MD_TEMPLATE_LINE.fullmatch(line):
        return True
    if not para:
        return _MD_LINK_DEFINITION.fullmatch(line) is not None
    return "|" in line and _MD_TABLE_RULE.fullmatch(line) is not None


def _md_break(line: str) -> tuple[str, str] | None:
    """For a line that ends the paragraph before it: ("rule", "") for a rule, ("box", its
    label) for a box's marker line (its title, else its kind: "Warning"; a closing ":::"
    has neither), ("note", its text) for a footnote's first line."""
    if _MD_RULE.fullmatch(line):
        return "rule", ""
    if m := _MD_ADMONITION.fullmatch(line):
        return "box", m[2] or m[4] or (m[1] or m[3] or "").replace("-", " ").capitalize()
    if m := _MD_FOOTNOTE.fullmatch(line):
        return "note", m[1]
    return None


# --- reStructuredText ---------------------------------------------------------------------

_is_adornment = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*").fullmatch  # one repeated punct. char


def _rst_title(lines: list[str], i: int) -> tuple[str, tuple[bool, str], int] | None:
    """The section title starting at line ``i``: (text, (overlined, char), lines used)."""
    line = lines[i]
    if _is_adornment(line) and i + 2 < len(lines):
        title, under = lines[i + 1].strip(), lines[i + 2]
        fits = under[:1] == line[0] and min(len(line.rstrip()), len(under.rstrip())) >= len(title)
        if title and fits and not _is_adornment(lines[i + 1]) and _is_adornment(under):
            return title, (True, line[0]), 3
    if line.strip() and not line[0].isspace() and not _is_adornment(line) and i + 1 < len(lines):
        under = lines[i + 1]
        if _is_adornment(under) and len(under.rstrip()) >= len(line.rstrip()):
            return line.strip(), (False, under[0]), 2
    return None


# Explicit markup (a line starting ".. " or "__ "): comments, hyperlink targets, substitution
# definitions, footnotes and directives. Only footnotes and the bodies of directives that
# hold prose (note, warning, code-block, figure captions, ...) are read as text; the rest is
# markup, not content: "contents", "include", "image" and the like have nothing to read, a
# link target's URL answers no question.
_EXPLICIT = re.compile(r"\.\.(?:[ \t]|$)|__ ")
_DIRECTIVE = re.compile(r"\.\.[ \t]+([\w:+.-]+)::(.*)")
_FOOTNOTE = re.compile(r"\.\.[ \t]+\[[^\]]+\][ \t]*(.*)")
_OPTION = re.compile(r"[ \t]*:[\w-]+:")
_NO_TEXT_DIRECTIVES = frozenset(
    {"contents", "sectnum", "section-numbering", "include", "literalinclude", "image", "raw",
     "meta", "toctree", "index", "highlight", "default-role", "role", "target-notes",
     "header", "footer", "title", "autosummary", "automodule", "autoclass", "autofunction"}
)  # fmt: skip
# Directives whose argument is a language, a path or class names (other directives' is text)
_ARGUMENT_NOT_TEXT = frozenset(
    {"code", "code-block", "sourcecode", "figure", "class", "container", "only", "ifconfig",
     "compound", "parsed-literal", "math", "tabularcolumns"}
)  # fmt: skip
# Directives whose text may start on the directive's line and go on below it: one paragraph
_ADMONITIONS = frozenset(
    {"note", "warning", "tip", "hint", "important", "caution", "danger", "attention",
     "error", "seealso", "todo", "deprecated", "versionadded", "versionchanged",
     "versionremoved"}
)  # fmt: skip
# Sphinx's version notes, as its pages introduce them (".. deprecated:: 3.4" -> "Deprecated
# since version 3.4: ...")
_VERSION_NOTES = {
    "versionadded": "Added in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
# Directives whose body is code or math: kept line for line, markup-like lines included
_LITERAL_DIRECTIVES = frozenset({"code", "code-block", "sourcecode", "parsed-literal", "math"})


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block_end(lines: list[str], i: int, indent: int) -> int:
    """The line after the block starting at ``i`` whose lines are indented more than
    ``indent`` (blank lines inside it included, trailing ones not)."""
    j = i + 1
    while j < len(lines):
        if lines[j].strip():
            if _indent(lines[j]) <= indent:
                break
            j += 1
            continue
        k = j
        while k < len(lines) and not lines[k].strip():
            k += 1
        if k == len(lines) or _indent(lines[k]) <= indent:
            break
        j = k
    return j


def _explicit_blocks(block: list[str]) -> list[Block]:
    """The prose an explicit markup block holds (none for markup without text)."""
    first, body = block[0].strip(), textwrap.dedent("\n".join(block[1:]))
    if (directive := _DIRECTIVE.match(first)) is not None:
        name, argument = directive.group(1).lower(), directive.group(2).strip()
        if name in _NO_TEXT_DIRECTIVES:
            return []
        lines = body.splitlines()
        while lines and _OPTION.match(lines[0]):  # the directive's options (:class: x)
            lines.pop(0)
        if name in _LITERAL_DIRECTIVES:
            return [Block("text", p) for p in _paragraphs("\n".join(lines))]
        if name == "list-table":  # its rows, as a paragraph read (rendered) below
            lines = read_list_table(lines)
        if name in _ARGUMENT_NOT_TEXT:
            argument = ""
        elif name in _VERSION_NOTES and argument:  # "3.2" alone says nothing
            version, _, brief = argument.partition(" ")
            said = brief.strip() or any(line.strip() for line in lines)
            argument = f"{_VERSION_NOTES[name]} {version}{':' if said else '.'} {brief}".rstrip()
        prose = argument + ("\n" if name in _ADMONITIONS else "\n\n") + "\n".join(lines)
    elif (footnote := _FOOTNOTE.match(first)) is not None:
        prose = footnote.group(1) + "\n" + body
    else:
        return []  # a comment, a hyperlink target or a substitution definition
    return [b for b in _parse_rst(prose) if b.kind == "text"]


def _parse_rst(text: str) -> list[Block]:
    """Section titles (levels by order of first appearance of each style) and paragraphs.
    Explicit markup is dropped but for the prose of footnotes and directive bodies (see
    ``_explicit_blocks``), whose lines are dedented; inline markup in titles and prose is
    rendered (``index.rst_inline``); literal blocks (after "::") are kept as they are."""
    lines = text.splitlines()
    styles: dict[tuple[bool, str], int] = {}
    blocks: list[Block] = []
    para: list[str] = []
    literal = -1  # a literal block goes on while lines are indented more than this
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() and literal >= 0 and _indent(line) <= literal:
            literal = -1
        if not para and literal < 0 and _EXPLICIT.match(line.lstrip()):
            end = _block_end(lines, i, _indent(line))
            if line.strip() == ".." and (i + 1 == len(lines) or not lines[i + 1].strip()):
                end = i + 1  # an empty comment: it ends a construct and takes nothing after it
            blocks += _explicit_blocks(lines[i:end])
            i = end
            continue
        if (i == 0 or not lines[i - 1].strip()) and (found := _rst_title(lines, i)):
            title, style, used = found
            _add(blocks, "text", _read(para, literal < 0))
            para.clear()
            level = styles.setdefault(style, len(styles) + 1)
            _add(blocks, "heading", render_inline(title), min(level, 6))
            i += used
            continue
        if not line.strip() or (not para and _is_adornment(line) and len(line.strip()) >= 4):
            prose = literal < 0
            if para and para[-1].rstrip().endswith("::") and literal < 0:
                literal = _indent(para[0])
            _add(blocks, "text", _read(para, prose))  # blank line, or a transition (dropped)
            para.clear()
        else:
            para.append(line)
        i += 1
    _add(blocks, "text", _read(para, literal < 0))
    return blocks


def _read(lines: list[str], prose: bool) -> str:
    """A paragraph's text: prose with its inline markup rendered, a table row by row
    (``index.rst_tables``), a literal block as is."""
    text = "\n".join(lines)
    if not prose:
        return text
    rows = read_table(lines)
    return render_inline(text) if rows is None else "\n".join(render_inline(r) for r in rows)


# --- HTML (index/html_loader.py, imported on first use: bs4 is only needed to read HTML) --


def _parse_html(data: bytes | str) -> tuple[list[Block], str | None]:
    """Blocks of the page body, and the <title> text (used when there is no heading)."""
    from index.html_loader import parse_html

    return parse_html(data)


# --- PDF ----------------------------------------------------------------------------------


def _parse_pdf(data: bytes) -> list[Block]:
    """The metadata title (if any) as a level-1 heading, then each page's paragraphs."""
    from pypdf import PdfReader  # imported on first use: only builds read PDFs

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:  # many PDFs are "encrypted" with an empty user password only
                readable = bool(reader.decrypt(""))
            except Exception:  # missing AES backend, unknown scheme, ...
                readable = False
            if not readable:
                raise DocumentError("encrypted PDF")
        title = reader.metadata.title if reader.metadata else None
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except Exception as exc:
        # pypdf raises a zoo of types on damaged files (PdfReadError, ValueError, KeyError,
        # TypeError, AssertionError, RecursionError, ...); any of them means "broken PDF".
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise DocumentError(f"broken PDF: {reason}") from exc
    blocks: list[Block] = []
    for page in pages:
        for para in _paragraphs(page):
            _add(blocks, "text", para)
    if not blocks:
        raise DocumentError("no text found (scanned PDF?)")
    if isinstance(title, str) and title.strip():
        blocks.insert(0, Block("heading", title.strip(), 1))
    return blocks


# --- files --------------------------------------------------------------------------------

_TEXT_PARSERS: dict[str, Callable[[str], list[Block]]] = {".txt": _parse_text, ".text": _parse_text}
_TEXT_PARSERS |= {".md": _parse_markdown, ".markdown": _parse_markdown, ".rst": _parse_rst}


def _pretty_stem(path: PurePosixPath) -> str:
    """``getting_started-guide.md`` -> ``Getting started guide``."""
    words = re.sub(r"[\s_\-]+", " ", path.stem).strip()
    if not words:
        return path.name
    return words[0].upper() + words[1:] if words.islower() else words


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


DEFAULT_MAX_BYTES = 10_000_000
ONLY_HEADINGS = "no text to index (only headings)"


def _too_large(size: int, max_bytes: int) -> DocumentError:
    return DocumentError(
        f"too large ({size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:g} MB: "
        "split it or raise the size limit)"
    )


def load_file(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Load one file. Raises ``DocumentError`` with a short reason for any bad file,
    including one larger than ``max_bytes`` (embedding it would take very long)."""
    source = path.relative_to(root).as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"unsupported file type ({suffix or 'no extension'})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"unreadable: {_strerror(exc)}") from exc
    return load_data(source, data, max_bytes)


def load_data(source: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Load a document from its bytes; ``source`` (a ``/``-separated relative path) gives
    its name and, by its suffix, its type. Raises ``DocumentError`` like :func:`load_file`."""
    name = PurePosixPath(source)
    suffix = name.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"unsupported file type ({suffix or 'no extension'})")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if not data.strip():
        raise DocumentError("empty file")
    fallback_title = None
    if suffix == ".pdf":
        blocks = _parse_pdf(data)
    elif suffix in {".html", ".htm"}:
        # bytes without a byte-order mark go to the parser as they are: it honours <meta charset>
        markup = decode_text(data) if bom_encoding(data) else data
        if isinstance(markup, bytes) and b"\x00" in data[:BINARY_SNIFF_BYTES]:
            raise DocumentError("binary file")
        blocks, fallback_title = _parse_html(markup)
    else:
        blocks = _TEXT_PARSERS[suffix](decode_text(data))
    if not blocks:
        raise DocumentError("no text found")
    headings = (b.text for b in blocks if b.kind == "heading")
    title = next(headings, None) or fallback_title or _pretty_stem(name)
    return LoadedDocument(source, title, tuple(blocks), hashlib.sha256(data).hexdigest())


@dataclass
class _Walk:
    """State of one folder walk: files found (real path -> (path, reached via a symlink))."""

    root: Path
    real_root: Path
    files: dict[Path, tuple[Path, bool]] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)
    seen_dirs: set[Path] = field(default_factory=set)

    def skip(self, path: Path, reason: str) -> None:
        source = path.relative_to(self.root).as_posix()
        log.warning("Skipping %s: %s", source, reason)
        self.skipped.append(SkippedFile(source, reason))

    def walk(self, directory: Path, via_link: bool) -> None:
        real = directory.resolve()
        if via_link and real in self.seen_dirs:  # already walked (or a loop): nothing new
            return
        self.seen_dirs.add(real)
        try:
            entries = sorted(directory.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            if directory == self.root:
                raise SourceDocsError(f"Cannot read documents folder {self.root}: {exc}") from exc
            self.skip(directory, f"unreadable: {_strerror(exc)}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            link = entry.is_symlink()
            if link:
                try:
                    target = entry.resolve(strict=True)
                except (OSError, RuntimeError):  # missing target or symlink loop
                    self.skip(entry, "broken symlink")
                    continue
                if not target.is_relative_to(self.real_root):
                    self.skip(entry, "symlink points outside the documents folder")
                    continue
            if entry.is_dir():
                self.walk(entry, via_link or link)
            elif entry.is_file():
                key = entry.resolve()
                known = self.files.get(key)
                if known is None or (known[1] and not (via_link or link)):
                    self.files[key] = (entry, via_link or link)
            else:
                self.skip(entry, "not a regular file")


def load_documents(
    root: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_file: Callable[[int, int], None] | None = None,
) -> tuple[list[LoadedDocument], list[SkippedFile]]:
    """Load every supported file under ``root`` (recursively), sorted by source path.

    Unsupported and bad files are skipped (with a warning) and returned with the reason.
    ``on_file(done, total)`` is called after each file is read. Raises ``SourceDocsError``
    if ``root`` is missing, not a folder or unreadable.
    """
    if not root.exists():
        raise SourceDocsError(f"Documents folder not found: {root}")
    if not root.is_dir():
        raise SourceDocsError(f"Documents path is not a folder: {root}")
    state = _Walk(root, root.resolve())
    state.walk(root, via_link=False)
    documents: list[LoadedDocument] = []
    files = sorted(state.files.values(), key=lambda item: item[0].as_posix())
    for done, (path, _) in enumerate(files, start=1):
        try:
            documents.append(load_file(path, root, max_bytes))
        except DocumentError as exc:
            state.skip(path, str(exc))
        if on_file is not None:
            on_file(done, len(files))
    return documents, sorted(state.skipped, key=lambda s: s.source)
