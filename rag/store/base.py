"""The backend-neutral store contract: read and write protocols, the manifest, compatibility, the lock.

Both backends (:mod:`rag.store.faiss`, :mod:`rag.store.milvus`) implement :class:`NewsStore` and
:class:`StoreWriter`; everything above the store (ingest, retrieval, answering, evaluation, the
chat) uses only these protocols and the factories in :mod:`rag.store`.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError, NewsragError
from rag.records import Article, Chunk, ModelInfo, SearchFilters, Sentence, StoredChunk, StoredSentence

FORMAT_VERSION = 1


@dataclass
class Manifest:
    """What an index holds and how it was built (stored as JSON with every generation / in Milvus)."""

    format_version: int
    embed_model: str
    embed_weights_hash: str
    dim: int
    chunker: dict[str, Any]
    articles: int = 0
    chunks: int = 0
    generation: int = 0
    faiss_type: str = "IDMap2,Flat"
    metric: str = "inner_product"
    created_at: str = ""
    updated_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    embed_vectors: str = "exact"  # ModelInfo.vectors of the backend that built it (older manifests: exact)

    @classmethod
    def from_json(cls, raw: str, where: Path | str) -> Manifest:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise IndexCorruptError(f"{where}: unreadable manifest ({exc})") from exc
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = path.read_text()
        except OSError as exc:
            raise IndexCorruptError(f"{path}: unreadable manifest ({exc})") from exc
        return cls.from_json(raw, path)


def check_compatible(
    manifest: Manifest, model: ModelInfo, where: Path | str, chunker: dict[str, Any] | None = None
) -> None:
    """Refuse to mix vectors of different models, dimensions or chunkers in one index."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{where}: index format {manifest.format_version}, this newsrag reads "
            f"{FORMAT_VERSION}; rebuild it with `rag ingest`"
        )
    if manifest.embed_model != model.name or manifest.dim != model.dim:
        raise IndexMismatchError(
            f"{where} was built with embedding model {manifest.embed_model!r} (dim {manifest.dim}), "
            f"but {model.name!r} (dim {model.dim}) is configured: set NEWSRAG_EMBED_MODEL="
            f"{manifest.embed_model} or use another --index"
        )
    if manifest.embed_weights_hash != model.weights_hash:
        raise IndexMismatchError(
            f"{where} was built with other weights of {model.name!r} (sha256 {manifest.embed_weights_hash[:12]}…, "
            f"now {model.weights_hash[:12]}…): rebuild the index or restore those weights"
        )
    if manifest.embed_vectors != model.vectors:
        raise IndexMismatchError(
            f"{where} holds {manifest.embed_vectors} vectors of {model.name!r}, the configured backend computes "
            f"{model.vectors} ones: set NEWSRAG_EMBED_BACKEND to match or rebuild the index"
        )
    if chunker is not None and manifest.chunker != chunker:
        raise IndexMismatchError(
            f"{where} was chunked with {manifest.chunker}, now {chunker} is configured: "
            f"use the same chunk settings or another --index"
        )


def acquire_writer_lock(path: Path) -> int:
    """Take the index folder's writer lock (one writer at a time, any store); returns its descriptor."""
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NewsragError(f"{path} is being written by another process; try again when it is done") from None
    return fd


def release_writer_lock(fd: int | None) -> None:
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class CandidateSource(Protocol):
    """One first-stage component: ranked (chunk id, score) pairs among the allowed chunks.

    A dense source ranks by ``vector`` (the query embedded once by the caller), a lexical one by
    ``query``. ``allowed`` is what the store's :meth:`NewsStore.restriction` returned (None: no
    filter): an array of chunk ids for the FAISS store, a boolean filter expression for Milvus.
    """

    name: str
    needs_vector: bool

    def candidates(self, query: str, vector: np.ndarray | None, k: int, allowed: Any) -> list[tuple[int, float]]: ...


class NewsStore(Protocol):
    """The read side: what search, answering, stats and the chat use."""

    path: Path
    manifest: Manifest

    @property
    def languages(self) -> list[str]: ...

    def article(self, article_id: str) -> Article | None: ...

    def chunks(self, ids: Sequence[int]) -> list[StoredChunk]: ...

    def article_chunks(self, article_id: str) -> list[StoredChunk]: ...

    def article_ids(self) -> list[str]: ...

    def sentences(self, article_ids: Sequence[str]) -> dict[str, list[StoredSentence]]:
        """Stored sentences with vectors per article (empty where the index has none)."""
        ...

    def chunk_articles(self) -> dict[int, str]: ...

    def chunk_texts(self) -> list[tuple[str, str]]: ...

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def candidate_sources(self) -> dict[str, CandidateSource]: ...

    def restriction(self, filters: SearchFilters) -> Any: ...

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> NewsStore: ...

    def __exit__(self, *exc: object) -> None: ...


class StoreWriter(Protocol):
    """The write side: what ingest and delete use (a context manager holding the writer lock)."""

    @property
    def is_new(self) -> bool: ...

    def counts(self) -> tuple[int, int]: ...

    def content_hashes(self, ids: Iterable[str]) -> dict[str, str]: ...

    def stored_vectors(self, text_hashes: Iterable[str]) -> dict[str, np.ndarray]: ...

    def delete_articles(self, ids: Iterable[str]) -> tuple[int, int]: ...

    def article_ids_by_source(self, source: str) -> list[str]: ...

    def existing_article_ids(self, ids: Iterable[str]) -> list[str]: ...

    def without_sentences(self, ids: Iterable[str]) -> set[str]:
        """Those of these stored articles that have no sentence vectors (written before they existed)."""
        ...

    def add(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Sequence[Sentence] = (),
        sentence_vectors: np.ndarray | None = None,
    ) -> None: ...

    def commit(self) -> Manifest: ...

    def __enter__(self) -> StoreWriter: ...

    def __exit__(self, exc_type: object, *_: object) -> None: ...
