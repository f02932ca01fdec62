"""`rag eval retrieval`: standard retrieval metrics on BEIR or SQuAD-format data, or our gold sets.

Documents are indexed with the same pipeline as news articles, and every query is ranked by the
search a user gets (:func:`rag.pipeline.build_search`, :meth:`HybridSearch.search`), so collapse of
overlapping chunks and wire copies and the second stage are exactly those of ``rag search``. The
configurations differ only in the retrieval settings: ``bm25``, ``dense`` and ``hybrid`` without a
second stage, ``hybrid+rerank`` with the configured one. A document counts as retrieved at the rank
of its first passage (a wire copy folded into a passage counts right after it). Metrics per
configuration: MRR@10, nDCG@10, Recall@1/5/10/100 and query latency p50/p95 in milliseconds.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from rag.config import Settings
from rag.errors import NewsragError
from rag.evaluate.datasets import RetrievalTask
from rag.evaluate.metrics import percentile, query_metrics
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_search, load_encoder, open_index
from rag.records import Passage
from rag.retrieve.search import HybridSearch, describe

RetrievalConfigName = Literal["bm25", "dense", "hybrid", "hybrid+rerank"]
ALL_CONFIGS: tuple[RetrievalConfigName, ...] = ("bm25", "dense", "hybrid", "hybrid+rerank")
RANK_DEPTH = 100  # passages ranked per query (Recall@100)


def config_settings(settings: Settings, name: RetrievalConfigName) -> Settings:
    """The settings of one configuration: its mode, and the second stage only for hybrid+rerank."""
    if name == "hybrid+rerank":
        return settings.with_(retrieval_mode="hybrid", reranker="fusion" if settings.reranker == "none" else None)
    return settings.with_(retrieval_mode="hybrid" if name == "hybrid" else name, reranker="none")


def doc_order(passages: Sequence[Passage]) -> list[str]:
    """Article ids in the order the passages show them (folded wire copies right after their passage)."""
    seen: dict[str, None] = {}
    for p in passages:
        for aid in (p.article_id, *(x["article_id"] for x in p.also_in)):
            seen.setdefault(aid, None)
    return list(seen)


def _run_config(
    search: HybridSearch, task: RetrievalTask, queries: Sequence[tuple[str, str]], name: str
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    sums: dict[str, float] = {}
    lat: list[float] = []
    per_query: list[dict[str, Any]] = []
    for qid, text in queries:
        t = time.perf_counter()
        ranking = doc_order(search.search(text, k=RANK_DEPTH).passages)
        lat.append((time.perf_counter() - t) * 1000)
        m = query_metrics(ranking, task.qrels[qid])
        for key, v in m.items():
            sums[key] = sums.get(key, 0.0) + v
        gold_rank = next((i for i, d in enumerate(ranking, 1) if d in task.qrels[qid]), None)
        per_query.append(
            {
                "config": name,
                "query_id": qid,
                "query": text,
                "gold": "|".join(task.qrels[qid]),
                "gold_rank": gold_rank or "",
                "mrr@10": round(m["mrr@10"], 4),
                "latency_ms": round(lat[-1], 2),
            }
        )
    n = max(1, len(queries))
    result = {k: round(v / n, 4) for k, v in sums.items()}
    result["p50_ms"] = round(statistics.median(lat), 2) if lat else 0.0
    result["p95_ms"] = round(percentile(lat, 0.95), 2)
    return result, per_query


def _write(out_dir: Path, metrics: dict[str, Any], per_query: list[dict[str, Any]], run: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    with (out_dir / "per_query.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(per_query[0]) if per_query else ["config"])
        w.writeheader()
        w.writerows(per_query)
    (out_dir / "run.json").write_text(json.dumps(run, indent=2, default=str))


def evaluate_retrieval(
    task: RetrievalTask,
    settings: Settings,
    configs: Sequence[RetrievalConfigName] = ALL_CONFIGS,
    *,
    index_name: str | None = None,
    out_dir: Path | None = None,
    limit: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index ``task.docs`` (a fresh temporary index unless ``index_name``), rank every query per config.

    :param configs: which of bm25, dense, hybrid, hybrid+rerank to run.
    :param index_name: keep the built index under this name, or (a gold set without documents)
        evaluate against this existing index.
    :param limit: only the first N queries.
    """
    bad = [c for c in configs if c not in ALL_CONFIGS]
    if bad:
        raise NewsragError(f"unknown config(s) {', '.join(bad)}: use {', '.join(ALL_CONFIGS)}")
    if not task.docs and not index_name:
        raise NewsragError("a gold set without documents needs --index (an existing index)")
    encoder = load_encoder(settings)
    with tempfile.TemporaryDirectory(prefix="newsrag-eval-") as tmp:
        s = settings.with_(index=index_name) if index_name else settings.with_(indexes_dir=Path(tmp), index="eval")
        t0 = time.perf_counter()
        if task.docs:
            report = ingest_articles(task.docs, s, encoder)
            took = time.perf_counter() - t0
            log(f"indexed {len(task.docs)} documents into {s.index_path} in {took:.0f} s: {report.summary()}")
        queries = task.queries[:limit] if limit else task.queries
        results: dict[str, dict[str, float]] = {}
        per_query: list[dict[str, Any]] = []
        searches: dict[str, Any] = {}
        with open_index(s, encoder) as idx:
            for name in configs:
                search = build_search(config_settings(s, name), idx, encoder)
                searches[name] = {**describe(search.config), "reranker": getattr(search.reranker, "name", "none")}
                results[name], rows = _run_config(search, task, queries, name)
                per_query += rows
                m = results[name]
                log(f"{name:<14} MRR@10 {m['mrr@10']:.4f}  R@1 {m['recall@1']:.4f}  p50 {m['p50_ms']:.1f} ms")
            stats = idx.stats()
    metrics = {"dataset": task.name, "n_queries": len(queries), "configs": results}
    if out_dir:
        run = {
            "settings": {k: str(v) for k, v in settings.model_dump().items()},
            "retrieval": searches,
            "index": {
                k: stats[k]
                for k in ("articles", "chunks", "embed_model", "embed_weights_hash", "chunker", "avg_chunk_tokens")
            },
        }
        _write(out_dir, metrics, per_query, run)
    return metrics
