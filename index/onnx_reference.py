"""The sentence-transformers side: the reference an ONNX export is made from and verified
against, and the fallback backend for a model that cannot be exported. Imports torch (only
when a function here is called)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.errors import ModelLoadError
from index.late import unit_rows

log = logging.getLogger(__name__)


def load_sentence_transformer(target: str, model_id: str) -> Any:
    """A ``SentenceTransformer`` on the CPU, or ModelLoadError."""
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # noise on a terminal
        return SentenceTransformer(target, device="cpu")
    except Exception as exc:  # any failure inside the library means "cannot load this model"
        raise ModelLoadError(
            f"cannot load embedding model {model_id!r}: {exc.__class__.__name__}: {exc}"
        ) from exc


class SentenceTransformerBackend:
    """Embeds with sentence-transformers itself (torch). Not thread-safe on its own."""

    name = "sentence-transformers"

    def __init__(self, model: Any) -> None:
        self.model = model
        get_dim = getattr(model, "get_embedding_dimension", None) or (
            model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dim())
        self.max_seq_length = int(model.max_seq_length)
        self._tokenizer = model.tokenizer

    def count_tokens(self, text: str) -> int:
        # verbose=False: no "longer than the maximum" notice, counting long texts is the point
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize  # ST < 6
        features = preprocess(list(texts))
        ids, mask = features["input_ids"].tolist(), features["attention_mask"].tolist()
        return [[i for i, m in zip(r, k, strict=True) if m] for r, k in zip(ids, mask, strict=True)]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_tokens(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, list[list[str]], list[np.ndarray]]:
        """As ``OnnxBackend.embed_tokens`` (one pass of the model)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), [], []
        outputs = self.model.encode(
            list(texts),
            batch_size=max(1, len(texts)),
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        vectors, tokens, states = [], [], []
        for out in outputs:
            real = out["attention_mask"].bool().cpu()
            tokens.append(self._tokenizer.convert_ids_to_tokens(out["input_ids"][real].tolist()))
            states.append(np.asarray(out["token_embeddings"][real].float().cpu().numpy()))
            vectors.append(out["sentence_embedding"].float().cpu().numpy())
        return unit_rows(np.asarray(vectors, np.float32)), tokens, states
