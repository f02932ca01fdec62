"""The vector stores behind one read interface and one write interface (:mod:`rag.store.base`).

``Settings.store`` picks the backend:

* ``faiss`` (default, :mod:`rag.store.faiss`): local files, generations published atomically,
  BM25 with bm25s.
* ``milvus`` (:mod:`rag.store.milvus`): via pymilvus; ``Settings.milvus_uri`` is a Milvus Lite file
  (default ``<index folder>/milvus.db``) or a server/cluster URI such as ``http://host:19530``.

Callers use these factories and only the methods of the two protocols, so every command works on
either backend. Both feed the same weighted reciprocal rank fusion (:mod:`rag.retrieve.fusion`).
Backends are imported on first use: a Milvus user never loads FAISS code paths and vice versa.
"""

from __future__ import annotations

from typing import Any

from rag.config import Settings
from rag.records import ModelInfo
from rag.store.base import Manifest, NewsStore, StoreWriter

__all__ = ["Manifest", "NewsStore", "StoreWriter", "open_store", "open_writer", "read_manifest", "store_exists"]


def store_exists(settings: Settings) -> bool:
    """True when the configured index has been written at least once."""
    if settings.store == "milvus":
        from rag.store.milvus.reader import MilvusStore

        return MilvusStore.exists(settings)
    from rag.store.faiss.reader import NewsIndex

    return NewsIndex.exists(settings.index_path)


def open_store(settings: Settings, model: ModelInfo | None = None) -> NewsStore:
    """The read side of the configured index; with ``model``, refuse an index built with another model."""
    if settings.store == "milvus":
        from rag.store.milvus.reader import MilvusStore

        return MilvusStore.open(settings, model)
    from rag.store.faiss.reader import NewsIndex

    return NewsIndex.open(settings.index_path, model)


def open_writer(settings: Settings, model: ModelInfo, chunker: dict[str, Any]) -> StoreWriter:
    """The writer of the configured index (enter it with ``with``)."""
    if settings.store == "milvus":
        from rag.store.milvus.writer import MilvusWriter

        return MilvusWriter(settings, model, chunker)
    from rag.store.faiss.writer import IndexWriter

    return IndexWriter(settings.index_path, model, chunker, settings.faiss_index)


def read_manifest(settings: Settings) -> Manifest | None:
    """The manifest of the configured index without a model check (None when there is no index)."""
    if settings.store == "milvus":
        from rag.store.milvus.reader import MilvusStore

        return MilvusStore.read_manifest(settings)
    from rag.store.faiss.layout import MANIFEST, current_generation

    gen = current_generation(settings.index_path)
    return Manifest.load(gen / MANIFEST) if gen is not None else None
