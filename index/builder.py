"""Build or incrementally update the index from a documents folder."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

from index.chunking import ChunkerSettings, chunk_document, embedding_text
from index.embedding import Embedder
from index.errors import (
    BuildInProgressError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    SourceDocsError,
)
from index.late import TokenVectors
from index.loaders import DEFAULT_MAX_BYTES, ONLY_HEADINGS, load_documents
from index.models import BuildReport, Chunk, DocumentInfo, LoadedDocument, SkippedFile
from index.normalize import normalize
from index.sentences import mended
from index.store import (
    CHUNK_DTYPE,
    HNSW_THRESHOLD,
    IndexData,
    Manifest,
    build_faiss,
    compact,
    index_type_name,
    read_index,
    sentence_offsets,
    write_index,
)
from index.tables import SearchTables

log = logging.getLogger(__name__)

CHUNKER_VERSION = 1
Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``, in order: "reading" (files read, after each file),
"loading" (once: the documents loaded), "chunking" (new or changed documents chunked, after
each), "embedding" (texts embedded: chunks, their sentences and headings) and "writing" (0,
then 1 when done). Called from the building thread."""


def effective_chunker(settings: ChunkerSettings, embedder: Embedder) -> ChunkerSettings:
    """Cap the chunker's hard limit at what the model can embed without truncation."""
    return replace(settings, max_tokens=min(settings.max_tokens, embedder.max_tokens))


def chunker_signature(settings: ChunkerSettings) -> dict[str, int]:
    """What the manifest records so that a change of chunking forces a rebuild."""
    return asdict(settings) | {"version": CHUNKER_VERSION}


def docs_fingerprint(docs_dir: Path) -> str:
    """A cheap digest of the folder's file names, sizes and modification times."""
    digest = hashlib.sha256()
    if docs_dir.is_dir():
        for path in sorted(docs_dir.rglob("*")):
            rel = path.relative_to(docs_dir)
            if any(part.startswith(".") for part in rel.parts):
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            digest.update(f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def is_stale(docs_dir: Path, data: IndexData) -> bool:
    return data.manifest.docs_fingerprint != docs_fingerprint(docs_dir)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on ``index_dir`` (across processes too)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(index_dir / ".lock", "w")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot use {index_dir} for the index: {exc.strerror or exc}"
        ) from exc
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildInProgressError(
                "an index build is already running; try again shortly"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class DocVectors:
    """One document's vectors: a row per chunk, per chunk sentence (in chunk order, so a
    sentence shared by overlapping chunks appears once per chunk) and per chunk heading."""

    chunks: np.ndarray
    sentences: np.ndarray
    headings: np.ndarray
    tokens: TokenVectors  # one text per chunk


@dataclass(frozen=True, slots=True)
class PriorDocument:
    """A document of the serving index, reusable when its content has not changed."""

    info: DocumentInfo
    chunks: tuple[Chunk, ...]
    vectors: DocVectors


@dataclass(frozen=True, slots=True)
class PlannedDocument:
    """A document of the new index: ``chunks`` to embed, or None to reuse the prior one."""

    doc: LoadedDocument
    chunks: tuple[Chunk, ...] | None


@dataclass(frozen=True, slots=True)
class BuildResult:
    data: IndexData
    report: BuildReport


def build_index(
    docs_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    settings: ChunkerSettings,
    *,
    full: bool = False,
    hnsw_threshold: int = HNSW_THRESHOLD,
    max_doc_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> BuildResult:
    """Build the index for ``docs_dir`` into ``index_dir`` and make it the serving one.

    Unchanged documents (same content hash, model and chunker settings) reuse their chunks
    and vectors from the serving index; the rest are chunked and embedded. Nothing replaces
    the serving index until the new one is completely written. Raises SourceDocsError when
    no document can be indexed, BuildInProgressError when another build holds the lock
    (across processes; ``Engine`` also refuses a second build within one process).
    """
    began = time.perf_counter()
    settings = effective_chunker(settings, embedder)
    signature = chunker_signature(settings)
    with build_lock(index_dir):
        fingerprint = docs_fingerprint(docs_dir)
        on_file = (lambda done, total: progress("reading", done, total)) if progress else None
        docs, skipped = load_documents(docs_dir, max_doc_bytes, on_file)
        if progress:
            progress("loading", len(docs), len(docs))
        previous, notes = (
            (None, ["full rebuild requested"])
            if full
            else _previous(index_dir, embedder.model_id, signature)
        )
        old = _by_source(previous)
        plan = _plan(docs, old, settings, embedder, skipped, progress=progress)
        if not plan:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5])
            raise SourceDocsError(
                f"no document could be indexed in {docs_dir}" + (f" ({reasons})" if reasons else "")
            )
        fresh = [p for p in plan if p.chunks is not None]
        vectors = _embed(embedder, fresh, progress)
        if progress:
            progress("writing", 0, 1)
        built = _assemble(plan, old, vectors, embedder.dimension)
        data = _index_data(built, embedder.model_id, signature, fingerprint, hnsw_threshold)
        write_index(index_dir, data)
        if progress:
            progress("writing", 1, 1)
    report = _report(
        plan,
        old=old,
        skipped=skipped,
        data=data,
        began=began,
        full_rebuild=previous is None,
        notes=notes,
    )
    return BuildResult(data, report)


def _plan(
    docs: list[LoadedDocument],
    old: dict[str, PriorDocument],
    settings: ChunkerSettings,
    embedder: Embedder,
    skipped: list[SkippedFile],
    *,
    progress: Progress | None = None,
) -> list[PlannedDocument]:
    """Which documents are reused and which are chunked anew (heading-only ones skipped)."""
    plan: list[PlannedDocument] = []
    unchanged = {
        d.source
        for d in docs
        if d.source in old and old[d.source].info.content_hash == d.content_hash
    }
    to_chunk, chunked = len(docs) - len(unchanged), 0
    for doc in docs:
        if doc.source in unchanged:
            plan.append(PlannedDocument(doc, None))
            continue
        _, chunks = chunk_document(doc, settings, embedder.count_tokens)
        chunked += 1
        if progress:
            progress("chunking", chunked, to_chunk)
        if not chunks:
            skipped.append(SkippedFile(doc.source, ONLY_HEADINGS))
            log.warning("skipping %s: %s", doc.source, ONLY_HEADINGS)
            continue
        plan.append(PlannedDocument(doc, chunks))
    return plan


def _report(
    plan: list[PlannedDocument],
    *,
    old: dict[str, PriorDocument],
    skipped: list[SkippedFile],
    data: IndexData,
    began: float,
    full_rebuild: bool,
    notes: list[str],
) -> BuildReport:
    current = {p.doc.source for p in plan}
    fresh = [p for p in plan if p.chunks is not None]
    report = BuildReport(
        added=tuple(p.doc.source for p in fresh if p.doc.source not in old),
        changed=tuple(p.doc.source for p in fresh if p.doc.source in old),
        removed=tuple(sorted(set(old) - current)),
        unchanged=tuple(p.doc.source for p in plan if p.chunks is None),
        skipped=tuple(skipped),
        chunks=len(data.chunks),
        embedded_chunks=sum(len(p.chunks or ()) for p in fresh),
        seconds=time.perf_counter() - began,
        full_rebuild=full_rebuild,
        notes=tuple(notes),
    )
    log.info(
        "index built: %d added, %d changed, %d removed, %d unchanged, %d skipped, %d chunks, %.2fs",
        len(report.added),
        len(report.changed),
        len(report.removed),
        len(report.unchanged),
        len(report.skipped),
        report.chunks,
        report.seconds,
    )
    return report


@dataclass(frozen=True, slots=True)
class _Assembled:
    infos: tuple[DocumentInfo, ...]
    chunks: tuple[Chunk, ...]
    vectors: DocVectors
    built_at: str


def _assemble(
    plan: list[PlannedDocument],
    old: dict[str, PriorDocument],
    vectors: dict[str, DocVectors],
    dim: int,
) -> _Assembled:
    """Concatenate reused and new documents, in the loader's order."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    infos: list[DocumentInfo] = []
    all_chunks: list[Chunk] = []
    parts: list[DocVectors] = []
    for planned in plan:
        doc = planned.doc
        if planned.chunks is None:
            prior = old[doc.source]
            info, chunks, vecs = prior.info, prior.chunks, prior.vectors
        else:
            chunks, vecs = planned.chunks, vectors[doc.source]
            title = normalize(doc.title).text  # as the heading paths of its chunks hold it
            info = DocumentInfo(doc.source, title, len(chunks), doc.content_hash, now)
        infos.append(info)
        all_chunks.extend(chunks)
        parts.append(vecs)

    def stack(rows: list[np.ndarray]) -> np.ndarray:
        return np.vstack(rows) if rows else np.zeros((0, dim), np.float32)

    stacked = DocVectors(
        stack([v.chunks for v in parts]),
        stack([v.sentences for v in parts]),
        stack([v.headings for v in parts]),
        TokenVectors.concat([v.tokens for v in parts], dim),
    )
    return _Assembled(tuple(infos), tuple(all_chunks), stacked, now)


def _index_data(
    built: _Assembled,
    model: str,
    chunker: dict[str, int],
    fingerprint: str,
    hnsw_threshold: int,
) -> IndexData:
    """The in-memory index and its manifest."""
    faiss_index = build_faiss(built.vectors.chunks, hnsw_threshold)
    manifest = Manifest(
        model=model,
        dimension=int(built.vectors.chunks.shape[1]),
        chunker=chunker,
        documents=built.infos,
        built_at=built.built_at,
        versions=_versions(),
        docs_fingerprint=fingerprint,
        index_type=index_type_name(faiss_index),
        chunk_count=len(built.chunks),
        sentence_count=int(built.vectors.sentences.shape[0]),
        token_count=len(built.vectors.tokens.codes),
    )
    return IndexData(
        manifest,
        built.chunks,
        np.ascontiguousarray(built.vectors.chunks, dtype=CHUNK_DTYPE),
        compact(built.vectors.sentences),
        sentence_offsets(built.chunks),
        compact(built.vectors.headings),
        faiss_index,
        SearchTables.compute(built.chunks),
        built.vectors.tokens,
    )


def _previous(
    index_dir: Path, model: str, signature: dict[str, int]
) -> tuple[IndexData | None, list[str]]:
    try:
        return read_index(index_dir, model=model, chunker=signature), []
    except IndexNotFoundError:
        return None, []
    except (IndexMismatchError, IndexCorruptError) as exc:
        log.warning("previous index not reused: %s", exc)
        return None, [f"previous index not reused: {exc}"]


def _by_source(data: IndexData | None) -> dict[str, PriorDocument]:
    """Split a previous index back into per-document chunks and vectors."""
    if data is None:
        return {}
    out: dict[str, PriorDocument] = {}
    pos = 0
    for info in data.manifest.documents:
        s0, s1 = data.sentence_offsets[pos], data.sentence_offsets[pos + info.chunks]
        rows = slice(pos, pos + info.chunks)
        out[info.source] = PriorDocument(
            info,
            data.chunks[rows],
            DocVectors(
                data.chunk_vectors[rows],
                data.sentence_vectors[s0:s1],
                data.heading_vectors[rows],
                data.tokens.select(pos, pos + info.chunks),
            ),
        )
        pos += info.chunks
    return out


def _embed(
    embedder: Embedder, work: list[PlannedDocument], progress: Progress | None
) -> dict[str, DocVectors]:
    """Embed every chunk (with its heading path, and its content tokens: ``index.late``),
    every distinct sentence and heading."""
    docs = [(p.doc, p.chunks or ()) for p in work]
    chunk_texts = [embedding_text(c) for _, chunks in docs for c in chunks]
    sentence_keys: dict[tuple[str, int, int], int] = {}
    sentence_texts: list[str] = []
    for doc, chunks in docs:
        for chunk in chunks:
            for s, e in chunk.sentences:
                key = (doc.source, s, e)
                if key not in sentence_keys:
                    sentence_keys[key] = len(sentence_texts)
                    sentence_texts.append(mended(chunk.text[s - chunk.start : e - chunk.start]))
    headings = sorted({c.heading[-1] for _, chunks in docs for c in chunks if c.heading})
    heading_row = {h: i for i, h in enumerate(headings)}
    total = len(chunk_texts) + len(sentence_texts) + len(headings)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, total)

    if progress:
        progress("embedding", 0, total)
    chunk_vecs, chunk_tokens = embedder.encode_passages(chunk_texts, tick)
    sent_vecs = compact(embedder.encode(sentence_texts, tick))
    head_vecs = compact(
        np.vstack([embedder.encode(headings, tick), np.zeros((1, embedder.dimension))])
    )
    out: dict[str, DocVectors] = {}
    pos = 0
    for doc, chunks in docs:
        rows = [sentence_keys[(doc.source, s, e)] for c in chunks for s, e in c.sentences]
        hrows = [heading_row[c.heading[-1]] if c.heading else -1 for c in chunks]
        out[doc.source] = DocVectors(
            chunk_vecs[pos : pos + len(chunks)],
            sent_vecs[rows],
            head_vecs[hrows],
            chunk_tokens.select(pos, pos + len(chunks)),
        )
        pos += len(chunks)
    return out


VERSIONED = "askdocs sentence-transformers onnxruntime tokenizers faiss-cpu torch numpy"
"""Packages whose versions the manifest records (what built the index)."""


def _versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED.split():
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out
