"""The Milvus backend: the same read/write interfaces as the FAISS index, stored in Milvus via pymilvus.

``Settings.milvus_uri`` is all a user changes: a Milvus Lite file (the default,
``<index folder>/milvus.db``, embedded, used in the tests) or a server/cluster URI
(``http://host:19530``, with ``Settings.milvus_token`` where it needs one). One index is three
collections named after it, ``newsrag_<index>_chunks``, ``..._articles`` and ``..._meta``:

* chunks: int64 chunk id (primary key), the article's metadata copied onto each chunk (article_id,
  headline, outlet, date, url, language, section, source, plus lower-cased ``outlet_key`` and
  ``language_key`` for case-insensitive filters), start/end offsets, the text, the dense vector
  (``FLOAT_VECTOR``, inner product of L2-normalised vectors, as FAISS) and a sparse vector that
  Milvus's own BM25 function fills from ``terms``.
* articles: the article records with the content hash used for idempotent re-ingest and the full
  body (split into parts of at most 60,000 bytes: a Milvus ``VARCHAR`` holds 65,535).
* meta: the manifest (model id, weights hash, dim, chunker, counts, generation) and the chunk id
  counter. The manifest is checked with the same :func:`rag.index.check_compatible` errors as FAISS.

BM25 analysis. ``terms`` holds exactly what the FAISS backend's bm25s index gets
(:func:`rag.lexical.analyze`: stop words removed, Snowball stem of the article's language) and the
query is analysed with :func:`rag.lexical.analyze_query`; Milvus tokenises these terms with its
``standard`` analyzer and does the BM25 weighting, the inverted index and the search. This keeps the
two backends' lexical matching the same and gives German (and every Snowball language) stemming
on Milvus Lite too, whose analyzer (milvus-lite 3.x) has no stemmer filter and no per-language
analyzers. The BM25 parameters are bm25s's defaults (k1 1.5, b 0.75); Milvus Lite computes the
statistics per segment, so scores (not which chunks match) can differ a little from bm25s.

Fusion. Dense and BM25 candidates are two Milvus searches with the same filter expression; they
are fused by our weighted :func:`rag.retrieval.rrf` (through :class:`rag.retrieval.HybridSearch`),
not by Milvus's ``hybrid_search``: its ``RRFRanker`` has no per-list weights and its
``WeightedRanker`` mixes normalised scores, not ranks, so neither ranks like the FAISS backend
with ``dense_weight``/``bm25_weight``. The cost is one extra round trip per query.

Filters become Milvus boolean expressions (:func:`filter_expression`) applied inside each search, so
a filter never empties a top-k that was cut before filtering. Dates are ISO strings and compare
lexically; an article without a date never passes a date filter (as in SQL).

No atomic generations. Milvus has no multi-collection transaction, so a write is applied article by
article, in an order that never loses what is already indexed:

1. chunk ids come from a counter that is persisted *before* the ids are used (in blocks), so new ids
   are always larger than every id written before, even by an interrupted writer;
2. the new chunks are inserted (readers may briefly see old and new chunks of the article: they
   overlap and :func:`rag.retrieval.collapse` keeps one);
3. the article record (keyed by article id, content hash and part) is written, part 0 last: part 0
   carries the content hash that makes the next ingest skip the article;
4. the article's older chunks (``id < first new id``) and records with another content hash are
   deleted.

An ingest killed anywhere leaves the previous version of an article readable or the new one
complete; the next ingest of the same input redoes every article whose step 3 did not finish
(its hash is missing or differs) and removes the leftovers in step 4. An article with two part-0
records (killed between 3 and 4) reports no content hash, so it is redone too. ``commit`` only
updates the manifest (counts, generation, languages) and flushes. Only one writer at a time: a lock
file in the index folder serialises writers on one machine; several machines writing one Milvus
index at once is not supported.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import IndexCorruptError, IndexMismatchError, NewsragError
from rag.index import (
    FORMAT_VERSION,
    Manifest,
    ModelInfo,
    StoredChunk,
    acquire_writer_lock,
    check_compatible,
    release_writer_lock,
)
from rag.lexical import ANALYZER_VERSION, analyze, analyze_query
from rag.records import Article, Chunk

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from rag.config import Settings
    from rag.retrieval import CandidateSource, QueryEncoder, SearchFilters

LITE_FILE = "milvus.db"
BODY_PART_BYTES = 60_000
TEXT_BYTES = 65_535
ID_BLOCK = 100_000
BATCH = 500
_DUMMY = [1.0, 0.0]  # Milvus wants a vector field in every collection; articles and meta carry this one
_CHUNK_FIELDS = [
    "id",
    "article_id",
    "seq",
    "start_offset",
    "end_offset",
    "text",
    "headline",
    "date",
    "outlet",
    "url",
    "language",
    "section",
    "source",
]
_ARTICLE_FIELDS = [
    "key",
    "article_id",
    "part",
    "parts",
    "content_hash",
    "headline",
    "body",
    "date",
    "outlet",
    "byline",
    "url",
    "language",
    "section",
    "source",
    "source_ref",
    "ingested_at",
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def milvus_uri(settings: Settings) -> str:
    return settings.milvus_uri or str(settings.index_path / LITE_FILE)


def is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def collection_prefix(index: str) -> str:
    return "newsrag_" + re.sub(r"[^A-Za-z0-9_]", "_", index)


def quote(value: str) -> str:
    """A Milvus expression string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _in(field: str, values: Iterable[str]) -> str:
    return f"{field} in [{', '.join(quote(v) for v in values)}]"


def filter_expression(filters: SearchFilters) -> str:
    """The Milvus boolean expression for the filters (the same rules as the SQL of the FAISS backend)."""
    where: list[str] = []
    if filters.since:
        where.append(f"date >= {quote(filters.since)}")
    if filters.until:
        where.append(f"date <= {quote(filters.until)}")
    if filters.outlets:
        ors = [f"outlet_key == {quote(o.lower())} or source like {quote(f'%{o}%')}" for o in filters.outlets]
        where.append("(" + " or ".join(ors) + ")")
    if filters.languages:
        where.append(_in("language_key", [x.lower() for x in filters.languages]))
    if filters.article_ids:
        where.append(_in("article_id", filters.article_ids))
    return " and ".join(where) if where else "id >= 0"


def _clip(value: str | None, max_bytes: int) -> str | None:
    if value is None:
        return None
    data = value.encode("utf-8")
    return value if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", errors="ignore")


def _split_bytes(text: str, max_bytes: int) -> list[str]:
    """Pieces of ``text`` of at most ``max_bytes`` UTF-8 bytes each, split at character boundaries."""
    parts: list[str] = []
    data = text.encode("utf-8")
    while len(data) > max_bytes:
        piece = data[:max_bytes].decode("utf-8", errors="ignore")
        parts.append(piece)
        data = data[len(piece.encode("utf-8")) :]
    parts.append(data.decode("utf-8"))
    return parts


class _QuietIterator(logging.Filter):
    """pymilvus warns on every query iterator against Milvus Lite that it falls back to a client timestamp."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mvccTs" not in record.getMessage()


def connect(settings: Settings) -> MilvusClient:
    from pymilvus import MilvusClient

    for handler in logging.getLogger("pymilvus").handlers:
        if not any(isinstance(f, _QuietIterator) for f in handler.filters):
            handler.addFilter(_QuietIterator())

    uri = milvus_uri(settings)
    if is_lite(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=uri, token=settings.milvus_token or "")
    except Exception as exc:  # pymilvus raises its own exception types
        raise NewsragError(f"cannot connect to Milvus at {uri}: {exc}") from exc


class _Collections:
    """Names and helpers shared by reader and writer."""

    def __init__(self, settings: Settings, client: MilvusClient) -> None:
        self.settings = settings
        self.client = client
        self.uri = milvus_uri(settings)
        prefix = collection_prefix(settings.index)
        self.chunks_name = f"{prefix}_chunks"
        self.articles_name = f"{prefix}_articles"
        self.meta_name = f"{prefix}_meta"
        self.where = f"{self.uri} (collections {prefix}_*)"
        self._meta_loaded = False

    def query_all(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        """Every row matching ``expr`` (paged, so more than Milvus's 16,384-row query limit)."""
        if is_lite(self.uri):  # Milvus Lite has no row limit, and its query iterator logs errors (no AllocTimestamp)
            yield from self.client.query(collection, filter=expr, output_fields=fields)
            return
        it = self.client.query_iterator(collection, batch_size=4000, filter=expr, output_fields=fields)
        try:
            while True:
                page = it.next()
                if not page:
                    break
                yield from page
        finally:
            it.close()

    def count(self, collection: str, expr: str = "") -> int:
        rows = self.client.query(collection, filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def meta_get(self, key: str) -> str | None:
        if not self.client.has_collection(self.meta_name):
            return None
        if not self._meta_loaded:  # a collection is released when the process that loaded it ends
            self.client.load_collection(self.meta_name)
            self._meta_loaded = True
        rows = self.client.query(self.meta_name, filter=f"key == {quote(key)}", output_fields=["value"])
        return str(rows[0]["value"]) if rows else None

    def meta_put(self, key: str, value: str) -> None:
        self.client.upsert(self.meta_name, [{"key": key, "value": value, "vec": _DUMMY}])

    def load_manifest(self) -> Manifest | None:
        raw = self.meta_get("manifest")
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise IndexCorruptError(f"{self.where}: unreadable manifest ({exc})") from exc
        known = set(Manifest.__dataclass_fields__)
        return Manifest(**{k: v for k, v in data.items() if k in known})

    def live_records(self, rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Per article id, its part-0 record; articles with two (an interrupted replace) are left out."""
        seen: dict[str, dict[str, Any]] = {}
        twice: set[str] = set()
        for r in rows:
            if r["article_id"] in seen and seen[r["article_id"]]["content_hash"] != r["content_hash"]:
                twice.add(r["article_id"])
            seen[r["article_id"]] = r
        return {k: v for k, v in seen.items() if k not in twice}


def _stored_chunk(r: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        id=int(r["id"]),
        article_id=r["article_id"],
        seq=int(r["seq"]),
        start=int(r["start_offset"]),
        end=int(r["end_offset"]),
        text=r["text"],
        headline=r["headline"],
        date=r.get("date"),
        outlet=r.get("outlet"),
        url=r.get("url"),
        language=r.get("language"),
        section=r.get("section"),
        source=r["source"],
    )


class MilvusDenseSource:
    name = "dense"

    def __init__(self, store: MilvusStore, encoder: QueryEncoder) -> None:
        self.store = store
        self.encoder = encoder

    def candidates(self, query: str, k: int, allowed: str | None) -> list[tuple[int, float]]:
        q = self.encoder.encode_queries([query])
        return self.store.dense_search(q[0], k, allowed)


class MilvusBM25Source:
    name = "bm25"

    def __init__(self, store: MilvusStore) -> None:
        self.store = store

    def candidates(self, query: str, k: int, allowed: str | None) -> list[tuple[int, float]]:
        return self.store.bm25_search(query, k, allowed)


class MilvusStore:
    """A read view of an index kept in Milvus (same methods as :class:`rag.index.NewsIndex`)."""

    def __init__(self, settings: Settings, client: MilvusClient, manifest: Manifest) -> None:
        self.settings = settings
        self.path = settings.index_path
        self.c = _Collections(settings, client)
        self.manifest = manifest
        self.metric = "IP"

    @staticmethod
    def exists(settings: Settings) -> bool:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            return False
        client = connect(settings)
        m = _Collections(settings, client).load_manifest()
        return m is not None and m.generation >= 1

    @classmethod
    def read_manifest(cls, settings: Settings) -> Manifest | None:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            return None
        m = _Collections(settings, connect(settings)).load_manifest()
        return m if m is not None and m.generation >= 1 else None

    @classmethod
    def open(cls, settings: Settings, model: ModelInfo | None = None) -> MilvusStore:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            raise NewsragError(f"no index at {uri}: build one with `rag ingest PATH --index {settings.index}`")
        client = connect(settings)
        c = _Collections(settings, client)
        manifest = c.load_manifest()
        if manifest is None or manifest.generation < 1:
            raise NewsragError(f"no index in {c.where}: build one with `rag ingest PATH --index {settings.index}`")
        if model is not None:
            check_compatible(manifest, model, c.where)
        for name in (c.chunks_name, c.articles_name):
            if not client.has_collection(name):
                raise IndexCorruptError(f"{c.where}: collection {name} is missing")
            client.load_collection(name)
        return cls(settings, client, manifest)

    def close(self) -> None:
        """Nothing to release: Milvus Lite's in-process server is shared by every client of the file."""

    def __enter__(self) -> MilvusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def languages(self) -> list[str]:
        return list(self.manifest.extra.get("languages", []))

    # retrieval -------------------------------------------------------------------------------------
    def candidate_sources(self, encoder: QueryEncoder) -> dict[str, CandidateSource]:
        return {"dense": MilvusDenseSource(self, encoder), "bm25": MilvusBM25Source(self)}

    def restriction(self, filters: SearchFilters) -> str:
        return filter_expression(filters)

    def dense_search(self, vector: np.ndarray, k: int, expr: str | None = None) -> list[tuple[int, float]]:
        res = self.c.client.search(
            self.c.chunks_name,
            data=[np.asarray(vector, dtype=np.float32).tolist()],
            anns_field="dense",
            limit=max(1, min(k, 16_384)),
            filter=expr or "",
            output_fields=[],
            search_params={"metric_type": self.metric},
        )
        return [(int(h["id"]), float(h["distance"])) for h in res[0]]

    def bm25_search(self, query: str, k: int, expr: str | None = None) -> list[tuple[int, float]]:
        terms = analyze_query(query, self.languages)
        if not terms:
            return []
        res = self.c.client.search(
            self.c.chunks_name,
            data=[" ".join(terms)],
            anns_field="sparse",
            limit=max(1, min(k, 16_384)),
            filter=expr or "",
            output_fields=[],
            search_params={"metric_type": "BM25"},
        )
        # Milvus Lite reports -score as the distance, a server the score: the order is the same
        out = [(int(h["id"]), abs(float(h["distance"]))) for h in res[0]]
        return [(i, s) for i, s in out if s > 0]

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search: (scores, chunk ids), -1 where fewer than k exist."""
        q = np.atleast_2d(np.asarray(query_vectors, dtype=np.float32))
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        for row, vec in enumerate(q):
            for j, (cid, s) in enumerate(self.dense_search(vec, k)):
                ids[row, j], scores[row, j] = cid, s
        return scores, ids

    # records ---------------------------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        rows = self.c.client.query(
            self.c.articles_name, filter=f"article_id == {quote(article_id)}", output_fields=_ARTICLE_FIELDS
        )
        heads = [r for r in rows if r["part"] == 0]
        if not heads:
            return None
        head = max(heads, key=lambda r: r["ingested_at"])  # two only after an interrupted replace
        parts = sorted((r for r in rows if r["content_hash"] == head["content_hash"]), key=lambda r: r["part"])
        return Article(
            id=head["article_id"],
            headline=head["headline"],
            body="".join(r["body"] for r in parts),
            date=head.get("date"),
            outlet=head.get("outlet"),
            byline=head.get("byline"),
            url=head.get("url"),
            language=head.get("language"),
            section=head.get("section"),
            source=head["source"],
            source_ref=head.get("source_ref"),
        )

    def chunks(self, ids: Sequence[int]) -> list[StoredChunk]:
        """Chunks with their article metadata, in the order of ``ids``."""
        wanted = [int(i) for i in ids]
        by_id: dict[int, StoredChunk] = {}
        for i in range(0, len(wanted), BATCH):
            part = wanted[i : i + BATCH]
            for r in self.c.client.query(
                self.c.chunks_name, filter=f"id in {part}", output_fields=_CHUNK_FIELDS, limit=len(part)
            ):
                by_id[int(r["id"])] = _stored_chunk(r)
        return [by_id[i] for i in wanted if i in by_id]

    def article_chunks(self, article_id: str) -> list[StoredChunk]:
        rows = self.c.query_all(self.c.chunks_name, f"article_id == {quote(article_id)}", _CHUNK_FIELDS)
        return sorted((_stored_chunk(r) for r in rows), key=lambda c: (c.seq, c.id))

    def article_ids(self) -> list[str]:
        rows = self.c.query_all(self.c.articles_name, "part == 0", ["article_id"])
        return sorted({r["article_id"] for r in rows})

    def chunk_articles(self) -> dict[int, str]:
        return {int(r["id"]): r["article_id"] for r in self.c.query_all(self.c.chunks_name, "id >= 0", ["article_id"])}

    def chunk_texts(self) -> list[tuple[str, str]]:
        rows = self.c.query_all(self.c.chunks_name, "id >= 0", ["text", "headline"])
        return [(r["text"], r["headline"]) for r in sorted(rows, key=lambda r: int(r["id"]))]

    def stats(self) -> dict[str, Any]:
        c = self.c
        dates: list[str] = []
        outlets: dict[str, int] = {}
        langs: dict[str, int] = {}
        fields = ["article_id", "content_hash", "date", "outlet", "language"]
        for r in c.live_records(c.query_all(c.articles_name, "part == 0", fields)).values():
            if r.get("date"):
                dates.append(r["date"])
            outlets[r.get("outlet") or "?"] = outlets.get(r.get("outlet") or "?", 0) + 1
            langs[r.get("language") or "?"] = langs.get(r.get("language") or "?", 0) + 1
        n_tokens = [int(r["n_tokens"]) for r in c.query_all(c.chunks_name, "id >= 0", ["n_tokens"])]
        m = self.manifest
        size: int | None = None
        if is_lite(c.uri) and Path(c.uri).exists():
            p = Path(c.uri)
            size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return {
            "index": str(self.path),
            "store": "milvus",
            "milvus_uri": c.uri,
            "generation": m.generation,
            "articles": m.articles,
            "chunks": m.chunks,
            "date_min": min(dates) if dates else None,
            "date_max": max(dates) if dates else None,
            "outlets": dict(sorted(outlets.items(), key=lambda kv: -kv[1])),
            "languages": dict(sorted(langs.items(), key=lambda kv: -kv[1])),
            "tokens": sum(n_tokens),
            "avg_chunk_tokens": round(sum(n_tokens) / len(n_tokens), 1) if n_tokens else 0.0,
            "embed_model": m.embed_model,
            "embed_weights_hash": m.embed_weights_hash,
            "dim": m.dim,
            "chunker": m.chunker,
            "faiss_type": m.faiss_type,
            "bytes_on_disk": size,
            "created_at": m.created_at,
            "updated_at": m.updated_at,
        }


class MilvusWriter:
    """The one writer of a Milvus index (same methods as :class:`rag.index.IndexWriter`); see the module
    docstring for the order of writes that makes an interrupted ingest safe to re-run."""

    def __init__(self, settings: Settings, model: ModelInfo, chunker: dict[str, Any]) -> None:
        self.settings = settings
        self.model = model
        self.chunker = chunker
        self.path = settings.index_path
        self._lock_fd: int | None = None
        self._c: _Collections | None = None
        self.manifest: Manifest | None = None
        self._new = False
        self._next_id = 0
        self._id_limit = 0
        self._languages: set[str] = set()
        # added articles not yet written: (article id, first chunk id, chunk rows, article records)
        self._pending: list[tuple[str, int, list[dict[str, Any]], list[dict[str, Any]]]] = []
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
    def c(self) -> _Collections:
        if self._c is None:
            raise NewsragError("index writer is not open")
        return self._c

    def _begin(self) -> None:
        self._c = _Collections(self.settings, connect(self.settings))
        c = self.c
        old = c.load_manifest() if c.client.has_collection(c.meta_name) else None
        if old is not None:
            check_compatible(old, self.model, c.where, self.chunker)
        self._create_collections()
        now = _now()
        self._new = old is None or old.generation < 1
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            embed_model=self.model.name,
            embed_weights_hash=self.model.weights_hash,
            dim=self.model.dim,
            chunker=self.chunker,
            generation=old.generation if old else 0,
            faiss_type="milvus:" + ("FLAT" if is_lite(c.uri) else "AUTOINDEX"),
            created_at=old.created_at if old else now,
            updated_at=now,
            extra=dict(old.extra) if old else {},
        )
        if old is None:  # claim the collections for this model before any chunk is written
            c.meta_put("manifest", json.dumps(asdict(self.manifest), ensure_ascii=False))
        self._languages = set(self.manifest.extra.get("languages", []))
        self._next_id = self._id_limit = int(c.meta_get("next_chunk_id") or 1)
        self._repair()
        # A bulk load into an empty index has nothing to replace: skip the delete-by-filter of each
        # batch (a scan of the collection in Milvus Lite, so quadratic over a large first ingest).
        self._fresh = self.counts() == (0, 0)
        self._written = set()

    def _create_collections(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.c
        client = c.client
        lite = is_lite(c.uri)

        def base(schema: Any, with_key: bool) -> None:
            if with_key:
                schema.add_field("key", DataType.VARCHAR, max_length=2048, is_primary=True)

        if not client.has_collection(c.meta_name):
            s = client.create_schema(auto_id=False, enable_dynamic_field=False)
            base(s, True)
            s.add_field("value", DataType.VARCHAR, max_length=TEXT_BYTES)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
            ip = client.prepare_index_params()
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            client.create_collection(c.meta_name, schema=s, index_params=ip, consistency_level="Strong")
        if not client.has_collection(c.articles_name):
            s = client.create_schema(auto_id=False, enable_dynamic_field=False)
            base(s, True)
            s.add_field("article_id", DataType.VARCHAR, max_length=1024)
            s.add_field("part", DataType.INT64)
            s.add_field("parts", DataType.INT64)
            s.add_field("content_hash", DataType.VARCHAR, max_length=64)
            s.add_field("headline", DataType.VARCHAR, max_length=TEXT_BYTES)
            s.add_field("body", DataType.VARCHAR, max_length=TEXT_BYTES)
            for name, n in (("date", 32), ("outlet", 512), ("byline", 1024), ("url", 4096), ("language", 32)):
                s.add_field(name, DataType.VARCHAR, max_length=n, nullable=True)
            s.add_field("section", DataType.VARCHAR, max_length=512, nullable=True)
            s.add_field("source", DataType.VARCHAR, max_length=4096)
            s.add_field("source_ref", DataType.VARCHAR, max_length=512, nullable=True)
            s.add_field("ingested_at", DataType.VARCHAR, max_length=64)
            s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
            ip = client.prepare_index_params()
            ip.add_index("vec", index_type="FLAT", metric_type="L2")
            if not lite:
                for f in ("article_id", "source"):
                    ip.add_index(f, index_type="INVERTED")
            client.create_collection(c.articles_name, schema=s, index_params=ip, consistency_level="Strong")
        if not client.has_collection(c.chunks_name):
            s = client.create_schema(auto_id=False, enable_dynamic_field=False)
            s.add_field("id", DataType.INT64, is_primary=True)
            s.add_field("article_id", DataType.VARCHAR, max_length=1024)
            for name in ("seq", "start_offset", "end_offset", "n_tokens"):
                s.add_field(name, DataType.INT64)
            s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
            s.add_field("text_hash", DataType.VARCHAR, max_length=64)
            s.add_field("content_hash", DataType.VARCHAR, max_length=64)  # of the article version
            s.add_field(
                "terms",
                DataType.VARCHAR,
                max_length=TEXT_BYTES,
                enable_analyzer=True,
                analyzer_params={"tokenizer": "standard"},
            )
            s.add_field("headline", DataType.VARCHAR, max_length=4096)
            for name, n in (("date", 32), ("outlet", 512), ("url", 4096), ("language", 32), ("section", 512)):
                s.add_field(name, DataType.VARCHAR, max_length=n, nullable=True)
            s.add_field("outlet_key", DataType.VARCHAR, max_length=512)
            s.add_field("language_key", DataType.VARCHAR, max_length=32)
            s.add_field("source", DataType.VARCHAR, max_length=4096)
            s.add_field("dense", DataType.FLOAT_VECTOR, dim=self.model.dim)
            s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(
                Function(
                    name="bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=["terms"],
                    output_field_names=["sparse"],
                )
            )
            ip = client.prepare_index_params()
            ip.add_index("dense", index_type="FLAT" if lite else "AUTOINDEX", metric_type="IP")
            ip.add_index(
                "sparse",
                index_type="SPARSE_INVERTED_INDEX",
                metric_type="BM25",
                params={"bm25_k1": 1.5, "bm25_b": 0.75},
            )
            if not lite:
                for f in ("article_id", "text_hash", "outlet_key", "language_key", "date"):
                    ip.add_index(f, index_type="INVERTED")
            client.create_collection(c.chunks_name, schema=s, index_params=ip, consistency_level="Strong")
        for name in (c.meta_name, c.articles_name, c.chunks_name):
            client.load_collection(name)

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
            expr = f"part == 0 and {_in('article_id', ids[i : i + BATCH])}"
            rows = self.c.query_all(self.c.articles_name, expr, ["article_id", "content_hash"])
            out.update({k: r["content_hash"] for k, r in self.c.live_records(rows).items()})
        return out

    def stored_vectors(self, text_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embed-text hashes (so they are not embedded again)."""
        self._flush()
        out: dict[str, np.ndarray] = {}
        hashes = list(set(text_hashes))
        for i in range(0, len(hashes), BATCH):
            expr = _in("text_hash", hashes[i : i + BATCH])
            for r in self.c.query_all(self.c.chunks_name, expr, ["text_hash", "dense"]):
                out.setdefault(r["text_hash"], np.asarray(r["dense"], dtype=np.float32))
        return out

    def _recorded(self, ids: list[str], chunks_too: bool) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), BATCH):
            expr = _in("article_id", ids[i : i + BATCH])
            rows = self.c.query_all(self.c.articles_name, f"part == 0 and {expr}", ["article_id"])
            found.update(r["article_id"] for r in rows)
            if chunks_too:
                found.update(r["article_id"] for r in self.c.query_all(self.c.chunks_name, expr, ["article_id"]))
        return found

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
            expr = _in("article_id", part)
            n_chunks += c.count(c.chunks_name, expr)
            # the article record first: a half-done delete leaves chunks without a record, not a record
            # whose hash says "already indexed" without its chunks
            c.client.delete(c.articles_name, filter=expr)
            c.client.delete(c.chunks_name, filter=expr)
        return n_art, n_chunks

    def _reserve(self, n: int) -> int:
        """``n`` fresh chunk ids, larger than any used before; the counter is persisted before use."""
        if self._next_id + n > self._id_limit:
            self._id_limit = self._next_id + n + ID_BLOCK
            self.c.meta_put("next_chunk_id", str(self._id_limit))
        first = self._next_id
        self._next_id += n
        return first

    def add(self, article: Article, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Insert (or replace) one article with its chunks and their vectors (written in batches)."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk is required")
        if vectors.size and vectors.shape[1] != self.model.dim:
            raise IndexMismatchError(f"vectors have dim {vectors.shape[1]}, index has {self.model.dim}")
        if any(aid == article.id for aid, *_ in self._pending):
            self._flush()  # the same article twice: its first version is written before it is replaced
        first = self._reserve(len(chunks))
        meta = {
            "article_id": article.id,
            "headline": _clip(article.headline, 4096),
            "date": article.date,
            "outlet": _clip(article.outlet, 512),
            "outlet_key": _clip((article.outlet or "").lower(), 512),
            "url": _clip(article.url, 4096),
            "language": article.language,
            "language_key": (article.language or "").lower(),
            "section": _clip(article.section, 512),
            "source": _clip(article.source, 4096),
        }
        rows = [
            {
                **meta,
                "id": first + j,
                "seq": ch.seq,
                "start_offset": ch.start,
                "end_offset": ch.end,
                "n_tokens": ch.n_tokens,
                "text": _clip(ch.text, TEXT_BYTES),
                "text_hash": ch.text_hash,
                "content_hash": article.content_hash,
                "terms": _clip(" ".join(analyze(f"{article.headline}\n{ch.text}", article.language)), TEXT_BYTES),
                "dense": np.asarray(v, dtype=np.float32).tolist(),
            }
            for j, (ch, v) in enumerate(zip(chunks, vectors, strict=True))
        ]
        pieces = _split_bytes(article.body, BODY_PART_BYTES)
        now = _now()
        records = [
            {
                "key": f"{article.id}|{article.content_hash}|{p}",
                "article_id": article.id,
                "part": p,
                "parts": len(pieces),
                "content_hash": article.content_hash,
                "headline": _clip(article.headline, TEXT_BYTES),
                "body": piece,
                "date": article.date,
                "outlet": _clip(article.outlet, 512),
                "byline": _clip(article.byline, 1024),
                "url": _clip(article.url, 4096),
                "language": article.language,
                "section": _clip(article.section, 512),
                "source": _clip(article.source, 4096),
                "source_ref": _clip(article.source_ref, 512),
                "ingested_at": now,
                "vec": _DUMMY,
            }
            for p, piece in enumerate(pieces)
        ]
        self._pending.append((article.id, first, rows, records))
        self._pending_rows += len(rows) + len(records)
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
        first = min(f for _, f, _, _ in pending)
        c.meta_put("pending_from", str(first))  # the journal :meth:`_repair` reads after a crash
        rows = [r for _, _, rs, _ in pending for r in rs]
        for i in range(0, len(rows), BATCH):
            c.client.insert(c.chunks_name, rows[i : i + BATCH])
        records = [r for _, _, _, recs in pending for r in recs]
        later = [r for r in records if r["part"] > 0]
        heads = [r for r in records if r["part"] == 0]
        for group in (later, heads):
            for i in range(0, len(group), BATCH):
                c.client.upsert(c.articles_name, group[i : i + BATCH])
        # every older chunk of these articles has a smaller id than the first new one of the batch
        aids = [aid for aid, *_ in pending]
        replaced = [aid for aid in aids if not self._fresh or aid in self._written]
        if replaced:
            ids = _in("article_id", replaced)
            c.client.delete(c.chunks_name, filter=f"{ids} and id < {first}")
            c.client.delete(c.articles_name, filter=f"{ids} and not ({_in('key', [r['key'] for r in records])})")
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
            expr = f"part == 0 and {_in('article_id', aids[i : i + BATCH])}"
            written |= {
                (r["article_id"], r["content_hash"])
                for r in c.query_all(c.articles_name, expr, ["article_id", "content_hash"])
            }
        for aid, (lo, chash) in new.items():
            if (aid, chash) in written:
                c.client.delete(c.chunks_name, filter=f"article_id == {quote(aid)} and id < {lo}")
                c.client.delete(
                    c.articles_name, filter=f"article_id == {quote(aid)} and content_hash != {quote(chash)}"
                )
            else:
                c.client.delete(c.chunks_name, filter=f"article_id == {quote(aid)} and id >= {first}")
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
        m.updated_at = _now()
        m.extra = {**m.extra, "analyzer": ANALYZER_VERSION, "languages": sorted(self._languages)}
        for name in (c.chunks_name, c.articles_name):
            c.client.flush(name)
        c.meta_put("manifest", json.dumps(asdict(m), ensure_ascii=False))
        c.client.flush(c.meta_name)
        self._new = False
        return m
