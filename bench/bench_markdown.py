"""The Debian FAQ as Markdown: how well askdocs answers from a Markdown docs set.

    .venv/bin/pip install markdownify   # the converter; not a dependency of askdocs
    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_markdown.py

Our Markdown question set is the Debian FAQ's (tests/data/debian_faq_eval.jsonl): its 17
HTML pages are converted to Markdown by markdownify (ATX headings; links, emphasis, code,
lists and tables as Markdown writes them), indexed in a temporary folder, and asked the
set's questions. Prints the figures of each half and of the shared dev set when it is there
(``../shared/eval/debian_faq_dev.jsonl``), as tests/test_quality.py prints them for HTML.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from external import Unavailable, debian_faq_dir  # noqa: E402

from index.engine import Engine, EngineConfig  # noqa: E402
from index.evaluation import evaluate, load_cases  # noqa: E402

CASES = ROOT / "tests" / "data" / "debian_faq_eval.jsonl"
SHARED = ROOT.parent / "shared" / "eval" / "debian_faq_dev.jsonl"


def convert(pages: Path, target: Path) -> int:
    """Write each HTML page of ``pages`` to ``target`` as Markdown; how many pages."""
    from markdownify import markdownify

    count = 0
    for page in sorted(pages.glob("*.html")):
        html = page.read_text(encoding="utf-8", errors="replace")
        markdown = markdownify(html, heading_style="ATX", strip=["script", "style"])
        (target / f"{page.stem}.md").write_text(markdown, encoding="utf-8")
        count += 1
    return count


def main() -> int:
    try:
        import markdownify  # noqa: F401
    except ImportError:
        print("needs markdownify: .venv/bin/pip install markdownify", file=sys.stderr)
        return 1
    try:
        pages = debian_faq_dir()
    except Unavailable as exc:
        print(f"the Debian FAQ is not available: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        print(f"converted {convert(pages, docs)} pages of {pages} to Markdown")
        engine = Engine(EngineConfig(docs, Path(tmp) / "index"))
        engine.open()
        sets = [(f"{split} half", load_cases(CASES, split)) for split in ("tune", "test")]
        if SHARED.exists():
            sets.append(("shared dev set", load_cases(SHARED)))
        for name, cases in sets:
            print(f"{name}: {evaluate(engine.retriever, cases, top_k=5).summary()}")
        engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
