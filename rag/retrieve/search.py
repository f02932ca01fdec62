"""Hybrid search: dense + BM25 candidates from the store, fused, reranked, collapsed.

The candidate components come from the store (:meth:`rag.store.base.NewsStore.candidate_sources`),
so either backend plugs in unchanged. Filters become the store's restriction (allowed chunk ids
for FAISS, an expression for Milvus) and are applied inside each component, so a filter never
empties a top-k that was cut before filtering. Results are :class:`rag.records.Passage` records:
chunk text, article metadata, the fused score and the rank each component gave.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rag.config import RetrievalMode, Settings
from rag.records import Passage, SearchFilters, TimeScope
from rag.retrieve.collapse import collapse
from rag.retrieve.fusion import Fused, rrf
from rag.retrieve.recency import order_by_time, time_filters
from rag.retrieve.rerankers import Reranker
from rag.store.base import CandidateSource, NewsStore
from rag.text.timeexpr import strip_time
from rag.types import Encoder

MODES: tuple[RetrievalMode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 8
    fetch_k: int = 50  # candidates per component before fusion
    rrf_k: int = 20
    weights: tuple[tuple[str, float], ...] = (("dense", 1.0), ("bm25", 0.3))
    mode: RetrievalMode = "hybrid"
    rerank_top: int = 20
    date_tolerance_days: int = 1
    recency_half_life_days: float = 3.0
    strip_time_words: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}: use hybrid, dense or bm25")
        if self.k < 1 or self.fetch_k < self.k:
            raise ValueError("need 1 <= k <= fetch_k")


def retrieval_config(settings: Settings) -> RetrievalConfig:
    """The retrieval part of :class:`rag.config.Settings`."""
    return RetrievalConfig(
        k=settings.retrieval_k,
        fetch_k=max(settings.fetch_k, settings.retrieval_k),
        rrf_k=settings.rrf_k,
        mode=settings.retrieval_mode,
        weights=(("dense", settings.dense_weight), ("bm25", settings.bm25_weight)),
        rerank_top=settings.rerank_top,
        date_tolerance_days=settings.date_tolerance_days,
        recency_half_life_days=settings.recency_half_life_days,
        strip_time_words=settings.strip_time_words,
    )


@dataclass
class SearchResult:
    """The passages of one search, the query's vector (None when no dense search ran) and how long
    its steps took (seconds): the answer chain scores evidence sentences with that same vector."""

    passages: list[Passage]
    vector: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


class HybridSearch:
    """The typed search used by our own code; :class:`rag.retrieve.retriever.NewsRetriever` adapts it.

    Safe to share between threads: a call keeps no state on the object (its timings are returned).
    """

    def __init__(
        self,
        index: NewsStore,
        encoder: Encoder,
        config: RetrievalConfig | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.encoder = encoder
        self.config = config or RetrievalConfig()
        self.sources: dict[str, CandidateSource] = index.candidate_sources()
        self.reranker = reranker

    def _components(self, mode: RetrievalMode | None) -> list[str]:
        mode = mode or self.config.mode
        return ["dense", "bm25"] if mode == "hybrid" else [mode]

    def query_vector(self, query: str) -> np.ndarray:
        """The query as the dense component embeds it (the model's query prompt)."""
        return np.asarray(self.encoder.encode_queries([query])[0], dtype=np.float32)

    def ranked(
        self,
        query: str,
        fetch: int,
        filters: SearchFilters | None = None,
        mode: RetrievalMode | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Fused]:
        """Fused first-stage ranking of chunk ids (before reranking and collapsing).

        :param vector: the query's vector when the caller has it already (embedded once per query).
        """
        names = self._components(mode)
        if vector is None and any(self.sources[n].needs_vector for n in names):
            vector = self.query_vector(query)
        allowed = self.index.restriction(filters) if filters and filters.active else None
        lists = {n: self.sources[n].candidates(query, vector, fetch, allowed) for n in names}
        return rrf(lists, dict(self.config.weights), self.config.rrf_k)

    def passages(self, ranked: Sequence[Fused]) -> list[Passage]:
        chunks = {c.id: c for c in self.index.chunks([c for c, *_ in ranked])}
        out = []
        for cid, score, ranks, scores in ranked:
            if cid in chunks:
                p = Passage.from_chunk(chunks[cid])
                p.score, p.ranks, p.scores = score, dict(ranks), dict(scores)
                out.append(p)
        return out

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: RetrievalMode | None = None,
        rerank: bool | None = None,
        vector: np.ndarray | None = None,
        when: TimeScope | None = None,
    ) -> SearchResult:
        """The top ``k`` passages: fused, reranked (unless ``rerank`` is False), overlaps and copies collapsed.

        :param vector: the query's vector, when the caller embedded it already (else it is embedded here).
        :param when: the question's time (:func:`rag.text.timeexpr.parse_time`): its window filters, its
            recency words re-rank, its words are left out of the searched text (see :mod:`rag.retrieve.recency`).
        """
        cfg = self.config
        k = k or cfg.k
        if when is not None and when.bound:
            filters = time_filters(filters, when, cfg.date_tolerance_days)
            # words relative to as-of ("yesterday", "last week", "latest") never match an article's
            # text; a written date or year ("im Jahr 2015") can, so it stays in the searched text
            if cfg.strip_time_words and when.spans and vector is None and (when.relative or when.window is None):
                query = strip_time(query, when)
        reranker = self.reranker if rerank is not False else None
        t0 = time.perf_counter()
        fetch = max(cfg.fetch_k, k * 3)
        if vector is None and any(self.sources[n].needs_vector for n in self._components(mode)):
            vector = self.query_vector(query)
        t_enc = time.perf_counter()
        fused = self.ranked(query, fetch, filters, mode, vector)
        t1 = time.perf_counter()
        passages = self.passages(fused[: max(fetch, cfg.rerank_top)])
        if reranker is not None:
            # the second stage re-orders the distinct top passages; the rest keep their fused order
            head = collapse(passages, cfg.rerank_top)
            seen = {p.chunk_id for p in head}
            passages = reranker.rerank(query, head) + [p for p in passages if p.chunk_id not in seen]
        passages = order_by_time(passages, when, cfg.recency_half_life_days)
        result = collapse(passages, k)
        timings = {"encode_s": t_enc - t0, "search_s": t1 - t0, "total_s": time.perf_counter() - t0}
        return SearchResult(result, vector, timings)

    def run(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: RetrievalMode | None = None,
        rerank: bool | None = None,
    ) -> list[Passage]:
        """The passages of :meth:`search`."""
        return self.search(query, k, filters, mode, rerank).passages


def describe(config: RetrievalConfig) -> dict[str, Any]:
    """The retrieval configuration as plain JSON values (for run records)."""
    return {**vars(config), "weights": dict(config.weights)}
