"""The ONNX embedding backend: same vectors, token counts and answers as sentence-transformers,
a verified export cached once, fallbacks, damaged exports rebuilt, answering without torch.

Tests marked slow load sentence-transformers (torch, ≈6 s) once for the module."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import onnx_cache, onnx_export
from index.chunking import ChunkerSettings, chunk_document, embedding_text
from index.embedding import Embedder, resolve_model
from index.engine import Engine, EngineConfig
from index.errors import ModelLoadError
from index.loaders import load_documents
from index.onnx_probes import PROBES
from index.onnx_runtime import MODEL_FILE, OnnxBackend, WordTable, pool
from index.onnx_spec import FileDigests, model_folder, model_key, read_spec

REPO = Path(__file__).resolve().parent.parent
SOURCE_DOCS = REPO / "source_docs"
QUESTIONS = Path(__file__).resolve().parent / "data" / "article_eval.jsonl"
HEAVY = (
    "torch",
    "sentence_transformers",
    "transformers",
    "psycopg",
    "pgvector",
    "bs4",
    "pypdf",
    "scipy",
)
"""Not needed to answer from a built index without a database."""
LONG = " ".join(["Unattended upgrades install security updates every night."] * 60)


@pytest.fixture(scope="module")
def reference() -> Embedder:
    """The same model on sentence-transformers (torch): what the ONNX backend must match."""
    return Embedder(backend="sentence-transformers")


@pytest.fixture
def reuse_reference(monkeypatch: pytest.MonkeyPatch, reference: Embedder) -> None:
    """Exports made in a test reuse the loaded reference model instead of loading it again."""
    model = reference._backend.model  # type: ignore[attr-defined]
    monkeypatch.setattr(onnx_cache, "_load_reference", lambda target, model_id: model)


def _export_dir(embedder: Embedder) -> Path:
    folder = getattr(embedder._backend, "folder", None)
    assert folder is not None, f"the session embedder runs on {embedder.backend}, not ONNX"
    return Path(folder)


def _copy_export(embedder: Embedder, cache: Path) -> Path:
    """A private copy of the session's verified export, at the key a lookup in ``cache``
    computes."""
    target = cache / model_key(_model_folder())
    shutil.copytree(_export_dir(embedder), target)
    return target


def _model_folder() -> Path:
    folder = model_folder(resolve_model("all-MiniLM-L6-v2"))
    assert folder is not None
    return folder


def _corpus_texts(embedder: Embedder) -> list[str]:
    """Paragraphs, chunks as embedded, sentences and headings of source_docs/, plus probes."""
    docs, _ = load_documents(SOURCE_DOCS, 10_000_000)
    texts: list[str] = [LONG, LONG.upper(), *PROBES]
    settings = ChunkerSettings(max_tokens=embedder.max_tokens)
    for doc in docs:
        texts += [block.text for block in doc.blocks]
        _, chunks = chunk_document(doc, settings, embedder.count_tokens)
        for c in chunks:
            texts += [embedding_text(c), *c.heading]
            texts += [c.text[s - c.start : e - c.start] for s, e in c.sentences]
    return list(dict.fromkeys(texts))


# --- the session embedder and the runtime, no torch -------------------------------------------


def test_session_embedder_runs_on_a_verified_export(embedder: Embedder) -> None:
    assert embedder.backend == "onnx"
    assert (embedder.dimension, embedder.max_tokens) == (384, 254)
    record = json.loads((_export_dir(embedder) / "verification.json").read_text())
    assert record["passed"] and record["min_cosine"] >= onnx_export.MIN_COSINE


def test_the_word_embedding_table_is_read_from_a_file_not_held_in_the_graph(
    embedder: Embedder,
) -> None:
    import onnx

    folder = _export_dir(embedder)
    meta = json.loads((folder / "export.json").read_text())
    table = meta["word_embeddings"]
    assert (table["rows"], table["dim"]) == (30522, 384)
    assert "inputs_embeds" in meta["inputs"] and "input_ids" not in meta["inputs"]
    assert (folder / table["file"]).stat().st_size == 30522 * 384 * 4
    graph = onnx.load(str(folder / MODEL_FILE), load_external_data=False).graph
    assert all(30522 not in init.dims for init in graph.initializer)


def test_an_export_whose_graph_and_table_disagree_does_not_load(
    embedder: Embedder, tmp_path: Path
) -> None:
    folder = _copy_export(embedder, tmp_path)
    meta = json.loads((folder / "export.json").read_text())
    (folder / "export.json").write_text(json.dumps(meta | {"word_embeddings": None}))
    with pytest.raises(ModelLoadError, match="word-embedding table disagree"):
        OnnxBackend(folder)


@pytest.mark.parametrize(
    "ids",
    [[[0]], [[5, 5, 5]], [[3, 1], [2, 3]], [[0, 9, 4, 9], [9, 0, 0, 0], [4, 4, 4, 4]]],
)
def test_word_table_rows_are_the_table_indexed(tmp_path: Path, ids: list[list[int]]) -> None:
    table = np.arange(10 * 4, dtype="<f4").reshape(10, 4) / 7
    table.tofile(tmp_path / "t.f32")
    words = WordTable(tmp_path / "t.f32", 10, 4)
    got = words.rows(np.array(ids, dtype=np.int64))
    assert got.shape == (*np.shape(ids), 4) and np.array_equal(got, table[np.array(ids)])


def test_word_table_refuses_bad_files_and_ids(tmp_path: Path) -> None:
    np.zeros((10, 4), dtype="<f4").tofile(tmp_path / "t.f32")
    with pytest.raises(ModelLoadError, match="not 11 × 4"):
        WordTable(tmp_path / "t.f32", 11, 4)
    with pytest.raises(ModelLoadError, match="word embeddings"):
        WordTable.open(tmp_path, {"file": "missing.f32", "rows": 1, "dim": 4})
    assert WordTable.open(tmp_path, None) is None
    with pytest.raises(ModelLoadError, match="out of the word-embedding table"):
        WordTable(tmp_path / "t.f32", 10, 4).rows(np.array([[10]]))


def test_vectors_do_not_depend_on_batching_or_threads(embedder: Embedder) -> None:
    texts = [*PROBES[:20], LONG]
    together = embedder.encode(texts, batch_size=len(texts))
    alone = np.vstack([embedder.encode([t]) for t in texts])
    assert np.min(np.sum(together * alone, axis=1)) >= 0.99999
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    results: list[np.ndarray] = []
    counts: list[list[int]] = []

    def embed() -> None:
        results.append(embedder.encode(texts))

    def count() -> None:
        counts.append([embedder.count_tokens(t) for t in texts * 2])

    threads = [threading.Thread(target=f) for f in (embed, count) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == len(counts) == 3 and counts[0] == counts[1] == counts[2]
    assert all(np.allclose(r, results[0], atol=1e-6) for r in results)


def test_long_texts_are_cut_at_the_window_but_counted_in_full(embedder: Embedder) -> None:
    assert embedder.count_tokens(LONG) == 60 * embedder.count_tokens(LONG.split(".")[0] + ".")
    ids = embedder._backend.token_ids([LONG, "short"])  # type: ignore[attr-defined]
    assert [len(i) for i in ids] == [embedder.max_tokens + 2, 3]
    cut = embedder.encode([LONG, LONG + " And a tail past the window."])
    assert float(cut[0] @ cut[1]) > 0.999999


def test_pooling_modes() -> None:
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    assert pool(hidden, mask, ("mean",)).tolist() == [[1, 2], [8, 9]]
    assert pool(hidden, mask, ("cls",)).tolist() == [[0, 1], [6, 7]]
    assert pool(hidden, mask, ("max",)).tolist() == [[2, 3], [10, 11]]
    sqrt = pool(hidden, mask, ("mean_sqrt_len_tokens",))
    assert np.allclose(sqrt, [[2 / 2**0.5, 4 / 2**0.5], [24 / 3**0.5, 27 / 3**0.5]])
    assert pool(hidden, mask, ("cls", "mean")).shape == (2, 4)


def test_neighbour_lists_must_match_but_for_near_ties() -> None:
    rng = np.random.default_rng(3)
    want = rng.standard_normal((15, 8)).astype(np.float32)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert onnx_export._same_neighbours(want + 1e-7, want)
    assert not onnx_export._same_neighbours(want[::-1].copy(), want)
    tied = np.vstack([want, want[:1] * (1 - 1e-7)])  # two probes a hair apart
    moved = tied.copy()
    moved[[0, -1]] = moved[[-1, 0]]
    assert onnx_export._same_neighbours(moved, tied)


def _model_copy(tmp_path: Path, **changes: Any) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(_model_folder(), folder, ignore=shutil.ignore_patterns("*.safetensors"))
    for name, value in changes.items():
        path = folder / name.replace("__", "/").replace("_json", ".json")
        if value is None:
            path.unlink()
        else:
            path.write_text(json.dumps(value))
    return folder


def test_spec_is_read_from_the_model_folder(tmp_path: Path) -> None:
    spec = read_spec(_model_folder())
    assert (spec.max_seq_length, spec.pooling, spec.dimension) == (256, ("mean",), 384)
    new_style = {"embedding_dimension": 384, "pooling_mode": ["cls", "max"]}
    spec = read_spec(_model_copy(tmp_path, **{"1_Pooling__config_json": new_style}))
    assert (spec.pooling, spec.dimension) == (("cls", "max"), 768)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"modules_json": None}, "no modules.json"),
        ({"sentence_bert_config_json": {"do_lower_case": False}}, "max_seq_length"),
        ({"1_Pooling__config_json": {"pooling_mode_lasttoken": True}}, "lasttoken"),
        ({"config_sentence_transformers_json": {"default_prompt_name": "query"}}, "prompt"),
        (
            {
                "modules_json": [
                    {"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                    {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                    {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
                ]
            },
            "Dense",
        ),
    ],
)
def test_pipelines_the_export_cannot_reproduce_are_refused(
    tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ModelLoadError, match=reason):
        read_spec(_model_copy(tmp_path, **change))


def test_model_key_follows_the_files(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path)
    memo = tmp_path / "memo.json"
    key = model_key(folder, FileDigests(memo))
    assert memo.is_file() and model_key(folder, FileDigests(memo)) == key == model_key(folder)
    (folder / "tokenizer_config.json").write_text("{}")
    assert model_key(folder, FileDigests(memo)) != key


DAMAGES = {
    "truncated": lambda d: (d / MODEL_FILE).write_bytes((d / MODEL_FILE).read_bytes()[:100_000]),
    "weights changed": lambda d: _overwrite(d / MODEL_FILE, b"\x7f" * 100_000),
    "metadata gone": lambda d: (d / "export.json").unlink(),
    "tokenizer unreadable": lambda d: (d / "tokenizer.json").write_text("{not json"),
    "verification unreadable": lambda d: (d / "verification.json").write_text("[1"),
    "canaries not reproduced": lambda d: _edit_record(d, canary_texts=["other", "texts", "!"]),
}


def _edit_record(folder: Path, **changes: Any) -> None:
    record = json.loads((folder / "verification.json").read_text())
    (folder / "verification.json").write_text(json.dumps(record | changes))


def _overwrite(path: Path, data: bytes) -> None:
    """Same size, other bytes: three quarters in, among the transformer layers' weights."""
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size * 3 // 4)
        fh.write(data)


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_exports_are_detected_and_removed(
    embedder: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    target = _copy_export(embedder, tmp_path)
    onnx, record = onnx_cache._cached(target)
    assert onnx is not None and record is not None and record["passed"]
    DAMAGES[damage](target)
    with caplog.at_level(logging.WARNING, logger="index.onnx_cache"):
        assert onnx_cache._cached(target) == (None, None)
    assert "is damaged" in caplog.text and not target.exists()


def test_a_verification_for_another_runtime_is_not_trusted(embedder: Embedder, tmp_path: Path):
    target = _copy_export(embedder, tmp_path)
    record = json.loads((target / "verification.json").read_text())
    record["runtime"]["onnxruntime"] = "0.0.1"
    (target / "verification.json").write_text(json.dumps(record))
    onnx, stored = onnx_cache._cached(target)
    assert onnx is not None and stored is None  # so it is verified again before use


# --- answering without torch (subprocesses) --------------------------------------------------

ASK = """
import importlib, sys, tomllib
script = tomllib.load(open(sys.argv.pop(1), "rb"))["project"]["scripts"]["askdocs"]
module, func = script.split(":")
try:
    code = getattr(importlib.import_module(module), func)(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in %r)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
""" % (HEAVY,)  # noqa: UP031

RUN = """
import importlib, pkgutil, sys
from pathlib import Path
import bot
for info in pkgutil.walk_packages(bot.__path__, "bot."):
    if info.name != "bot.shared.database":  # PostgreSQL: imported only with a database URL
        importlib.import_module(info.name)  # the Discord front end and everything it imports
from index.engine import Engine, EngineConfig
engine = Engine(EngineConfig(Path(sys.argv[1]), Path(sys.argv[2])))
engine.open()
answers = engine.answer_many(["Who is Kim Jong Un meeting?"] * 3)
assert not answers[0].abstained, answers[0]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in %r)
print("HEAVY:" + ",".join(heavy))
""" % (HEAVY,)  # noqa: UP031


@pytest.fixture(scope="module")
def article_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    root = tmp_path_factory.mktemp("no-torch")
    shutil.copytree(SOURCE_DOCS, root / "docs")
    Engine(EngineConfig(root / "docs", root / "index"), embedder).open()
    return root


def test_ask_from_a_built_index_does_not_import_torch(article_index: Path) -> None:
    folders = ["--source-docs", str(article_index / "docs"), "--index-dir"]
    folders.append(str(article_index / "index"))
    args = [sys.executable, "-c", ASK, str(REPO / "pyproject.toml"), "ask", "--json", *folders]
    question = "Who is Kim Jong Un meeting?"
    done = subprocess.run([*args, question], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["abstained"] is False
    assert "HEAVY:\n" in done.stderr, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr


def test_the_bot_answers_without_importing_torch(article_index: Path) -> None:
    args = [str(article_index / "docs"), str(article_index / "index")]
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("HEAVY:"), done.stdout + done.stderr


# --- against sentence-transformers (slow: loads torch) ---------------------------------------


@pytest.mark.slow
def test_token_counts_equal(embedder: Embedder, reference: Embedder) -> None:
    texts = _corpus_texts(reference)
    assert max(reference.count_tokens(t) for t in texts) > 512  # counted past the window
    assert [embedder.count_tokens(t) for t in texts] == [reference.count_tokens(t) for t in texts]
    ids = embedder._backend.token_ids(texts)  # type: ignore[attr-defined]
    assert ids == reference._backend.token_ids(texts)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_vectors_equal(embedder: Embedder, reference: Embedder) -> None:
    texts = _corpus_texts(reference)
    got, want = embedder.encode(texts), reference.encode(texts)
    cosines = np.sum(got * want, axis=1)
    print(f"\n{len(texts)} texts: min cosine {cosines.min():.7f}")
    assert cosines.min() >= onnx_export.MIN_COSINE


@pytest.mark.slow
def test_token_vectors_equal(embedder: Embedder, reference: Embedder) -> None:
    """Both backends give the same content tokens and vectors (coverage, index/late.py),
    and a build's packed ones are those within the quantization's step."""
    texts = _corpus_texts(reference)[:40]
    got, got_tokens = embedder.encode_tokens(texts)
    want, want_tokens = reference.encode_tokens(texts)
    assert np.min(np.sum(got * want, axis=1)) >= onnx_export.MIN_COSINE
    for a, b in zip(got_tokens, want_tokens, strict=True):
        assert a.shape == b.shape
        assert len(a) == 0 or np.min(np.sum(a * b, axis=1)) >= onnx_export.MIN_COSINE
    vectors, packed = embedder.encode_passages(texts)
    np.testing.assert_array_equal(vectors, got)
    for i, exact in enumerate(got_tokens):
        assert np.all(np.abs(packed.of(i) - exact) <= packed.scales[packed.offsets[i] :
                      packed.offsets[i + 1]] / 2 + 1e-6)  # fmt: skip


@pytest.mark.slow
def test_answers_equal(tmp_path: Path, embedder: Embedder, reference: Embedder) -> None:
    """Indexes built by each backend answer the article's questions the same way."""
    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text().splitlines() if line]
    answers = []
    for name, model in (("onnx", embedder), ("st", reference)):
        engine = Engine(EngineConfig(SOURCE_DOCS, tmp_path / name), model)
        engine.open()
        answers.append(engine.answer_many(questions))
    assert len(questions) > 100
    for a, b in zip(*answers, strict=True):
        assert (a.question, a.abstained, a.text) == (b.question, b.abstained, b.text)
        spans = [[(p.source, p.start, p.end) for p in x.passages] for x in (a, b)]
        assert spans[0] == spans[1], a.question
        assert a.confidence == pytest.approx(b.confidence, abs=1e-3)


@pytest.mark.slow
@pytest.mark.usefixtures("reuse_reference")
def test_failed_verification_falls_back_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnx_export, "MIN_COSINE", 1.5)  # no export can pass
    with caplog.at_level(logging.WARNING):
        failed = Embedder(onnx_dir=tmp_path)
    assert failed.backend == "sentence-transformers"
    fallbacks = [r for r in caplog.records if "runs on sentence-transformers" in r.message]
    assert len(fallbacks) == 1 and "\n" not in fallbacks[0].getMessage()
    assert "failed verification (min cosine" in fallbacks[0].message
    (stored,) = tmp_path.glob("*/verification.json")
    assert json.loads(stored.read_text())["passed"] is False
    # The stored result is used at the next start: no new export, the same fallback.
    monkeypatch.setattr(onnx_export, "export_model", _must_not_export)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert Embedder(onnx_dir=tmp_path).backend == "sentence-transformers"
    assert "failed verification" in caplog.text and "preparing" not in caplog.text


def _must_not_export(*args: object) -> None:
    raise AssertionError("exported again")


@pytest.mark.slow
@pytest.mark.usefixtures("reuse_reference")
def test_a_damaged_export_is_rebuilt(
    embedder: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = _copy_export(embedder, tmp_path)
    DAMAGES["weights changed"](target)
    with caplog.at_level(logging.WARNING):
        rebuilt = Embedder(onnx_dir=tmp_path)
    assert rebuilt.backend == "onnx" and "is damaged" in caplog.text
    assert json.loads((target / "verification.json").read_text())["passed"] is True
    texts = list(PROBES)
    assert np.allclose(rebuilt.encode(texts), embedder.encode(texts), atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.slow
@pytest.mark.usefixtures("reuse_reference")
def test_a_model_that_cannot_be_exported_runs_on_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnx_cache, "read_spec", _unexportable)
    with caplog.at_level(logging.WARNING):
        assert Embedder(onnx_dir=tmp_path).backend == "sentence-transformers"
    assert "a Dense module" in caplog.text and not list(tmp_path.iterdir())


def _unexportable(folder: Path) -> None:
    raise ModelLoadError("a Dense module")


@pytest.mark.slow
@pytest.mark.usefixtures("reuse_reference")
def test_the_plain_graph_serves_when_fusing_fails(
    embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_export, "_fuse", _broken)
    plain = Embedder(onnx_dir=tmp_path)
    assert plain.backend == "onnx"
    (export,) = tmp_path.glob("*/export.json")
    assert json.loads(export.read_text())["fused"] is False
    texts = list(PROBES)
    assert np.min(np.sum(plain.encode(texts) * embedder.encode(texts), axis=1)) > 0.99999


def _broken(*args: object) -> None:
    raise RuntimeError("no fusion today")
