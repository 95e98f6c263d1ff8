"""``askdocs report``: the text summary, the --json contract, periods and servers, errors in
one line, and the --html page checked in a real headless browser (chromium)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from browser import find_chromium, render
from report_fixtures import (
    DOC,
    EXPECTED,
    GUILD,
    HOSTILE,
    TIMING,
    UNUSED_DOC,
    UNUSED_TEXT,
    seed,
)

from bot.shared.insights import CONTRACT_VERSION, build_insights, insights_json
from bot.terminal.cli import main
from bot.terminal.report_html import report_html, write_html
from index.embedding import Embedder

COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}
EXAMPLES = {"type": "array", "items": TEXT}


def strict(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


# The README's "askdocs report --json contract": every key, no others.
CONTRACT = strict(
    {
        "version": {"const": CONTRACT_VERSION},
        "period": strict(
            {
                "days": {"type": "integer", "minimum": 1},
                "from": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d$"},
                "to": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d$"},
                "guild_id": {"type": ["string", "null"], "pattern": r"^\d+$"},
            }
        ),
        "questions": COUNT,
        "answered": COUNT,
        "refused": COUNT,
        "errors": COUNT,
        "votes": strict({"up": COUNT, "down": COUNT}),
        "askers": COUNT,
        "per_day": {
            "type": "array",
            "items": strict({"date": TEXT, "answered": COUNT, "refused": COUNT, "errors": COUNT}),
        },
        "top_questions": {
            "type": "array",
            "items": strict(
                {
                    "question": TEXT,
                    "count": {"type": "integer", "minimum": 1},
                    "answered": COUNT,
                    "refused": COUNT,
                    "up": COUNT,
                    "down": COUNT,
                    "source": {"type": ["string", "null"]},
                    "examples": EXAMPLES,
                }
            ),
        },
        "gaps": {
            "type": "array",
            "items": strict(
                {
                    "question": TEXT,
                    "count": {"type": "integer", "minimum": 1},
                    "refused": COUNT,
                    "down": COUNT,
                    "examples": EXAMPLES,
                }
            ),
        },
        "documents": strict(
            {
                "cited": {
                    "type": "array",
                    "items": strict({"source": TEXT, "answers": COUNT, "citations": COUNT}),
                },
                "never_cited": {"type": "array", "items": TEXT},
            }
        ),
    }
)


@pytest.fixture(autouse=True)
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """The CLI builds its own Engine; give it the session's already loaded model."""
    monkeypatch.setattr("index.engine.Embedder", lambda model: embedder)


@pytest.fixture
def folders(docs_dir: Path, tmp_path: Path) -> list[str]:
    (docs_dir / UNUSED_DOC).write_text(UNUSED_TEXT, encoding="utf-8")
    index = tmp_path / "ix"
    index.mkdir()
    seed(index / "questions.sqlite3", index / "feedback.sqlite3")
    return ["--source-docs", str(docs_dir), "--index-dir", str(index)]


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(["report", "--json", *argv]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object on one line
    return json.loads(out)


def test_json_contract(folders: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    got = report(capsys, *folders, "--guild", str(GUILD))
    jsonschema.validate(got, CONTRACT)
    assert {k: got[k] for k in ("questions", "answered", "refused", "errors")} == {
        k: EXPECTED[k] for k in ("questions", "answered", "refused", "errors")
    }
    assert got["votes"] == {"up": EXPECTED["up"], "down": EXPECTED["down"]}
    assert got["askers"] == 5 and got["period"]["days"] == 30 and len(got["per_day"]) == 30
    assert (
        got["period"]["guild_id"] == str(GUILD)
        and got["period"]["to"] == got["per_day"][-1]["date"]
    )
    assert sum(d["answered"] + d["refused"] + d["errors"] for d in got["per_day"]) == 16
    top = got["top_questions"][0]
    assert top == {
        "question": "When did the Hanoi summit break down?",
        "count": 6,
        "answered": 6,
        "refused": 0,
        "up": 4,
        "down": 0,
        "source": TIMING,
        "examples": ["When did the talks in Hanoi collapse?"],
    }
    gaps = [(g["question"], g["count"]) for g in got["gaps"]]
    assert gaps[0] == ("How do I bake bread?", 4)  # bread paraphrases together, largest first
    assert got["gaps"][0]["examples"] == ["What's a good bread recipe?"]
    assert ("Where are Kim and Putin meeting?", 3) in gaps  # 👎 answers are gaps too
    assert {q for q, _ in gaps} >= {"What is the capital of France?", HOSTILE}
    assert "Who is Kim meeting?" not in {q for q, _ in gaps}  # an error is not a gap
    assert got["documents"] == {
        "cited": [{"source": DOC, "answers": 9, "citations": 9}],
        "never_cited": [UNUSED_DOC],
    }


def test_periods_and_servers(folders: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    everyone = report(capsys, *folders)
    assert everyone["questions"] == 17 and everyone["period"]["guild_id"] is None
    longer = report(capsys, *folders, "--days", "60")
    assert longer["questions"] == 18 and len(longer["per_day"]) == 60  # the 40-day-old one
    today = report(capsys, *folders, "--days", "1", "--guild", str(GUILD))
    assert len(today["per_day"]) == 1 and 0 < today["questions"] < 16
    nobody = report(capsys, *folders, "--guild", "1")
    assert nobody["questions"] == 0 and nobody["top_questions"] == nobody["gaps"] == []
    assert nobody["documents"]["never_cited"] == sorted([DOC, UNUSED_DOC])
    jsonschema.validate(nobody, CONTRACT)


def test_text_report_puts_gaps_first(
    folders: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", *folders, "--guild", str(GUILD)]) == 0
    out = capsys.readouterr().out
    assert "16 questions from 5 people: 9 answered (56%), 6 refused (38%), 1 error\n" in out
    assert "👍 4 / 👎 3" in out
    assert out.index("Coverage gaps") < out.index("Top questions") < out.index("Most cited")
    assert "   4 × How do I bake bread?" in out and "~ What's a good bread recipe?" in out
    assert f"Never cited (1 indexed documents):\n  {UNUSED_DOC}" in out


@pytest.mark.parametrize("days", ["0", "-3", "x", "3651"])
def test_bad_days_are_usage_errors(days: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", "--days", days])
    assert exc.value.code == 2
    assert "--days" in capsys.readouterr().err


def test_no_log_or_a_corrupt_log_is_one_line(
    docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = ["--source-docs", str(docs_dir), "--index-dir", str(tmp_path / "ix")]
    assert main(["report", *folders]) == 1
    err = capsys.readouterr().err
    assert err.startswith("askdocs: error: no question log at") and err.count("\n") == 1
    assert "ASKDOCS_QUESTION_LOG=true" in err
    assert not (tmp_path / "ix").exists()  # nothing created by looking
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "questions.sqlite3").write_bytes(b"garbage " * 500)
    assert main(["report", *folders]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a database" in err and "Traceback" not in err


# -- the HTML page -------------------------------------------------------------------------------
def test_html_is_written_atomically_and_self_contained(
    folders: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    page.write_text("an older report", encoding="utf-8")
    assert main(["report", *folders, "--html", str(page)]) == 0
    assert "Wrote the report for 17 questions" in capsys.readouterr().out
    assert [p.name for p in page.parent.iterdir()] == ["report.html"]  # no temporary left
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "default-src 'none'" in html
    assert not re.search(
        r"<script|<link|<img|@import|url\(|https?://(?!www\.w3\.org/2000/svg)", html
    )
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert main(["report", *folders, "--html", str(tmp_path / "missing" / "r.html")]) == 1
    assert capsys.readouterr().err.startswith("askdocs: error: cannot write")


PROBE = """JSON.stringify({
  headings: [...document.querySelectorAll('h2')].map(h => h.textContent),
  tables: [...document.querySelectorAll('table')].map(t => t.rows.length),
  charts: [...document.querySelectorAll('svg')].map(s => {
    const box = s.getBoundingClientRect();
    return {label: s.getAttribute('aria-label'), width: Math.round(box.width),
            height: Math.round(box.height), bars: s.querySelectorAll('rect').length};
  }),
  scripts: document.scripts.length,
  text: document.body.innerText,
  overflow: document.documentElement.scrollWidth > window.innerWidth,
})"""


def test_html_page_renders_in_chromium_without_errors(
    folders: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if find_chromium() is None:
        pytest.skip("chromium is not installed (scripts/chromium.sh installs it as root)")
    page = tmp_path / "report.html"
    assert main(["report", *folders, "--html", str(page)]) == 0
    shown = render(page, PROBE)
    assert shown.exceptions == [] and shown.console == [] and shown.log_entries == []
    assert shown.requests == [page.resolve().as_uri()]  # nothing else fetched
    facts = json.loads(shown.facts)
    assert facts["headings"][:2] == ["Coverage gaps", "Questions per day"]
    assert "Top questions" in facts["headings"] and "Never cited (1)" in facts["headings"]
    assert facts["scripts"] == 0  # the hostile question stayed text
    assert HOSTILE in facts["text"] and "How do I bake bread?" in facts["text"]
    gaps, top, documents = facts["tables"]
    assert gaps >= 5 and top >= 5 and documents == 2  # rows, header included
    charts = {c["label"]: c for c in facts["charts"]}
    assert set(charts) == {
        "questions per day, answered, refused and errors",
        "9 answered, 7 refused",
        "citations per document",
    }
    assert all(c["width"] > 500 and c["height"] > 20 and c["bars"] > 0 for c in charts.values())
    assert not facts["overflow"]
    assert shown.screenshot.startswith(b"\x89PNG") and len(shown.screenshot) > 30_000
    keep = os.environ.get("ASKDOCS_KEEP_SCREENSHOT")  # to look at it: a path to write it to
    if keep:
        Path(keep).write_bytes(shown.screenshot)


def test_empty_report_page_renders(tmp_path: Path) -> None:
    empty = build_insights([], {}, ["a.txt"], lambda texts: None, days=7, now=1.8e9)  # type: ignore[arg-type,return-value]
    html = report_html(empty)
    assert "No questions in this period." in html and "None in this period." in html
    assert (empty.first_day, empty.last_day) == ("2027-01-09", "2027-01-15")  # 1.8e9: the 15th
    jsonschema.validate(insights_json(empty), CONTRACT)
    write_html(tmp_path / "empty.html", empty)
    if find_chromium() is None:
        pytest.skip("chromium is not installed (scripts/chromium.sh installs it as root)")
    shown = render(tmp_path / "empty.html", "document.querySelectorAll('svg').length")
    assert shown.exceptions == shown.console == shown.log_entries == []
    assert shown.facts == 1  # the per-day axis, empty
