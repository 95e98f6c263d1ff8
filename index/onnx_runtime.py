"""The ONNX backend: a sentence-transformers model exported to ONNX, run on onnxruntime with
the ``tokenizers`` library. No torch, no sentence-transformers.

It reproduces sentence-transformers exactly: the model's own tokenizer (saved from the loaded
model at export time), truncation to ``max_seq_length`` tokens with the special tokens, padding
to the longest text of the batch, the transformer (the ONNX graph), the pooling modes of the
model's pooling config over the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from index.errors import ModelLoadError
from index.late import unit_rows

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "export.json"
WORD_EMBEDDINGS_FILE = "word_embeddings.f32"  # rows × dim float32, little-endian, no header

# Threads per session, measured on the 2-core target with MiniLM (bench/bench_cold.py, and
# bench/bench_discord.py for the bot). Two intra-op threads against one: query embedding 3.1
# vs 3.6 ms alone, 1.8 vs 3.6 ms per question in the bot's micro-batches (32), the Debian FAQ
# built in 11.8 vs 23.2 s; through Discord at 50 askers p99 250-280 vs 325 ms. So two threads
# for everything, single questions included. Spinning is off: on, it saves ≈3 ms for a lone
# asker (12 vs 15 ms through Discord) but its busy-waiting threads take CPU from the event
# loop, and at 50 askers throughput fell from 212-227 to 200-208 q/s and p99 rose to 285-293
# ms. One inter-op thread: the graph is a straight line.
INTRA_OP_THREADS = min(2, os.cpu_count() or 1)


def session_options() -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = INTRA_OP_THREADS
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only: its warnings are about graph rewrites
    return opts


class OnnxBackend:
    """One exported model in ``folder`` (model.onnx, tokenizer.json, export.json, and
    word_embeddings.f32 when the export left the word-embedding table out of the graph).

    That table is read by ``pread``, a row per distinct token of a batch, not mapped or
    loaded: a serving process holds none of it (MiniLM: 45 MiB less RSS than with the
    table inside the graph, where onnxruntime keeps all of it in memory; a memory map would
    let the kernel's fault-around pull most of it in within a few hundred questions).

    Raises ModelLoadError when the folder is incomplete or damaged. Not thread-safe on its own:
    ``Embedder`` serialises calls."""

    name = "onnx"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meta = read_meta(folder)
        try:
            for file, want in self.meta["files"].items():
                if (size := (folder / file).stat().st_size) != want["size"]:
                    raise ModelLoadError(f"{file} is {size} bytes, not {want['size']}")
            self.max_seq_length = int(self.meta["max_seq_length"])
            self.dimension = int(self.meta["dimension"])
            self.pooling = tuple(str(m) for m in self.meta["pooling"])
            self._inputs = [str(n) for n in self.meta["inputs"]]
            self._counter = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            self._counter.no_padding()
            self._counter.no_truncation()
            self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
            pad = self.meta["padding"]
            self._tokenizer.no_truncation()
            self._tokenizer.enable_truncation(
                self.max_seq_length, direction=str(self.meta["truncation_side"])
            )
            self._tokenizer.enable_padding(
                direction=str(pad["side"]),
                pad_id=int(pad["id"]),
                pad_type_id=int(pad["type_id"]),
                pad_token=str(pad["token"]),
            )
            self._session = ort.InferenceSession(
                str(folder / MODEL_FILE), session_options(), providers=["CPUExecutionProvider"]
            )
        except ModelLoadError:
            raise
        except Exception as exc:  # a missing file, bad JSON fields, a protobuf ORT cannot parse
            raise ModelLoadError(f"{exc.__class__.__name__}: {exc}") from exc
        self._table = WordTable.open(folder, self.meta.get("word_embeddings"))
        if (self._table is None) == ("inputs_embeds" in self._inputs):
            raise ModelLoadError("the graph's inputs and the word-embedding table disagree")
        graph_inputs = {i.name for i in self._session.get_inputs()}
        if graph_inputs != set(self._inputs):
            raise ModelLoadError(f"graph inputs {sorted(graph_inputs)} != {self._inputs}")
        self._output = self._session.get_outputs()[0].name

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text``, without special tokens and without truncation."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """What the model is fed for each text (special tokens added, truncated, unpadded)."""
        encodings = self._tokenizer.encode_batch(list(texts))
        return [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in encodings]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 sentence vectors of one batch of texts."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        hidden, mask, _ = self._run(texts)
        return unit_rows(pool(hidden, mask, self.pooling))

    def embed_tokens(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, list[list[str]], list[np.ndarray]]:
        """The sentence vectors of ``embed``, and each text's tokens (special tokens
        included, padding not) with their contextual states (the pooling's input)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), [], []
        hidden, mask, encodings = self._run(texts)
        vectors = unit_rows(pool(hidden, mask, self.pooling))
        tokens, states = [], []
        for row, encoding in enumerate(encodings):
            real = mask[row].astype(bool)
            tokens.append([t for t, m in zip(encoding.tokens, real, strict=True) if m])
            states.append(hidden[row][real])
        return vectors, tokens, states

    def _run(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        encodings = self._tokenizer.encode_batch(list(texts))
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        arrays: dict[str, Callable[[], np.ndarray]] = {
            "input_ids": lambda: ids,
            "inputs_embeds": lambda: self._rows(ids),
            "attention_mask": lambda: mask,
            "token_type_ids": lambda: np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feeds = {name: arrays[name]() for name in self._inputs}
        hidden: np.ndarray = self._session.run([self._output], feeds)[0]
        return hidden, mask, encodings

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        assert self._table is not None  # checked at load: the graph takes rows only with one
        return self._table.rows(ids)


class WordTable:
    """A float32 table of ``rows`` × ``dim`` in a file, read a row at a time by ``pread``.

    ``rows(ids)`` is ``table[ids]`` (any shape of ids, a trailing ``dim`` axis added); each
    distinct id of a call is read once. Thread-safe (``pread`` has no file position)."""

    def __init__(self, path: Path, rows: int, dim: int) -> None:
        self.path, self.count, self.dim = path, rows, dim
        self._row_bytes = dim * 4
        if (size := path.stat().st_size) != rows * self._row_bytes:
            raise ModelLoadError(f"{path.name} is {size} bytes, not {rows} × {dim} floats")
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))

    @classmethod
    def open(cls, folder: Path, spec: Any) -> WordTable | None:
        """The table an export's metadata describes (None when it has none)."""
        if spec is None:
            return None
        try:
            return cls(folder / str(spec["file"]), int(spec["rows"]), int(spec["dim"]))
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise ModelLoadError(f"word embeddings: {exc.__class__.__name__}: {exc}") from exc

    def rows(self, ids: np.ndarray) -> np.ndarray:
        distinct, where = np.unique(ids, return_inverse=True)
        if len(distinct) and (distinct[0] < 0 or distinct[-1] >= self.count):
            raise ModelLoadError(f"token id out of the word-embedding table ({self.count} rows)")
        size = self._row_bytes
        data = b"".join(os.pread(self._fd, size, int(i) * size) for i in distinct)
        table = np.frombuffer(data, dtype="<f4").reshape(len(distinct), self.dim)
        return table[where.reshape(ids.shape)]

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def pool(hidden: np.ndarray, mask: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """sentence-transformers' Pooling over token states ``hidden`` (batch, tokens, dim)."""
    weights = mask.astype(hidden.dtype)
    out = []
    for mode in modes:
        if mode == "cls":
            first = mask.argmax(axis=1)  # the first real token (right or left padding)
            out.append(hidden[np.arange(len(hidden)), first])
        elif mode == "max":
            out.append(np.where(weights[..., None] > 0, hidden, -np.inf).max(axis=1))
        else:  # mean, mean_sqrt_len_tokens
            total = np.einsum("btd,bt->bd", hidden, weights)
            count = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
            out.append(total / (count if mode == "mean" else np.sqrt(count)))
    return np.concatenate(out, axis=1) if len(out) > 1 else out[0]


def runtime_versions() -> dict[str, str]:
    """What the ONNX vectors depend on besides the export: a change means verifying again."""
    return {name: metadata.version(name) for name in ("onnxruntime", "tokenizers")}


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {META_FILE}: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise ModelLoadError(f"{META_FILE} is not an export description")
    return meta
