"""``askdocs report --html FILE``: one self-contained page, the report's tables plus charts.

Inline CSS and inline SVG only: no script, no font, no image, nothing fetched (a Content
Security Policy of ``default-src 'none'`` says so to the browser too), so the file can be
mailed or opened offline. Every text from the log or the documents is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from pathlib import Path

from bot.shared.citation import shown_name
from bot.shared.insights import DayCount, DocumentCitations, Insights, QuestionCluster

CHART_WIDTH = 720
CHART_DOCUMENTS = 15  # bars in the citations chart
COLOURS = {"answered": "#2e8b57", "refused": "#e07b00", "errors": "#c0392b"}

_STYLE = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; color: #222; margin: 2rem auto;
       max-width: 60rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.period { color: #555; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; } td.n { text-align: right; white-space: nowrap; }
.ex { color: #666; font-size: .85rem; } .none { color: #777; font-style: italic; }
svg { width: 100%; height: auto; font-size: 11px; }
svg text { fill: #333; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
            vertical-align: -1px; }
"""


def write_html(path: Path, insights: Insights) -> None:
    """Write the page to ``path`` atomically (a temporary file beside it, then a rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(report_html(insights))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "–"


def report_html(insights: Insights) -> str:
    ins = insights
    where = f" · guild {ins.guild_id}" if ins.guild_id is not None else ""
    title = f"askdocs report {ins.first_day} – {ins.last_day}"
    cards = [
        ("questions", f"{ins.questions}"),
        ("answered", f"{ins.answered} ({_pct(ins.answered, ins.questions)})"),
        ("refused", f"{ins.refused} ({_pct(ins.refused, ins.questions)})"),
        ("errors", f"{ins.errors}"),
        ("votes up / down", f"{ins.up} / {ins.down}"),
        ("people asking", f"{ins.askers}"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="period">{ins.days} days, UTC{_e(where)}</p>',
        '<div class="cards">'
        + "".join(f"<div class=card><b>{_e(v)}</b>{_e(k)}</div>" for k, v in cards)
        + "</div>",
        '<h2 id="gaps">Coverage gaps</h2>',
        "<p>Questions the documents did not answer (refused) or whose answers got more "
        "votes down than up, grouped by meaning, largest first.</p>",
        _clusters_table(ins.gaps, gap=True),
        '<h2 id="per-day">Questions per day</h2>',
        _legend(),
        _per_day_chart(ins.per_day),
        '<h2 id="outcomes">Answered vs refused</h2>',
        _outcome_chart(ins),
        '<h2 id="top">Top questions</h2>',
        _clusters_table(ins.top_questions, gap=False),
        '<h2 id="citations">Citations per document</h2>',
        _citations_chart(ins.cited[:CHART_DOCUMENTS]),
        _documents_table(ins.cited),
        f'<h2 id="never-cited">Never cited ({len(ins.never_cited)})</h2>',
        "<p>Indexed documents no answer cited in the period.</p>",
        _never_cited(ins.never_cited),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _none(what: str) -> str:
    return f'<p class="none">{_e(what)}</p>'


def _clusters_table(clusters: tuple[QuestionCluster, ...], *, gap: bool) -> str:
    if not clusters:
        return _none("None in this period.")
    if gap:
        head = "<tr><th>asked</th><th>question (and other ways it was asked)</th>"
        head += "<th>refused</th><th>votes down</th></tr>"
    else:
        head = "<tr><th>asked</th><th>question (and other ways it was asked)</th>"
        head += "<th>answered</th><th>refused</th><th>usually answered from</th></tr>"
    rows = []
    for c in clusters:
        examples = "".join(f'<div class="ex">~ {_e(x)}</div>' for x in c.examples)
        cells = [f'<td class="n">{c.count}</td>', f"<td>{_e(c.question)}{examples}</td>"]
        if gap:
            cells += [f'<td class="n">{c.refused}</td>', f'<td class="n">{c.down}</td>']
        else:
            source = _e(shown_name(c.source)) if c.source else '<span class="none">never</span>'
            cells += [
                f'<td class="n">{c.answered}</td>',
                f'<td class="n">{c.refused}</td>',
                f"<td>{source}</td>",
            ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _documents_table(cited: tuple[DocumentCitations, ...]) -> str:
    if not cited:
        return _none("No document was cited in this period.")
    rows = "".join(
        f"<tr><td>{_e(shown_name(c.source))}</td><td class=n>{c.answers}</td>"
        f"<td class=n>{c.citations}</td></tr>"
        for c in cited
    )
    head = "<tr><th>document</th><th>answers quoting it</th><th>answers citing it</th></tr>"
    return f"<table>{head}{rows}</table>"


def _never_cited(sources: tuple[str, ...]) -> str:
    if not sources:
        return _none("Every indexed document was cited.")
    items = "".join(f"<li>{_e(shown_name(s))}</li>" for s in sources)
    return f"<ul>{items}</ul>"


def _legend() -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i style="background:{c}"></i>{k}</span>' for k, c in COLOURS.items())
        + "</p>"
    )


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5, 10, 20, 50, ...)."""
    if value <= 1:
        return 1
    scale = int(10 ** math.floor(math.log10(value)))
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= value)


def _svg(height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="{_e(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>'
    )


def _per_day_chart(days: tuple[DayCount, ...]) -> str:
    left, right, top, bottom, height = 40, 10, 10, 28, 220
    plot_w, plot_h = CHART_WIDTH - left - right, height - top - bottom
    peak = _nice_max(max((d.total for d in days), default=0))
    body = []
    for tick in (0, peak // 2, peak) if peak % 2 == 0 else (0, peak):
        y = top + plot_h - plot_h * tick / peak
        body.append(
            f'<line x1="{left}" x2="{CHART_WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    slot = plot_w / max(len(days), 1)
    label_every = max(1, math.ceil(len(days) / 8))
    for n, day in enumerate(days):
        x = left + n * slot + slot * 0.1
        y = top + plot_h
        for kind, count in (("answered", day.answered), ("refused", day.refused),
                            ("errors", day.errors)):  # fmt: skip
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[kind]}"><title>{day.date}: {count} {kind}</title></rect>'
            )
        if n % label_every == 0:
            body.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{height - 10}" text-anchor="middle">'
                f"{day.date[5:]}</text>"
            )
    return _svg(height, "questions per day, answered, refused and errors", body)


def _outcome_chart(ins: Insights) -> str:
    height, bar_y, bar_h = 64, 8, 30
    total = ins.questions
    if not total:
        return _none("No questions in this period.")
    body, x = [], 0.0
    for kind, count in (("answered", ins.answered), ("refused", ins.refused),
                        ("errors", ins.errors)):  # fmt: skip
        if not count:
            continue
        w = CHART_WIDTH * count / total
        body.append(
            f'<rect x="{x:.1f}" y="{bar_y}" width="{w:.1f}" height="{bar_h}" '
            f'fill="{COLOURS[kind]}"><title>{count} {kind}</title></rect>'
        )
        if w > 90:
            body.append(
                f'<text x="{x + w / 2:.1f}" y="{bar_y + bar_h + 18}" text-anchor="middle">'
                f"{kind} {count} ({_pct(count, total)})</text>"
            )
        x += w
    return _svg(height, f"{ins.answered} answered, {ins.refused} refused", body)


def _citations_chart(cited: tuple[DocumentCitations, ...]) -> str:
    if not cited:
        return ""
    label_w, row_h, top = 260, 24, 6
    height = top * 2 + row_h * len(cited)
    peak = max(c.citations for c in cited)
    bar_room = CHART_WIDTH - label_w - 50
    body = []
    for n, c in enumerate(cited):
        y = top + n * row_h
        name = shown_name(c.source)
        name = name if len(name) <= 38 else name[:37] + "…"
        w = max(bar_room * c.citations / peak, 1.0)
        body.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_e(name)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="#3b6fb6"><title>{_e(shown_name(c.source))}: cited by {c.citations} '
            f"answers</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{c.citations}</text>'
        )
    return _svg(height, "citations per document", body)
