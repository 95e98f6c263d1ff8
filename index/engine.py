"""The engine facade front ends use: one embedder, the serving retriever, safe rebuilds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
from threadpoolctl import threadpool_limits

from index.builder import Progress
from index.chunking import ChunkerSettings
from index.combined import CombinedStore
from index.embedding import DEFAULT_MODEL, Embedder
from index.errors import (
    AskdocsError,
    ConfigError,
    DocumentError,
    IndexNotFoundError,
    SourceDocsError,
)
from index.knowledge import BuildOptions, KnowledgeBase
from index.loaders import DEFAULT_MAX_BYTES, ONLY_HEADINGS, SUPPORTED_SUFFIXES, load_data
from index.models import Answer, BuildReport, DocumentInfo, LoadedDocument
from index.passages import PassageStore
from index.pg import is_database_url
from index.retriever import MAX_TOP_K, RetrievalSettings, Retriever, check_question
from index.store import HNSW_THRESHOLD, current_version

if TYPE_CHECKING:
    from index.pg_store import Pool
    from index.pg_versions import VersionFollower

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
    database_url: str = field(default="", repr=False)
    server_docs_dir: Path | None = None
    server_docs_mode: str = "add"

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
        if self.server_docs_mode not in SERVER_MODES:
            raise ConfigError("server_docs_mode", f"must be one of {', '.join(SERVER_MODES)}")
        if self.database_url and not is_database_url(self.database_url):
            raise ConfigError("database_url", "must be a postgresql:// URL")

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


SHARED = "shared"
"""Name of the knowledge base every server sees (documents in ``docs_dir``)."""
SERVER_MODES = ("add", "only")


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def server_kb(server: int) -> str:
    return f"server-{server}"


class Engine:
    """Loads the model once, serves answers from the current indexes and rebuilds them safely.

    One shared knowledge base (``docs_dir``), plus, when ``server_docs_dir`` is set, one per
    Discord server that has a folder ``<server_docs_dir>/<server id>/`` (or, with a database,
    a published index). A server's questions are answered from the shared documents and its
    own (``server_docs_mode`` "add") or from its own only ("only"); never from another
    server's. ``reindex`` builds a new index while the current one keeps answering, then
    swaps it in with one assignment; a failed build leaves the old one serving. All methods
    block: call them from a worker thread in async code.
    """

    def __init__(self, config: EngineConfig, embedder: Embedder | None = None) -> None:
        # One query at a time is searched 2.5-3x faster by FAISS on one thread than on its
        # default of all cores (bench/bench_engine.py); concurrency comes from our threads.
        faiss.omp_set_num_threads(1)
        # Numpy's BLAS would spread coverage's small products (index.late) over every core,
        # whose idle threads then spin: 2-3 ms of CPU per question for nothing (measured).
        threadpool_limits(limits=1, user_api="blas")
        self.config = config
        self.embedder = embedder or Embedder(config.model)
        self.pool: Pool | None = None
        if config.database_url:  # psycopg and pgvector load only when a database is used
            from index.pg_store import Pool

            self.pool = Pool(config.database_url)
        self._options = BuildOptions(config.chunker, config.hnsw_threshold, config.max_doc_bytes)
        self.shared = self._knowledge_base(SHARED, config.docs_dir, config.index_dir)
        self._servers: dict[int, KnowledgeBase] = {}
        self._servers_lock = threading.Lock()
        self._follower: VersionFollower | None = None
        self._retrievers: dict[int | None, tuple[tuple[object, ...], Retriever]] = {}

    def _knowledge_base(self, name: str, docs_dir: Path, index_dir: Path) -> KnowledgeBase:
        return KnowledgeBase(
            name, docs_dir, index_dir, self.embedder, options=self._options, pool=self.pool
        )

    @property
    def retriever(self) -> Retriever:
        """The shared knowledge base's retriever."""
        return self.retriever_for(None)

    def retriever_for(self, server: int | None) -> Retriever:
        """The retriever for questions asked in ``server`` (None: a direct message or the
        command line -- the shared documents only). The same object while the indexes it
        reads (and the config) stay the same, so its ``documents`` identify them."""
        own = self._servers.get(server) if server is not None else None
        parts: tuple[PassageStore, ...]
        if own is None or not own.loaded:
            server, parts = None, (self.shared.store,)
        elif self.config.server_docs_mode == "only":
            parts = (own.store,)
        else:
            parts = (self.shared.store, own.store)
        key = (self.config, *parts)
        cached = self._retrievers.get(server)
        if cached is not None and _same(cached[0], key):
            return cached[1]
        store = parts[0] if len(parts) == 1 else CombinedStore(parts[0], parts[1])
        retriever = Retriever(store, self.embedder, self.config.retrieval)
        self._retrievers[server] = (key, retriever)
        return retriever

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.shared.documents

    def documents_for(self, server: int | None) -> tuple[DocumentInfo, ...]:
        return self.retriever_for(server).documents

    def own_documents(self, server: int | None) -> tuple[DocumentInfo, ...]:
        """One knowledge base's documents: ``server``'s own (none before its first build),
        or the shared ones for None."""
        if server is None:
            return self.shared.documents
        kb = self._servers.get(server)
        return kb.documents if kb is not None and kb.loaded else ()

    def server_docs(self, server: int) -> Path:
        """The folder of ``server``'s own documents (ConfigError when they are off)."""
        if self.config.server_docs_dir is None:
            raise ConfigError("server_docs_dir", "is not set: servers have no own documents")
        return self.config.server_docs_dir / str(server)

    def server(self, server: int) -> KnowledgeBase:
        """``server``'s own knowledge base (created, not yet built, on first use)."""
        with self._servers_lock:
            kb = self._servers.get(server)
            if kb is None:
                index_dir = self.config.index_dir.parent / "servers" / str(server)
                kb = self._knowledge_base(server_kb(server), self.server_docs(server), index_dir)
                self._servers[server] = kb
            return kb

    def open(self, *, progress: Progress | None = None, refresh: bool = True) -> BuildReport | None:
        """Load the serving indexes (building what is missing, stale or damaged; see
        ``KnowledgeBase.open``): the shared one, then each server's. Returns the shared
        build's report when one ran."""
        report = self.shared.open(progress=progress, refresh=refresh)
        for server in self._known_servers():
            try:
                self.server(server).open(refresh=refresh)
            except SourceDocsError as exc:
                log.warning("server %s: %s", server, exc)
        return report

    def _known_servers(self) -> list[int]:
        root = self.config.server_docs_dir
        found: set[int] = set()
        if root is not None and root.is_dir():
            found |= {int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()}
        if root is not None and self.pool is not None:
            from index.pg_versions import knowledge_bases

            with self.pool.connection() as conn:
                found |= {int(kb.split("-", 1)[1]) for kb in knowledge_bases(conn) if kb != SHARED}
        return sorted(found)

    def reindex(
        self, *, full: bool = False, progress: Progress | None = None, server: int | None = None
    ) -> BuildReport:
        kb = self.shared if server is None else self.server(server)
        return kb.reindex(full=full, progress=progress)

    def record_document(self, source: str, data: bytes | None, server: int | None = None) -> None:
        """A front end added (``data``) or removed (None) ``source`` in the documents folder of
        ``server`` (None: the shared one): with a database, every process's builds follow."""
        kb = self.shared if server is None else self.server(server)
        kb.record_document(source, data)

    @property
    def building(self) -> bool:
        return self.shared.building or any(kb.building for kb in self._servers.values())

    def migrate(self) -> list[tuple[str, str, int]]:
        """Copy the embedded indexes (shared and every server's) into the database as they
        are. Returns (knowledge base, version, passages) for each."""
        if self.pool is None:
            raise ConfigError("database_url", "is not set: there is no database to migrate to")
        done = []
        for kb in [self.shared] + [self.server(s) for s in self._known_servers()]:
            if not has_index(kb.index_dir):
                continue
            version = kb.migrate()
            done.append((kb.name, version, kb.store.size))
        if not done:
            raise IndexNotFoundError(f"no index in {self.config.index_dir} to migrate")
        return done

    def follow(self) -> None:
        """With a database: switch to each version another process publishes (a thread)."""
        if self.pool is not None and self._follower is None:
            from index.pg_versions import VersionFollower

            self._follower = VersionFollower(self.pool.url, self._published)
            self._follower.start()

    def _published(self, name: str, version: str) -> None:
        if name == SHARED:
            kb = self.shared
        elif name.startswith("server-") and self.config.server_docs_dir is not None:
            kb = self.server(int(name.split("-", 1)[1]))
        else:
            return
        if kb.version == version:
            return
        from index.pg_versions import manifest_of

        assert self.pool is not None
        with self.pool.connection() as conn:
            manifest = manifest_of(conn, version)
        kb.switch(version, manifest)

    def close(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        if self.pool is not None:
            self.pool.close()

    def check_document(self, name: str, data: bytes) -> LoadedDocument:
        """:func:`check_document` with this engine's size limit (``max_doc_mb``)."""
        return check_document(name, data, self.config.max_doc_bytes)

    def answer(self, question: str, top_k: int | None = None, server: int | None = None) -> Answer:
        return self.retriever_for(server).answer(question, top_k)

    def answer_many(
        self, questions: Sequence[str], top_k: int | None = None, server: int | None = None
    ) -> list[Answer]:
        return self.retriever_for(server).answer_many(questions, top_k)
