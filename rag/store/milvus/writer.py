"""The write side of the Milvus store: batched, journalled writes that an interrupted ingest can redo."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import IndexMismatchError, NewsragError
from rag.records import Article, Chunk, ModelInfo, Sentence
from rag.store.base import FORMAT_VERSION, Manifest, acquire_writer_lock, check_compatible, release_writer_lock
from rag.store.milvus.filters import in_list, quote
from rag.store.milvus.schema import (
    BATCH,
    BODY_PART_BYTES,
    DUMMY,
    ID_BLOCK,
    TEXT_BYTES,
    Collections,
    clip,
    connect,
    create_collections,
    is_lite,
    now,
    split_bytes,
)
from rag.text.lexical import ANALYZER_VERSION, UNSPLIT_ANALYZER, index_terms


@dataclass
class Pending:
    """An added article not yet written: its first chunk id and the rows of each collection."""

    article_id: str
    first: int
    chunks: list[dict[str, Any]]
    records: list[dict[str, Any]]
    sentences: list[dict[str, Any]]


class MilvusWriter:
    """The one writer of a Milvus index (same methods as :class:`rag.store.faiss.writer.IndexWriter`); see the module
    docstring for the order of writes that makes an interrupted ingest safe to re-run."""

    def __init__(self, settings: Settings, model: ModelInfo, chunker: dict[str, Any]) -> None:
        self.settings = settings
        self.model = model
        self.chunker = chunker
        self.path = settings.index_path
        self._lock_fd: int | None = None
        self._c: Collections | None = None
        self.manifest: Manifest | None = None
        self._new = False
        self._next_id = 0
        self._id_limit = 0
        self._languages: set[str] = set()
        self._pending: list[Pending] = []  # added articles not yet written
        self._pending_rows = 0
        self._fresh = False
        self._written: set[str] = set()

    # lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> MilvusWriter:
        self._lock_fd = acquire_writer_lock(self.path)
        try:
            self._begin()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._release()

    def _release(self) -> None:
        release_writer_lock(self._lock_fd)
        self._lock_fd = None

    @property
    def c(self) -> Collections:
        if self._c is None:
            raise NewsragError("index writer is not open")
        return self._c

    def _begin(self) -> None:
        self._c = Collections(self.settings, connect(self.settings))
        c = self.c
        old = c.load_manifest() if c.client.has_collection(c.meta_name) else None
        if old is not None:
            check_compatible(old, self.model, c.where, self.chunker)
        create_collections(self.c, self.model.dim)
        stamp = now()
        self._new = old is None or old.generation < 1
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embed_model=self.model.name,
            embed_weights_hash=self.model.weights_hash,
            embed_vectors=self.model.vectors,
            dim=self.model.dim,
            chunker=self.chunker,
            generation=old.generation if old else 0,
            faiss_type="milvus:" + ("FLAT" if is_lite(c.uri) else "AUTOINDEX"),
            created_at=old.created_at if old else stamp,
            updated_at=stamp,
            extra=dict(old.extra) if old else {},
        )
        if old is None:  # claim the collections for this model before any chunk is written
            c.meta_put("manifest", json.dumps(asdict(self.manifest), ensure_ascii=False))
        self._languages = set(self.manifest.extra.get("languages", []))
        # Milvus keeps each chunk's terms in its rows: an index begun with an older analysis goes on with
        # it (queries are analysed alike, rag.store.milvus.reader) until it is rebuilt
        self._analyzer = str(old.extra.get("analyzer", UNSPLIT_ANALYZER)) if old and old.chunks else ANALYZER_VERSION
        self._next_id = self._id_limit = int(c.meta_get("next_chunk_id") or 1)
        self._repair()
        # A bulk load into an empty index has nothing to replace: skip the delete-by-filter of each
        # batch (a scan of the collection in Milvus Lite, so quadratic over a large first ingest).
        self._fresh = self.counts() == (0, 0)
        self._written = set()

    @property
    def is_new(self) -> bool:
        """True while the index has never been committed."""
        return self._new

    # reads -------------------------------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        self._flush()
        return self.c.count(self.c.articles_name, "part == 0"), self.c.count(self.c.chunks_name)

    def content_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        self._flush()
        out: dict[str, str] = {}
        ids = list(ids)
        for i in range(0, len(ids), BATCH):
            expr = f"part == 0 and {in_list('article_id', ids[i : i + BATCH])}"
            rows = self.c.query_all(self.c.articles_name, expr, ["article_id", "content_hash"])
            out.update({k: r["content_hash"] for k, r in self.c.live_records(rows).items()})
        return out

    def stored_vectors(self, text_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embed-text hashes (so they are not embedded again)."""
        self._flush()
        out: dict[str, np.ndarray] = {}
        hashes = list(set(text_hashes))
        for i in range(0, len(hashes), BATCH):
            expr = in_list("text_hash", hashes[i : i + BATCH])
            for r in self.c.query_all(self.c.chunks_name, expr, ["text_hash", "dense"]):
                out.setdefault(r["text_hash"], np.asarray(r["dense"], dtype=np.float32))
            for r in self.c.query_all(self.c.sentences_name, expr, ["text_hash", "vec"]):
                out.setdefault(r["text_hash"], np.asarray(r["vec"], dtype=np.float32))
        return out

    def _recorded(self, ids: list[str], chunks_too: bool) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), BATCH):
            expr = in_list("article_id", ids[i : i + BATCH])
            rows = self.c.query_all(self.c.articles_name, f"part == 0 and {expr}", ["article_id"])
            found.update(r["article_id"] for r in rows)
            if chunks_too:
                found.update(r["article_id"] for r in self.c.query_all(self.c.chunks_name, expr, ["article_id"]))
        return found

    def without_sentences(self, ids: Iterable[str]) -> set[str]:
        self._flush()
        ids = list(ids)
        recorded = self._recorded(ids, chunks_too=False)
        with_sentences: set[str] = set()
        for i in range(0, len(ids), BATCH):
            expr = in_list("article_id", ids[i : i + BATCH])
            with_sentences.update(
                r["article_id"] for r in self.c.query_all(self.c.sentences_name, expr, ["article_id"])
            )
        return recorded - with_sentences

    def existing_article_ids(self, ids: Iterable[str]) -> list[str]:
        """Ids with an article record, or chunks left by an interrupted delete (so deleting again removes them)."""
        self._flush()
        ids = list(ids)
        found = self._recorded(ids, chunks_too=True)
        return [i for i in ids if i in found]

    def article_ids_by_source(self, source: str) -> list[str]:
        self._flush()
        prefix = source.rstrip("/")
        expr = f"source == {quote(source)} or source like {quote(prefix + '/%')}"
        found = {
            r["article_id"] for r in self.c.query_all(self.c.articles_name, f"part == 0 and ({expr})", ["article_id"])
        }
        found |= {r["article_id"] for r in self.c.query_all(self.c.chunks_name, expr, ["article_id"])}
        return sorted(found)

    # changes ----------------------------------------------------------------------------------------
    def delete_articles(self, ids: Iterable[str]) -> tuple[int, int]:
        """Remove articles and their chunks; returns (articles, chunks) removed."""
        self._flush()
        ids = list(dict.fromkeys(ids))
        n_art = n_chunks = 0
        c = self.c
        for i in range(0, len(ids), BATCH):
            part = ids[i : i + BATCH]
            n_art += len(self._recorded(part, chunks_too=False))
            expr = in_list("article_id", part)
            n_chunks += c.count(c.chunks_name, expr)
            # the article record first: a half-done delete leaves chunks without a record, not a record
            # whose hash says "already indexed" without its chunks
            c.client.delete(c.articles_name, filter=expr)
            c.client.delete(c.chunks_name, filter=expr)
            c.client.delete(c.sentences_name, filter=expr)
        return n_art, n_chunks

    def _reserve(self, n: int) -> int:
        """``n`` fresh chunk ids, larger than any used before; the counter is persisted before use."""
        if self._next_id + n > self._id_limit:
            self._id_limit = self._next_id + n + ID_BLOCK
            self.c.meta_put("next_chunk_id", str(self._id_limit))
        first = self._next_id
        self._next_id += n
        return first

    def add(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        sentences: Sequence[Sentence] = (),
        sentence_vectors: np.ndarray | None = None,
    ) -> None:
        """Insert (or replace) one article with its chunks, sentences and their vectors (written in batches)."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        if sentences and (sentence_vectors is None or len(sentence_vectors) != len(sentences)):
            raise ValueError("one vector per sentence is required")
        if vectors.size and vectors.shape[1] != self.model.dim:
            raise IndexMismatchError(f"vectors have dim {vectors.shape[1]}, index has {self.model.dim}")
        if any(p.article_id == article.id for p in self._pending):
            self._flush()  # the same article twice: its first version is written before it is replaced
        first = self._reserve(len(chunks))
        rows = _chunk_rows(article, chunks, vectors, first, self._analyzer)
        records = _article_records(article)
        sentence_rows = _sentence_rows(article, sentences, sentence_vectors)
        self._pending.append(Pending(article.id, first, rows, records, sentence_rows))
        self._pending_rows += len(rows) + len(records) + len(sentence_rows)
        if article.language:
            self._languages.add(article.language.lower())
        if self._pending_rows >= BATCH:
            self._flush()

    def _flush(self) -> None:
        """Write the pending articles in the crash-safe order of the module docstring:
        new chunks, then article records with part 0 (the content hash) last, then what they replaced."""
        if not self._pending:
            return
        c = self.c
        pending, self._pending, self._pending_rows = self._pending, [], 0
        first = min(p.first for p in pending)
        c.meta_put("pending_from", str(first))  # the journal :meth:`_repair` reads after a crash
        rows = [r for p in pending for r in p.chunks]
        for i in range(0, len(rows), BATCH):
            c.client.insert(c.chunks_name, rows[i : i + BATCH])
        sentence_rows = [r for p in pending for r in p.sentences]
        for i in range(0, len(sentence_rows), BATCH):
            c.client.upsert(c.sentences_name, sentence_rows[i : i + BATCH])
        records = [r for p in pending for r in p.records]
        later = [r for r in records if r["part"] > 0]
        heads = [r for r in records if r["part"] == 0]
        for group in (later, heads):
            for i in range(0, len(group), BATCH):
                c.client.upsert(c.articles_name, group[i : i + BATCH])
        # every older chunk of these articles has a smaller id than the first new one of the batch
        aids = [p.article_id for p in pending]
        replaced = [aid for aid in aids if not self._fresh or aid in self._written]
        if replaced:
            ids = in_list("article_id", replaced)
            c.client.delete(c.chunks_name, filter=f"{ids} and id < {first}")
            c.client.delete(c.articles_name, filter=f"{ids} and not ({in_list('key', [r['key'] for r in records])})")
            hashes = in_list("content_hash", sorted({r["content_hash"] for r in records}))
            c.client.delete(c.sentences_name, filter=f"{ids} and not ({hashes})")
        if self._fresh:
            self._written.update(aids)
        c.meta_put("pending_from", "")

    def _repair(self) -> None:
        """Finish or undo the batch an interrupted writer left (journal: the batch's first chunk id).

        An article of that batch whose new part-0 record was written gets step 4 done (older chunks and
        records deleted); one whose record never came loses the new chunks, keeping its old version."""
        c = self.c
        raw = c.meta_get("pending_from")
        if not raw:
            return
        first = int(raw)
        new: dict[str, tuple[int, str]] = {}
        for r in c.query_all(c.chunks_name, f"id >= {first}", ["id", "article_id", "content_hash"]):
            lo, _ = new.get(r["article_id"], (int(r["id"]), r["content_hash"]))
            new[r["article_id"]] = (min(lo, int(r["id"])), r["content_hash"])
        aids = list(new)
        written: set[tuple[str, str]] = set()
        for i in range(0, len(aids), BATCH):
            expr = f"part == 0 and {in_list('article_id', aids[i : i + BATCH])}"
            written |= {
                (r["article_id"], r["content_hash"])
                for r in c.query_all(c.articles_name, expr, ["article_id", "content_hash"])
            }
        for aid, (lo, chash) in new.items():
            same = f"article_id == {quote(aid)} and content_hash == {quote(chash)}"
            other = f"article_id == {quote(aid)} and content_hash != {quote(chash)}"
            if (aid, chash) in written:
                c.client.delete(c.chunks_name, filter=f"article_id == {quote(aid)} and id < {lo}")
                c.client.delete(c.articles_name, filter=other)
                c.client.delete(c.sentences_name, filter=other)
            else:
                c.client.delete(c.chunks_name, filter=f"article_id == {quote(aid)} and id >= {first}")
                c.client.delete(c.sentences_name, filter=same)
        c.meta_put("pending_from", "")

    def commit(self) -> Manifest:
        """Record counts, languages and a new generation number in the manifest, and flush."""
        if self.manifest is None:
            raise NewsragError("index writer is not open")
        c = self.c
        m = self.manifest
        self._flush()
        m.articles, m.chunks = self.counts()
        m.generation += 1
        m.updated_at = now()
        m.extra = {**m.extra, "analyzer": self._analyzer, "languages": sorted(self._languages)}
        for name in (c.chunks_name, c.articles_name, c.sentences_name):
            c.client.flush(name)
        c.meta_put("manifest", json.dumps(asdict(m), ensure_ascii=False))
        c.client.flush(c.meta_name)
        self._new = False
        return m


def _chunk_rows(
    article: Article, chunks: Sequence[Chunk], vectors: np.ndarray, first: int, analyzer: str
) -> list[dict[str, Any]]:
    """The chunk rows, ids from ``first``, each with the article's filter fields and its BM25 terms."""
    meta = {
        "article_id": article.id,
        "headline": clip(article.headline, 4096),
        "date": article.date,
        "outlet": clip(article.outlet, 512),
        "outlet_key": clip((article.outlet or "").lower(), 512),
        "url": clip(article.url, 4096),
        "language": article.language,
        "language_key": (article.language or "").lower(),
        "section": clip(article.section, 512),
        "source": clip(article.source, 4096),
    }
    return [
        {
            **meta,
            "id": first + j,
            "seq": ch.seq,
            "start_offset": ch.start,
            "end_offset": ch.end,
            "n_tokens": ch.n_tokens,
            "text": clip(ch.text, TEXT_BYTES),
            "text_hash": ch.text_hash,
            "content_hash": article.content_hash,
            "terms": clip(
                " ".join(index_terms(f"{article.headline}\n{ch.text}", article.language, analyzer)), TEXT_BYTES
            ),
            "dense": np.asarray(v, dtype=np.float32).tolist(),
        }
        for j, (ch, v) in enumerate(zip(chunks, vectors, strict=True))
    ]


def _article_records(article: Article) -> list[dict[str, Any]]:
    """The article's records, its body split into parts a VARCHAR holds."""
    pieces = split_bytes(article.body, BODY_PART_BYTES)
    stamp = now()
    return [
        {
            "key": f"{article.id}|{article.content_hash}|{p}",
            "article_id": article.id,
            "part": p,
            "parts": len(pieces),
            "content_hash": article.content_hash,
            "headline": clip(article.headline, TEXT_BYTES),
            "body": piece,
            "date": article.date,
            "outlet": clip(article.outlet, 512),
            "byline": clip(article.byline, 1024),
            "url": clip(article.url, 4096),
            "language": article.language,
            "section": clip(article.section, 512),
            "source": clip(article.source, 4096),
            "source_ref": clip(article.source_ref, 512),
            "ingested_at": stamp,
            "vec": DUMMY,
        }
        for p, piece in enumerate(pieces)
    ]


def _sentence_rows(article: Article, sentences: Sequence[Sentence], vectors: np.ndarray | None) -> list[dict[str, Any]]:
    """The sentence rows, keyed by article version and position."""
    return [
        {
            "key": f"{article.id}|{article.content_hash}|{s.seq}",
            "article_id": article.id,
            "content_hash": article.content_hash,
            "seq": s.seq,
            "start_offset": s.start,
            "end_offset": s.end,
            "text": clip(s.text, TEXT_BYTES),
            "text_hash": s.text_hash,
            "vec": np.asarray(v, dtype=np.float32).tolist(),
        }
        for s, v in zip(sentences, vectors if vectors is not None else [], strict=True)
    ]
