"""The vector-store backends behind one read interface and one write interface.

``Settings.store`` picks the backend:

* ``faiss`` (default): :class:`rag.index.NewsIndex` / :class:`rag.index.IndexWriter`, local files,
  generations published atomically, BM25 with bm25s.
* ``milvus``: :class:`rag.store_milvus.MilvusStore` / :class:`rag.store_milvus.MilvusWriter`, via
  pymilvus; ``Settings.milvus_uri`` is a Milvus Lite file (default ``<index folder>/milvus.db``) or
  a server/cluster URI such as ``http://host:19530``. Dense and BM25 candidates both come from Milvus.

Callers use the factories below and only the methods of the two protocols, so `rag ingest`,
`rag search`, `rag ask`, `rag stats`, `rag delete`, `rag eval` and the chat work on either backend.
Both backends feed the same weighted reciprocal rank fusion (:func:`rag.retrieval.rrf`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.index import IndexWriter, Manifest, ModelInfo, NewsIndex, StoredChunk, current_generation
from rag.records import Article, Chunk

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.retrieval import CandidateSource, QueryEncoder, SearchFilters


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

    def chunk_articles(self) -> dict[int, str]: ...

    def chunk_texts(self) -> list[tuple[str, str]]: ...

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def candidate_sources(self, encoder: QueryEncoder) -> dict[str, CandidateSource]: ...

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

    def add(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...

    def commit(self) -> Manifest: ...

    def __enter__(self) -> StoreWriter: ...

    def __exit__(self, exc_type: object, *_: object) -> None: ...


def store_exists(settings: Settings) -> bool:
    """True when the configured index has been written at least once."""
    if settings.store == "milvus":
        from rag.store_milvus import MilvusStore

        return MilvusStore.exists(settings)
    return NewsIndex.exists(settings.index_path)


def open_store(settings: Settings, model: ModelInfo | None = None) -> NewsStore:
    """The read side of the configured index; with ``model``, refuse an index built with another model."""
    if settings.store == "milvus":
        from rag.store_milvus import MilvusStore

        return MilvusStore.open(settings, model)
    return NewsIndex.open(settings.index_path, model)


def open_writer(settings: Settings, model: ModelInfo, chunker: dict[str, Any]) -> StoreWriter:
    """The writer of the configured index (enter it with ``with``)."""
    if settings.store == "milvus":
        from rag.store_milvus import MilvusWriter

        return MilvusWriter(settings, model, chunker)
    return IndexWriter(settings.index_path, model, chunker, settings.faiss_index)


def read_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the configured index without a model check (None when there is no index)."""
    if settings.store == "milvus":
        from rag.store_milvus import MilvusStore

        return MilvusStore.read_manifest(settings)
    gen = current_generation(settings.index_path)
    return Manifest.load(gen / "manifest.json") if gen is not None else None
