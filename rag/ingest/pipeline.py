"""Ingest: read → chunk → embed (only what is new) → publish a new index generation.

Incremental by content hash: an article whose id and content hash are already stored is
skipped; a changed article replaces its old chunks; chunks whose embed text is already in the
index (or in the optional embedding cache) reuse the stored vector instead of being embedded again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.config import Settings
from rag.errors import InputProblem
from rag.ingest.chunking import Chunker, ChunkerConfig
from rag.ingest.embed_cache import EmbeddingCache
from rag.ingest.loaders import LoadOptions, load_paths
from rag.records import Article, Chunk, ModelInfo, Sentence
from rag.store import open_writer
from rag.store.base import StoreWriter
from rag.types import Encoder


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
    sentences_added: int = 0
    sentences_embedded: int = 0
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
            f"{self.chunks_reused} reused), {self.sentences_added} sentence vectors ({self.sentences_embedded} "
            f"embedded) in {self.seconds:.1f} s, {rate:.1f} chunks/s; "
            f"index now {self.total_articles} articles, {self.total_chunks} chunks; "
            f"{len(self.errors)} problem(s)"
        )


def model_info(encoder: Encoder) -> ModelInfo:
    return ModelInfo(name=encoder.model_id, weights_hash=encoder.weights_hash, dim=encoder.dim, vectors=encoder.vectors)


def make_chunker(settings: Settings, encoder: Encoder) -> Chunker:
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


@dataclass
class Planned:
    """An article to write, cut into chunks and sentences."""

    article: Article
    chunks: list[Chunk]
    sentences: list[Sentence]


class _Run:
    """One ingest call, step by step (see :func:`ingest_articles`)."""

    def __init__(
        self,
        settings: Settings,
        encoder: Encoder,
        on_problem: Callable[[InputProblem], None] | None,
        progress: Progress | None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.on_problem = on_problem
        self.progress = progress
        self.report = IngestReport()

    def problem(self, p: InputProblem) -> None:
        self.report.problems.append(p)
        if self.on_problem:
            self.on_problem(p)

    def task(self, description: str, total: float | None) -> Callable[[float], None]:
        """A progress bar, as a function that advances it (a no-op without a display)."""
        progress = self.progress
        if progress is None:
            return lambda _n: None
        task_id = progress.add_task(description, total=total)
        return lambda n: progress.advance(task_id, n)

    def read(self, articles: Iterable[Article | InputProblem]) -> dict[str, Article]:
        """The batch by article id (the last copy of an id wins); problems are reported as they come."""
        advance = self.task("reading", None)
        batch: dict[str, Article] = {}
        for item in articles:
            if isinstance(item, InputProblem):
                self.problem(item)
                continue
            self.report.articles_seen += 1
            if item.id in batch:
                self.report.duplicates += 1
            batch[item.id] = item
            advance(1)
        return batch

    def changed(self, writer: StoreWriter, batch: dict[str, Article]) -> tuple[list[Article], dict[str, str]]:
        """The articles that are new or changed, and the stored content hashes.

        An unchanged article stored before sentence vectors existed counts as changed once, so its
        sentences get vectors (its chunk vectors are reused)."""
        stored = writer.content_hashes(batch)
        lacking = writer.without_sentences(batch) if self.settings.sentence_vectors else set()
        todo: list[Article] = []
        for art in batch.values():
            old = stored.get(art.id)
            if old == art.content_hash and art.id not in lacking:
                self.report.unchanged += 1
                continue
            todo.append(art)
            if old is None:
                self.report.added += 1
            else:
                self.report.updated += 1
        return todo, stored

    def chunk(self, todo: list[Article], stored: dict[str, str]) -> list[Planned]:
        chunker = make_chunker(self.settings, self.encoder)
        advance = self.task("chunking", len(todo))
        planned: list[Planned] = []
        for art in todo:
            try:
                sentences = chunker.sentences(art) if self.settings.sentence_vectors else []
                planned.append(Planned(art, chunker.chunk(art), sentences))
            except ValueError as exc:
                self.problem(InputProblem(art.source, str(exc), art.source_ref))
                if art.id in stored:
                    self.report.updated -= 1
                else:
                    self.report.added -= 1
            advance(1)
        return planned

    def vectors(self, writer: StoreWriter, planned: list[Planned]) -> dict[str, np.ndarray]:
        """A vector per embed-text hash of every chunk and sentence: reused from the index or the
        cache, else embedded now (chunks first, then sentences, each with its own progress bar)."""
        chunks = [c for p in planned for c in p.chunks]
        sentences = [s for p in planned for s in p.sentences]
        vectors = writer.stored_vectors([*(c.text_hash for c in chunks), *(s.text_hash for s in sentences)])
        t_embed = time.perf_counter()
        embedded = self._embed(vectors, {c.text_hash: c.embed_text for c in chunks}, "embedding")
        self.report.chunks_embedded = len(embedded)
        self.report.chunks_reused = sum(1 for c in chunks if c.text_hash not in embedded)
        if sentences:
            texts = {s.text_hash: s.embed_text for s in sentences}
            self.report.sentences_embedded = len(self._embed(vectors, texts, "sentences"))
        self.report.embed_seconds = time.perf_counter() - t_embed
        return vectors

    def _embed(self, vectors: dict[str, np.ndarray], texts: dict[str, str], task: str) -> set[str]:
        """Add to ``vectors`` those of ``texts`` (hash -> embed text) it lacks, from the cache or the
        encoder; returns the hashes the encoder embedded."""
        need = {h: t for h, t in texts.items() if h not in vectors}
        cache = None
        if self.settings.embed_cache is not None:
            enc = self.encoder
            path = self.settings.embed_cache.expanduser()
            cache = EmbeddingCache(path, enc.model_id, enc.weights_hash, enc.dim, enc.vectors)
            cached = cache.get_many(need)
            vectors.update(cached)
            for h in cached:
                need.pop(h)
        advance = self.task(task, len(need))
        # Longest first, in the groups the encoder asks for, so each batch holds texts of similar length.
        hashes = sorted(need, key=lambda h: -len(need[h]))
        step = max(1, self.encoder.group_size)
        try:
            for i in range(0, len(hashes), step):
                part = hashes[i : i + step]
                vecs = self.encoder.encode_documents([need[h] for h in part], progress=advance)
                vectors.update(zip(part, vecs, strict=True))
                if cache is not None:
                    cache.put_many(zip(part, vecs, strict=True))
        finally:
            if cache is not None:
                cache.close()
        return set(need)

    def write(self, writer: StoreWriter, planned: list[Planned], vectors: dict[str, np.ndarray]) -> None:
        dim = self.encoder.dim

        def matrix(hashes: list[str]) -> np.ndarray:
            return np.stack([vectors[h] for h in hashes]) if hashes else np.zeros((0, dim), np.float32)

        for p in planned:
            sentence_vectors = matrix([s.text_hash for s in p.sentences]) if p.sentences else None
            writer.add(p.article, p.chunks, matrix([c.text_hash for c in p.chunks]), p.sentences, sentence_vectors)
            self.report.chunks_added += len(p.chunks)
            self.report.sentences_added += len(p.sentences)
        # nothing changed: keep the live generation as it is (but do create a new, empty index)
        manifest = writer.commit() if planned or writer.is_new else None
        if manifest is not None:
            self.report.generation = manifest.generation
            self.report.total_articles, self.report.total_chunks = manifest.articles, manifest.chunks
        else:
            self.report.total_articles, self.report.total_chunks = writer.counts()


def ingest_articles(
    articles: Iterable[Article | InputProblem],
    settings: Settings,
    encoder: Encoder,
    *,
    on_problem: Callable[[InputProblem], None] | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Add ``articles`` to the index named in ``settings``; see the module docstring.

    :param articles: articles and, for input that could not be read, problems (reported, skipped).
    :param encoder: embeds the new chunks (a local model or a Ray pool).
    :param on_problem: called with every problem as it is found.
    :param progress: a progress display (rich's ``Progress``) for reading, chunking and embedding.
    """
    t0 = time.perf_counter()
    run = _Run(settings, encoder, on_problem, progress)
    batch = run.read(articles)
    with open_writer(settings, model_info(encoder), chunker_fingerprint(settings)) as writer:
        todo, stored = run.changed(writer, batch)
        planned = run.chunk(todo, stored)
        run.write(writer, planned, run.vectors(writer, planned))
    run.report.seconds = time.perf_counter() - t0
    return run.report


def ingest_paths(
    paths: Sequence[Path | str],
    settings: Settings,
    encoder: Encoder,
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
