"""Export a loaded sentence-transformers model to ONNX and verify the export against it.

Imports torch: only called when an export is made or (re)verified, once per model. The
export is fp32 (torch.onnx.export, TorchScript exporter): int8 quantisation changed 16% of
top-10 neighbours on this project's data, so it is not offered.

For BERT-type models the word-embedding table (half of MiniLM's weights: 30,522 × 384
floats, 45 MiB) is left out of the graph: it is saved as a raw float32 file and the graph
takes the looked-up rows (``inputs_embeds``), which the backend reads from that file by
``pread`` for the tokens of each batch. The vectors are the same (a lookup is exact); the
serving process no longer holds the whole table in memory (see ``onnx_runtime``).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import platform
import warnings
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import ModelLoadError
from index.onnx_probes import PROBES, PROBES_VERSION
from index.onnx_reference import SentenceTransformerBackend
from index.onnx_runtime import (
    META_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    WORD_EMBEDDINGS_FILE,
    OnnxBackend,
    runtime_versions,
)
from index.onnx_spec import EXPORT_FORMAT, ModelSpec, write_json_atomic

log = logging.getLogger(__name__)

MIN_COSINE = 0.9999  # every probe's ONNX vector against sentence-transformers'
NEIGHBOURS = 10  # each probe's nearest other probes must be the same, in the same order...
TIE = 1e-5  # ...but for two whose reference similarities differ by less (≈20x the observed
# difference of a similarity between the backends, 5e-7 for MiniLM)
OPSET = 17
INPUTS_EMBEDS = "inputs_embeds"  # the graph input taking the word-embedding rows
FUSABLE = frozenset({"bert"})  # config.json model types onnxruntime's BERT fusions fit
CANARIES = 3  # probes whose ONNX vectors are stored to check the export at each start


def export_model(st_model: Any, spec: ModelSpec, folder: Path, model_id: str) -> None:
    """Write model.onnx, tokenizer.json and export.json into ``folder`` (which exists).
    Raises ModelLoadError when the loaded model does not match ``spec`` or cannot be
    exported."""
    import torch

    _check_matches(st_model, spec)
    transformer = st_model[0]
    hf_model = transformer.auto_model.eval()
    tokenizer = st_model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError("the model's tokenizer has no `tokenizers` (fast) version")
    accepted = inspect.signature(hf_model.forward).parameters
    names = [n for n in tokenizer.model_input_names if n in accepted]
    if "input_ids" not in names or "attention_mask" not in names:
        raise ModelLoadError(f"model inputs {names} lack input_ids or attention_mask")

    bert = getattr(hf_model.config, "model_type", "") in FUSABLE
    fused = bert and hasattr(hf_model, "set_attn_implementation")  # transformers >= 4.48
    # BERT's position ids do not depend on the token ids (RoBERTa's do: not split)
    table = _word_embeddings(hf_model, accepted) if bert else None
    if table is not None:
        table.tofile(folder / WORD_EMBEDDINGS_FILE)
        names = [INPUTS_EMBEDS if n == "input_ids" else n for n in names]
    traced = folder / "traced.onnx"
    _trace(st_model, names, traced, eager=fused)
    if fused:
        try:
            _fuse(traced, folder / MODEL_FILE, hf_model.config)
        except Exception as exc:  # the plain graph is as exact, only slower on long texts
            log.info("onnxruntime's BERT fusions failed (%s): keeping the plain graph", exc)
            fused = False
    if fused:
        traced.unlink()
    else:
        os.replace(traced, folder / MODEL_FILE)
    backend = tokenizer.backend_tokenizer
    (folder / TOKENIZER_FILE).write_text(backend.to_str(), encoding="utf-8")
    files = [MODEL_FILE, TOKENIZER_FILE] + ([WORD_EMBEDDINGS_FILE] if table is not None else [])
    meta = {
        "format": EXPORT_FORMAT,
        "model": model_id,
        "max_seq_length": spec.max_seq_length,
        "pooling": list(spec.pooling),
        "dimension": spec.dimension,
        "inputs": names,
        "fused": fused,
        "word_embeddings": None
        if table is None
        else {"file": WORD_EMBEDDINGS_FILE, "rows": table.shape[0], "dim": table.shape[1]},
        "truncation_side": tokenizer.truncation_side,
        "padding": {
            "side": tokenizer.padding_side,
            "id": tokenizer.pad_token_id,
            "type_id": getattr(tokenizer, "pad_token_type_id", 0),
            "token": tokenizer.pad_token,
        },
        "files": {f: _describe(folder / f) for f in files},
        "made_with": {"torch": torch.__version__, "python": platform.python_version()},
        "made_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(folder / META_FILE, meta)


def _word_embeddings(hf_model: Any, accepted: Any) -> np.ndarray | None:
    """The model's word-embedding table as float32 rows, when its forward takes the looked-up
    rows instead of the token ids (``inputs_embeds``); else None (the table stays in the
    graph)."""
    import torch

    table = hf_model.get_input_embeddings() if "inputs_embeds" in accepted else None
    if not isinstance(table, torch.nn.Embedding) or table.max_norm is not None:
        return None
    rows: np.ndarray = table.weight.detach().to(torch.float32).cpu().numpy()
    return np.ascontiguousarray(rows, dtype="<f4")


def _trace(st_model: Any, names: list[str], path: Path, *, eager: bool) -> None:
    """torch.onnx.export of the transformer: token ids (or their looked-up word embeddings,
    ``inputs_embeds``) in, token states out. ``eager`` attention traces to the
    MatMul/Softmax pattern onnxruntime's optimizer fuses."""
    import torch

    hf_model = st_model[0].auto_model

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = hf_model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out = self.model(**dict(zip(names, tensors, strict=True)), return_dict=True)
            states: torch.Tensor = out.last_hidden_state
            return states

    preprocess = getattr(st_model, "preprocess", None) or st_model.tokenize  # ST < 6
    sample = preprocess(["a probe", "a longer probe text, padded in a batch of two"])
    if INPUTS_EMBEDS in names:
        with torch.no_grad():
            sample[INPUTS_EMBEDS] = hf_model.get_input_embeddings()(sample["input_ids"])
    args = tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_states"]}
    attention = hf_model.config._attn_implementation
    if eager:
        hf_model.set_attn_implementation("eager")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and deprecation notices, not problems
            torch.onnx.export(Encoder().eval(), args, str(path), dynamo=False,
                              input_names=names, output_names=["token_states"],
                              dynamic_axes=axes, opset_version=OPSET,
                              do_constant_folding=True)  # fmt: skip
    finally:
        if eager:
            hf_model.set_attn_implementation(attention)


def _fuse(traced: Path, dest: Path, config: Any) -> None:
    """onnxruntime's offline BERT fusions (Attention, SkipLayerNormalization, BiasGelu,
    EmbedLayerNormalization), still fp32: long texts embed ≈20% faster, as fast as torch
    (bench/bench_cold.py). Level 0: no hardware-specific rewrites baked into the file."""
    from onnxruntime.transformers.optimizer import optimize_model

    # Its modules log each fusion step at INFO/DEBUG under their own names (fusion_base,
    # onnx_model, ...), some created during the call: mute those levels for its ≈1 s.
    muted = logging.root.manager.disable
    logging.disable(max(muted, logging.INFO))
    try:
        model = optimize_model(str(traced), model_type="bert", opt_level=0,
                               num_heads=int(config.num_attention_heads),
                               hidden_size=int(config.hidden_size))  # fmt: skip
        model.save_model_to_file(str(dest))
        fused = {k: v for k, v in model.get_fused_operator_statistics().items() if v}
    finally:
        logging.disable(muted)
    log.debug("fused operators: %s", fused)


def _describe(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"size": path.stat().st_size, "sha256": digest}


def _check_matches(st_model: Any, spec: ModelSpec) -> None:
    """The loaded model is the pipeline the folder's config files describe."""
    kinds = [type(m).__name__ for m in st_model]
    pooling = getattr(st_model[1], "pooling_mode", None)
    modes = (pooling,) if isinstance(pooling, str) else tuple(pooling or ())
    found = (kinds[:2], int(st_model.max_seq_length), modes)
    if found != (["Transformer", "Pooling"], spec.max_seq_length, spec.pooling):
        raise ModelLoadError(f"loaded model {found} does not match its config files {spec}")
    if not hasattr(st_model[0], "auto_model"):
        raise ModelLoadError("the transformer module has no auto_model to export")


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of comparing an export with sentence-transformers on the probes."""

    passed: bool
    reason: str  # why it failed, or "" when it passed
    min_cosine: float
    neighbours_equal: bool
    tokens_equal: bool
    probes: int

    def record(self, onnx: OnnxBackend) -> dict[str, Any]:
        """What is stored with the export: the result, the runtime it holds for, canaries."""
        canaries = list(PROBES[:CANARIES])
        return asdict(self) | {
            "probes_version": PROBES_VERSION,
            "runtime": runtime_versions(),
            "canary_texts": canaries,
            "canary_vectors": onnx.embed(canaries).tolist(),
            "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }


def verify(reference: SentenceTransformerBackend, onnx: OnnxBackend) -> Verification:
    """Compare ``onnx`` with ``reference`` on the probes: token ids, token counts, every
    cosine ≥ MIN_COSINE and identical top-NEIGHBOURS neighbour lists."""
    texts = list(PROBES)
    tokens_equal = onnx.token_ids(texts) == reference.token_ids(texts) and all(
        onnx.count_tokens(t) == reference.count_tokens(t) for t in texts
    )
    # Mixed lengths in each batch, so that padding is exercised as in real use.
    got = np.vstack([onnx.embed(texts[i : i + 8]) for i in range(0, len(texts), 8)])
    want = reference.embed(texts)
    min_cos = float(np.min(np.sum(got * want, axis=1)))
    same = _same_neighbours(got, want)
    failures = [
        *([] if tokens_equal else ["token ids or counts differ"]),
        *([] if min_cos >= MIN_COSINE else [f"min cosine {min_cos:.6f} < {MIN_COSINE}"]),
        *([] if same else [f"top-{NEIGHBOURS} neighbours differ"]),
    ]
    return Verification(not failures, "; ".join(failures), min_cos, same, tokens_equal, len(texts))


def _same_neighbours(got: np.ndarray, want: np.ndarray) -> bool:
    """Each probe's top-NEIGHBOURS other probes are the same, in the same order, for both
    (a swap of two near-tied neighbours, within TIE in the reference, is no difference)."""
    ref = want @ want.T
    np.fill_diagonal(ref, -np.inf)
    mine, theirs = _neighbours(got), _neighbours(want)
    rows = np.arange(len(ref))[:, None]
    ties = np.abs(ref[rows, mine] - ref[rows, theirs]) < TIE
    return bool(np.all((mine == theirs) | ties))


def _neighbours(vectors: np.ndarray) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :NEIGHBOURS]
