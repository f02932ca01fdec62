"""The read side of the FAISS store: the live generation of an index, searched in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.errors import IndexCorruptError, NewsragError
from rag.records import Article, ModelInfo, SearchFilters, StoredChunk, StoredSentence
from rag.store.base import CandidateSource, Manifest, check_compatible
from rag.store.faiss.ann import filtered_params, prepare_for_search
from rag.store.faiss.bm25 import LexicalIndex
from rag.store.faiss.layout import (
    ANN,
    CURRENT,
    LEXICAL,
    MANIFEST,
    STORE,
    VECTORS,
    connect,
    current_generation,
    unpack_vector,
)
from rag.text.lexical import UNSPLIT_ANALYZER


class NewsIndex:
    """A read-only view of the live generation of an index."""

    def __init__(self, path: Path, gen: Path, manifest: Manifest, db: sqlite3.Connection, vectors: faiss.Index) -> None:
        self.path = path
        self.gen = gen
        self.manifest = manifest
        self.db = db
        self.vectors = vectors
        self._lexical: LexicalIndex | None = None
        self._has_sentences: bool | None = None

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index of this generation (loaded on first use)."""
        if self._lexical is None:
            folder = self.gen / LEXICAL
            if not (folder / "chunk_ids.npy").is_file():
                raise IndexCorruptError(f"{self.gen}: BM25 index missing; re-run `rag ingest` to rebuild")
            self._lexical = LexicalIndex.load(folder, self.manifest.extra.get("analyzer", UNSPLIT_ANALYZER))
            if len(self._lexical) != self.manifest.chunks:
                raise IndexCorruptError(
                    f"{self.gen}: BM25 has {len(self._lexical)} chunks, manifest {self.manifest.chunks}"
                )
        return self._lexical

    @property
    def languages(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT language FROM articles WHERE language IS NOT NULL")]

    @staticmethod
    def exists(path: Path) -> bool:
        return (path / CURRENT).is_file()

    @classmethod
    def open(cls, path: Path, model: ModelInfo | None = None) -> NewsIndex:
        gen = current_generation(path)
        if gen is None:
            raise NewsragError(f"no index at {path}: build one with `rag ingest PATH --index {path.name}`")
        manifest = Manifest.load(gen / MANIFEST)
        if model is not None:
            check_compatible(manifest, model, path)
        db = connect(gen / STORE, readonly=True)
        # Readers search the ANN index where the generation has one and never load the exact master.
        ann = gen / ANN
        vectors = prepare_for_search(faiss.read_index(str(ann if ann.is_file() else gen / VECTORS)))
        index = cls(path, gen, manifest, db, vectors)
        index.verify()
        return index

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> NewsIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify(self) -> None:
        """The three files of a generation must agree, or nothing is served from it."""
        n_chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        n_articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        if not (n_chunks == self.vectors.ntotal == self.manifest.chunks and n_articles == self.manifest.articles):
            raise IndexCorruptError(
                f"{self.gen}: store has {n_articles} articles/{n_chunks} chunks, vectors {self.vectors.ntotal}, "
                f"manifest {self.manifest.articles}/{self.manifest.chunks}"
            )
        if self.vectors.d != self.manifest.dim:
            raise IndexCorruptError(f"{self.gen}: vectors have dim {self.vectors.d}, manifest {self.manifest.dim}")

    def article(self, article_id: str) -> Article | None:
        row = self.db.execute(
            "SELECT id, headline, body, date, outlet, byline, url, language, section, source, source_ref "
            "FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        return Article(*row) if row else None

    def chunks(self, ids: Sequence[int]) -> list[StoredChunk]:
        """Chunks with their article metadata, in the order of ``ids``."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, c.article_id, c.seq, c.start, c."end", c.text, a.headline, a.date, a.outlet, a.url, '
            f"a.language, a.section, a.source FROM chunks c JOIN articles a ON a.id = c.article_id "
            f"WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
        by_id = {r[0]: StoredChunk(*r) for r in rows}
        return [by_id[int(i)] for i in ids if int(i) in by_id]

    def article_chunks(self, article_id: str) -> list[StoredChunk]:
        ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE article_id = ? ORDER BY seq", (article_id,))]
        return self.chunks(ids)

    def sentences(self, article_ids: Sequence[str]) -> dict[str, list[StoredSentence]]:
        """The stored sentences of these articles, in order (none for an index built without them)."""
        out: dict[str, list[StoredSentence]] = {}
        if not self.has_sentences:
            return out
        ids = list(dict.fromkeys(article_ids))
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f'SELECT article_id, seq, start, "end", text, vector FROM sentences WHERE article_id IN ({marks}) '
                "ORDER BY article_id, seq",
                part,
            )
            for aid, seq, s, e, text, blob in rows:
                out.setdefault(aid, []).append(StoredSentence(aid, seq, s, e, text, unpack_vector(blob)))
        return out

    @property
    def has_sentences(self) -> bool:
        if self._has_sentences is None:
            row = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sentences'").fetchone()
            self._has_sentences = row is not None
        return self._has_sentences

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM articles ORDER BY id")]

    def chunk_articles(self) -> dict[int, str]:
        """Chunk id -> article id, for every chunk."""
        return dict(self.db.execute("SELECT id, article_id FROM chunks"))

    def chunk_texts(self) -> list[tuple[str, str]]:
        """(chunk text, article headline) for every chunk."""
        sql = "SELECT c.text, a.headline FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        return [(r[0], r[1]) for r in self.db.execute(sql)]

    def candidate_sources(self) -> dict[str, CandidateSource]:
        """The first-stage components over this index: FAISS and bm25s."""
        return {"dense": DenseSource(self), "bm25": LexicalSource(self)}

    def restriction(self, filters: SearchFilters) -> np.ndarray:
        """What the candidate sources get for active filters: the ids of the chunks that pass them.

        Filters become the set of allowed chunk ids, passed into each component (an ID selector for
        FAISS, a weight mask for BM25), so a filter never empties a top-k cut before filtering.
        """
        where: list[str] = []
        args: list[Any] = []
        dated: list[str] = []
        if filters.since:
            dated.append("a.date >= ?")
            args.append(filters.since)
        if filters.until:
            dated.append("a.date <= ?")
            args.append(filters.until)
        if dated:
            both = " AND ".join(dated)
            where.append(f"(({both}) OR a.date IS NULL)" if filters.undated else both)
        if filters.outlets:
            ors = []
            for o in filters.outlets:
                ors.append("(LOWER(a.outlet) = LOWER(?) OR a.source LIKE ?)")
                args += [o, f"%{o}%"]
            where.append("(" + " OR ".join(ors) + ")")
        if filters.languages:
            where.append(f"LOWER(a.language) IN ({','.join('?' * len(filters.languages))})")
            args += [x.lower() for x in filters.languages]
        if filters.article_ids:
            where.append(f"a.id IN ({','.join('?' * len(filters.article_ids))})")
            args += list(filters.article_ids)
        sql = "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return np.fromiter((r[0] for r in self.db.execute(sql, args)), dtype=np.int64)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: (scores, chunk ids), -1 where fewer than k exist."""
        k = max(1, min(k, max(1, self.vectors.ntotal)))
        scores, ids = self.vectors.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        return scores, ids

    def stats(self) -> dict[str, Any]:
        q = self.db.execute
        span = q("SELECT MIN(date), MAX(date), COUNT(*) - COUNT(date) FROM articles").fetchone()
        ingested = q("SELECT MIN(ingested_at), MAX(ingested_at) FROM articles").fetchone()
        outlets = q("SELECT COALESCE(outlet, '?'), COUNT(*) FROM articles GROUP BY 1 ORDER BY 2 DESC").fetchall()
        langs = q("SELECT COALESCE(language, '?'), COUNT(*) FROM articles GROUP BY 1 ORDER BY 2 DESC").fetchall()
        tokens = q("SELECT COALESCE(SUM(n_tokens), 0), COALESCE(AVG(n_tokens), 0) FROM chunks").fetchone()
        size = sum(f.stat().st_size for f in self.gen.rglob("*") if f.is_file())
        m = self.manifest
        return {
            "index": str(self.path),
            "generation": m.generation,
            "articles": m.articles,
            "chunks": m.chunks,
            "date_min": span[0],
            "date_max": span[1],
            "undated": int(span[2]),
            "ingested_min": ingested[0],
            "ingested_max": ingested[1],
            "outlets": dict(outlets),
            "languages": dict(langs),
            "tokens": int(tokens[0]),
            "avg_chunk_tokens": round(float(tokens[1]), 1),
            "embed_model": m.embed_model,
            "embed_weights_hash": m.embed_weights_hash,
            "dim": m.dim,
            "chunker": m.chunker,
            "faiss_type": m.faiss_type,
            "bytes_on_disk": size,
            "created_at": m.created_at,
            "updated_at": m.updated_at,
        }


class DenseSource:
    """Inner-product search over the generation's vectors (the ANN index where there is one)."""

    name = "dense"
    needs_vector = True

    def __init__(self, index: NewsIndex) -> None:
        self.index = index

    def candidates(
        self, query: str, vector: np.ndarray | None, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        if vector is None:
            raise ValueError("dense search needs the query vector")
        if allowed is not None and len(allowed) == 0:
            return []
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
        n = self.index.vectors.ntotal
        if n == 0:
            return []
        k = min(k, n)
        if allowed is None:
            scores, ids = self.index.vectors.search(q, k)
        else:
            params = filtered_params(self.index.vectors, allowed)
            scores, ids = self.index.vectors.search(q, min(k, len(allowed)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


class LexicalSource:
    """BM25 over the generation's bm25s index."""

    name = "bm25"
    needs_vector = False

    def __init__(self, index: NewsIndex) -> None:
        self.index = index

    def candidates(
        self, query: str, vector: np.ndarray | None, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        return self.index.lexical.search(query, k, allowed)
