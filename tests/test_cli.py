"""The command line: JSON contract, stdin mode, exit statuses, messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.terminal.cli import main
from index.embedding import Embedder


@pytest.fixture(autouse=True)
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """The CLI builds its own Engine; give it the session's already loaded model."""
    monkeypatch.setattr("index.engine.Embedder", lambda model: embedder)
    monkeypatch.delenv("ASKDOCS_TOP_K", raising=False)


@pytest.fixture
def folders(docs_dir: Path, tmp_path: Path) -> list[str]:
    return ["--source-docs", str(docs_dir), "--index-dir", str(tmp_path / "ix")]


PASSAGE_KEYS = {
    "text": str,
    "source": str,
    "heading": list,
    "score": float,
    "start": int,
    "end": int,
}


def _check_contract(obj: dict) -> None:
    assert set(obj) == {"question", "abstained", "confidence", "answer", "passages"}
    assert isinstance(obj["question"], str) and isinstance(obj["abstained"], bool)
    assert isinstance(obj["confidence"], float) and 0 <= obj["confidence"] <= 1
    if obj["answer"] is not None:
        assert set(obj["answer"]) == {"text", "source", "heading"}
        assert isinstance(obj["answer"]["text"], str) and isinstance(obj["answer"]["heading"], list)
    for p in obj["passages"]:
        assert set(p) == set(PASSAGE_KEYS)
        for key, kind in PASSAGE_KEYS.items():
            assert isinstance(p[key], kind), key
    scores = [p["score"] for p in obj["passages"]]
    assert len(scores) <= 3


def test_json_contract(folders: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["ask", "--json", *folders, "Does Russia border North Korea?", "How do I bake bread?"]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    for obj in (first, second):
        _check_contract(obj)
    assert first["question"] == "Does Russia border North Korea?"
    assert not first["abstained"] and first["answer"]["source"] == "kim-jong-un-putin-meeting.txt"
    assert "Russia shares a border with North Korea" in first["answer"]["text"]
    assert first["answer"]["text"] in first["passages"][0]["text"]
    assert second["abstained"] and second["answer"] is None and second["passages"]


def test_questions_from_stdin(
    folders: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["Who is Kim Jong Un meeting?", "", "Which U.S. president did Kim meet?"]
    monkeypatch.setattr(sys, "stdin", _stdin("\n".join(questions).encode() + b"\n"))
    assert main(["ask", "--json", "--top-k", "1", *folders]) == 0
    objs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["question"] for o in objs] == [q for q in questions if q]
    assert all(len(o["passages"]) == 1 for o in objs)
    assert "Donald Trump" in objs[1]["passages"][0]["text"]


def _stdin(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_bad_stdin_lines_lose_nothing(
    folders: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invalid UTF-8 and an over-long line are reported one line each; the rest answered."""
    data = b"Who is Kim Jong Un meeting?\n\xff\xfe bad bytes\n" + b"x" * 5000 + b"\nWhy now?\n"
    monkeypatch.setattr(sys, "stdin", _stdin(data))
    assert main(["ask", "--json", *folders]) == 2
    captured = capsys.readouterr()
    objs = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["question"] for o in objs] == ["Who is Kim Jong Un meeting?", "Why now?"]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and "line 2 of standard input is not valid UTF-8" in errors[0]
    assert "too long" in errors[1] and "Traceback" not in captured.err


def test_undecodable_argument_is_a_usage_error(
    folders: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = b"who \xff".decode("utf-8", "surrogateescape")  # what Python makes of such argv
    assert main(["ask", *folders, bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("askdocs: error: question 1 is not valid UTF-8")
    assert len(err.splitlines()) == 1


def test_readable_answer(folders: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", *folders, "When did the Hanoi Summit break down?"]) == 0
    out = capsys.readouterr().out
    assert "Answer: " in out and "2019" in out
    assert "Source: kim-jong-un-putin-meeting.txt › The Timing" in out
    assert "»" in out  # highlighted sentence (no colours when not a terminal)


def test_file_name_with_a_newline_stays_on_one_report_line(
    docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (docs_dir / "odd\nname.md").write_text("# Odd\n\nA document with an odd name.\n")
    (docs_dir / "bad\rname.txt").write_bytes(b"\x00\x01")
    args = ["--source-docs", str(docs_dir), "--index-dir", str(tmp_path / "ix")]
    assert main(["index", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  added: odd\\nname.md" in lines
    assert "  skipped: bad\\rname.txt (binary file)" in lines


def test_citation_leaves_the_document_title_out(
    folders: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The title run into the first paragraph is the document's title: the file name says it."""
    assert main(["ask", *folders, "Who is Kim Jong Un meeting?"]) == 0
    out = capsys.readouterr().out
    assert "  Source: kim-jong-un-putin-meeting.txt  (confidence" in out


def test_verbose_explains_the_decision(
    folders: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.terminal.cli")
    assert main(["ask", "-v", *folders, "Who is Kim Jong Un meeting?", "Best pizza topping?"]) == 0
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "bot.terminal.cli")
    assert "answered 'Who is Kim Jong Un meeting?' with confidence" in said
    assert "refused 'Best pizza topping?' with confidence" in said and "on topic" in said


def test_index_command_reports(folders: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", *folders]) == 0
    out = capsys.readouterr().out
    assert "1 added, 0 changed, 0 removed, 0 unchanged, 0 skipped" in out
    assert main(["index", *folders]) == 0
    assert "0 added, 0 changed, 0 removed, 1 unchanged" in capsys.readouterr().out


def test_options_before_or_after_command(
    docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--index-dir", str(tmp_path / "a"), "index", "--source-docs", str(docs_dir)]) == 0
    assert (tmp_path / "a" / "CURRENT").exists()


def test_env_selects_folders(
    docs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASKDOCS_SOURCE_DOCS", str(docs_dir))
    monkeypatch.setenv("ASKDOCS_INDEX_DIR", str(tmp_path / "env-ix"))
    assert main(["index"]) == 0
    assert (tmp_path / "env-ix" / "CURRENT").exists()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["ask", "   "], 2, "the question is empty"),
        (["ask", "x" * 5000], 2, "too long"),
        (
            ["ask", "--source-docs", "/nonexistent/docs", "--index-dir", "/tmp/askdocs-none", "hi"],
            1,
            "/nonexistent/docs",
        ),
    ],
)
def test_errors_exit_codes(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("askdocs: error:") == 1


@pytest.mark.parametrize("argv", [["ask", "--top-k", "0", "q"], ["nonsense"], []])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_console_script_error_is_one_line(tmp_path: Path) -> None:
    """The installed entry point: no traceback, exit status 1, one line on stderr."""
    askdocs = Path(sys.executable).with_name("askdocs")
    result = subprocess.run(
        [
            str(askdocs),
            "index",
            "--source-docs",
            str(tmp_path / "missing"),
            "--index-dir",
            str(tmp_path / "ix"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("askdocs: error:") and "missing" in lines[-1]
    assert "Traceback" not in result.stderr


def test_os_errors_are_one_line(
    docs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code = main(["index", "--source-docs", str(docs_dir), "--index-dir", str(not_a_folder)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert str(not_a_folder) in err


def test_broken_feedback_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "feedback.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("ASKDOCS_FEEDBACK_DB", str(garbage))
    assert main(["feedback"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("askdocs: error: feedback database") and "Traceback" not in err


def test_run_without_token_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ASKDOCS_DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    assert main(["run"]) == 1
    assert "ASKDOCS_DISCORD_TOKEN" in capsys.readouterr().err
