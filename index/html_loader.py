"""HTML pages into heading and paragraph blocks (``index.loaders`` imports it on first use)."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from bs4 import XMLParsedAsHTMLWarning as _XMLWarning
from bs4.element import NavigableString, PreformattedString, Tag
from bs4.exceptions import ParserRejectedMarkup

from index.errors import DocumentError
from index.loaders import _add
from index.models import Block

# We parse XHTML and arbitrary user files with html.parser on purpose; these bs4 hints are noise.
warnings.filterwarnings("ignore", category=_XMLWarning)
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)

_HTML_DROP = frozenset({"script", "style", "noscript", "template", "head", "title", "nav"})
# Page chrome by class: DocBook's and Sphinx's navigation, tables of contents, and the "¶"
# permalink Sphinx and MkDocs put in every heading ("Installation¶").
_HTML_NAV_CLASSES = frozenset(
    {"navheader", "navfooter", "toc", "breadcrumb", "breadcrumbs", "headerlink",
     "toctree-wrapper", "sphinxsidebar"}
)  # fmt: skip
_HTML_CHROME_ROLES = frozenset({"navigation", "search", "contentinfo", "banner"})
_HTML_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HTML_LEAVES = frozenset({"p", "li", "pre", "blockquote", "dd", "dt", "td", "th", "figcaption"})
_HTML_CONTAINERS = "html body div section article main aside header footer ul ol dl table thead"
_HTML_CONTAINERS += " tbody tfoot tr caption figure details summary address hr fieldset form"
_HTML_BLOCKS = _HTML_LEAVES | _HTML_HEADINGS | frozenset(_HTML_CONTAINERS.split())
_HTML_CELL_PARTS = frozenset({"td", "th", "p"})  # what a plain table row's cells hold
_HTML_ROW_BLOCKS = _HTML_BLOCKS - _HTML_CELL_PARTS  # blocks that make a row no plain row
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


def _html_dropped(tag: Tag) -> bool:
    """Page chrome: scripts, navigation, search boxes, the page's banner and footer
    (``role``), permalinks, and header/footer outside an article."""
    if tag.name in _HTML_DROP or tag.get("role") in _HTML_CHROME_ROLES:
        return True
    if _HTML_NAV_CLASSES.intersection(tag.get("class") or ()):
        return True
    return tag.name in {"header", "footer"} and tag.find_parent(["article", "main"]) is None


def _inline_text(node: object) -> str:
    """Text of inline content as rendered: whitespace runs collapsed, <br> as a newline."""
    if isinstance(node, PreformattedString):  # comments, doctype, CDATA, processing instr.
        return ""
    if isinstance(node, NavigableString):
        return _HTML_SPACE.sub(" ", str(node))
    if not isinstance(node, Tag) or _html_dropped(node):
        return ""
    if node.name == "br":
        return "\n"
    return "".join(_inline_text(child) for child in node.children)


def _table_row(node: Tag) -> str | None:
    """A table row of plain cells read across, as a reader reads it: the cells' text
    joined by " | " ("--verbose | Print more"); None for anything else (a cell holding
    lists or paragraphs of its own is read block by block)."""
    if node.name != "tr" or node.find(_HTML_ROW_BLOCKS) is not None:
        return None
    cells = (
        _HTML_SPACE.sub(" ", _inline_text(cell)).strip() for cell in node.find_all(["td", "th"])
    )
    return " | ".join(cell for cell in cells if cell)


def _walk_html(node: Tag, blocks: list[Block]) -> None:
    """Emit heading/text blocks for ``node``'s children in order; bare text runs between
    block elements become paragraphs, leaf blocks (p, li, ...) are emitted once."""
    run: list[str] = []

    def flush() -> None:
        _add(blocks, "text", re.sub(r" *\n *", "\n", "".join(run)))
        run.clear()

    for child in node.children:
        if isinstance(child, Tag) and _html_dropped(child):
            continue
        if not isinstance(child, Tag) or (
            child.name not in _HTML_BLOCKS and child.find(_HTML_BLOCKS) is None
        ):
            run.append(_inline_text(child))
            continue
        flush()
        if child.name in _HTML_HEADINGS:
            _add(blocks, "heading", _inline_text(child), int(child.name[1]))
        elif child.name == "pre":
            _add(blocks, "text", child.get_text())
        elif child.name in _HTML_LEAVES and child.find(_HTML_BLOCKS) is None:
            _add(blocks, "text", re.sub(r" *\n *", "\n", _inline_text(child)))
        elif (row := _table_row(child)) is not None:
            _add(blocks, "text", row)
        else:
            _walk_html(child, blocks)
    flush()


def parse_html(data: bytes | str) -> tuple[list[Block], str | None]:
    """Blocks of the page body, and the <title> text (used when there is no heading)."""
    try:
        soup = BeautifulSoup(data, "html.parser")
        blocks: list[Block] = []
        _walk_html(soup, blocks)
    except ParserRejectedMarkup as exc:
        raise DocumentError(f"broken HTML: {exc}") from exc
    except RecursionError as exc:
        raise DocumentError("broken HTML: nested too deeply") from exc
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    return blocks, title or None
