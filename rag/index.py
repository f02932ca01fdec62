"""A persisted index: FAISS vectors, a SQLite article/chunk store and a manifest, saved atomically.

Layout of ``indexes/<name>/``::

    CURRENT            name of the live generation, replaced by rename
    gen-000007/        one complete, immutable generation
        manifest.json  format, embedding model and weights hash, dimension, chunker, counts, times
        store.sqlite   articles and chunks (chunk id == FAISS id)
        vectors.faiss  IndexIDMap2 over inner product of normalised vectors
    .lock              held by the one writer

A write never touches the live generation: it copies the store into ``gen-N.tmp``, changes the
copy, writes every file, fsyncs, renames the folder to ``gen-N`` and only then swaps ``CURRENT``.
A crash (even ``kill -9``) at any point leaves the previous generation live and consistent; the
next writer removes the debris.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np

from rag.ann import build_ann, master_arrays, prepare_for_search, resolve_kind
from rag.errors import IndexCorruptError, IndexMismatchError, NewsragError
from rag.lexical import ANALYZER_VERSION, LexicalIndex, analyze
from rag.records import Article, Chunk

if TYPE_CHECKING:
    from rag.retrieval import CandidateSource, QueryEncoder, SearchFilters

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
STORE = "store.sqlite"
VECTORS = "vectors.faiss"
LEXICAL = "bm25"
ANN = "ann.faiss"

# Schema migrations, applied in order; the store records how many have run.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, headline TEXT NOT NULL, body TEXT NOT NULL,
        date TEXT, outlet TEXT, byline TEXT, url TEXT, language TEXT, section TEXT,
        source TEXT NOT NULL, source_ref TEXT, ingested_at TEXT NOT NULL
    );
    CREATE INDEX articles_source ON articles(source);
    CREATE INDEX articles_date ON articles(date);
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        text TEXT NOT NULL, n_tokens INTEGER NOT NULL, text_hash TEXT NOT NULL
    );
    CREATE INDEX chunks_article ON chunks(article_id);
    CREATE INDEX chunks_hash ON chunks(text_hash);
    """,
    # 2: BM25 terms stored per chunk, so a new generation's BM25 index is re-packed, not re-analysed
    """
    ALTER TABLE chunks ADD COLUMN terms TEXT NOT NULL DEFAULT '';
    """,
)


@dataclass(frozen=True)
class ModelInfo:
    """What identifies the vectors in an index: the model, its weights and their dimension."""

    name: str
    weights_hash: str
    dim: int


@dataclass
class Manifest:
    format_version: int
    embed_model: str
    embed_weights_hash: str
    dim: int
    chunker: dict[str, Any]
    articles: int = 0
    chunks: int = 0
    generation: int = 0
    faiss_type: str = "IDMap2,Flat"
    metric: str = "inner_product"
    created_at: str = ""
    updated_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexCorruptError(f"{path}: unreadable manifest ({exc})") from exc
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row joined with its article's metadata."""

    id: int
    article_id: str
    seq: int
    start: int
    end: int
    text: str
    headline: str
    date: str | None
    outlet: str | None
    url: str | None
    language: str | None
    section: str | None
    source: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def migrate(db: sqlite3.Connection) -> None:
    """Bring a store up to the newest schema (a store records its version in PRAGMA user_version)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise IndexMismatchError(f"store schema {version} is newer than this newsrag ({len(MIGRATIONS)})")
    for i in range(version, len(MIGRATIONS)):
        db.executescript(MIGRATIONS[i])
        db.execute(f"PRAGMA user_version = {i + 1}")
    db.commit()


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path, check_same_thread=False)
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def current_generation(path: Path) -> Path | None:
    pointer = path / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text().strip()
    gen = path / name
    if not name.startswith("gen-") or not gen.is_dir():
        raise IndexCorruptError(f"{pointer} names {name!r}, which is not a generation folder")
    return gen


def check_compatible(
    manifest: Manifest, model: ModelInfo, where: Path | str, chunker: dict[str, Any] | None = None
) -> None:
    """Refuse to mix vectors of different models, dimensions or chunkers in one index."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{where}: index format {manifest.format_version}, this newsrag reads "
            f"{FORMAT_VERSION}; rebuild it with `rag ingest`"
        )
    if manifest.embed_model != model.name or manifest.dim != model.dim:
        raise IndexMismatchError(
            f"{where} was built with embedding model {manifest.embed_model!r} (dim {manifest.dim}), "
            f"but {model.name!r} (dim {model.dim}) is configured: set NEWSRAG_EMBED_MODEL="
            f"{manifest.embed_model} or use another --index"
        )
    if manifest.embed_weights_hash != model.weights_hash:
        raise IndexMismatchError(
            f"{where} was built with other weights of {model.name!r} (sha256 {manifest.embed_weights_hash[:12]}…, "
            f"now {model.weights_hash[:12]}…): rebuild the index or restore those weights"
        )
    if chunker is not None and manifest.chunker != chunker:
        raise IndexMismatchError(
            f"{where} was chunked with {manifest.chunker}, now {chunker} is configured: "
            f"use the same chunk settings or another --index"
        )


class NewsIndex:
    """A read-only view of the live generation of an index."""

    def __init__(self, path: Path, gen: Path, manifest: Manifest, db: sqlite3.Connection, vectors: faiss.Index) -> None:
        self.path = path
        self.gen = gen
        self.manifest = manifest
        self.db = db
        self.vectors = vectors
        self._lexical: LexicalIndex | None = None

    @property
    def lexical(self) -> LexicalIndex:
        """The BM25 index of this generation (loaded on first use)."""
        if self._lexical is None:
            folder = self.gen / LEXICAL
            if not (folder / "chunk_ids.npy").is_file():
                raise IndexCorruptError(f"{self.gen}: BM25 index missing; re-run `rag ingest` to rebuild")
            self._lexical = LexicalIndex.load(folder)
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
        db = _connect(gen / STORE, readonly=True)
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

    def article_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM articles ORDER BY id")]

    def chunk_articles(self) -> dict[int, str]:
        """Chunk id -> article id, for every chunk."""
        return dict(self.db.execute("SELECT id, article_id FROM chunks"))

    def chunk_texts(self) -> list[tuple[str, str]]:
        """(chunk text, article headline) for every chunk."""
        sql = "SELECT c.text, a.headline FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        return [(r[0], r[1]) for r in self.db.execute(sql)]

    def candidate_sources(self, encoder: QueryEncoder) -> dict[str, CandidateSource]:
        """The first-stage components over this index: FAISS and bm25s."""
        from rag.retrieval import DenseSource, LexicalSource

        return {"dense": DenseSource(self, encoder), "bm25": LexicalSource(self)}

    def restriction(self, filters: SearchFilters) -> np.ndarray:
        """What the candidate sources get for active filters: the allowed chunk ids."""
        return filters.allowed_ids(self)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: (scores, chunk ids), -1 where fewer than k exist."""
        k = max(1, min(k, max(1, self.vectors.ntotal)))
        scores, ids = self.vectors.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        return scores, ids

    def stats(self) -> dict[str, Any]:
        q = self.db.execute
        span = q("SELECT MIN(date), MAX(date) FROM articles WHERE date IS NOT NULL").fetchone()
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


def acquire_writer_lock(path: Path) -> int:
    """Take the index folder's writer lock (one writer at a time, any store); returns its descriptor."""
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise NewsragError(f"{path} is being written by another process; try again when it is done") from None
    return fd


def release_writer_lock(fd: int | None) -> None:
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


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
        else:
            old = None
            gen_no = 1
        self.tmp = self.path / f"gen-{gen_no:06d}.tmp"
        self.tmp.mkdir()
        self.db = _connect(self.tmp / STORE, readonly=False)
        if live is not None:
            src = _connect(live / STORE, readonly=True)
            try:
                src.backup(self.db)
            finally:
                src.close()
            self.vectors = faiss.read_index(str(live / VECTORS))
        else:
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(self.model.dim))
        migrate(self.db)
        now = _now()
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embed_model=self.model.name,
            embed_weights_hash=self.model.weights_hash,
            dim=self.model.dim,
            chunker=self.chunker,
            generation=gen_no,
            created_at=old.created_at if old else now,
            updated_at=now,
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
        """Vectors already in the index for these embed-text hashes (so they are not embedded again)."""
        out: dict[str, np.ndarray] = {}
        hashes = list(set(text_hashes))
        for i in range(0, len(hashes), 500):
            part = hashes[i : i + 500]
            marks = ",".join("?" * len(part))
            for h, cid in self._db.execute(
                f"SELECT text_hash, MIN(id) FROM chunks WHERE text_hash IN ({marks}) GROUP BY text_hash", part
            ):
                out[h] = np.asarray(self._vec.reconstruct(int(cid)), dtype=np.float32)  # type: ignore[arg-type]
        return out

    # changes ----------------------------------------------------------------------------------------
    def delete_articles(self, ids: Iterable[str]) -> tuple[int, int]:
        """Remove articles and their chunks; returns (articles, chunks) removed."""
        n_art = n_chunks = 0
        for aid in ids:
            cids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE article_id = ?", (aid,))]
            if cids:
                self._vec.remove_ids(np.asarray(cids, dtype=np.int64))  # type: ignore[arg-type]
            self._db.execute("DELETE FROM chunks WHERE article_id = ?", (aid,))
            n_art += self._db.execute("DELETE FROM articles WHERE id = ?", (aid,)).rowcount
            n_chunks += len(cids)
        return n_art, n_chunks

    def article_ids_by_source(self, source: str) -> list[str]:
        pattern = source.rstrip("/") + "/%"
        rows = self._db.execute("SELECT id FROM articles WHERE source = ? OR source LIKE ?", (source, pattern))
        return [r[0] for r in rows]

    def existing_article_ids(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if self._db.execute("SELECT 1 FROM articles WHERE id = ?", (i,)).fetchone()]

    def add(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert (or replace) one article with its chunks and their vectors."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
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
                _now(),
            ),
        )
        ids: list[int] = []
        for c in chunks:
            terms = " ".join(analyze(f"{article.headline}\n{c.text}", article.language))
            cur = self._db.execute(
                'INSERT INTO chunks (article_id, seq, start, "end", text, n_tokens, text_hash, terms)'
                " VALUES (?,?,?,?,?,?,?,?)",
                (c.article_id, c.seq, c.start, c.end, c.text, c.n_tokens, c.text_hash, terms),
            )
            ids.append(int(cur.lastrowid or 0))
        if ids:
            self._vec.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

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
        m.updated_at = _now()
        languages = [r[0] for r in db.execute("SELECT DISTINCT language FROM articles WHERE language IS NOT NULL")]
        lexical = LexicalIndex.build(db.execute("SELECT id, terms FROM chunks ORDER BY id"), languages)
        lexical.save(self.tmp / LEXICAL)
        for f in (self.tmp / LEXICAL).iterdir():
            _fsync_path(f)
        _fsync_path(self.tmp / LEXICAL)
        m.extra = {**m.extra, "analyzer": ANALYZER_VERSION}
        kind = resolve_kind(self.ann, m.chunks)
        m.faiss_type = "IDMap2,Flat" if kind == "flat" else f"IDMap2,Flat + {kind}"
        if kind != "flat" and m.chunks:
            vecs, ids = master_arrays(self._vec)
            faiss.write_index(build_ann(kind, vecs, ids), str(self.tmp / ANN))
            _fsync_path(self.tmp / ANN)
        db.commit()
        db.close()
        self.db = None
        faiss.write_index(self._vec, str(self.tmp / VECTORS))
        _fsync_path(self.tmp / VECTORS)
        _fsync_path(self.tmp / STORE)
        _write_durable(self.tmp / MANIFEST, json.dumps(asdict(m), indent=2, ensure_ascii=False).encode())
        _fsync_path(self.tmp)
        final = self.path / self.tmp.name.removesuffix(".tmp")
        os.replace(self.tmp, final)
        self.tmp = None
        _fsync_path(self.path)
        pointer_tmp = self.path / f"{CURRENT}.tmp"
        _write_durable(pointer_tmp, (final.name + "\n").encode())
        os.replace(pointer_tmp, self.path / CURRENT)
        _fsync_path(self.path)
        self.committed = True
        self._cleanup_debris(final)
        return m


@contextlib.contextmanager
def open_index(path: Path, model: ModelInfo | None = None) -> Iterator[NewsIndex]:
    index = NewsIndex.open(path, model)
    try:
        yield index
    finally:
        index.close()
