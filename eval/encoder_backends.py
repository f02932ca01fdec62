"""Encoder backends compared: chunks/s and XQuAD-de MRR@10 (dense) for torch bf16/fp32 and ONNX fp32/int8.

    pip install -e '.[onnx]' && rag models export-onnx      # once: fp32 and int8 ONNX of the default embedder
    python eval/encoder_backends.py ../shared/data/xquad/xquad.de.json --out eval/results/encoder_backends.json

The ONNX backends run in the main environment (rag.models.onnx exports with torch.onnx and quantizes
with onnxruntime; no optimum). The embedding cache is disabled so every backend really encodes.
Sentence vectors are not stored (dense retrieval ranks chunks only), which keeps a backend's
ingest of the 240 paragraphs to their chunks. Each backend's paragraph vectors are compared with
the first backend's (mean and minimum cosine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.evaluate.datasets import load_squad
from rag.evaluate.retrieval import evaluate_retrieval
from rag.pipeline import load_encoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("squad", type=Path)
    ap.add_argument("--backends", default="torch:bfloat16,torch:float32,onnx:float32,onnx-int8:float32")
    ap.add_argument("--sample", type=int, default=200, help="chunk texts timed per backend")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    task = load_squad(args.squad)
    texts = [f"title: {d.headline} | text: {d.body}" for d in task.docs][: args.sample]
    rows = []
    first: np.ndarray | None = None
    for item in args.backends.split(","):
        backend, dtype = item.split(":")
        s = Settings(embed_backend=backend, embed_dtype=dtype, embed_cache=None, sentence_vectors=False)
        enc = load_encoder(s)
        enc.encode_documents(texts[:8])  # warm up
        t = time.perf_counter()
        vecs = enc.encode_documents(texts)
        rate = len(texts) / (time.perf_counter() - t)
        first = vecs if first is None else first
        cos = np.sum(vecs * first, axis=1)  # both L2-normalised
        m = evaluate_retrieval(task, s, ["dense"], log=lambda _: None)["configs"]["dense"]
        rows.append(
            {
                "backend": backend,
                "dtype": dtype,
                "paragraphs_per_s": round(rate, 2),
                "cosine_to_first_mean": round(float(cos.mean()), 5),
                "cosine_to_first_min": round(float(cos.min()), 5),
                "mrr@10": m["mrr@10"],
                "recall@1": m["recall@1"],
                "query_p50_ms": m["p50_ms"],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
