"""Benchmarks that print figures (never timed tests): ingest throughput against the bare encoder."""

from __future__ import annotations

import itertools
import random
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from rag.config import Settings
from rag.embeddings import load_embedder
from rag.ingest import ingest_articles
from rag.loaders import LoadOptions, load_paths


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` is the maximum seen (bytes)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def run_ingest_benchmark(
    paths: Sequence[Path],
    settings: Settings,
    *,
    format: str = "auto",
    limit: int | None = None,
    encoder_sample: int = 400,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ingest ``paths`` into a throw-away index, then time the bare encoder on a sample of the same chunks.

    The ratio ``pipeline_vs_encoder`` shows what reading, chunking, hashing and saving add on top
    of embedding (1.0 would be no overhead).
    """
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        s = settings.with_(indexes_dir=Path(tmp), index="bench")
        t_load = time.perf_counter()
        encoder = load_embedder(s)
        load_s = time.perf_counter() - t_load
        log(f"model {encoder.model_id} ({s.embed_dtype}) loaded in {load_s:.1f} s")
        opts = LoadOptions(format=format, max_article_bytes=s.max_article_bytes)
        articles = list(itertools.islice(load_paths(paths, opts), limit))
        with PeakRSS() as rss:
            report = ingest_articles(articles, s, encoder)
        from rag.store import open_store

        with open_store(s) as idx:
            pairs = idx.chunk_texts()
            texts = [t for t, _ in pairs]
            heads = dict(pairs)
        rng = random.Random(0)
        sample = rng.sample(texts, min(encoder_sample, len(texts)))
        formatted = [encoder.format_document(heads[t], t) for t in sample]
        t0 = time.perf_counter()
        encoder.encode_documents(formatted)
        bare_s = time.perf_counter() - t0
    n_art = report.added + report.updated
    bare_rate = len(sample) / bare_s if bare_s else 0.0
    pipe_rate = report.chunks_added / report.seconds if report.seconds else 0.0
    return {
        "model": encoder.model_id,
        "dtype": s.embed_dtype,
        "articles": n_art,
        "chunks": report.chunks_added,
        "problems": len(report.errors),
        "seconds": round(report.seconds, 1),
        "articles_per_s": round(n_art / report.seconds, 2) if report.seconds else 0.0,
        "chunks_per_s": round(pipe_rate, 2),
        "embed_seconds": round(report.embed_seconds, 1),
        "peak_rss_mb": round(rss.peak / 2**20),
        "encoder_sample_chunks": len(sample),
        "encoder_chunks_per_s": round(bare_rate, 2),
        "pipeline_vs_encoder": round(pipe_rate / bare_rate, 3) if bare_rate else 0.0,
        "model_load_s": round(load_s, 1),
    }


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

    from rag.ann import build_ann, prepare_for_search

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
    from rag.index import ModelInfo
    from rag.ingest import chunker_fingerprint
    from rag.records import Article, Chunk
    from rag.store import open_writer

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
    from rag.index import NewsIndex
    from rag.retrieval import HybridSearch, RetrievalConfig

    encoder = load_embedder(settings)
    rows = []
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-") as tmp:
        for kind in kinds:
            s = settings.with_(indexes_dir=Path(tmp), index=f"scale-{kind}", faiss_index=kind, store="faiss")
            synthetic_news_index(s, n_chunks, texts, encoder.dim, encoder.model_id, encoder.weights_hash, log=log)
            with NewsIndex.open(s.index_path) as idx:
                engine = HybridSearch(idx, encoder, RetrievalConfig(k=8, fetch_k=50))
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
    from rag.retrieval import HybridSearch, RetrievalConfig, SearchFilters
    from rag.store import open_store

    encoder = load_embedder(settings)
    encode_ms: list[float] = []
    vectors: dict[str, np.ndarray] = {}
    for q in queries:
        t = time.perf_counter()
        vectors[q] = encoder.encode_queries([q])
        encode_ms.append((time.perf_counter() - t) * 1000)

    class Encoded:
        def encode_queries(self, qs: Sequence[str]) -> np.ndarray:
            return np.vstack([vectors[q] for q in qs])

    rows: list[dict[str, Any]] = []
    tops: dict[str, list[list[int]]] = {}
    with tempfile.TemporaryDirectory(prefix="newsrag-store-") as tmp:
        for store in stores:
            s = settings.with_(indexes_dir=Path(tmp), index=f"store-{store}", store=store, faiss_index="flat")
            t = time.perf_counter()
            synthetic_news_index(s, n_chunks, texts, encoder.dim, encoder.model_id, encoder.weights_hash, log=log)
            build_s = time.perf_counter() - t
            with open_store(s) as idx:
                engine = HybridSearch(idx, Encoded(), RetrievalConfig(k=8, fetch_k=50))
                engine.run(queries[0])  # warm up
                lat: dict[str, list[float]] = {"dense": [], "hybrid": [], "hybrid_filtered": []}
                tops[store] = []
                flt = SearchFilters(since="2016-03-01", until="2016-08-31", outlets=("Outlet 3",))
                for q in queries:
                    for mode, filters in (("dense", None), ("hybrid", None), ("hybrid_filtered", flt)):
                        t = time.perf_counter()
                        res = engine.run(q, mode="dense" if mode == "dense" else "hybrid", filters=filters)
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


def run_answer_benchmark(
    settings: Settings,
    questions: Sequence[str],
    generators: Sequence[str],
    budgets: Sequence[int] = (1000, 2000),
    *,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Time to first token and total time per generator at each context budget (cl100k tokens)."""
    from rag.chain import NewsQA
    from rag.ingest import model_info
    from rag.records import Answer
    from rag.retrieval import HybridSearch, RetrievalConfig
    from rag.store import open_store

    encoder = load_embedder(settings)
    rows = []
    with open_store(settings, model_info(encoder)) as idx:
        search = HybridSearch(idx, encoder, RetrievalConfig(k=20, fetch_k=60))
        for gen in generators:
            for budget in budgets:
                s = settings.with_(context_tokens=budget, answer_k=20)
                with PeakRSS() as rss:
                    qa = NewsQA(s, search, encoder, gen)
                    first, total, ptoks = [], [], []
                    for q in questions:
                        answer = None
                        for piece in qa.stream(q):
                            if isinstance(piece, Answer):
                                answer = piece
                        assert answer is not None
                        first.append(answer.timings["first_token_s"])
                        total.append(answer.timings["total_s"])
                        ptoks.append(answer.prompt_tokens)
                row = {
                    "generator": gen,
                    "context_budget": budget,
                    "questions": len(questions),
                    "prompt_tokens_avg": round(float(np.mean(ptoks))),
                    "first_token_s_p50": round(float(np.median(first)), 2),
                    "total_s_p50": round(float(np.median(total)), 2),
                    "total_s_max": round(max(total), 2),
                    "peak_rss_mb": round(rss.peak / 2**20),
                }
                log(str(row))
                rows.append(row)
    return rows


def run_load_benchmark(
    url: str,
    questions: Sequence[str],
    *,
    clients: int = 20,
    per_client: int = 5,
    generator: str = "evidence",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``clients`` concurrent gradio_client sessions, each asking ``per_client`` questions via the API."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def session(i: int) -> list[tuple[float, str | None]]:
        client = Client(url, verbose=False)
        out: list[tuple[float, str | None]] = []
        for j in range(per_client):
            q = questions[(i + j) % len(questions)]
            t = time.perf_counter()
            try:
                data = client.predict(q, generator, "", "", [], 5, api_name="/ask")
                problem = data.get("error") if isinstance(data, dict) else "not a JSON object"
                if problem is None and not isinstance(data.get("answer"), str):
                    problem = "no answer"
            except Exception as exc:  # counted and reported, the run goes on
                problem = f"{type(exc).__name__}: {exc}"
            out.append((time.perf_counter() - t, problem))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for rs in pool.map(session, range(clients)) for r in rs]
    wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    errors = [r[1] for r in results if r[1]]
    figures = {
        "clients": clients,
        "requests": len(results),
        "answered": len(results) - len(errors),
        "errors": len(errors),
        "wall_s": round(wall, 1),
        "p50_s": round(float(np.median(lat)), 2),
        "p95_s": round(float(np.percentile(lat, 95)), 2),
        "max_s": round(max(lat), 2),
        "throughput_rps": round(len(results) / wall, 2),
    }
    if errors:
        log(f"first error: {errors[0]}")
    return figures
