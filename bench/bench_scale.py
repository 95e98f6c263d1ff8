"""Scale: build an index over a growing corpus of real text, and query it.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_scale.py [--budget 600] [--first-mb 0.4]

The corpus is Debian's documentation in English: the Debian FAQ (tests/external.py's
``debian_faq_dir()``), the Debian Reference (package ``debian-reference-en``) and the Debian
Administrator's Handbook (``debian-handbook``, its ``en-US`` pages), the packages fetched with
``apt-get download`` into the test cache folder like tests/external.py does. The pages are
taken in a fixed shuffled order, then again as variants (variant k swaps the distribution's
name and other common words for its own choices and renames the title), so every passage is
new text. Round 0 indexes ``--first-mb`` of HTML; each later round doubles the corpus and
updates the index incrementally with ``askdocs index``, while the build time stays within
``--budget`` seconds in all (a last round is cut to fit).

Per round: the build's wall time and peak RSS (a fresh ``askdocs index`` process, from
``os.wait4``), passages (chunks) embedded per second; then, in a fresh process, the time to
open the index, RSS when open, ``Engine.answer`` one question at a time over the Debian FAQ
questions (p50 / p99) and RSS after. Last, a linear fit over the rounds projects 1M passages:
a projection, not a measurement.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # external data lookups live with the tests

from external import _ar_members, cache_dir, debian_faq_dir  # noqa: E402
from measure import pct, rss_mib  # noqa: E402

ASKDOCS = Path(sys.executable).parent / "askdocs"
QUESTIONS = ROOT / "tests" / "data" / "debian_faq_eval.jsonl"
PACKAGES = {
    # package: (folder in the .deb, pages kept)
    "debian-reference-en": ("usr/share/debian-reference/", re.compile(r"[^/]+\.en\.html")),
    "debian-handbook": ("usr/share/doc/debian-handbook/html/en-US/", re.compile(r"[^/]+\.html")),
}
# Word substitutions of the variants: every variant k picks its own replacement of each word.
SWAPS = {
    "Debian": ["Devuan", "Trisquel", "PureOS", "Kali", "Tails", "Parrot", "Raspbian", "Knoppix"],
    "package": ["bundle", "parcel", "module", "component", "archive file", "software unit"],
    "system": ["machine", "computer", "installation", "host", "box", "server"],
    "user": ["account holder", "operator", "person", "member", "login"],
    "file": ["document", "record", "data file", "entry", "object"],
    "command": ["instruction", "program call", "invocation", "tool run", "order"],
}


def fetch_packages(cache: Path) -> dict[str, bytes]:
    """The English pages of the two manuals, as name -> bytes (downloaded once, cached)."""
    cache.mkdir(parents=True, exist_ok=True)
    pages: dict[str, bytes] = {}
    for package, (folder, pattern) in PACKAGES.items():
        debs = sorted(cache.glob(f"{package}_*.deb"))
        if not debs:
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                subprocess.run(["apt-get", "download", "-q", package], cwd=tmp, check=True)
                for deb in Path(tmp).glob("*.deb"):
                    os.replace(deb, cache / deb.name)  # atomic
            debs = sorted(cache.glob(f"{package}_*.deb"))
        data = _ar_members(debs[-1].read_bytes())
        member = next(n for n in data if n.startswith("data.tar"))
        with tarfile.open(fileobj=io.BytesIO(data[member]), mode="r:*") as tar:
            for entry in tar:
                path = entry.name.removeprefix("./")
                name = path.removeprefix(folder)
                if path.startswith(folder) and entry.isfile() and pattern.fullmatch(name):
                    fh = tar.extractfile(entry)
                    assert fh is not None
                    pages[f"{package}-{name}"] = fh.read()
    return pages


def variant(html: str, k: int) -> str:
    """Variant ``k`` of a page (0: the page itself)."""
    if k == 0:
        return html
    for word, choices in SWAPS.items():
        html = re.sub(rf"\b{word}\b", choices[(k + len(word)) % len(choices)], html)
    return re.sub(r"<title>", f"<title>Variant {k}: ", html, count=1, flags=re.IGNORECASE)


def stream(texts: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(file name, HTML) of every page, then of every page's variant 1, 2, ...; the pages of
    each pass in a fixed shuffled order, so that any prefix mixes the three manuals."""
    names = sorted(texts)
    random.Random(7).shuffle(names)
    for k in itertools.count():
        for name in names:
            yield f"v{k:03d}-{name}", variant(texts[name], k)


def timed_child(args: list[str]) -> tuple[float, float, str]:
    """Run ``args``: wall time (s), the child's peak RSS (MiB, from wait4), its stdout."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{args[:4]} failed with status {os.waitstatus_to_exitcode(status)}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def counts(index_dir: Path) -> tuple[int, int]:
    """(passages, sentences) of the serving index."""
    version = (index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((index_dir / version / "manifest.json").read_text())
    return int(manifest["chunk_count"]), int(manifest["sentence_count"])


def child(work: Path) -> None:
    """Serving figures of the index in ``work``, as one JSON line."""
    from index.engine import Engine, EngineConfig

    with open(QUESTIONS, encoding="utf-8") as fh:
        questions = [json.loads(line)["q"] for line in fh if line.strip()]
    fig: dict[str, Any] = {"rss_start": rss_mib()}
    started = time.perf_counter()
    engine = Engine(EngineConfig(work / "docs", work / "index"))
    assert engine.open(refresh=False) is None  # loaded, not built
    fig["open_s"] = time.perf_counter() - started
    fig["rss_open"] = rss_mib()
    engine.answer("How do I install a package?")  # the model's first run
    times = []
    for question in questions * 2:
        began = time.perf_counter()
        engine.answer(question)
        times.append(1000 * (time.perf_counter() - began))
    fig |= {"n": len(times), "p50": pct(times, 50), "p99": pct(times, 99)}
    fig["rss_after"] = rss_mib()
    fig["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(fig))


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line y = a + b x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - b * mx, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600, help="build seconds in all")
    parser.add_argument("--rounds", type=int, default=6, help="at most this many rounds")
    parser.add_argument("--first-mb", type=float, default=0.4, help="HTML of round 0, MB")
    parser.add_argument("--pages", type=int, default=0, help="use only the first N pages")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    pages = {f"faq-{p.name}": p.read_bytes() for p in sorted(debian_faq_dir().glob("*.html"))}
    pages |= fetch_packages(cache_dir() / "scale")
    if args.pages:
        pages = dict(sorted(pages.items())[: args.pages])
    texts = {name: raw.decode("utf-8", "replace") for name, raw in pages.items()}
    size = sum(len(raw) for raw in pages.values())
    print(f"{len(pages)} pages, {size / 1e6:.1f} MB of HTML; {os.cpu_count()} CPUs", flush=True)
    work = Path(tempfile.mkdtemp(prefix="askdocs-scale-"))
    folders = ["--source-docs", str(work / "docs"), "--index-dir", str(work / "index")]
    rows: list[dict[str, float]] = []
    spent, added = 0.0, 0
    units = stream(texts)
    try:
        (work / "docs").mkdir()
        for round_ in range(args.rounds):
            goal = int(args.first_mb * 1e6) if not rows else added  # the corpus doubles
            if rows:
                per_byte = rows[-1]["build_s"] / rows[-1]["bytes"]
                goal = min(goal, int((args.budget - spent) / per_byte))
                if goal < int(0.1 * added):
                    break
            written = 0
            while written < goal:
                name, html = next(units)
                (work / "docs" / name).write_text(html, encoding="utf-8")
                written += len(html.encode())
            added += written
            before = rows[-1]["passages"] if rows else 0
            load = os.getloadavg()[0]
            wall, peak, _ = timed_child([str(ASKDOCS), "index", "-q", *folders])
            spent += wall
            total, sentences = counts(work / "index")
            _, _, out = timed_child([sys.executable, __file__, "--child", str(work)])
            serve = json.loads(out.strip().splitlines()[-1])
            row = {"bytes": written, "passages": total, "build_s": wall, "build_peak": peak}
            row |= {"rate": (total - before) / wall} | serve
            rows.append(row)
            print(
                f"round {round_} (load average {load:.2f}): +{written / 1e6:.1f} MB of HTML, "
                f"{total:,} passages, {sentences:,} sentence vectors; build {wall:.0f} s "
                f"({row['rate']:.0f} passages/s), peak "
                f"RSS {peak:.0f} MiB; serving: open {serve['open_s']:.2f} s, RSS "
                f"{serve['rss_open']:.0f} MiB open, {serve['rss_after']:.0f} MiB after "
                f"{serve['n']} questions (peak {serve['peak']:.0f}); answer() p50 "
                f"{serve['p50']:.1f} ms, p99 {serve['p99']:.1f} ms",
                flush=True,
            )
        project(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def project(rows: list[dict[str, float]]) -> None:
    if len(rows) < 2:
        return
    xs = [r["passages"] for r in rows]
    rate = rows[-1]["passages"] / sum(r["build_s"] for r in rows)
    print(f"PROJECTION to 1,000,000 passages (linear fits over {len(rows)} rounds, not measured):")
    print(f"  build at {rate:.0f} passages/s: {1e6 / rate / 3600:.1f} h on this machine")
    for key, what in (("rss_after", "serving RSS, MiB"), ("build_peak", "build peak RSS, MiB"),
                      ("p50", "answer() p50, ms"), ("p99", "answer() p99, ms")):  # fmt: skip
        a, b = fit(xs, [r[key] for r in rows])
        print(f"  {what}: {a + b * 1e6:,.0f} ({a:.1f} + {1000 * b:.3f} per 1,000 passages)")


if __name__ == "__main__":
    main()
