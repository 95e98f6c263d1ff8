"""One knowledge base: a documents folder, its index and the store that serves it.

Embedded (no database): the index lives in ``index_dir`` as files and is served from this
process (:class:`~index.passages.MemoryStore`). With a database pool, builds still run here
(``index_dir`` is then this machine's build cache, so unchanged documents are not embedded
again) and are published to PostgreSQL as a new version; the passages are served from the
database (:class:`~index.pg_store.PgStore`) and every process follows the current version.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.builder import (
    Progress,
    build_index,
    chunker_signature,
    effective_chunker,
    is_stale,
)
from index.chunking import ChunkerSettings
from index.embedding import Embedder
from index.errors import (
    AskdocsError,
    BuildInProgressError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
from index.models import BuildReport, DocumentInfo
from index.passages import MemoryStore, PassageStore
from index.store import FORMAT_VERSION, IndexData, Manifest, read_index

if TYPE_CHECKING:  # the database modules (psycopg, pgvector) load only when one is used
    import psycopg

    from index.pg_store import Pool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How a knowledge base builds its index (from ``EngineConfig``)."""

    chunker: ChunkerSettings
    hnsw_threshold: int
    max_doc_bytes: int


def _same_index(served: Manifest, built: Manifest) -> bool:
    """Same documents (by content), model, chunker and format: publishing would change
    nothing."""

    def documents(m: Manifest) -> list[tuple[str, str]]:
        return [(d.source, d.content_hash) for d in m.documents]

    return (
        served.model == built.model
        and served.chunker == built.chunker
        and served.format_version == built.format_version
        and documents(served) == documents(built)
    )


class KnowledgeBase:
    """Documents in ``docs_dir`` served under ``name`` (``shared`` or ``server-<id>``).

    ``store`` is swapped by one assignment, so readers never see a half-built index; only
    one build runs at a time (BuildInProgressError otherwise; across processes too).
    """

    def __init__(
        self,
        name: str,
        docs_dir: Path,
        index_dir: Path,
        embedder: Embedder,
        *,
        options: BuildOptions,
        pool: Pool | None = None,
    ) -> None:
        self.name = name
        self.docs_dir = docs_dir
        self.index_dir = index_dir
        self.embedder = embedder
        self.options = options
        self.pool = pool
        self._store: PassageStore | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> PassageStore:
        if self._store is None:
            raise IndexNotFoundError("the index is not loaded yet")
        return self._store

    @property
    def loaded(self) -> bool:
        return self._store is not None

    @property
    def documents(self) -> tuple[DocumentInfo, ...]:
        return self.store.documents

    @property
    def building(self) -> bool:
        return self._lock.locked()

    @property
    def version(self) -> str | None:
        """The database version served (None for an embedded index)."""
        version = getattr(self._store, "version", None)
        return version if isinstance(version, str) else None

    def _signature(self) -> dict[str, int]:
        return chunker_signature(effective_chunker(self.options.chunker, self.embedder))

    def open(self, *, progress: Progress | None = None, refresh: bool = True) -> BuildReport | None:
        """Load the serving index; build it first if missing, built for another model or
        chunker, or damaged; with ``refresh``, rebuild an embedded index whose documents
        changed. Returns the build report when a build ran."""
        if self.pool is not None:
            return self._open_database(progress)
        try:
            data = read_index(
                self.index_dir, model=self.embedder.model_id, chunker=self._signature()
            )
        except IndexNotFoundError:
            log.info("no index yet in %s: building it", self.index_dir)
            return self.reindex(progress=progress)
        except (IndexMismatchError, IndexCorruptError) as exc:
            log.warning("%s -- rebuilding", exc)
            return self.reindex(full=True, progress=progress)
        if refresh and is_stale(self.docs_dir, data):
            if not self.docs_dir.is_dir():
                log.warning(
                    "documents folder %s is missing: answering from the existing index",
                    self.docs_dir,
                )
            else:
                log.info("documents changed since the index was built: updating it")
                try:
                    return self.reindex(progress=progress)
                except BuildInProgressError:
                    log.warning("another build is running: answering from the current index")
                except IndexWriteError as exc:  # e.g. a read-only index folder
                    log.warning("%s: answering from the index as it was built", exc)
        self._store = MemoryStore(data)
        return None

    def _open_database(self, progress: Progress | None) -> BuildReport | None:
        """Serve the database's current version. Builds only when there is none or it was
        built for another model or chunker: document changes are published by a build
        (``askdocs index``, /reindex, /docs), not by every process that starts."""
        from index.pg_store import PgStore
        from index.pg_versions import current, ensure_schema

        assert self.pool is not None
        with self.pool.connection() as conn:
            ensure_schema(conn)
            try:
                version, manifest = current(conn, self.name)
            except IndexNotFoundError:
                log.info("no index for %r in the database yet: building it", self.name)
                return self._database_build(False, progress, unless_served=True)
        if not self._fits(manifest):
            log.warning("the database's index of %r was built with other settings", self.name)
            return self._database_build(False, progress, unless_served=True)
        self._store = PgStore(self.pool, version, manifest)
        return None

    def _fits(self, manifest: Manifest) -> bool:
        """Whether an index was built with this model and chunker, in this format."""
        return (
            manifest.model == self.embedder.model_id
            and manifest.chunker == self._signature()
            and manifest.format_version == FORMAT_VERSION
        )

    def reindex(self, *, full: bool = False, progress: Progress | None = None) -> BuildReport:
        if self.pool is not None:
            report = self._database_build(full, progress, unless_served=False)
            assert report is not None
            return report
        with self._exclusive():
            data, report = self._build(full, progress)
            try:  # serve from the files just written: vectors then stay out of memory
                data = read_index(self.index_dir)
            except AskdocsError as exc:
                log.warning("serving the new index from memory: %s", exc)
            self._store = MemoryStore(data)
            return report

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise BuildInProgressError("an index build is already running; try again shortly")
        try:
            yield
        finally:
            self._lock.release()

    def _database_build(
        self, full: bool, progress: Progress | None, *, unless_served: bool
    ) -> BuildReport | None:
        """Build and publish under the cluster-wide lock. With ``unless_served`` (a process
        starting), serve what another process published meanwhile instead (returns None).
        A build whose documents, model and chunker equal the current version's publishes
        nothing: every process keeps serving (and caching) what it serves."""
        from index.pg_store import PgStore
        from index.pg_versions import build_lock, publish, sync_documents

        assert self.pool is not None
        with self._exclusive(), build_lock(self.pool.url) as conn:
            served = self._current(conn)
            if unless_served and served is not None and self._fits(served[1]):
                self._store = PgStore(self.pool, *served)
                return None
            sync_documents(conn, self.name, self.docs_dir)
            data, report = self._build(full, progress)
            if served is not None and _same_index(served[1], data.manifest) and not full:
                self._store = PgStore(self.pool, *served)
                note = "the database already serves these documents: nothing published"
                return replace(report, notes=(*report.notes, note))
            version = publish(conn, self.name, MemoryStore(data))
        self._store = PgStore(self.pool, version, data.manifest)
        return report

    def _current(self, conn: psycopg.Connection[Any]) -> tuple[str, Manifest] | None:
        from index.pg_versions import current

        try:
            return current(conn, self.name)
        except IndexNotFoundError:
            return None

    def _build(self, full: bool, progress: Progress | None) -> tuple[IndexData, BuildReport]:
        built = build_index(
            self.docs_dir,
            self.index_dir,
            self.embedder,
            self.options.chunker,
            full=full,
            hnsw_threshold=self.options.hnsw_threshold,
            max_doc_bytes=self.options.max_doc_bytes,
            progress=progress,
        )
        return built.data, built.report

    def record_document(self, source: str, data: bytes | None) -> None:
        """With a database: remember that ``source`` was added (``data``) or removed (None)
        in this knowledge base's folder, so builds in every process include (or drop) it.
        Without one the folder is the only copy: nothing to do."""
        if self.pool is None:
            return
        from index.pg_versions import record_document

        self.pool.run(lambda conn: record_document(conn, self.name, source, data))

    def switch(self, version: str, manifest: Manifest) -> None:
        """Serve ``version`` from the database (another process published it)."""
        if self.pool is None or self.version == version:
            return
        if not self._fits(manifest):  # e.g. published by an older askdocs mid-upgrade
            log.warning(
                "not serving version %s of %r: built with other settings or in another "
                "format (format %s; this askdocs reads %s); run `askdocs index --full`",
                version,
                self.name,
                manifest.format_version,
                FORMAT_VERSION,
            )
            return
        from index.pg_store import PgStore

        self._store = PgStore(self.pool, version, manifest)
        log.info("now serving version %s of %r", version, self.name)

    def migrate(self) -> str:
        """Publish the embedded index in ``index_dir`` to the database as it is (no
        documents read, nothing embedded). Returns the new version's name."""
        from index.pg_store import PgStore
        from index.pg_versions import build_lock, publish

        assert self.pool is not None
        data = read_index(self.index_dir)
        with build_lock(self.pool.url) as conn:
            version = publish(conn, self.name, MemoryStore(data))
        self._store = PgStore(self.pool, version, data.manifest)
        return version
