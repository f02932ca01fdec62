"""newsrag: grounded, cited, multilingual question answering over a news corpus.

The package is laid out by pipeline stage; data flows one way and imports only point down it::

    cli, ui, evaluate, bench      present and measure
    pipeline                      the composition root: settings → a working pipeline
    answer                        chain, generators, prompts, verification
    retrieve | ingest             search, fusion, rerankers | loaders, chunking, the ingest run
    store                         the store contract (base) and its FAISS and Milvus backends
    models | text                 embedders, the llama.cpp chat model | sentences, terms, tokens
    config, errors, records, types

The names below are the public API, grouped by stage; they are imported on first use, so
``import rag`` stays cheap and importing one stage never loads another's backends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API: dict[str, str] = {
    # configuration and records
    "Settings": "rag.config",
    "NewsragError": "rag.errors",
    "Article": "rag.records",
    "Chunk": "rag.records",
    "Passage": "rag.records",
    "SearchFilters": "rag.records",
    "Answer": "rag.records",
    "Citation": "rag.records",
    "Turn": "rag.records",
    # models
    "load_embedder": "rag.models.embedders",
    # ingest
    "load_paths": "rag.ingest.loaders",
    "ingest_articles": "rag.ingest.pipeline",
    "ingest_paths": "rag.ingest.pipeline",
    "delete_from_index": "rag.ingest.pipeline",
    # store
    "open_store": "rag.store",
    "open_writer": "rag.store",
    # retrieve
    "HybridSearch": "rag.retrieve.search",
    "NewsRetriever": "rag.retrieve.retriever",
    # answer
    "NewsQA": "rag.answer.chain",
    "CitationVerifier": "rag.answer.verify",
    # the composition root
    "build_search": "rag.pipeline",
    "build_qa": "rag.pipeline",
    "load_encoder": "rag.pipeline",
    "open_index": "rag.pipeline",
    # evaluate
    "run_answer_eval": "rag.evaluate.answers",
    "evaluate_retrieval": "rag.evaluate.retrieval",
}
__all__ = [
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "CitationVerifier",
    "HybridSearch",
    "NewsQA",
    "NewsRetriever",
    "NewsragError",
    "Passage",
    "SearchFilters",
    "Settings",
    "Turn",
    "build_qa",
    "build_search",
    "delete_from_index",
    "evaluate_retrieval",
    "ingest_articles",
    "ingest_paths",
    "load_embedder",
    "load_encoder",
    "load_paths",
    "open_index",
    "open_store",
    "open_writer",
    "run_answer_eval",
]

if TYPE_CHECKING:
    from rag.answer.chain import NewsQA
    from rag.answer.verify import CitationVerifier
    from rag.config import Settings
    from rag.errors import NewsragError
    from rag.evaluate.answers import run_answer_eval
    from rag.evaluate.retrieval import evaluate_retrieval
    from rag.ingest.loaders import load_paths
    from rag.ingest.pipeline import delete_from_index, ingest_articles, ingest_paths
    from rag.models.embedders import load_embedder
    from rag.pipeline import build_qa, build_search, load_encoder, open_index
    from rag.records import Answer, Article, Chunk, Citation, Passage, SearchFilters, Turn
    from rag.retrieve.retriever import NewsRetriever
    from rag.retrieve.search import HybridSearch
    from rag.store import open_store, open_writer


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
