"""Terminal and JSON renderings of engine answers and build reports."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

from bot.shared.citation import citation, shown_name
from index.models import Answer, BuildReport, Passage

_BOLD, _DIM, _YELLOW, _RESET = "\033[1m", "\033[2m", "\033[33m", "\033[0m"


def answer_json(answer: Answer) -> dict[str, Any]:
    """The stable ``askdocs ask --json`` contract (see README)."""
    best = answer.best
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "answer": None
        if best is None
        else {"text": answer.text, "source": best.source, "heading": list(best.heading)},
        "passages": [
            {
                "text": p.text,
                "source": p.source,
                "heading": list(p.heading),
                "score": p.score,
                "start": p.start,
                "end": p.end,
            }
            for p in answer.passages
        ],
    }


def answer_json_line(answer: Answer) -> str:
    return json.dumps(answer_json(answer), ensure_ascii=False)


def answer_text(
    answer: Answer,
    *,
    color: bool,
    width: int = 88,
    titles: Mapping[str, str] | None = None,
) -> str:
    """A readable terminal answer: highlighted sentence(s), the passage, the sources.
    ``titles`` (source -> document title) lets citations leave the title out."""
    style = _Style(color)
    lines = [style.bold(f"Q: {answer.question}"), ""]
    if answer.abstained:
        lines.append(
            style.yellow("Not in the documents.")
            + f" (confidence {answer.confidence:.2f}) Try rephrasing with words the documents use."
        )
        if answer.passages:
            lines += ["", style.dim("Closest passages (not an answer):")]
            lines += [
                f"  - {citation(p, titles)}: {_shorten(p.text, 100)}" for p in answer.passages
            ]
        return "\n".join(lines)
    best = answer.passages[0]
    lines.append(style.bold("Answer: ") + answer.text)
    lines.append("")
    for para in _highlight(best, style).split("\n\n"):
        lines += textwrap.wrap(para, width, initial_indent="  │ ", subsequent_indent="  │ ") or [""]
    lines.append("")
    lines.append(f"  Source: {citation(best, titles)}  (confidence {answer.confidence:.2f})")
    if len(answer.passages) > 1:
        lines += ["", style.dim("Also relevant:")]
        lines += [
            f"  {i}. {citation(p, titles)} ({p.score:.2f}): {_shorten(p.text, 100)}"
            for i, p in enumerate(answer.passages[1:], start=2)
        ]
    return "\n".join(lines)


def report_text(report: BuildReport) -> str:
    """A build summary for the terminal (and logs)."""
    lines = [
        f"Indexed {report.chunks} chunks in {report.seconds:.2f}s "
        f"({report.embedded_chunks} embedded{', full rebuild' if report.full_rebuild else ''}).",
        f"Documents: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, "
        f"{len(report.skipped)} skipped.",
    ]
    for label, names in (
        ("added", report.added),
        ("changed", report.changed),
        ("removed", report.removed),
    ):
        lines += [f"  {label}: {shown_name(name)}" for name in names]
    lines += [f"  skipped: {shown_name(s.source)} ({s.reason})" for s in report.skipped]
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def _highlight(passage: Passage, style: _Style) -> str:
    text, out, pos = passage.text, [], 0
    for start, end in passage.highlights:
        out += [text[pos:start], style.highlight(text[start:end])]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _shorten(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width, placeholder=" …")


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def bold(self, text: str) -> str:
        return self._wrap(_BOLD, text)

    def dim(self, text: str) -> str:
        return self._wrap(_DIM, text)

    def yellow(self, text: str) -> str:
        return self._wrap(_YELLOW, text)

    def highlight(self, text: str) -> str:
        return self._wrap(_BOLD + _YELLOW, text) if self.color else f"»{text}«"
