"""Tune the fusion of dense and BM25 on one index: RRF weights, RRF k, and score-fusion alpha.

    python eval/fusion_grid.py ../shared/data/xquad/xquad.de.json --out eval/results/fusion_grid_xquad_de.json

Builds (or reuses, with NEWSRAG_EMBED_CACHE) an index of the SQuAD paragraphs with the default
settings, encodes every question once, and scores each variant at document level (MRR@10, R@1).
Query vectors are computed once and shared, so this measures ranking quality, not latency.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.embeddings import load_embedder
from rag.eval_retrieval import doc_ranking, load_squad, query_metrics
from rag.index import NewsIndex
from rag.ingest import ingest_articles, model_info
from rag.rerank import ScoreFusionReranker
from rag.retrieval import HybridSearch, RetrievalConfig


class Memo:
    """Query encoder with a cache (each question is encoded once for all variants)."""

    def __init__(self, enc: object) -> None:
        self.enc = enc
        self.cache: dict[str, np.ndarray] = {}

    def encode_queries(self, qs: list[str]) -> np.ndarray:
        out = []
        for q in qs:
            if q not in self.cache:
                self.cache[q] = self.enc.encode_queries([q])[0]  # type: ignore[attr-defined]
            out.append(self.cache[q])
        return np.stack(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    task = load_squad(args.squad)
    queries = task.queries[: args.limit] if args.limit else task.queries
    s0 = Settings()
    enc = load_embedder(s0)
    memo = Memo(enc)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s = s0.with_(indexes_dir=Path(tmp), index="grid")
        ingest_articles(task.docs, s, enc)
        with NewsIndex.open(s.index_path, model_info(enc)) as idx:
            chunk_doc = dict(idx.db.execute("SELECT id, article_id FROM chunks"))

            def score(name: str, cfg: RetrievalConfig, mode: str, rerank: ScoreFusionReranker | None = None) -> None:
                search = HybridSearch(idx, memo, cfg)
                tot = {"mrr@10": 0.0, "recall@1": 0.0, "recall@10": 0.0}
                for qid, text in queries:
                    ranked = search.ranked(text, 300, mode=mode)
                    ids = [c for c, *_ in ranked]
                    if rerank is not None:
                        head = rerank.rerank(text, search.passages(ranked[:30]))
                        ids = [p.chunk_id for p in head] + ids[30:]
                    m = query_metrics(doc_ranking(ids, chunk_doc), task.qrels[qid])
                    for k in tot:
                        tot[k] += m[k]
                row = {"variant": name, **{k: round(v / len(queries), 4) for k, v in tot.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)

            score("dense", RetrievalConfig(), "dense")
            score("bm25", RetrievalConfig(), "bm25")
            for wb in (1.0, 0.7, 0.5, 0.3):
                for k0 in (60, 20):
                    score(
                        f"rrf bm25_weight={wb} k={k0}",
                        RetrievalConfig(weights=(("dense", 1.0), ("bm25", wb)), rrf_k=k0),
                        "hybrid",
                    )
            for alpha in (0.9, 0.8, 0.7, 0.6):
                score(f"fusion alpha={alpha}", RetrievalConfig(), "hybrid", ScoreFusionReranker(alpha))
    if args.out:
        args.out.write_text(json.dumps({"dataset": task.name, "n_queries": len(queries), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
