"""Shared fixtures: the real embedding model (loaded once), document folders, the Debian FAQ
index (built once per run, reused across runs from the cache), log guards."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub in tests

import hashlib
import importlib.metadata
import shutil
import tempfile
from pathlib import Path

import pytest
from external import cache_dir, debian_faq_dir, require

import index
from index.embedding import Embedder
from index.engine import Engine, EngineConfig

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"
# The Debian FAQ pages are copied with this fixed mtime, so the index's documents-folder
# fingerprint (names, sizes, mtimes) is the same in every run and a cached index is reused.
FIXED_MTIME_NS = 1_654_000_000 * 10**9
# Libraries whose version can change what the index holds.
INDEX_LIBRARIES = ("torch", "sentence-transformers", "transformers", "faiss-cpu", "numpy",
                   "PyStemmer", "onnxruntime", "tokenizers")  # fmt: skip
DEBIAN_INDEX_NOTE = pytest.StashKey[str]()
# fake_discord, fail_on_error_logs, built_index, engine, start_bot for every test module;
# pg_server, pg_url, pg_database (a real PostgreSQL + pgvector, see tests/pg.py)
pytest_plugins = ("fakediscord.fixtures", "bot_fixtures", "pg_fixtures")


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    return Embedder()


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped source_docs/ that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(SOURCE_DOCS, target)
    return target


@pytest.fixture(scope="session")
def debian_faq() -> Path:
    """The Debian FAQ's 17 HTML pages (read-only; see tests/external.py), or a skip."""
    return require(debian_faq_dir)


def copy_debian_pages(source: Path, target: Path) -> Path:
    """Copy the FAQ's ``*.html`` pages into ``target`` with a fixed mtime."""
    target.mkdir(parents=True)
    for page in sorted(source.glob("*.html")):
        shutil.copyfile(page, target / page.name)
        os.utime(target / page.name, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))
    return target


@pytest.fixture(scope="session")
def debian_engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    debian_faq: Path,
) -> Engine:
    """An opened Engine over the Debian FAQ, shared by the whole run: do not reindex it.

    The built index is kept in the cache folder under a key hashing the pages, the index/
    sources, the model and the library versions, and copied in before ``open()``: a later run
    with the same key opens it without a build (``open()`` still rebuilds a stale or
    mismatched index)."""
    root = tmp_path_factory.mktemp("debian")
    docs = copy_debian_pages(debian_faq, root / "docs")
    cached = cache_dir() / "index" / f"debian-faq-{_index_key(docs, embedder)}"
    try:
        shutil.copytree(cached, root / "index", ignore=_not_index_files)
    except OSError:  # not cached yet (or being replaced): build
        shutil.rmtree(root / "index", ignore_errors=True)
    engine = Engine(EngineConfig(docs, root / "index"), embedder)
    report = engine.open()
    if report is None:
        note = "reused from the cache"
    else:
        note = f"built in {report.seconds:.1f} s"
        _store_index(root / "index", cached)
    request.config.stash[DEBIAN_INDEX_NOTE] = f"Debian FAQ index: {note} ({cached.parent})"
    return engine


def _index_key(docs: Path, embedder: Embedder) -> str:
    digest = hashlib.sha256()
    sources = Path(index.__file__).resolve().parent
    for label, folder, pattern in (("doc", docs, "*.html"), ("src", sources, "*.py")):
        for path in sorted(folder.glob(pattern)):
            digest.update(f"{label}\0{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"model\0{embedder.model_id}\0".encode())
    for name in INDEX_LIBRARIES:
        try:
            digest.update(f"{name}\0{importlib.metadata.version(name)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{name}\0-\0".encode())
    return digest.hexdigest()[:24]


def _not_index_files(folder: str, names: list[str]) -> list[str]:
    """Leave out locks, leftovers of builds and versions other than the serving one."""
    try:
        serving = (Path(folder) / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        serving = None  # not the index folder itself (or no pointer): copy as is
    return [
        n
        for n in names
        if n == ".lock"
        or n.startswith(("tmp-", ".CURRENT"))
        or (serving is not None and n.startswith("v-") and n != serving)
    ]


def _store_index(index_dir: Path, cached: Path) -> None:
    """Copy a freshly built index to ``cached`` (atomically), replacing older cached indexes.
    Best effort: a cache that cannot be written only costs the next run a build."""
    parent = cached.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))
        try:
            shutil.copytree(index_dir, tmp / "index", ignore=_not_index_files)
            for old in parent.glob("debian-faq-*"):  # other keys, or this key gone stale
                shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp / "index", cached)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if note := config.stash.get(DEBIAN_INDEX_NOTE, None):
        terminalreporter.write_line(note)
