"""Ingest throughput against the bare encoder on the same texts (``rag bench ingest``).

One run answers three questions. How fast does the pipeline ingest (articles/s, chunks/s, peak
RSS)? How much of that time is the encoder's: the bare encoder is timed on a sample of the same
chunk texts and of the same sentence texts (ingest embeds both), and the pipeline's time is
compared with what the bare encoder would need for all of them (``pipeline_vs_encoder``; 1.0 is
no overhead). And how far is the encoder from the machine: each backend's bare rate on the same
sample, and the model's arithmetic per text (2 FLOPs per non-embedding parameter per token) set
against a dense matrix product timed on this CPU (``ceiling_gflops``), which is the most any
encoder of this shape could reach here.
"""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.bench.memory import PeakRSS
from rag.config import EmbedBackend, Settings
from rag.errors import ModelMissingError
from rag.ingest.loaders import LoadOptions, load_paths
from rag.ingest.pipeline import ingest_articles, make_chunker
from rag.models.embedders import SentenceEmbedder, load_embedder
from rag.pipeline import load_encoder
from rag.records import Article
from rag.store import open_store


def matmul_ceiling_gflops(dtype: str, seconds: float = 2.0) -> float:
    """GFLOP/s of a 512×768×3072 matrix product (an encoder layer's shape) in ``dtype`` on all threads."""
    import torch

    dt = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    a, b = torch.randn(512, 768, dtype=dt), torch.randn(768, 3072, dtype=dt)
    a @ b  # warm up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or n < 3:
        a @ b
        n += 1
    return 2 * 512 * 768 * 3072 * n / (time.perf_counter() - t0) / 1e9


def non_embedding_params(encoder: SentenceEmbedder) -> int:
    """Parameters that cost arithmetic per token: all but the token-embedding tables (torch backend only)."""
    modules = getattr(encoder.model, "modules", None)
    if modules is None:
        return 0
    total = 0
    for module in modules():
        if type(module).__name__.endswith("Embedding"):
            continue
        total += sum(p.numel() for p in module.parameters(recurse=False))
    return total


def _rate(encoder: SentenceEmbedder, texts: Sequence[str]) -> float:
    """Texts per second of the bare encoder on ``texts`` (after one warm-up batch)."""
    encoder.encode_documents(list(texts[: encoder.batch_size]))
    t0 = time.perf_counter()
    encoder.encode_documents(list(texts))
    return len(texts) / (time.perf_counter() - t0)


def run_ingest_benchmark(
    paths: Sequence[Path],
    settings: Settings,
    *,
    format: str = "auto",
    limit: int | None = None,
    encoder_sample: int = 200,
    backends: Sequence[EmbedBackend] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ingest ``paths`` into a throw-away index, then time the bare encoder on samples of the same texts.

    :param encoder_sample: chunks timed on the bare encoder (and as many sentences).
    :param backends: further encoder backends timed on the same samples (e.g. ``onnx-int8``); one
        that cannot load is reported as missing, not substituted.
    """
    s = settings.with_(embed_cache=None)  # every vector computed: nothing from a cache
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        s = s.with_(indexes_dir=Path(tmp), index="bench")
        t_load = time.perf_counter()
        encoder = load_encoder(s)
        load_s = time.perf_counter() - t_load
        log(f"model {encoder.model_id} ({encoder.dtype}) loaded in {load_s:.1f} s")
        opts = LoadOptions(format=format, max_article_bytes=s.max_article_bytes)
        articles = list(itertools.islice(load_paths(paths, opts), limit))
        with PeakRSS() as rss:
            report = ingest_articles(articles, s, encoder)
        log(f"ingested {report.added} articles, {report.chunks_added} chunks in {report.seconds:.1f} s")
        with open_store(s) as idx:
            pairs = idx.chunk_texts()
    chunker = make_chunker(s, encoder)
    sentences = [x.embed_text for a in articles if isinstance(a, Article) for x in chunker.sentences(a)]
    rng = random.Random(0)
    chunk_sample = [encoder.format_document(h, t) for t, h in rng.sample(pairs, min(encoder_sample, len(pairs)))]
    sent_sample = rng.sample(sentences, min(encoder_sample, len(sentences)))

    chunk_rate, sent_rate = _rate(encoder, chunk_sample), _rate(encoder, sent_sample)
    n_sent = report.sentences_embedded
    bare_s = report.chunks_embedded / chunk_rate + n_sent / sent_rate
    tokens = sum(encoder.count_tokens(t) for t in chunk_sample) / max(1, len(chunk_sample))
    params = non_embedding_params(encoder)
    gflop_per_chunk = 2 * params * tokens / 1e9
    ceiling = matmul_ceiling_gflops(encoder.dtype)
    rows = [_backend_row(f"torch {encoder.dtype}", chunk_rate, sent_rate, None, gflop_per_chunk, ceiling)]
    for backend in backends:
        try:
            other = load_embedder(s.with_(embed_backend=backend), on_warning=_raise)
        except ModelMissingError as exc:
            log(f"{backend}: not measured ({exc})")
            rows.append({k: (backend if k == "backend" else None) for k in rows[0]})
            continue
        c, r = _rate(other, chunk_sample), _rate(other, sent_sample)
        rows.append(_backend_row(backend, c, r, chunk_rate, gflop_per_chunk, ceiling))
        del other
    n_art = report.added + report.updated
    return {
        "model": encoder.model_id,
        "dtype": encoder.dtype,
        "articles": n_art,
        "chunks": report.chunks_added,
        "sentences": n_sent,
        "problems": len(report.errors),
        "seconds": round(report.seconds, 1),
        "articles_per_s": round(n_art / report.seconds, 2) if report.seconds else 0.0,
        "chunks_per_s": round(report.chunks_added / report.seconds, 2) if report.seconds else 0.0,
        "embed_seconds": round(report.embed_seconds, 1),
        "peak_rss_mb": round(rss.peak / 2**20),
        "encoder_sample": len(chunk_sample),
        "bare_encoder_seconds_for_all": round(bare_s, 1),
        "pipeline_vs_encoder": round(bare_s / report.seconds, 3) if report.seconds else 0.0,
        "tokens_per_chunk": round(tokens, 1),
        "non_embedding_params_m": round(params / 1e6, 1),
        "gflop_per_chunk": round(gflop_per_chunk, 1),
        "ceiling_gflops": round(ceiling, 1),
        "model_load_s": round(load_s, 1),
        "backends": rows,
    }


def _raise(message: str) -> None:
    raise ModelMissingError(message)


def _backend_row(
    name: str, chunk_rate: float, sent_rate: float, base: float | None, gflop: float, ceiling: float
) -> dict[str, Any]:
    achieved = chunk_rate * gflop
    return {
        "backend": name,
        "chunks_per_s": round(chunk_rate, 2),
        "sentences_per_s": round(sent_rate, 2),
        "speedup": round(chunk_rate / base, 2) if base else 1.0,
        "gflops": round(achieved, 1),
        "of_ceiling": round(achieved / ceiling, 2) if ceiling else 0.0,
    }
