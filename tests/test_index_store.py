"""Index build, store round trip, incremental updates, crash safety, mismatches."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from index.builder import build_index, build_lock
from index.chunking import ChunkerSettings, embedding_text
from index.embedding import Embedder
from index.engine import Engine, EngineConfig
from index.errors import (
    BuildInProgressError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    SourceDocsError,
)
from index.passages import MemoryStore
from index.sentences import mended
from index.store import FORMAT_VERSION, VectorFile, build_faiss, current_version, read_index

CHUNKER = ChunkerSettings()


def _build(docs: Path, index_dir: Path, embedder: Embedder, **kw: object):
    built = build_index(docs, index_dir, embedder, CHUNKER, **kw)  # type: ignore[arg-type]
    return built.data, built.report


def test_round_trip(docs_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    data, report = _build(docs_dir, tmp_path / "ix", embedder)
    assert report.added == ("kim-jong-un-putin-meeting.txt",) and report.full_rebuild
    loaded = read_index(tmp_path / "ix", model=embedder.model_id)
    assert loaded.chunks == data.chunks
    np.testing.assert_array_equal(loaded.chunk_vectors, data.chunk_vectors)
    np.testing.assert_array_equal(loaded.sentence_vectors, data.sentence_vectors)
    assert loaded.faiss_index.ntotal == len(data.chunks)
    manifest = json.loads((current_version(tmp_path / "ix") / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["documents"][0]["content_hash"]
    assert {"sentence-transformers", "faiss-cpu", "torch"} <= set(manifest["versions"])
    assert manifest["chunker"]["target_tokens"] == CHUNKER.target_tokens
    norms = np.linalg.norm(loaded.chunk_vectors, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)
    # sentence and heading vectors are float16 as built, as stored and as loaded; loaded
    # arrays are read-only maps of the files, not copies
    for held in (data, loaded):
        assert held.chunk_vectors.dtype == np.float32
        assert held.sentence_vectors.dtype == held.heading_vectors.dtype == np.float16
    np.testing.assert_array_equal(loaded.heading_vectors, data.heading_vectors)
    for array in (loaded.chunk_vectors, loaded.sentence_vectors, loaded.heading_vectors):
        assert not array.flags.writeable and isinstance(array.base, np.memmap)
    version = current_version(tmp_path / "ix")
    assert np.load(version / "sentence_vectors.npy").dtype == np.float16
    assert np.load(version / "heading_vectors.npy").dtype == np.float16
    # float16 keeps sentence cosines within 1e-3 of the float32 ones
    texts = [
        mended(c.text[s - c.start : e - c.start]) for c in data.chunks[:5] for s, e in c.sentences
    ]
    full = embedder.encode(texts)
    np.testing.assert_allclose(
        loaded.sentence_vectors[: len(texts)].astype(np.float32) @ full[0],
        full @ full[0],
        atol=1e-3,
    )


@pytest.mark.parametrize("older", [1, 2, 3])
def test_an_older_format_is_rebuilt_with_a_clear_message(
    older: int,
    docs_dir: Path,
    tmp_path: Path,
    embedder: Embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    manifest = current_version(ix) / "manifest.json"
    raw = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(raw | {"format_version": older}))
    message = rf"has format {older} .* reads format {FORMAT_VERSION} and rebuilds"
    with pytest.raises(IndexMismatchError, match=message):
        read_index(ix)
    report = Engine(EngineConfig(docs_dir, ix), embedder).open()
    assert report is not None and report.full_rebuild
    assert f"has format {older}" in caplog.text and "rebuilding" in caplog.text
    assert read_index(ix).sentence_vectors.dtype == np.float16


def test_float32_sentence_vectors_are_inconsistent(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    data, _ = _build(docs_dir, ix, embedder)
    version = current_version(ix)
    np.save(version / "sentence_vectors.npy", data.sentence_vectors.astype(np.float32))
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["checksums"]["sentence_vectors.npy"] = hashlib.sha256(
        (version / "sentence_vectors.npy").read_bytes()
    ).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="inconsistent"):
        read_index(ix)


def test_incremental_reindex(docs_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    (docs_dir / "guide.md").write_text("# Guide\n\nThe ferry leaves at nine.\n", encoding="utf-8")
    data, report = _build(docs_dir, ix, embedder)
    assert report.added == ("guide.md",)
    assert report.unchanged == ("kim-jong-un-putin-meeting.txt",)
    assert report.embedded_chunks == 1
    (docs_dir / "guide.md").write_text("# Guide\n\nThe ferry leaves at ten.\n", encoding="utf-8")
    data, report = _build(docs_dir, ix, embedder)
    assert report.changed == ("guide.md",) and report.embedded_chunks == 1
    assert any("ten" in c.text for c in data.chunks)
    (docs_dir / "guide.md").unlink()
    data, report = _build(docs_dir, ix, embedder)
    assert report.removed == ("guide.md",) and report.embedded_chunks == 0
    assert {c.source for c in data.chunks} == {"kim-jong-un-putin-meeting.txt"}
    # reused vectors are the same as freshly computed ones
    fresh, _ = _build(docs_dir, tmp_path / "fresh", embedder)
    np.testing.assert_allclose(data.chunk_vectors, fresh.chunk_vectors, atol=1e-5)
    np.testing.assert_array_equal(data.tokens.offsets, fresh.tokens.offsets)
    for i in range(len(data.chunks)):
        np.testing.assert_allclose(data.tokens.of(i), fresh.tokens.of(i), atol=0.02)


def test_progress_reports_files_read_documents_chunked_and_texts_embedded(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    (docs_dir / "guide.md").write_text("# Guide\n\nThe ferry leaves at nine.\n", encoding="utf-8")
    (docs_dir / "image.png").write_bytes(b"\x89PNG\r\n")  # read, skipped
    calls: list[tuple[str, int, int]] = []
    _build(docs_dir, ix, embedder, progress=lambda *call: calls.append(call))
    stages = [stage for stage, _, _ in calls]
    assert stages == sorted(stages, key=["reading", "loading", "chunking", "embedding",
                                          "writing"].index)  # fmt: skip
    assert [c for c in calls if c[0] == "reading"] == [("reading", i, 3) for i in (1, 2, 3)]
    assert ("loading", 2, 2) in calls
    assert [c for c in calls if c[0] == "chunking"] == [("chunking", 1, 1)]  # only the new one
    embedding = [c for c in calls if c[0] == "embedding"]
    assert embedding[0][1] == 0 and embedding[-1][1] == embedding[-1][2] >= 3
    assert calls[-1] == ("writing", 1, 1)


def test_bad_files_are_skipped_and_reported(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    (docs_dir / "empty.txt").write_text("")
    (docs_dir / "broken.pdf").write_bytes(b"%PDF-1.4\n%trunc")
    (docs_dir / "image.png").write_bytes(b"\x89PNG\r\n")
    _, report = _build(docs_dir, tmp_path / "ix", embedder)
    assert {s.source for s in report.skipped} == {"empty.txt", "broken.pdf", "image.png"}
    assert report.added == ("kim-jong-un-putin-meeting.txt",)


def test_no_documents_is_an_error(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "docs").mkdir()
    with pytest.raises(SourceDocsError):
        _build(tmp_path / "docs", tmp_path / "ix", embedder)
    with pytest.raises(SourceDocsError, match=r"not found|does not exist|missing"):
        _build(tmp_path / "nope", tmp_path / "ix", embedder)


def test_interrupted_build_keeps_previous_index(
    docs_dir: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = tmp_path / "ix"
    before, _ = _build(docs_dir, ix, embedder)
    serving = current_version(ix)
    (docs_dir / "new.txt").write_text("New Title\n\nSomething entirely new is said here.\n")

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("index.store.faiss.write_index", crash)
    with pytest.raises(IndexWriteError, match="disk full"):
        _build(docs_dir, ix, embedder)
    monkeypatch.undo()
    assert current_version(ix) == serving
    assert not list(ix.glob("tmp-*"))
    after = read_index(ix, model=embedder.model_id)
    assert after.chunks == before.chunks


def test_crash_while_embedding_keeps_previous_index(
    docs_dir: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    serving = current_version(ix)
    (docs_dir / "new.txt").write_text("New Title\n\nSomething entirely new is said here.\n")
    monkeypatch.setattr(embedder, "encode", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(MemoryError):
        _build(docs_dir, ix, embedder)
    assert current_version(ix) == serving


def test_model_mismatch_is_named(docs_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    with pytest.raises(IndexMismatchError, match="is configured"):
        read_index(ix, model="some-other-model")
    with pytest.raises(IndexMismatchError, match="chunk settings"):
        read_index(ix, chunker={"target_tokens": 1})


@pytest.mark.parametrize(
    "damage",
    ["delete_vectors", "truncate_faiss", "garble_manifest", "edit_chunks", "bad_pointer"],
)
def test_corrupt_index_is_detected(
    damage: str, docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    version = current_version(ix)
    match damage:
        case "delete_vectors":
            (version / "chunk_vectors.npy").unlink()
        case "truncate_faiss":
            path = version / "faiss.index"
            path.write_bytes(path.read_bytes()[:100])
        case "garble_manifest":
            (version / "manifest.json").write_text("{not json")
        case "edit_chunks":
            path = version / "chunks.jsonl"
            path.write_text(path.read_text().replace("Putin", "Obama"))
        case "bad_pointer":
            (ix / "CURRENT").write_text("../../etc\n")
    with pytest.raises(IndexCorruptError, match=r"is (missing|damaged)"):
        read_index(ix)


def test_engine_rebuilds_a_corrupt_index(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    (current_version(ix) / "chunks.jsonl").write_text("garbage\n")
    engine = Engine(EngineConfig(docs_dir, ix), embedder)
    report = engine.open()
    assert report is not None and report.full_rebuild
    assert not engine.answer("Who is Kim Jong Un meeting?").abstained


def test_engine_refreshes_stale_index(docs_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    engine = Engine(EngineConfig(docs_dir, tmp_path / "ix"), embedder)
    assert engine.open() is not None  # first build
    assert engine.open() is None  # up to date: just loaded
    (docs_dir / "ferry.md").write_text("# Ferry\n\nThe ferry to the island leaves at nine.\n")
    report = engine.open()
    assert report is not None and report.added == ("ferry.md",)
    assert engine.answer("When does the ferry leave?").passages[0].source == "ferry.md"


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no index"):
        read_index(tmp_path / "none")


def test_one_build_at_a_time(docs_dir: Path, tmp_path: Path, embedder: Embedder) -> None:
    ix = tmp_path / "ix"
    with build_lock(ix), pytest.raises(BuildInProgressError):
        _build(docs_dir, ix, embedder)
    engine = Engine(EngineConfig(docs_dir, ix), embedder)
    engine.open()
    started, release = threading.Event(), threading.Event()
    original = embedder.encode

    def slow(*args: object, **kwargs: object):
        if threading.current_thread() is worker:  # only the build waits, not the question
            started.set()
            release.wait(10)
        return original(*args, **kwargs)

    (docs_dir / "x.txt").write_text("Extra\n\nAn extra document appears.\n")
    embedder.encode = slow  # type: ignore[method-assign]
    try:
        worker = threading.Thread(target=engine.reindex)
        worker.start()
        assert started.wait(10)
        assert engine.building
        with pytest.raises(BuildInProgressError):
            engine.reindex()
        # the old index keeps answering during the build
        assert not engine.answer("Does Russia border North Korea?").abstained
        release.set()
        worker.join(10)
    finally:
        del embedder.encode
    assert "x.txt" in {d.source for d in engine.documents}


@pytest.mark.parametrize("n", [200, 5000])
def test_faiss_type_by_size_and_hnsw_recall(n: int) -> None:
    """Above the threshold the index is HNSW, with recall@10 >= 0.95 against exact search."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(50, 384)).astype(np.float32)
    data = centers[rng.integers(0, 50, n)] + 0.6 * rng.normal(size=(n, 384)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[rng.choice(n, 100, replace=False)] + 0.3 * rng.normal(size=(100, 384))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    exact = build_faiss(data, hnsw_threshold=n + 1)
    approx = build_faiss(data, hnsw_threshold=1000)
    assert type(exact).__name__ == "IndexFlatIP"
    assert type(approx).__name__ == ("IndexFlatIP" if n < 1000 else "IndexHNSWFlat")
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    print(f"\nrecall@10 with {n} vectors ({type(approx).__name__}): {recall:.3f}")
    assert recall >= 0.95


def test_plain_text_first_line_is_a_title_only_when_it_looks_like_one(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rules.txt").write_text("Voice chat opens at 8 pm. Be kind to new members.\n")
    (docs / "only-title.md").write_text("# Server Rules\n\n## Voice\n")
    (docs / "notes.txt").write_text("The wiki lives at example.org/wiki.\nVoice opens at 8.\n")
    data, report = _build(docs, tmp_path / "ix", embedder)
    assert set(report.added) == {"rules.txt", "notes.txt"}
    assert [(s.source, s.reason) for s in report.skipped] == [
        ("only-title.md", "no text to index (only headings)")
    ]
    assert any("example.org/wiki" in c.text for c in data.chunks)
    assert any("Voice chat opens at 8 pm" in c.text for c in data.chunks)


def test_oversized_documents_are_skipped(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "small.txt").write_text("Small\n\nA small document about ferries.\n")
    (docs / "huge.txt").write_text("Huge\n\n" + "A long line of words. " * 200)
    _, report = _build(docs, tmp_path / "ix", embedder, max_doc_bytes=1000)
    assert report.added == ("small.txt",)
    assert report.skipped[0].source == "huge.txt" and "too large" in report.skipped[0].reason


def test_stale_index_still_serves_while_another_process_builds(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    (docs_dir / "new.md").write_text("# New\n\nA new document.\n")
    engine = Engine(EngineConfig(docs_dir, ix), embedder)
    with build_lock(ix):  # as if `askdocs index` ran in another process
        assert engine.open() is None
    assert not engine.answer("Does Russia border North Korea?").abstained


def test_index_serves_when_documents_folder_is_gone(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    shutil.rmtree(docs_dir)
    engine = Engine(EngineConfig(docs_dir, ix), embedder)
    assert engine.open() is None
    assert not engine.answer("Does Russia border North Korea?").abstained


def test_unwritable_index_still_serves_after_documents_change(
    docs_dir: Path, tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """A read-only index folder (simulated: tests run as root, so modes do not bind) is
    answered from, with a warning, when the documents changed and it cannot be rebuilt."""
    ix = tmp_path / "ix"
    _build(docs_dir, ix, embedder)
    (docs_dir / "new.md").write_text("# New\n\nA new document.\n")
    (ix / ".lock").unlink()
    (ix / ".lock").mkdir()  # opening the lock file for writing now fails like EACCES would
    engine = Engine(EngineConfig(docs_dir, ix), embedder)
    assert engine.open() is None
    assert any("answering from the index as it was built" in r.message for r in caplog.records)
    assert not engine.answer("Does Russia border North Korea?").abstained


def test_served_rows_are_read_from_the_files_exactly(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """An index read from disk serves candidate vectors by pread: the same rows as the
    arrays, and the memory-mapped arrays are never touched."""
    built, _ = _build(docs_dir, tmp_path / "ix", embedder)
    loaded = read_index(tmp_path / "ix")
    assert built.folder is None and loaded.folder == current_version(tmp_path / "ix")
    for name, array in (
        ("chunk_vectors.npy", built.chunk_vectors),
        ("sentence_vectors.npy", built.sentence_vectors),
        ("heading_vectors.npy", built.heading_vectors),
    ):
        rows = VectorFile(loaded.folder / name)
        assert rows.shape == array.shape and rows.dtype == array.dtype
        picked = np.array([0, 1, 2, len(array) - 1])
        np.testing.assert_array_equal(rows.rows(picked), array[picked])
        np.testing.assert_array_equal(rows.block(1, len(array)), array[1:])
    query = embedder.encode(["Where do Kim and Putin meet?"])[0]
    from_files = MemoryStore(loaded).candidates("where do kim and putin meet", query, 5)
    in_memory = MemoryStore(built).candidates("where do kim and putin meet", query, 5)
    np.testing.assert_array_equal(from_files.ids, in_memory.ids)
    np.testing.assert_array_equal(from_files.chunk_vectors, in_memory.chunk_vectors)
    for a, b in zip(from_files.sentence_vectors, in_memory.sentence_vectors, strict=True):
        np.testing.assert_array_equal(a, b)
    ids = [len(built.chunks) - 1, 0, 2]
    for a, b in zip(
        MemoryStore(loaded).token_vectors(ids), MemoryStore(built).token_vectors(ids), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_each_chunk_holds_the_content_tokens_of_its_text(
    docs_dir: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """Token rows line up with chunks: chunk i's rows are its embedded text's content
    tokens (as many as the model saw), unit length within the quantization's error."""
    _build(docs_dir, tmp_path / "ix", embedder)
    loaded = read_index(tmp_path / "ix")
    tokens = loaded.tokens
    assert tokens.texts == len(loaded.chunks) == loaded.manifest.chunk_count
    assert tokens.offsets[-1] == len(tokens.codes) == loaded.manifest.token_count
    _, fresh = embedder.encode_tokens([embedding_text(c) for c in loaded.chunks[:3]])
    for i, want in enumerate(fresh):
        got = tokens.of(i)
        assert got.shape == want.shape and len(got) > 0
        np.testing.assert_allclose(got, want, atol=float(tokens.scales.max()))
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=0.02)
