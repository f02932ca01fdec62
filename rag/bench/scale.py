"""Scale: ANN kinds at 100k/1M synthetic vectors, and the real hybrid query path at 100k chunks (``rag bench scale``).

Embedding a million chunks would take days on 2 cores, so the vectors are synthetic unit vectors
clustered around shared centres (more like real embeddings than pure noise) and the texts are
real sentences; queries are encoded by the real model and run through the served search.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.ingest.pipeline import chunker_fingerprint
from rag.pipeline import build_search, load_encoder
from rag.records import Article, Chunk, ModelInfo
from rag.store import open_store, open_writer


def clustered_vectors(
    n: int, dim: int, rng: np.random.Generator, centers: np.ndarray, noise: float = 0.6
) -> np.ndarray:
    """Synthetic unit vectors around shared cluster centres (more like real embeddings than pure noise)."""
    out = np.empty((n, dim), dtype=np.float32)
    step = 50_000
    for i in range(0, n, step):
        m = min(step, n - i)
        x = centers[rng.integers(0, len(centers), m)] + noise * rng.standard_normal(
            (m, dim), dtype=np.float32
        ) / np.sqrt(dim)
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def run_ann_benchmark(
    sizes: Sequence[int],
    kinds: Sequence[str],
    *,
    dim: int = 768,
    n_queries: int = 200,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Build time, memory, recall@10 against exact search and single-query p50 for each size and kind."""
    import faiss

    from rag.store.faiss.ann import build_ann, prepare_for_search

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((2000, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        xb = clustered_vectors(n, dim, rng, centers)
        ids = np.arange(n, dtype=np.int64)
        xq = xb[rng.choice(n, n_queries, replace=False)] + 0.3 * rng.standard_normal(
            (n_queries, dim), dtype=np.float32
        ) / np.sqrt(dim)
        xq /= np.linalg.norm(xq, axis=1, keepdims=True)
        exact = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        t = time.perf_counter()
        exact.add_with_ids(xb, ids)
        flat_build = time.perf_counter() - t
        _, truth = exact.search(xq, 10)
        for kind in kinds:
            index: faiss.Index
            if kind == "flat":
                index, build_s = exact, flat_build
            else:
                log(f"building {kind} over {n:,} vectors …")
                t = time.perf_counter()
                index = prepare_for_search(build_ann(kind, xb, ids))
                build_s = time.perf_counter() - t
            lat = []
            found = np.empty((n_queries, 10), dtype=np.int64)
            for i in range(n_queries):
                t = time.perf_counter()
                _, found[i : i + 1] = index.search(xq[i : i + 1], 10)
                lat.append((time.perf_counter() - t) * 1000)
            recall = float(np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(n_queries)]))
            mem = len(faiss.serialize_index(index))
            row = {
                "chunks": n,
                "kind": kind,
                "build_s": round(build_s, 1),
                "memory_mb": round(mem / 2**20),
                "recall@10": round(recall, 4),
                "p50_ms": round(float(np.median(lat)), 2),
            }
            log(str(row))
            rows.append(row)
            del index
        del xb, exact
    return rows


def synthetic_news_index(
    settings: Settings,
    n_chunks: int,
    texts: Sequence[str],
    dim: int,
    model_name: str,
    weights_hash: str,
    *,
    log: Callable[[str], None] = print,
) -> Path:
    """An index of ``n_chunks`` chunks made of real sentences with synthetic vectors (embedding 100k chunks
    would take hours here); used to time the real hybrid query path at scale."""
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((2000, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    info = ModelInfo(model_name, weights_hash, dim)
    per_article = 5
    t = time.perf_counter()
    with open_writer(settings, info, chunker_fingerprint(settings)) as w:
        for a in range(0, n_chunks, per_article):
            parts = [" ".join(texts[j] for j in rng.integers(0, len(texts), 4)) for _ in range(per_article)]
            body = "\n".join(parts)
            art = Article(
                id=f"syn{a}",
                headline=parts[0][:80],
                body=body,
                language="de",
                outlet=f"Outlet {a % 9}",
                date=f"2016-{1 + a % 12:02d}-{1 + a % 28:02d}",
                source="synthetic",
            )
            chunks, pos = [], 0
            for i, p in enumerate(parts):
                chunks.append(Chunk(art.id, i, pos, pos + len(p), p, len(p) // 4, embed_text=f"{a}:{i}"))
                pos += len(p) + 1
            w.add(art, chunks, clustered_vectors(len(chunks), dim, rng, centers))
        w.commit()
    log(f"synthetic index of {n_chunks:,} chunks built in {time.perf_counter() - t:.0f} s")
    return settings.index_path


def run_hybrid_scale_benchmark(
    settings: Settings,
    texts: Sequence[str],
    queries: Sequence[str],
    *,
    n_chunks: int = 100_000,
    kinds: Sequence[str] = ("flat", "ivfsq8"),
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Real hybrid queries (real query encoder, FAISS, BM25, fusion, SQLite) on a synthetic-vector index."""
    encoder = load_encoder(settings.with_(query_cache=0))  # time every encoding: no cache hits
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as tmp:
        for kind in kinds:
            s = settings.with_(indexes_dir=Path(tmp), index=f"scale-{kind}", faiss_index=kind, store="faiss")
            synthetic_news_index(s, n_chunks, texts, encoder.dim, encoder.model_id, encoder.weights_hash, log=log)
            with open_store(s) as idx:
                engine = build_search(s.with_(retrieval_k=8, fetch_k=50), idx, encoder)
                engine.run(queries[0])  # warm up
                parts: dict[str, list[float]] = {"encode": [], "total": []}
                for q in queries:
                    t = time.perf_counter()
                    encoder.encode_queries([q])
                    parts["encode"].append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    engine.run(q)
                    parts["total"].append((time.perf_counter() - t) * 1000)
            row = {
                "chunks": n_chunks,
                "kind": kind,
                "queries": len(queries),
                "hybrid_p50_ms": round(float(np.median(parts["total"])), 1),
                "hybrid_p95_ms": round(float(np.percentile(parts["total"], 95)), 1),
                "query_encode_p50_ms": round(float(np.median(parts["encode"])), 1),
            }
            log(str(row))
            rows.append(row)
    return rows
