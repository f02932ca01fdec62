"""Hybrid retrieval: dense (FAISS) + BM25, fused by reciprocal rank fusion, filtered inside search.

Components sit behind the small :class:`CandidateSource` protocol, so another backend can be
swapped in without touching callers. Filters are turned into the set of allowed chunk ids first
and passed into each component (an ID selector for FAISS, a weight mask for BM25), so a filter
never empties a top-k that was cut before filtering. Results are :class:`Passage` records:
chunk text, article metadata, the fused score and the rank each component gave.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.ann import filtered_params
from rag.index import NewsIndex, StoredChunk
from rag.sentences import sentence_spans
from rag.store import NewsStore


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied inside retrieval. Dates are inclusive ISO dates (YYYY-MM-DD)."""

    since: str | None = None
    until: str | None = None
    outlets: tuple[str, ...] = ()  # outlet names (case-insensitive) or source path fragments
    languages: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"--{name} {value!r}: expected a date like 2024-11-01") from None
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"--since {self.since} is after --until {self.until}")

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.outlets or self.languages or self.article_ids)

    def allowed_ids(self, index: NewsIndex) -> np.ndarray:
        """Chunk ids that pass the filters (only meaningful when ``active``)."""
        where: list[str] = []
        args: list[Any] = []
        if self.since:
            where.append("a.date >= ?")
            args.append(self.since)
        if self.until:
            where.append("a.date <= ?")
            args.append(self.until)
        if self.outlets:
            ors = []
            for o in self.outlets:
                ors.append("(LOWER(a.outlet) = LOWER(?) OR a.source LIKE ?)")
                args += [o, f"%{o}%"]
            where.append("(" + " OR ".join(ors) + ")")
        if self.languages:
            where.append(f"LOWER(a.language) IN ({','.join('?' * len(self.languages))})")
            args += [x.lower() for x in self.languages]
        if self.article_ids:
            where.append(f"a.id IN ({','.join('?' * len(self.article_ids))})")
            args += list(self.article_ids)
        sql = "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return np.fromiter((r[0] for r in index.db.execute(sql, args)), dtype=np.int64)


@dataclass
class Passage:
    """A retrieved span of an article, with where it came from and how it ranked."""

    chunk_id: int
    article_id: str
    text: str
    start: int
    end: int
    headline: str
    outlet: str | None
    date: str | None
    url: str | None
    language: str | None
    source: str
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    also_in: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_chunk(cls, c: StoredChunk) -> Passage:
        return cls(
            chunk_id=c.id,
            article_id=c.article_id,
            text=c.text,
            start=c.start,
            end=c.end,
            headline=c.headline,
            outlet=c.outlet,
            date=c.date,
            url=c.url,
            language=c.language,
            source=c.source,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class QueryEncoder(Protocol):
    def encode_queries(self, queries: Sequence[str]) -> np.ndarray: ...


class CandidateSource(Protocol):
    """One first-stage component: ranked (chunk id, score) pairs among the allowed ids.

    ``allowed`` is what the store's ``restriction(filters)`` returned (None: no filter): an array of
    chunk ids for the FAISS index, a boolean filter expression for Milvus.
    """

    name: str

    def candidates(self, query: str, k: int, allowed: Any) -> list[tuple[int, float]]: ...


class DenseSource:
    name = "dense"

    def __init__(self, index: NewsIndex, encoder: QueryEncoder) -> None:
        self.index = index
        self.encoder = encoder

    def candidates(self, query: str, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if allowed is not None and len(allowed) == 0:
            return []
        q = self.encoder.encode_queries([query])
        n = self.index.vectors.ntotal
        if n == 0:
            return []
        k = min(k, n)
        if allowed is None:
            scores, ids = self.index.vectors.search(q, k)
        else:
            params = filtered_params(self.index.vectors, allowed)
            scores, ids = self.index.vectors.search(q, min(k, len(allowed)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


class LexicalSource:
    name = "bm25"

    def __init__(self, index: NewsIndex) -> None:
        self.index = index

    def candidates(self, query: str, k: int, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        return self.index.lexical.search(query, k, allowed)


def rrf(
    lists: dict[str, list[tuple[int, float]]], weights: dict[str, float], k0: int = 60
) -> list[tuple[int, float, dict[str, int], dict[str, float]]]:
    """Reciprocal rank fusion: score = Σ weight / (k0 + rank); returns (id, score, ranks, scores)."""
    fused: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    scores: dict[int, dict[str, float]] = {}
    for name, items in lists.items():
        w = weights.get(name, 1.0)
        for rank, (cid, s) in enumerate(items, 1):
            fused[cid] = fused.get(cid, 0.0) + w / (k0 + rank)
            ranks.setdefault(cid, {})[name] = rank
            scores.setdefault(cid, {})[name] = s
    order = sorted(fused, key=lambda c: (-fused[c], c))
    return [(c, fused[c], ranks[c], scores[c]) for c in order]


_WORDS = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    w = _WORDS.findall(text.lower())
    return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))}


def near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    """Same wording (shared 4-word shingles over the smaller text), e.g. one wire story in two outlets."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= threshold


def collapse(passages: Sequence[Passage], k: int) -> list[Passage]:
    """Keep the best of overlapping chunks of one article, and fold copies of a story into one passage."""
    kept: list[Passage] = []
    for p in passages:
        if len(kept) >= k:
            break
        dup_of = None
        for q in kept:
            if q.article_id == p.article_id and p.start < q.end and q.start < p.end:
                dup_of = q
                break
            if q.article_id != p.article_id and near_duplicate(q.text, p.text):
                dup_of = q
                if not any(x["article_id"] == p.article_id for x in q.also_in):
                    q.also_in.append(
                        {
                            "article_id": p.article_id,
                            "headline": p.headline,
                            "outlet": p.outlet,
                            "date": p.date,
                            "url": p.url,
                        }
                    )
                break
        if dup_of is None:
            kept.append(p)
    return kept


def sentence_window(index: NewsStore, passage: Passage, before: int = 1, after: int = 1) -> Passage:
    """The passage grown by whole neighbouring sentences of its article, offsets still exact."""
    art = index.article(passage.article_id)
    if art is None:
        return passage
    spans = sentence_spans(art.body, art.language)
    inside = [i for i, (s, e) in enumerate(spans) if s < passage.end and e > passage.start]
    if not inside:
        return passage
    first = max(0, inside[0] - before)
    last = min(len(spans) - 1, inside[-1] + after)
    start = min(spans[first][0], passage.start)
    end = max(spans[last][1], passage.end)
    return replace(passage, start=start, end=end, text=art.body[start:end])


class Reranker(Protocol):
    """A second stage: re-order (and re-score) first-stage passages for a query."""

    name: str

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]: ...


@dataclass(frozen=True)
class RetrievalConfig:
    k: int = 8
    fetch_k: int = 50  # candidates per component before fusion
    rrf_k: int = 20
    weights: tuple[tuple[str, float], ...] = (("dense", 1.0), ("bm25", 0.3))
    mode: str = "hybrid"  # hybrid, dense, bm25
    rerank_top: int = 20

    def __post_init__(self) -> None:
        if self.mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown retrieval mode {self.mode!r}: use hybrid, dense or bm25")
        if self.k < 1 or self.fetch_k < self.k:
            raise ValueError("need 1 <= k <= fetch_k")


class HybridSearch:
    """The typed search used by our own code; :class:`NewsRetriever` adapts it to LangChain."""

    def __init__(
        self,
        index: NewsStore,
        encoder: QueryEncoder,
        config: RetrievalConfig | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.config = config or RetrievalConfig()
        self.sources: dict[str, CandidateSource] = index.candidate_sources(encoder)
        self.reranker = reranker
        self.last_timings: dict[str, float] = {}

    def ranked(
        self, query: str, fetch: int, filters: SearchFilters | None = None, mode: str | None = None
    ) -> list[tuple[int, float, dict[str, int], dict[str, float]]]:
        """Fused first-stage ranking of chunk ids (before reranking and collapsing)."""
        mode = mode or self.config.mode
        allowed = self.index.restriction(filters) if filters and filters.active else None
        names = ["dense", "bm25"] if mode == "hybrid" else [mode]
        lists = {n: self.sources[n].candidates(query, fetch, allowed) for n in names}
        return rrf(lists, dict(self.config.weights), self.config.rrf_k)

    def passages(self, ranked: Sequence[tuple[int, float, dict[str, int], dict[str, float]]]) -> list[Passage]:
        chunks = {c.id: c for c in self.index.chunks([c for c, *_ in ranked])}
        out = []
        for cid, score, ranks, scores in ranked:
            if cid in chunks:
                p = Passage.from_chunk(chunks[cid])
                p.score, p.ranks, p.scores = score, dict(ranks), dict(scores)
                out.append(p)
        return out

    def run(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: str | None = None,
        rerank: bool | None = None,
    ) -> list[Passage]:
        """The top ``k`` passages: fused, optionally reranked, overlaps and copies collapsed."""
        cfg = self.config
        k = k or cfg.k
        use_rerank = self.reranker is not None if rerank is None else (rerank and self.reranker is not None)
        t0 = time.perf_counter()
        fetch = max(cfg.fetch_k, k * 3)
        fused = self.ranked(query, fetch, filters, mode)
        t1 = time.perf_counter()
        passages = self.passages(fused[: max(fetch, cfg.rerank_top)])
        if use_rerank and self.reranker is not None:
            passages = self.reranker.rerank(query, collapse(passages, cfg.rerank_top))
        result = collapse(passages, k)
        self.last_timings = {"search_s": t1 - t0, "total_s": time.perf_counter() - t0}
        return result


class NewsRetriever(BaseRetriever):
    """LangChain retriever over an index: documents carry the passage fields as metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    k: int = 8
    filters: SearchFilters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = self.search.run(query, k=self.k, filters=self.filters)
        return [Document(page_content=p.text, metadata=p.to_dict()) for p in passages]


def retrieval_config(settings: Any) -> RetrievalConfig:
    """The retrieval part of :class:`rag.config.Settings`."""
    return RetrievalConfig(
        k=settings.retrieval_k,
        fetch_k=max(settings.fetch_k, settings.retrieval_k),
        rrf_k=settings.rrf_k,
        mode=settings.retrieval_mode,
        weights=(("dense", settings.dense_weight), ("bm25", settings.bm25_weight)),
        rerank_top=settings.rerank_top,
    )
