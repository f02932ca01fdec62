"""Files of the FAISS store and how they are written durably.

Layout of ``indexes/<name>/``::

    CURRENT            name of the live generation, replaced by rename
    gen-000007/        one complete, immutable generation
        manifest.json  format, embedding model and weights hash, dimension, chunker, counts, times
        store.sqlite   articles and chunks (chunk id == FAISS id)
        vectors.faiss  IndexIDMap2 over inner product of normalised vectors (the exact master)
        ann.faiss      an approximate index derived from the master, above a size threshold
        bm25/          the bm25s index of the chunks' stored terms
    .lock              held by the one writer

A write never touches the live generation: it copies the store into ``gen-N.tmp``, changes the
copy, writes every file, fsyncs, renames the folder to ``gen-N`` and only then swaps ``CURRENT``.
A crash (even ``kill -9``) at any point leaves the previous generation live and consistent; the
next writer removes the debris.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError

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
    # 3: a vector per sentence (float16), so answering embeds only the question and the claims
    """
    CREATE TABLE sentences (
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
        text TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (article_id, seq)
    );
    CREATE INDEX sentences_hash ON sentences(text_hash);
    """,
)


def pack_vector(vector: np.ndarray) -> bytes:
    """A sentence vector as stored: float16 (half the size; scores change by less than 1e-3)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
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


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
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
