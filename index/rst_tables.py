"""reST grid and simple tables read row by row, as a reader of the built page reads them.

In the source a table is drawn with ``+``, ``-``, ``=`` and ``|``; on the page those lines
are gone and each row reads across its cells. ``read_table`` gives one line per row, the
cells' words joined by `` | `` (a cell over several source lines is one cell), so a row
reads "-v | Output more detail" instead of "| -v  | Output more |" / "|     | detail      |".

- A *grid table* starts and ends with a border (``+---+---+``); the first border's ``+``
  marks the columns, and every line starting with ``+`` ends a row (a cell spanning rows
  is read as one part per row).
- A *list table* (the ``list-table`` directive's body) is a list of rows, each a list of
  cells: ``* - Key`` starts a row, ``  - Action`` starts a cell; a cell's own list reads as
  its items joined by ", ".
- A *simple table* starts with a border of at least two columns (``=====  =====``), whose
  runs of ``=`` mark the columns (the last one runs to the end of the line); lines of ``=``
  or ``-`` separate rows, and a line whose first column is blank goes on the row above.
"""

from __future__ import annotations

import itertools
import re

_GRID_BORDER = re.compile(r"\+(?:[-=]+\+)+")
_SIMPLE_BORDER = re.compile(r"=+(?: +=+)+")
_SIMPLE_RULE = re.compile(r"[-=]+(?: +[-=]+)*")
_RUN = re.compile(r"=+")


def read_table(lines: list[str]) -> list[str] | None:
    """The rows of the grid or simple table ``lines`` hold, each as its cells' text joined
    by " | " (empty cells left out); None when the lines are no such table."""
    stripped = [line.strip() for line in lines]
    if len(lines) < 3:
        return None
    if _GRID_BORDER.fullmatch(stripped[0]) and _GRID_BORDER.fullmatch(stripped[-1]):
        return _grid(lines)
    if _SIMPLE_BORDER.fullmatch(stripped[0]) and _SIMPLE_BORDER.fullmatch(stripped[-1]):
        return _simple(lines)
    return None


def _join(rows: list[list[list[str]]]) -> list[str]:
    texts = []
    for cells in rows:
        words = [" ".join(" ".join(part).split()) for part in cells]
        if text := " | ".join(w for w in words if w):
            texts.append(text)
    return texts


def _grid(lines: list[str]) -> list[str]:
    indent = len(lines[0]) - len(lines[0].lstrip())
    border = lines[0][indent:].rstrip()
    edges = [i for i, ch in enumerate(border) if ch == "+"]
    rows: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in lines[1:]:
        body = line[indent:].rstrip()
        if body.startswith("+"):
            if current is not None:
                rows.append(current)
            current = None
            continue
        current = current or [[] for _ in edges[1:]]
        for column, (left, right) in enumerate(itertools.pairwise(edges)):
            current[column].append(body[left + 1 : right].strip(" |"))
    if current is not None:
        rows.append(current)
    return _join(rows)


def _simple(lines: list[str]) -> list[str]:
    indent = len(lines[0]) - len(lines[0].lstrip())
    runs = [(m.start(), m.end()) for m in _RUN.finditer(lines[0][indent:].rstrip())]
    spans = [
        (start, runs[k + 1][0] if k + 1 < len(runs) else None) for k, (start, _) in enumerate(runs)
    ]
    rows: list[list[list[str]]] = []
    for line in lines[1:]:
        body = line[indent:].rstrip()
        if not body.strip() or _SIMPLE_RULE.fullmatch(body.strip()):
            continue
        cells = [body[start:end].strip() for start, end in spans]
        if rows and not cells[0]:  # the first column blank: the row above goes on
            for part, cell in zip(rows[-1], cells, strict=True):
                part.append(cell)
        else:
            rows.append([[cell] for cell in cells])
    return _join(rows)


_ROW = re.compile(r"[*+-][ \t]+[*+-](?:[ \t]+|$)")  # "* - " starts a row and its first cell
_ITEM = re.compile(r"[*+-](?:[ \t]+|$)")  # "- " starts a cell (or an item inside one)
_MARKERS = re.compile(r"^(?:[*+-](?:[ \t]+|$))+")  # the markers a line starts with


def read_list_table(lines: list[str]) -> list[str]:
    """The rows of a ``list-table`` body (dedented, options removed), read as
    ``read_table`` reads a drawn table's."""
    rows: list[list[list[str]]] = []
    for line in lines:
        body = line.rstrip()
        indent = len(body) - len(body.lstrip())
        text = body.strip()
        if not text:
            continue
        words = _MARKERS.sub("", text)
        if indent == 0 and _ROW.match(text):
            rows.append([[words]])
        elif not rows:
            continue
        elif indent <= 2 and _ITEM.match(text):
            rows[-1].append([words])
        elif words:  # the cell goes on; an item of its own list is set off by a comma
            cell = rows[-1][-1]
            if words != text and cell[-1]:
                cell[-1] += ", " + words
            else:
                cell.append(words)
    return _join(rows)
