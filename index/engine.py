"""The engine facade front ends use: one embedder, the serving retriever, safe rebuilds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss

from index.builder import (
    Progress,
    build_index,
    chunker_signature,
    effective_chunker,
    is_stale,
)
from index.chunking import ChunkerSettings
from index.embedding import DEFAULT_MODEL, Embedder
from index.errors import (
    AskdocsError,
    BuildInProgressError,
    ConfigError,
    DocumentError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    SourceDocsError,
)
from index.loaders import DEFAULT_MAX_BYTES, ONLY_HEADINGS, SUPPORTED_SUFFIXES, load_data
from index.models import Answer, BuildReport, DocumentInfo, LoadedDocument
from index.passages import MemoryStore
from index.retriever import RetrievalSettings, Retriever, check_question
from index.store import HNSW_THRESHOLD, current_version, read_index

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Every engine setting, with its default and its limits: the one home of both.

    Front ends map their own settings onto these fields (``bot.shared.settings`` reads
    ``ASKDOCS_<FIELD>``). Creating a config validates it and raises ``ConfigError`` naming
    the field. Paths are relative to the current folder.
    """

    docs_dir: Path = Path("source_docs")
    index_dir: Path = Path(".askdocs/index")
    model: str = DEFAULT_MODEL
    chunk_tokens: int = 128
    chunk_overlap: int = 24
    top_k: int = 3
    min_confidence: float = 0.5
    max_question_chars: int = 1000
    hnsw_threshold: int = HNSW_THRESHOLD
    max_doc_mb: float = DEFAULT_MAX_BYTES / 1_000_000

    def __post_init__(self) -> None:
        _check_range("top_k", self.top_k, 1, MAX_TOP_K)
        _check_range("min_confidence", self.min_confidence, 0.0, 1.0)
        _check_range("max_question_chars", self.max_question_chars, 10, MAX_QUESTION_CHARS)
        _check_range("hnsw_threshold", self.hnsw_threshold, 1, None)
        if not self.max_doc_mb > 0:
            raise ConfigError("max_doc_mb", "must be more than 0")
        if not self.model.strip():
            raise ConfigError("model", "must name a sentence-transformers model or folder")
        _ = self.chunker  # validates chunk_tokens and chunk_overlap

    @property
    def chunker(self) -> ChunkerSettings:
        return ChunkerSettings(target_tokens=self.chunk_tokens, overlap_tokens=self.chunk_overlap)

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(
            top_k=self.top_k,
            min_confidence=self.min_confidence,
            max_question_chars=self.max_question_chars,
        )

    @property
    def max_doc_bytes(self) -> int:
        return int(self.max_doc_mb * 1_000_000)

    def check_question(self, question: str) -> str:
        """The stripped question, or QuestionError with a reason a user can act on."""
        return check_question(question, self.max_question_chars)


MAX_TOP_K = 10
MAX_QUESTION_CHARS = 4000


def _check_range(field: str, value: float, low: float, high: float | None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(field, f"must be {bound} (got {value})")


DOCUMENT_SUFFIXES: frozenset[str] = SUPPORTED_SUFFIXES
"""File types the loaders read (lowercase, with the dot): what a front end may accept."""


def check_document(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """``data`` read by the same loaders a build uses, as the document ``name`` (its suffix
    gives the type; ``DOCUMENT_SUFFIXES``). Raises DocumentError with the reason a build
    would skip it for: unsupported type, too large, empty, binary, undecodable, broken, no
    text, or only headings."""
    doc = load_data(name, data, max_bytes)
    if not any(block.kind == "text" for block in doc.blocks):
        raise DocumentError(ONLY_HEADINGS)
    return doc


def has_index(index_dir: Path) -> bool:
    """Whether ``index_dir`` holds a built index (cheap: no model, no vectors loaded)."""
    try:
        return current_version(index_dir) is not None
    except AskdocsError:
        return False


def check_docs_dir(docs_dir: Path, index_dir: Path) -> None:
    """Raise SourceDocsError when there are neither documents nor an index to answer from
    (a stale index still serves without its documents folder)."""
    if not docs_dir.is_dir() and not has_index(index_dir):
        where = docs_dir if docs_dir.is_absolute() else f"{docs_dir} (relative to {Path.cwd()})"
        raise SourceDocsError(f"documents folder not found: {where}")


class Engine:
    """Loads the model once, serves answers from the current index and rebuilds it safely.

    ``reindex`` builds a new index while the current retriever keeps answering, then swaps
    it in with one attribute assignment; a failed build leaves the old one serving. Only one
    build runs at a time (BuildInProgressError otherwise). All methods block: call them from a
    worker thread in async code.
    """

    def __init__(self, config: EngineConfig, embedder: Embedder | None = None) -> None:
        # One query at a time is searched 2.5-3x faster by FAISS on one thread than on its
        # default of all cores (bench/bench_engine.py); concurrency comes from our threads.
        faiss.omp_set_num_threads(1)
        self.config = config
        self.embedder = embedder or Embedder(config.model)
        self._retriever: Retriever | None = None
        self._build_lock = threading.Lock()

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            raise IndexNotFoundError("the index is not loaded yet")
        return self._retriever

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.retriever.documents

    def open(self, *, progress: Progress | None = None, refresh: bool = True) -> BuildReport | None:
        """Load the serving index; build it first if missing, stale (documents changed, when
        ``refresh``), built for another model/chunker, or damaged. Returns the build report
        when a build ran. A stale index still serves when the documents folder is gone or
        another process is building."""
        cfg = self.config
        signature = chunker_signature(effective_chunker(cfg.chunker, self.embedder))
        try:
            data = read_index(cfg.index_dir, model=self.embedder.model_id, chunker=signature)
        except IndexNotFoundError:
            log.info("no index yet in %s: building it", cfg.index_dir)
            return self.reindex(progress=progress)
        except (IndexMismatchError, IndexCorruptError) as exc:
            log.warning("%s -- rebuilding", exc)
            return self.reindex(full=True, progress=progress)
        if refresh and is_stale(cfg.docs_dir, data):
            if not cfg.docs_dir.is_dir():
                log.warning(
                    "documents folder %s is missing: answering from the existing index",
                    cfg.docs_dir,
                )
            else:
                log.info("documents changed since the index was built: updating it")
                try:
                    return self.reindex(progress=progress)
                except BuildInProgressError:
                    log.warning("another build is running: answering from the current index")
                except IndexWriteError as exc:  # e.g. a read-only index folder
                    log.warning("%s: answering from the index as it was built", exc)
        self._retriever = Retriever(MemoryStore(data), self.embedder, cfg.retrieval)
        return None

    def reindex(self, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
        if not self._build_lock.acquire(blocking=False):
            raise BuildInProgressError("an index build is already running; try again shortly")
        try:
            cfg = self.config
            built = build_index(
                cfg.docs_dir,
                cfg.index_dir,
                self.embedder,
                cfg.chunker,
                full=full,
                hnsw_threshold=cfg.hnsw_threshold,
                max_doc_bytes=cfg.max_doc_bytes,
                progress=progress,
            )
            self._retriever = Retriever(MemoryStore(built.data), self.embedder, cfg.retrieval)
            return built.report
        finally:
            self._build_lock.release()

    @property
    def building(self) -> bool:
        return self._build_lock.locked()

    def check_document(self, name: str, data: bytes) -> LoadedDocument:
        """:func:`check_document` with this engine's size limit (``max_doc_mb``)."""
        return check_document(name, data, self.config.max_doc_bytes)

    def answer(self, question: str, top_k: int | None = None) -> Answer:
        return self.retriever.answer(question, top_k)

    def answer_many(self, questions: Sequence[str], top_k: int | None = None) -> list[Answer]:
        return self.retriever.answer_many(questions, top_k)
