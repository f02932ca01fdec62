"""`rag eval retrieval`: standard retrieval metrics on BEIR or SQuAD-format data.

Documents are indexed with the same pipeline as news articles; a document counts as retrieved at
the rank of its best chunk. Metrics per configuration: MRR@10, nDCG@10, Recall@1/5/10/100 and
query latency p50/p95 in milliseconds.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.config import Settings
from rag.errors import NewsragError
from rag.ingest import ingest_articles, model_info
from rag.records import Article
from rag.retrieval import HybridSearch, Reranker, RetrievalConfig
from rag.store import open_store

ALL_CONFIGS = ("bm25", "dense", "hybrid", "hybrid+rerank")
CUTOFFS = (1, 5, 10, 100)


@dataclass
class RetrievalTask:
    name: str
    docs: list[Article]
    queries: list[tuple[str, str]]  # (query id, text)
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def load_squad(path: Path, language: str | None = None) -> RetrievalTask:
    """Each paragraph is a document (titled by its article); each question's paragraph is relevant."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise NewsragError(f"{path}: not a SQuAD-format JSON file ({exc})") from exc
    docs: list[Article] = []
    queries: list[tuple[str, str]] = []
    qrels: dict[str, dict[str, int]] = {}
    lang = language or _guess_lang(path)
    for art in data:
        for i, para in enumerate(art["paragraphs"]):
            doc_id = f"{art['title']}#{i}"
            docs.append(
                Article(
                    id=doc_id,
                    headline=art["title"],
                    body=para["context"],
                    language=lang,
                    source=str(path),
                    source_ref=doc_id,
                )
            )
            for qa in para["qas"]:
                queries.append((qa["id"], qa["question"]))
                qrels[qa["id"]] = {doc_id: 1}
    return RetrievalTask(path.name, docs, queries, qrels)


def _guess_lang(path: Path) -> str | None:
    for part in path.name.split("."):
        if len(part) == 2 and part.isalpha():
            return part.lower()
    return None


def load_beir(folder: Path, split: str = "test", language: str | None = None) -> RetrievalTask:
    corpus, qfile, qrels_file = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for f in (corpus, qfile, qrels_file):
        if not f.is_file():
            raise NewsragError(f"{f}: missing (BEIR layout: corpus.jsonl, queries.jsonl, qrels/{split}.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise NewsragError(f"{qrels_file}: expected header 'query-id corpus-id score'")
        for row in reader:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    docs = []
    for n, line in enumerate(corpus.open(encoding="utf-8"), 1):
        if line.strip():
            try:
                d = json.loads(line)
            except ValueError as exc:
                raise NewsragError(f"{corpus} line {n}: not valid JSON ({exc})") from exc
            docs.append(
                Article(
                    id=str(d["_id"]),
                    headline=d.get("title") or "",
                    body=d.get("text") or "",
                    language=language,
                    source=str(corpus),
                    source_ref=f"line {n}",
                )
            )
    queries = []
    for line in qfile.open(encoding="utf-8"):
        if line.strip():
            q = json.loads(line)
            if str(q["_id"]) in qrels:
                queries.append((str(q["_id"]), q["text"]))
    return RetrievalTask(folder.name, docs, queries, qrels)


def load_gold_questions(path: Path) -> RetrievalTask:
    """A gold set of ours (JSON Lines with article_ids) against an existing index: no documents to build."""
    from rag.eval_answers import load_questions

    qs = [q for q in load_questions(path) if q.article_ids]
    return RetrievalTask(
        path.name, [], [(q.id, q.question) for q in qs], {q.id: dict.fromkeys(q.article_ids, 1) for q in qs}
    )


def doc_ranking(chunk_ranking: Sequence[int], chunk_doc: dict[int, str]) -> list[str]:
    """Documents in the order of their best chunk."""
    seen: dict[str, None] = {}
    for cid in chunk_ranking:
        d = chunk_doc.get(cid)
        if d is not None and d not in seen:
            seen[d] = None
    return list(seen)


def query_metrics(ranking: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    """MRR@10, nDCG@10 (graded, log2 discount) and Recall@k for one query."""
    out: dict[str, float] = {}
    first = next((i for i, d in enumerate(ranking[:10], 1) if d in relevant), None)
    out["mrr@10"] = 1.0 / first if first else 0.0
    dcg = sum((2 ** relevant[d] - 1) / math.log2(i + 1) for i, d in enumerate(ranking[:10], 1) if d in relevant)
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum((2**r - 1) / math.log2(i + 1) for i, r in enumerate(ideal, 1))
    out["ndcg@10"] = dcg / idcg if idcg else 0.0
    for k in CUTOFFS:
        out[f"recall@{k}"] = len(set(ranking[:k]) & set(relevant)) / len(relevant) if relevant else 0.0
    return out


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def evaluate_retrieval(
    task: RetrievalTask,
    settings: Settings,
    configs: Sequence[str] = ALL_CONFIGS,
    *,
    index_name: str | None = None,
    out_dir: Path | None = None,
    limit: int | None = None,
    reranker_factory: Callable[[Any], Reranker] | None = None,
    retrieval: RetrievalConfig | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index ``task.docs`` (fresh temporary index unless ``index_name``), run every query per config."""
    from rag.embeddings import load_embedder

    bad = [c for c in configs if c not in ALL_CONFIGS]
    if bad:
        raise NewsragError(f"unknown config(s) {', '.join(bad)}: use {', '.join(ALL_CONFIGS)}")
    encoder = load_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="newsrag-eval-") as tmp:
        s = settings.with_(index=index_name) if index_name else settings.with_(indexes_dir=Path(tmp), index="eval")
        t0 = time.perf_counter()
        if not task.docs and not index_name:
            raise NewsragError("a gold set without documents needs --index (an existing index)")
        report = ingest_articles(task.docs, s, encoder) if task.docs else None
        if report is not None:
            log(
                f"indexed {len(task.docs)} documents into {s.index_path} in {time.perf_counter() - t0:.0f} s: "
                + report.summary()
            )
        queries = task.queries[:limit] if limit else task.queries
        with open_store(s, model_info(encoder)) as idx:
            chunk_doc = idx.chunk_articles()
            reranker = reranker_factory(encoder) if reranker_factory and "hybrid+rerank" in configs else None
            search = HybridSearch(idx, encoder, retrieval or RetrievalConfig(), reranker)
            fetch = max(300, search.config.fetch_k)
            per_query: list[dict[str, Any]] = []
            results: dict[str, dict[str, float]] = {}
            for cfg in configs:
                mode = "hybrid" if cfg.startswith("hybrid") else cfg
                sums: dict[str, float] = {}
                lat: list[float] = []
                for qid, text in queries:
                    t = time.perf_counter()
                    ranked = search.ranked(text, fetch, mode=mode)
                    chunk_ids = [c for c, *_ in ranked]
                    if cfg == "hybrid+rerank" and reranker is not None:
                        top = search.config.rerank_top
                        head = reranker.rerank(text, search.passages(ranked[:top]))
                        chunk_ids = [p.chunk_id for p in head] + chunk_ids[top:]
                    lat.append((time.perf_counter() - t) * 1000)
                    ranking = doc_ranking(chunk_ids, chunk_doc)
                    m = query_metrics(ranking, task.qrels[qid])
                    for key, v in m.items():
                        sums[key] = sums.get(key, 0.0) + v
                    gold_rank = next((i for i, d in enumerate(ranking, 1) if d in task.qrels[qid]), None)
                    per_query.append(
                        {
                            "config": cfg,
                            "query_id": qid,
                            "query": text,
                            "gold": "|".join(task.qrels[qid]),
                            "gold_rank": gold_rank or "",
                            "mrr@10": round(m["mrr@10"], 4),
                            "latency_ms": round(lat[-1], 2),
                        }
                    )
                n = len(queries)
                results[cfg] = {k: round(v / n, 4) for k, v in sums.items()}
                results[cfg]["p50_ms"] = round(statistics.median(lat), 2) if lat else 0.0
                results[cfg]["p95_ms"] = round(percentile(lat, 0.95), 2)
                log(
                    f"{cfg:<14} MRR@10 {results[cfg]['mrr@10']:.4f}  R@1 {results[cfg]['recall@1']:.4f}  "
                    f"p50 {results[cfg]['p50_ms']:.1f} ms"
                )
            stats = idx.stats()
    metrics = {"dataset": task.name, "n_queries": len(queries), "configs": results}
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        with (out_dir / "per_query.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(per_query[0]) if per_query else ["config"])
            w.writeheader()
            w.writerows(per_query)
        run = {
            "settings": {k: str(v) for k, v in settings.model_dump().items()},
            "retrieval": vars(search.config) if queries else {},
            "index": {
                k: stats[k]
                for k in ("articles", "chunks", "embed_model", "embed_weights_hash", "chunker", "avg_chunk_tokens")
            },
        }
        (out_dir / "run.json").write_text(json.dumps(run, indent=2, default=str))
    return metrics
