"""Ingest throughput against the bare encoder on the same chunk texts (``rag bench ingest``)."""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.bench.memory import PeakRSS
from rag.config import Settings
from rag.ingest.loaders import LoadOptions, load_paths
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import load_encoder
from rag.store import open_store


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
        encoder = load_encoder(s)
        load_s = time.perf_counter() - t_load
        log(f"model {encoder.model_id} ({encoder.dtype}) loaded in {load_s:.1f} s")
        opts = LoadOptions(format=format, max_article_bytes=s.max_article_bytes)
        articles = list(itertools.islice(load_paths(paths, opts), limit))
        with PeakRSS() as rss:
            report = ingest_articles(articles, s, encoder)
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
        "dtype": encoder.dtype,
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
