"""Vector stores compared at scale: FAISS against Milvus Lite on the same index (``rag bench store``)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.bench.scale import synthetic_news_index
from rag.config import Settings
from rag.pipeline import build_search, load_encoder
from rag.records import SearchFilters
from rag.store import open_store


def _disk_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_store_benchmark(
    settings: Settings,
    texts: Sequence[str],
    queries: Sequence[str],
    *,
    n_chunks: int = 100_000,
    stores: Sequence[str] = ("faiss", "milvus"),
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """FAISS (flat) vs Milvus Lite on the same synthetic-vector index of ``n_chunks`` real-text chunks:
    build (insert + publish) time, disk size, and p50/p95 latency of dense and hybrid queries with the
    real query encoder; ``top8_same_as_faiss`` is the mean overlap of the hybrid top-8 chunk ids.

    Query vectors are encoded once up front (their p50 is reported as ``query_encode_p50_ms``), so the
    latencies are the store's: search, fusion and fetching the passages."""
    encoder = load_encoder(settings.with_(query_cache=0))  # time every encoding: no cache hits
    encode_ms: list[float] = []
    vectors: dict[str, np.ndarray] = {}
    for q in queries:
        t = time.perf_counter()
        vectors[q] = encoder.encode_queries([q])[0]
        encode_ms.append((time.perf_counter() - t) * 1000)

    rows: list[dict[str, Any]] = []
    tops: dict[str, list[list[int]]] = {}
    with tempfile.TemporaryDirectory(prefix="newsrag-store-") as tmp:
        for store in stores:
            s = settings.with_(indexes_dir=Path(tmp), index=f"store-{store}", store=store, faiss_index="flat")
            t = time.perf_counter()
            synthetic_news_index(s, n_chunks, texts, encoder.dim, encoder.model_id, encoder.weights_hash, log=log)
            build_s = time.perf_counter() - t
            with open_store(s) as idx:
                engine = build_search(s.with_(retrieval_k=8, fetch_k=50), idx, encoder)
                engine.search(queries[0], vector=vectors[queries[0]])  # warm up
                lat: dict[str, list[float]] = {"dense": [], "hybrid": [], "hybrid_filtered": []}
                tops[store] = []
                flt = SearchFilters(since="2016-03-01", until="2016-08-31", outlets=("Outlet 3",))
                for q in queries:
                    for mode, filters in (("dense", None), ("hybrid", None), ("hybrid_filtered", flt)):
                        t = time.perf_counter()
                        res = engine.search(
                            q, mode="dense" if mode == "dense" else "hybrid", filters=filters, vector=vectors[q]
                        ).passages
                        lat[mode].append((time.perf_counter() - t) * 1000)
                        if mode == "hybrid":
                            tops[store].append([p.chunk_id for p in res])
            row: dict[str, Any] = {
                "store": store,
                "chunks": n_chunks,
                "queries": len(queries),
                "build_s": round(build_s, 1),
                "disk_mb": round(_disk_bytes(s.index_path) / 2**20, 1),
            }
            for mode, values in lat.items():
                row[f"{mode}_p50_ms"] = round(float(np.median(values)), 1)
                row[f"{mode}_p95_ms"] = round(float(np.percentile(values, 95)), 1)
            if "faiss" in tops and store != "faiss":
                same = [len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(tops["faiss"], tops[store], strict=True)]
                row["top8_same_as_faiss"] = round(float(np.mean(same)), 3)
            row["query_encode_p50_ms"] = round(float(np.median(encode_ms)), 1)
            log(str(row))
            rows.append(row)
    return rows
