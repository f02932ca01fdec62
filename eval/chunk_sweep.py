"""Pick chunk defaults by measurement: XQuAD-de retrieval quality per chunk size/overlap.

    python eval/chunk_sweep.py ../shared/data/xquad/xquad.de.json --out eval/results/chunk_sweep_xquad_de.json

Each setting builds a fresh index of the 240 paragraphs with the configured embedding model and
runs all 1,190 questions through bm25, dense and hybrid retrieval (document level).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.config import Settings
from rag.evaluate.datasets import load_squad
from rag.evaluate.retrieval import evaluate_retrieval


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--settings", default="100:20,200:40,300:60,1000:0", help="tokens:overlap pairs")
    ap.add_argument("--configs", default="bm25,dense,hybrid")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    task = load_squad(args.squad)
    rows = []
    for pair in args.settings.split(","):
        size, overlap = (int(x) for x in pair.split(":"))
        s = Settings(chunk_tokens=size, chunk_overlap=overlap)
        m = evaluate_retrieval(task, s, args.configs.split(","), limit=args.limit, log=print)
        for cfg, v in m["configs"].items():
            rows.append({"chunk_tokens": size, "overlap": overlap, "config": cfg, **v})
            print(json.dumps(rows[-1]))
    print(f"\n{'tokens':>6} {'overlap':>7} {'config':<8} {'MRR@10':>7} {'R@1':>6} {'R@10':>6} {'p50 ms':>7}")
    for r in rows:
        print(
            f"{r['chunk_tokens']:>6} {r['overlap']:>7} {r['config']:<8} {r['mrr@10']:>7.4f} {r['recall@1']:>6.4f} "
            f"{r['recall@10']:>6.4f} {r['p50_ms']:>7.1f}"
        )
    if args.out:
        args.out.write_text(json.dumps({"dataset": task.name, "model": Settings().embed_model, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
