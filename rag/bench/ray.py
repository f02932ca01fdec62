"""Ingest throughput: local embedding against Ray Data with 1..N embedding actors (``rag bench ray``).

Every configuration ingests the same articles into its own throw-away index. Wall time is the
whole ``ingest_articles`` call (chunking, embedding, writing); for Ray it includes creating the
actor pool and loading the model once per actor, which an ingest pays each time, but not starting
the local Ray instance (reported once as ``ray_start_s``). Memory: the driver's peak RSS, and the
peak RSS of the driver plus all its descendant processes (a local Ray instance's raylet, GCS and
workers are descendants, so this is the whole machine's cost of the run).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.bench.memory import TreeRSS
from rag.config import Settings
from rag.ingest.loaders import LoadOptions, load_paths
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import load_encoder
from rag.records import Article
from rag.types import Encoder

NOTE_2_CORES = (
    "on a machine with few cores the Ray actors compete with the driver (chunking, writing) and with each other "
    "for the same cores; more workers only pay off with cores (or machines, GPUs) to spare"
)


def _one_run(
    mode: str, workers: int, threads: int, articles: Sequence[Article], settings: Settings, encoder: Encoder
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-ray-") as tmp:
        s = settings.with_(indexes_dir=Path(tmp), index="bench")
        with TreeRSS() as rss:
            t0 = time.perf_counter()
            report = ingest_articles(articles, s, encoder)
            wall = time.perf_counter() - t0
    n_art = report.added + report.updated
    return {
        "mode": mode,
        "workers": workers,
        "torch_threads": threads,
        "articles": n_art,
        "chunks": report.chunks_added,
        "wall_s": round(wall, 1),
        "embed_s": round(report.embed_seconds, 1),
        "articles_per_s": round(n_art / wall, 2) if wall else 0.0,
        "chunks_per_s": round(report.chunks_added / wall, 2) if wall else 0.0,
        "driver_peak_rss_mb": round(rss.driver / 2**20),
        "all_procs_peak_rss_mb": round(rss.tree / 2**20),
    }


def run_ray_benchmark(
    paths: Sequence[Path],
    settings: Settings,
    *,
    format: str = "auto",
    limit: int | None = 300,
    workers: Sequence[int] = (1, 2),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ingest the first ``limit`` articles of ``paths`` locally and with Ray (each worker count); see module doc."""
    from rag.ingest.ray_encoder import RayEncoder, start_ray

    opts = LoadOptions(format=format, max_article_bytes=settings.max_article_bytes)
    loaded = itertools.islice(load_paths(paths, opts), limit)
    articles = [a for a in loaded if isinstance(a, Article)]
    encoder = load_encoder(settings)
    log(f"{len(articles)} articles, model {encoder.model_id} ({encoder.dtype}), {os.cpu_count()} CPUs")

    import torch

    # Local path with torch's default threads, then with one thread (what each Ray actor gets per CPU).
    default_threads = torch.get_num_threads()
    rows = [_one_run("local", 0, default_threads, articles, settings, encoder)]
    log(f"local, {default_threads} thread(s): {rows[-1]['wall_s']} s")
    if default_threads != 1:
        torch.set_num_threads(1)
        try:
            rows.append(_one_run("local", 0, 1, articles, settings, encoder))
        finally:
            torch.set_num_threads(default_threads)
        log(f"local, 1 thread: {rows[-1]['wall_s']} s")

    import ray

    most = max(workers) if workers else 1
    ray_settings = settings.with_(ray_address="local", ray_workers=most)
    t0 = time.perf_counter()
    owns = start_ray(ray_settings)
    ray_start = time.perf_counter() - t0
    cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    log(f"local Ray instance ({cpus} CPUs) started in {ray_start:.1f} s")
    try:
        for n in workers:
            s = settings.with_(ray_address="local", ray_workers=n)
            with RayEncoder(encoder, s) as enc:
                threads = s.threads or max(1, int(s.ray_cpus_per_worker))
                rows.append(_one_run("ray", n, threads, articles, s, enc))
            log(f"ray, {n} worker(s): {rows[-1]['wall_s']} s")
    finally:
        if owns:
            ray.shutdown()
    load = os.getloadavg()
    return {
        "model": encoder.model_id,
        "dtype": encoder.dtype,
        "embed_batch_size": settings.embed_batch_size,
        "cpus": os.cpu_count(),
        "ray_cpus_per_worker": settings.ray_cpus_per_worker,
        "ray_start_s": round(ray_start, 1),
        "load_average_after": [round(x, 2) for x in load],
        "note": NOTE_2_CORES,
        "rows": rows,
    }
