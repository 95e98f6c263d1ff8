"""The index on disk: versioned directories, an atomically replaced pointer, verified loads.

Layout of ``index_dir``::

    CURRENT                 name of the serving version (replaced atomically)
    v-<time>-<rand>/        one complete build
        manifest.json       model, dimension, chunker settings, documents, versions, checksums
        chunks.jsonl        one Chunk per line
        chunk_vectors.npy   float32 [chunks, dim], L2-normalised
        sentence_vectors.npy float16 [sentences, dim]; chunk i owns rows offsets[i]:offsets[i+1]
        heading_vectors.npy float16 [chunks, dim]: each chunk's deepest heading (zeros if none)
        token_codes.npy     int8 [tokens, dim]: each chunk's content-token vectors (index.late)
        token_scales.npy    float32 [tokens, 1]: their scales (a vector is codes * scale)
        token_offsets.npy   int64 [chunks + 1]: chunk i owns token rows offsets[i]:offsets[i+1]
        faiss.index         inner-product index over chunk_vectors (float32)

Sentence and heading vectors only rescore a few candidates, so they are kept as float16 (half
the memory; cosines change by < 1e-3 and the quality figures of tests/test_quality.py are the
same); the ``.npy`` files are memory-mapped read-only on load, so a process holds only the
pages it touches. Format 1 (float32 everywhere) is refused as a mismatch, and rebuilt.

A build is written to a fresh ``tmp-*`` directory, renamed to ``v-*`` and only then named in
``CURRENT``; a crash at any point leaves the previous version serving.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
)
from index.late import TokenVectors
from index.models import Chunk, DocumentInfo
from index.tables import SearchTables

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
CHUNK_DTYPE = np.float32
"""Chunk vectors (and FAISS's copy of them)."""
COMPACT_DTYPE = np.float16
"""Sentence and heading vectors."""
POINTER = "CURRENT"
_FILES = (
    "chunks.jsonl",
    "chunk_vectors.npy",
    "sentence_vectors.npy",
    "heading_vectors.npy",
    "faiss.index",
    "tables.npz",
    "token_codes.npy",
    "token_scales.npy",
    "token_offsets.npy",
)
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96


@dataclass(frozen=True, slots=True)
class Manifest:
    model: str
    dimension: int
    chunker: dict[str, int]
    documents: tuple[DocumentInfo, ...]
    built_at: str
    versions: dict[str, str]
    index_type: str
    chunk_count: int
    sentence_count: int
    token_count: int = 0
    docs_fingerprint: str = ""
    checksums: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True, slots=True, eq=False)
class IndexData:
    """A complete index in memory. Invariants: ``len(chunks) == chunk_vectors.shape[0] ==
    faiss_index.ntotal``; ``sentence_offsets`` has ``len(chunks) + 1`` entries, starts at 0,
    ends at ``sentence_vectors.shape[0]``, and chunk i has ``len(chunks[i].sentences)`` rows;
    ``heading_vectors`` has one row per chunk; ``chunk_vectors`` are ``CHUNK_DTYPE``,
    ``sentence_vectors`` and ``heading_vectors`` ``COMPACT_DTYPE`` (see :func:`compact`);
    ``tokens`` holds one text per chunk (see ``index.late.TokenVectors``)."""

    manifest: Manifest
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray
    heading_vectors: np.ndarray
    faiss_index: Any
    tables: SearchTables
    tokens: TokenVectors
    folder: Path | None = None
    """The version folder the vectors were read from (None: built in memory)."""


def compact(vectors: np.ndarray) -> np.ndarray:
    """Sentence or heading vectors as stored and held: contiguous ``COMPACT_DTYPE``."""
    return np.ascontiguousarray(vectors, dtype=COMPACT_DTYPE)


def sentence_offsets(chunks: tuple[Chunk, ...] | list[Chunk]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(c.sentences) for c in chunks])]).astype(np.int64)


def build_faiss(vectors: np.ndarray, hnsw_threshold: int = HNSW_THRESHOLD) -> Any:
    """Exact inner-product search below ``hnsw_threshold`` vectors, HNSW above it."""
    dim = vectors.shape[1]
    index: Any
    if vectors.shape[0] < hnsw_threshold:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    if vectors.shape[0]:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_type_name(index: Any) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def current_version(index_dir: Path) -> Path | None:
    """The serving version directory, or None when there is no index yet."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {index_dir / POINTER}: {exc.strerror}") from exc
    if not name.startswith("v-") or "/" in name:
        raise IndexCorruptError(f"{index_dir / POINTER} is damaged")
    return index_dir / name


def write_index(index_dir: Path, data: IndexData) -> Path:
    """Write ``data`` as a new version and make it the serving one, atomically.

    Raises IndexWriteError (the previous version keeps serving) when the disk refuses.
    """
    try:
        return _write_index(index_dir, data)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the index in {index_dir}: {exc.strerror or exc}; "
            "the previous index is still in use"
        ) from exc


def _write_index(index_dir: Path, data: IndexData) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    suffix = f"{stamp}-{secrets.token_hex(3)}"
    tmp = index_dir / f"tmp-{suffix}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in data.chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        np.save(tmp / "chunk_vectors.npy", data.chunk_vectors.astype(CHUNK_DTYPE, copy=False))
        np.save(tmp / "sentence_vectors.npy", compact(data.sentence_vectors))
        np.save(tmp / "heading_vectors.npy", compact(data.heading_vectors))
        faiss.write_index(data.faiss_index, str(tmp / "faiss.index"))
        data.tables.save(tmp / "tables.npz")
        np.save(tmp / "token_codes.npy", np.asarray(data.tokens.codes, np.int8))
        np.save(tmp / "token_scales.npy", np.asarray(data.tokens.scales, np.float32))
        np.save(tmp / "token_offsets.npy", np.asarray(data.tokens.offsets, np.int64))
        checksums = {name: _sha256(tmp / name) for name in _FILES}
        manifest = asdict(data.manifest) | {"checksums": checksums}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _fsync_dir(tmp)
        final = index_dir / f"v-{suffix}"
        os.replace(tmp, final)
        pointer_tmp = index_dir / f".{POINTER}.{suffix}"
        pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
        os.replace(pointer_tmp, index_dir / POINTER)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(index_dir, keep=final.name)
    log.info("index written to %s (%d chunks)", final, len(data.chunks))
    return final


def read_index(
    index_dir: Path, *, model: str | None = None, chunker: dict[str, int] | None = None
) -> IndexData:
    """Load and verify the serving index.

    Raises IndexNotFoundError when there is none, IndexCorruptError when files are missing,
    damaged or inconsistent, IndexMismatchError when it was built for another ``model`` or
    ``chunker`` configuration than the one given.
    """
    version = current_version(index_dir)
    if version is None:
        raise IndexNotFoundError(f"no index in {index_dir}")
    manifest = _read_manifest(version)
    if model is not None and manifest.model != model:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with model {manifest.model!r} but "
            f"{model!r} is configured"
        )
    if chunker is not None and manifest.chunker != chunker:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with other chunk settings ({manifest.chunker})"
        )
    for name in _FILES:
        path = version / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing")
        if manifest.checksums.get(name) != _sha256(path):
            raise IndexCorruptError(f"{path} is damaged (checksum)")
    try:
        with open(version / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = tuple(chunk_from_json(json.loads(line)) for line in fh)
        chunk_vectors = _mapped(version / "chunk_vectors.npy")
        sentence_vectors = _mapped(version / "sentence_vectors.npy")
        heading_vectors = _mapped(version / "heading_vectors.npy")
        faiss_index = faiss.read_index(str(version / "faiss.index"))
        tables = SearchTables.load(version / "tables.npz")
        tokens = TokenVectors(
            _mapped(version / "token_codes.npy"),
            _mapped(version / "token_scales.npy"),
            np.load(version / "token_offsets.npy", allow_pickle=False),
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"cannot read the index in {version}: {exc}") from exc
    offsets = sentence_offsets(chunks)
    consistent = (
        len(chunks) == manifest.chunk_count == chunk_vectors.shape[0] == faiss_index.ntotal
        and sentence_vectors.shape[0] == offsets[-1] == manifest.sentence_count
        and heading_vectors.shape == chunk_vectors.shape
        and chunk_vectors.shape[1:] == (manifest.dimension,)
        and sentence_vectors.shape[1:] == (manifest.dimension,)
        and chunk_vectors.dtype == CHUNK_DTYPE
        and sentence_vectors.dtype == heading_vectors.dtype == COMPACT_DTYPE
        and tables.passages == len(chunks)
        and len(tables.sentence_terms) == sentence_vectors.shape[0]
        and tokens.codes.dtype == np.int8
        and tokens.codes.shape == (manifest.token_count, manifest.dimension)
        and tokens.scales.shape == (manifest.token_count, 1)
        and tokens.offsets.shape == (len(chunks) + 1,)
        and tokens.offsets[0] == 0
        and tokens.offsets[-1] == manifest.token_count
        and bool(np.all(np.diff(tokens.offsets) >= 0))
    )
    if not consistent:
        raise IndexCorruptError(f"the index in {version} is inconsistent")
    if isinstance(faiss_index, faiss.IndexHNSWFlat):
        faiss_index.hnsw.efSearch = HNSW_EF_SEARCH
    return IndexData(
        manifest,
        chunks,
        chunk_vectors,
        sentence_vectors,
        offsets,
        heading_vectors,
        faiss_index,
        tables,
        tokens,
        version,
    )


def _mapped(path: Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped read-only, as a plain ndarray (pages load on use)."""
    return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))


class VectorFile:
    """Rows of a 2-D ``.npy`` file of a version folder, read on demand with ``pread``.

    Serving reads a few dozen scattered rows per question. Through a memory map every row
    read maps the kernel's whole cached block around it into the process (hundreds of KiB
    per row on current kernels), so after a few dozen questions the whole file counts in
    the process's memory; ``pread`` copies just the rows and leaves the file to the page
    cache, which the kernel shares and reclaims."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            major, _ = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(fh)
            self._start = fh.tell()
        if len(shape) != 2 or fortran:
            raise IndexCorruptError(f"{path} is not a C-ordered 2-D array")
        self.dtype = np.dtype(dtype)
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self._row = self.shape[1] * self.dtype.itemsize
        fd = os.open(path, os.O_RDONLY)
        self._fd = fd
        weakref.finalize(self, os.close, fd)

    def block(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo:hi`` (one read)."""
        data = os.pread(self._fd, (hi - lo) * self._row, self._start + lo * self._row)
        return np.frombuffer(data, dtype=self.dtype).reshape(hi - lo, self.shape[1])

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The rows ``ids`` (ascending), one read per run of consecutive ids."""
        out = np.empty((len(ids), self.shape[1]), dtype=self.dtype)
        at = 0
        while at < len(ids):
            end = at + 1
            while end < len(ids) and ids[end] == ids[end - 1] + 1:
                end += 1
            out[at:end] = self.block(int(ids[at]), int(ids[end - 1]) + 1)
            at = end
        return out


def _read_manifest(version: Path) -> Manifest:
    path = version / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"the index in {version} has format {raw.get('format_version')} (an older or "
                f"newer askdocs built it); this askdocs reads format {FORMAT_VERSION} and "
                "rebuilds it"
            )
        return manifest_from_dict(raw)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{path} is missing") from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc})") from exc


def manifest_from_dict(raw: dict[str, Any]) -> Manifest:
    """A Manifest from its JSON form (``dataclasses.asdict`` of one)."""
    raw = dict(raw)
    raw["documents"] = tuple(DocumentInfo(**d) for d in raw["documents"])
    return Manifest(**raw)


def chunk_from_json(raw: dict[str, Any]) -> Chunk:
    return Chunk(
        source=raw["source"],
        heading=tuple(raw["heading"]),
        start=int(raw["start"]),
        end=int(raw["end"]),
        text=raw["text"],
        display=raw["display"],
        sentences=tuple((int(s), int(e)) for s, e in raw["sentences"]),
        display_sentences=tuple((int(s), int(e)) for s, e in raw["display_sentences"]),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, keep: str) -> None:
    """Remove leftovers of crashed builds and all versions but the serving one and its
    predecessor (which a reader may still be loading)."""
    versions = sorted(p for p in index_dir.glob("v-*") if p.is_dir())
    stale = [p for p in versions if p.name != keep][:-1]
    stale += [p for p in index_dir.glob("tmp-*") if p.is_dir()]
    stale += [p for p in index_dir.glob(f".{POINTER}.*")]
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
