"""The write side of the FAISS store: change a private copy of the live generation, publish it atomically."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError, NewsragError
from rag.records import Article, Chunk, ModelInfo, Sentence
from rag.store.base import (
    FORMAT_VERSION,
    Manifest,
    acquire_writer_lock,
    check_compatible,
    release_writer_lock,
)
from rag.store.faiss.ann import build_ann, master_arrays, resolve_kind
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
    fsync_path,
    migrate,
    now,
    pack_vector,
    unpack_vector,
    write_durable,
)
from rag.text.lexical import ANALYZER_VERSION, UNSPLIT_ANALYZER, index_terms


class IndexWriter:
    """The one writer of an index: changes a private copy, then publishes it atomically."""

    def __init__(self, path: Path, model: ModelInfo, chunker: dict[str, Any], ann: str = "auto") -> None:
        resolve_kind(ann, 0)  # validates the name
        self.ann = ann
        self.path = path
        self.model = model
        self.chunker = chunker
        self._lock_fd: int | None = None
        self.tmp: Path | None = None
        self.db: sqlite3.Connection | None = None
        self.vectors: faiss.Index | None = None
        self.manifest: Manifest | None = None
        self.committed = False
        self._old_analyzer = ANALYZER_VERSION  # the live generation's, read at begin

    # lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> IndexWriter:
        self._lock_fd = acquire_writer_lock(self.path)
        try:
            self._begin()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        try:
            if not self.committed:
                self._discard()
        finally:
            self._release()

    def _release(self) -> None:
        release_writer_lock(self._lock_fd)
        self._lock_fd = None

    def _discard(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None
        if self.tmp is not None and self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _cleanup_debris(self, live: Path | None) -> None:
        for p in self.path.glob("gen-*"):
            if p.is_dir() and p != live:
                shutil.rmtree(p, ignore_errors=True)
        (self.path / f"{CURRENT}.tmp").unlink(missing_ok=True)

    def _begin(self) -> None:
        live = current_generation(self.path)
        self._cleanup_debris(live)
        if live is not None:
            old = Manifest.load(live / MANIFEST)
            check_compatible(old, self.model, self.path, self.chunker)
            gen_no = old.generation + 1
            self._old_analyzer = old.extra.get("analyzer", UNSPLIT_ANALYZER)
        else:
            old = None
            gen_no = 1
        self.tmp = self.path / f"gen-{gen_no:06d}.tmp"
        self.tmp.mkdir()
        self.db = connect(self.tmp / STORE, readonly=False)
        if live is not None:
            src = connect(live / STORE, readonly=True)
            try:
                src.backup(self.db)
            finally:
                src.close()
            self.vectors = faiss.read_index(str(live / VECTORS))
        else:
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(self.model.dim))
        migrate(self.db)
        stamp = now()
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embed_model=self.model.name,
            embed_weights_hash=self.model.weights_hash,
            embed_vectors=self.model.vectors,
            dim=self.model.dim,
            chunker=self.chunker,
            generation=gen_no,
            created_at=old.created_at if old else stamp,
            updated_at=stamp,
        )

    @property
    def is_new(self) -> bool:
        """True while the index has no live generation yet."""
        return self.manifest is not None and self.manifest.generation == 1

    # reads on the working copy -------------------------------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        if self.db is None:
            raise NewsragError("index writer is not open")
        return self.db

    @property
    def _vec(self) -> faiss.Index:
        if self.vectors is None:
            raise NewsragError("index writer is not open")
        return self.vectors

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) in the working copy."""
        return (
            self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
            self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
        )

    def content_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = list(ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(self._db.execute(f"SELECT id, content_hash FROM articles WHERE id IN ({marks})", part))
        return out

    def stored_vectors(self, text_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embed-text hashes (chunks or sentences), so they are
        not embedded again."""
        out: dict[str, np.ndarray] = {}
        hashes = list(set(text_hashes))
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            marks = ",".join("?" * len(part))
            for h, cid in self._db.execute(
                f"SELECT text_hash, MIN(id) FROM chunks WHERE text_hash IN ({marks}) GROUP BY text_hash", part
            ):
                out[h] = np.asarray(self._vec.reconstruct(int(cid)), dtype=np.float32)  # type: ignore[arg-type,unused-ignore]
            rest = [h for h in part if h not in out]
            if rest:
                marks = ",".join("?" * len(rest))
                for h, blob in self._db.execute(
                    f"SELECT text_hash, vector FROM sentences WHERE text_hash IN ({marks}) GROUP BY text_hash", rest
                ):
                    out[h] = unpack_vector(blob)
        return out

    # changes ----------------------------------------------------------------------------------------
    def delete_articles(self, ids: Iterable[str]) -> tuple[int, int]:
        """Remove articles and their chunks; returns (articles, chunks) removed."""
        n_art = n_chunks = 0
        for aid in ids:
            cids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE article_id = ?", (aid,))]
            if cids:
                self._vec.remove_ids(np.asarray(cids, dtype=np.int64))  # type: ignore[arg-type,unused-ignore]
            self._db.execute("DELETE FROM chunks WHERE article_id = ?", (aid,))
            n_art += self._db.execute("DELETE FROM articles WHERE id = ?", (aid,)).rowcount
            n_chunks += len(cids)
        return n_art, n_chunks

    def article_ids_by_source(self, source: str) -> list[str]:
        pattern = source.rstrip("/") + "/%"
        rows = self._db.execute("SELECT id FROM articles WHERE source = ? OR source LIKE ?", (source, pattern))
        return [r[0] for r in rows]

    def without_sentences(self, ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            sql = (
                f"SELECT a.id FROM articles a WHERE a.id IN ({marks}) "
                "AND NOT EXISTS (SELECT 1 FROM sentences s WHERE s.article_id = a.id)"
            )
            out.update(r[0] for r in self._db.execute(sql, part))
        return out

    def existing_article_ids(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if self._db.execute("SELECT 1 FROM articles WHERE id = ?", (i,)).fetchone()]

    def add(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Sequence[Sentence] = (),
        sentence_vectors: np.ndarray | None = None,
    ) -> None:
        """Insert (or replace) one article with its chunks and their vectors, and optionally its
        sentences with theirs."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        if sentences and (sentence_vectors is None or len(sentence_vectors) != len(sentences)):
            raise ValueError("one vector per sentence is required")
        if vectors.size and vectors.shape[1] != self.model.dim:
            raise IndexMismatchError(f"vectors have dim {vectors.shape[1]}, index has {self.model.dim}")
        self.delete_articles([article.id])
        self._db.execute(
            "INSERT INTO articles (id, content_hash, headline, body, date, outlet, byline, url, language, section,"
            " source, source_ref, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                article.id,
                article.content_hash,
                article.headline,
                article.body,
                article.date,
                article.outlet,
                article.byline,
                article.url,
                article.language,
                article.section,
                article.source,
                article.source_ref,
                now(),
            ),
        )
        ids: list[int] = []
        for c in chunks:
            terms = " ".join(index_terms(f"{article.headline}\n{c.text}", article.language))
            cur = self._db.execute(
                'INSERT INTO chunks (article_id, seq, start, "end", text, n_tokens, text_hash, terms)'
                " VALUES (?,?,?,?,?,?,?,?)",
                (c.article_id, c.seq, c.start, c.end, c.text, c.n_tokens, c.text_hash, terms),
            )
            ids.append(int(cur.lastrowid or 0))
        if ids:
            self._vec.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))
        if sentences and sentence_vectors is not None:
            self._db.executemany(
                'INSERT INTO sentences (article_id, seq, start, "end", text, text_hash, vector) VALUES (?,?,?,?,?,?,?)',
                [
                    (article.id, s.seq, s.start, s.end, s.text, s.text_hash, pack_vector(v))
                    for s, v in zip(sentences, sentence_vectors, strict=True)
                ],
            )

    def _reanalyze(self) -> None:
        """Re-make every chunk's stored terms with today's analysis (an index from an older newsrag)."""
        rows = self._db.execute(
            "SELECT c.id, a.headline, c.text, a.language FROM chunks c JOIN articles a ON a.id = c.article_id"
        ).fetchall()
        self._db.executemany(
            "UPDATE chunks SET terms = ? WHERE id = ?",
            [(" ".join(index_terms(f"{h}\n{t}", lang)), cid) for cid, h, t, lang in rows],
        )

    # publish ----------------------------------------------------------------------------------------
    def commit(self) -> Manifest:
        """Write every file of the new generation, fsync, then switch CURRENT to it by rename."""
        if self.tmp is None or self.manifest is None:
            raise NewsragError("index writer is not open")
        db = self._db
        m = self.manifest
        m.articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        m.chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        if m.chunks != self._vec.ntotal:
            raise IndexCorruptError(f"internal error: {m.chunks} chunk rows but {self._vec.ntotal} vectors")
        m.updated_at = now()
        languages = [r[0] for r in db.execute("SELECT DISTINCT language FROM articles WHERE language IS NOT NULL")]
        if self._old_analyzer != ANALYZER_VERSION:
            self._reanalyze()
        lexical = LexicalIndex.build(db.execute("SELECT id, terms FROM chunks ORDER BY id"), languages)
        lexical.save(self.tmp / LEXICAL)
        for f in (self.tmp / LEXICAL).iterdir():
            fsync_path(f)
        fsync_path(self.tmp / LEXICAL)
        m.extra = {**m.extra, "analyzer": ANALYZER_VERSION}
        kind = resolve_kind(self.ann, m.chunks)
        m.faiss_type = "IDMap2,Flat" if kind == "flat" else f"IDMap2,Flat + {kind}"
        if kind != "flat" and m.chunks:
            vecs, ids = master_arrays(self._vec)
            faiss.write_index(build_ann(kind, vecs, ids), str(self.tmp / ANN))
            fsync_path(self.tmp / ANN)
        db.commit()
        db.close()
        self.db = None
        faiss.write_index(self._vec, str(self.tmp / VECTORS))
        fsync_path(self.tmp / VECTORS)
        fsync_path(self.tmp / STORE)
        write_durable(self.tmp / MANIFEST, json.dumps(asdict(m), indent=2, ensure_ascii=False).encode())
        fsync_path(self.tmp)
        final = self.path / self.tmp.name.removesuffix(".tmp")
        os.replace(self.tmp, final)
        self.tmp = None
        fsync_path(self.path)
        pointer_tmp = self.path / f"{CURRENT}.tmp"
        write_durable(pointer_tmp, (final.name + "\n").encode())
        os.replace(pointer_tmp, self.path / CURRENT)
        fsync_path(self.path)
        self.committed = True
        self._cleanup_debris(final)
        return m
