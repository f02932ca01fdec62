"""Tune the fusion of dense and BM25 on one index: RRF weights, RRF k, and score-fusion alpha.

    python eval/fusion_grid.py ../shared/data/xquad/xquad.de.json --out eval/results/fusion_grid_xquad_de.json

Builds (or reuses, with NEWSRAG_EMBED_CACHE) an index of the SQuAD paragraphs with the default
settings, encodes every question once, and scores each variant at document level (MRR@10, R@1).
Each variant is the served search (rag.pipeline.build_search) with some settings changed; query
vectors are computed once and shared, so this measures ranking quality, not latency.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.evaluate.datasets import load_squad
from rag.evaluate.metrics import query_metrics
from rag.evaluate.retrieval import doc_order
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_search, load_encoder, open_index


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    task = load_squad(args.squad)
    queries = task.queries[: args.limit] if args.limit else task.queries
    s0 = Settings()
    enc = load_encoder(s0)
    vectors: dict[str, np.ndarray] = {}  # each question embedded once, shared by every variant
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s = s0.with_(indexes_dir=Path(tmp), index="grid")
        ingest_articles(task.docs, s, enc)
        with open_index(s, enc) as idx:

            def score(name: str, **changes: Any) -> None:
                search = build_search(s.with_(**changes), idx, enc)
                tot = {"mrr@10": 0.0, "recall@1": 0.0, "recall@10": 0.0}
                for qid, text in queries:
                    if text not in vectors:
                        vectors[text] = search.query_vector(text)
                    passages = search.search(text, k=100, vector=vectors[text]).passages
                    m = query_metrics(doc_order(passages), task.qrels[qid])
                    for k in tot:
                        tot[k] += m[k]
                row = {"variant": name, **{k: round(v / len(queries), 4) for k, v in tot.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)

            score("dense", retrieval_mode="dense", reranker="none")
            score("bm25", retrieval_mode="bm25", reranker="none")
            for wb in (1.0, 0.7, 0.5, 0.3):
                for k0 in (60, 20):
                    score(f"rrf bm25_weight={wb} k={k0}", bm25_weight=wb, rrf_k=k0, reranker="none")
            for alpha in (0.9, 0.8, 0.7, 0.6):
                score(f"fusion alpha={alpha}", reranker="fusion", fusion_alpha=alpha, rerank_top=30)
    if args.out:
        args.out.write_text(json.dumps({"dataset": task.name, "n_queries": len(queries), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
