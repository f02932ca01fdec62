"""Ingest: read → chunk → embed (only what is new) → publish a new index generation.

Incremental by content hash: an article whose id and content hash are already stored is
skipped; a changed article replaces its old chunks; chunks whose embed text is already in the
index reuse the stored vector instead of being embedded again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.chunking import Chunker, ChunkerConfig
from rag.config import Settings
from rag.embed_cache import EmbeddingCache
from rag.errors import InputProblem
from rag.index import ModelInfo
from rag.loaders import LoadOptions, load_paths
from rag.records import Article, Chunk
from rag.store import open_writer


class DocumentEncoder(Protocol):
    """What ingest needs from an embedding model."""

    dim: int
    max_seq_length: int
    weights_hash: str

    @property
    def model_id(self) -> str: ...

    def format_document(self, title: str, text: str) -> str: ...

    def count_tokens(self, text: str) -> int: ...

    def encode_documents(self, formatted: Sequence[str], show_progress: bool = False) -> np.ndarray: ...


class Progress(Protocol):
    """The part of a progress display ingest uses (rich's ``Progress`` fits)."""

    def add_task(
        self,
        description: str,
        start: bool = True,
        total: float | None = 100.0,
        completed: int = 0,
        visible: bool = True,
        **fields: Any,
    ) -> Any: ...

    def advance(self, task_id: Any, advance: float = 1) -> None: ...


@dataclass
class IngestReport:
    articles_seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    chunks_added: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    problems: list[InputProblem] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    generation: int | None = None
    total_articles: int = 0
    total_chunks: int = 0

    @property
    def errors(self) -> list[InputProblem]:
        return [p for p in self.problems if not p.warning]

    def summary(self) -> str:
        rate = self.chunks_added / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.added + self.updated} articles ingested ({self.added} new, {self.updated} changed, "
            f"{self.unchanged} unchanged), {self.chunks_added} chunks ({self.chunks_embedded} embedded, "
            f"{self.chunks_reused} reused) in {self.seconds:.1f} s, {rate:.1f} chunks/s; "
            f"index now {self.total_articles} articles, {self.total_chunks} chunks; "
            f"{len(self.errors)} problem(s)"
        )


def model_info(encoder: DocumentEncoder) -> ModelInfo:
    return ModelInfo(name=encoder.model_id, weights_hash=encoder.weights_hash, dim=encoder.dim)


def make_chunker(settings: Settings, encoder: DocumentEncoder) -> Chunker:
    limit = encoder.max_seq_length
    return Chunker(
        ChunkerConfig(settings.chunk_tokens, settings.chunk_overlap, settings.tokenizer),
        format_embed=encoder.format_document,
        fits=lambda text: encoder.count_tokens(text) <= limit,
    )


def chunker_fingerprint(settings: Settings) -> dict[str, object]:
    return {
        "max_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.chunk_overlap,
        "encoding": settings.tokenizer,
        "sentences": "pysbd+repair-v1",
    }


def ingest_articles(
    articles: Iterable[Article | InputProblem],
    settings: Settings,
    encoder: DocumentEncoder,
    *,
    on_problem: Callable[[InputProblem], None] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Add ``articles`` to the index named in ``settings``; see the module docstring."""
    t0 = time.perf_counter()
    report = IngestReport()
    chunker = make_chunker(settings, encoder)
    read_task = progress.add_task("reading", total=None) if progress else None

    batch: dict[str, Article] = {}
    for item in articles:
        if isinstance(item, InputProblem):
            report.problems.append(item)
            if on_problem:
                on_problem(item)
            continue
        report.articles_seen += 1
        if item.id in batch:
            report.duplicates += 1
        batch[item.id] = item  # the last copy of an id in one batch wins
        if progress and read_task is not None:
            progress.advance(read_task)

    with open_writer(settings, model_info(encoder), chunker_fingerprint(settings)) as writer:
        stored = writer.content_hashes(batch)
        todo: list[Article] = []
        for art in batch.values():
            old = stored.get(art.id)
            if old == art.content_hash:
                report.unchanged += 1
            else:
                todo.append(art)
                if old is None:
                    report.added += 1
                else:
                    report.updated += 1

        chunk_task = progress.add_task("chunking", total=len(todo)) if progress else None
        planned: list[tuple[Article, list[Chunk]]] = []
        for art in todo:
            try:
                planned.append((art, chunker.chunk(art)))
            except ValueError as exc:
                prob = InputProblem(art.source, str(exc), art.source_ref)
                report.problems.append(prob)
                if on_problem:
                    on_problem(prob)
                report.added -= 1 if art.id not in stored else 0
                report.updated -= 1 if art.id in stored else 0
            if progress and chunk_task is not None:
                progress.advance(chunk_task)

        all_chunks = [c for _, cs in planned for c in cs]
        reuse = writer.stored_vectors(c.text_hash for c in all_chunks)
        need: dict[str, str] = {}
        for c in all_chunks:
            if c.text_hash not in reuse and c.text_hash not in need:
                need[c.text_hash] = c.embed_text
        cache = None
        if settings.embed_cache is not None:
            cache = EmbeddingCache(
                settings.embed_cache.expanduser(), encoder.model_id, encoder.weights_hash, encoder.dim
            )
            cached = cache.get_many(need)
            reuse.update(cached)
            for h in cached:
                need.pop(h)
        embed_task = progress.add_task("embedding", total=len(need)) if progress else None
        t_embed = time.perf_counter()
        vectors: dict[str, np.ndarray] = dict(reuse)
        # Longest first and in large groups, so each encoder batch holds texts of similar length (less padding).
        hashes = sorted(need, key=lambda h: -len(need[h]))
        # An encoder may ask for larger groups (a Ray encoder takes all texts in one call: one actor pool).
        step = getattr(encoder, "ingest_group_size", 0) or max(1, settings.embed_batch_size) * 16
        # an encoder that reports its own progress (Ray: per finished worker batch) moves the bar itself
        streams = progress is not None and embed_task is not None and hasattr(encoder, "on_vectors")
        if streams:
            encoder.on_vectors = lambda m: progress.advance(embed_task, m)  # type: ignore[attr-defined,union-attr]
        for i in range(0, len(hashes), step):
            part = hashes[i : i + step]
            vecs = encoder.encode_documents([need[h] for h in part])
            vectors.update(zip(part, vecs, strict=True))
            if cache is not None:
                cache.put_many(zip(part, vecs, strict=True))
            if progress and embed_task is not None and not streams:
                progress.advance(embed_task, len(part))
        if streams:
            encoder.on_vectors = None  # type: ignore[attr-defined]
        if cache is not None:
            cache.close()
        report.embed_seconds = time.perf_counter() - t_embed
        report.chunks_embedded = len(need)
        report.chunks_reused = len(all_chunks) - sum(1 for c in all_chunks if c.text_hash in need)

        for art, cs in planned:
            mat = np.stack([vectors[c.text_hash] for c in cs]) if cs else np.zeros((0, encoder.dim), np.float32)
            writer.add(art, cs, mat)
            report.chunks_added += len(cs)
        # nothing changed: keep the live generation as it is (but do create a new, empty index)
        manifest = writer.commit() if planned or writer.is_new else None
        if manifest is not None:
            report.generation = manifest.generation
            report.total_articles, report.total_chunks = manifest.articles, manifest.chunks
        else:
            report.total_articles, report.total_chunks = writer.counts()
    report.seconds = time.perf_counter() - t0
    return report


def ingest_paths(
    paths: Sequence[Path | str],
    settings: Settings,
    encoder: DocumentEncoder,
    options: LoadOptions | None = None,
    *,
    on_problem: Callable[[InputProblem], None] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    opts = options or LoadOptions(max_article_bytes=settings.max_article_bytes)
    return ingest_articles(load_paths(paths, opts), settings, encoder, on_problem=on_problem, progress=progress)


def delete_from_index(
    settings: Settings, encoder_info: ModelInfo, *, ids: Sequence[str] = (), sources: Sequence[str] = ()
) -> tuple[int, int]:
    """Delete articles by id or by source file/folder; returns (articles, chunks) removed."""
    with open_writer(settings, encoder_info, chunker_fingerprint(settings)) as writer:
        targets = list(writer.existing_article_ids(ids))
        for s in sources:
            targets += writer.article_ids_by_source(str(Path(s).resolve()) if Path(s).exists() else s)
            targets += writer.article_ids_by_source(s)
        removed = writer.delete_articles(dict.fromkeys(targets))
        if removed[0]:
            writer.commit()
        return removed
