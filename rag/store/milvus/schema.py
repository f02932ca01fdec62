"""Milvus names, connection and collections: what the reader and the writer share.

One index is three collections named after it (``newsrag_<index>_chunks``, ``_articles``,
``_meta``); :func:`create_collections` defines their fields and indexes (see the package docstring).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.errors import NewsragError
from rag.records import StoredChunk
from rag.store.base import Manifest
from rag.store.milvus.filters import quote

if TYPE_CHECKING:
    from pymilvus import MilvusClient

LITE_FILE = "milvus.db"
BODY_PART_BYTES = 60_000
TEXT_BYTES = 65_535
ID_BLOCK = 100_000
BATCH = 500
DUMMY = [1.0, 0.0]  # Milvus wants a vector field in every collection; articles and meta carry this one
CHUNK_FIELDS = [
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
ARTICLE_FIELDS = [
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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def milvus_uri(settings: Settings) -> str:
    return settings.milvus_uri or str(settings.index_path / LITE_FILE)


def is_lite(uri: str) -> bool:
    return uri.endswith(".db")


def collection_prefix(index: str) -> str:
    return "newsrag_" + re.sub(r"[^A-Za-z0-9_]", "_", index)


def clip(value: str | None, max_bytes: int) -> str | None:
    if value is None:
        return None
    data = value.encode("utf-8")
    return value if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", errors="ignore")


def split_bytes(text: str, max_bytes: int) -> list[str]:
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


class Collections:
    """Names and helpers shared by reader and writer."""

    def __init__(self, settings: Settings, client: MilvusClient) -> None:
        self.settings = settings
        self.client = client
        self.uri = milvus_uri(settings)
        prefix = collection_prefix(settings.index)
        self.chunks_name = f"{prefix}_chunks"
        self.articles_name = f"{prefix}_articles"
        self.meta_name = f"{prefix}_meta"
        self.sentences_name = f"{prefix}_sentences"
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
        self.client.upsert(self.meta_name, [{"key": key, "value": value, "vec": DUMMY}])

    def load_manifest(self) -> Manifest | None:
        raw = self.meta_get("manifest")
        return None if raw is None else Manifest.from_json(raw, self.where)

    def live_records(self, rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Per article id, its part-0 record; articles with two (an interrupted replace) are left out."""
        seen: dict[str, dict[str, Any]] = {}
        twice: set[str] = set()
        for r in rows:
            if r["article_id"] in seen and seen[r["article_id"]]["content_hash"] != r["content_hash"]:
                twice.add(r["article_id"])
            seen[r["article_id"]] = r
        return {k: v for k, v in seen.items() if k not in twice}


def stored_chunk(r: dict[str, Any]) -> StoredChunk:
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


def create_collections(c: Collections, dim: int) -> None:
    """Create the four collections of an index where they are missing, and load them."""
    lite = is_lite(c.uri)
    makers: list[tuple[str, Callable[[], tuple[Any, Any]]]] = [
        (c.meta_name, lambda: _meta_schema(c)),
        (c.articles_name, lambda: _articles_schema(c, lite)),
        (c.chunks_name, lambda: _chunks_schema(c, dim, lite)),
        (c.sentences_name, lambda: _sentences_schema(c, dim, lite)),
    ]
    for name, make in makers:
        if not c.client.has_collection(name):
            schema, index_params = make()
            c.client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Strong")
    for name in (c.meta_name, c.articles_name, c.chunks_name, c.sentences_name):
        c.client.load_collection(name)


def _scalar_indexes(ip: Any, fields: tuple[str, ...], lite: bool) -> None:
    """Inverted indexes on the filtered fields (a Milvus server; Lite has none and needs none)."""
    if not lite:
        for f in fields:
            ip.add_index(f, index_type="INVERTED")


def _meta_schema(c: Collections) -> tuple[Any, Any]:
    """Key/value metadata (the manifest); Milvus wants a vector field, so a 2-d dummy."""
    from pymilvus import DataType

    s = c.client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, max_length=2048, is_primary=True)
    s.add_field("value", DataType.VARCHAR, max_length=TEXT_BYTES)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    ip = c.client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    return s, ip


def _articles_schema(c: Collections, lite: bool) -> tuple[Any, Any]:
    """One row per article part (bodies over Milvus's VARCHAR limit are split into parts)."""
    from pymilvus import DataType

    s = c.client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, max_length=2048, is_primary=True)
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
    ip = c.client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT", metric_type="L2")
    _scalar_indexes(ip, ("article_id", "source"), lite)
    return s, ip


def _chunks_schema(c: Collections, dim: int, lite: bool) -> tuple[Any, Any]:
    """Chunks with their dense vector and a BM25 sparse vector Milvus derives from ``terms``."""
    from pymilvus import DataType, Function, FunctionType

    s = c.client.create_schema(auto_id=False, enable_dynamic_field=False)
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
    s.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
        )
    )
    ip = c.client.prepare_index_params()
    ip.add_index("dense", index_type="FLAT" if lite else "AUTOINDEX", metric_type="IP")
    ip.add_index(
        "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.5, "bm25_b": 0.75}
    )
    _scalar_indexes(ip, ("article_id", "text_hash", "outlet_key", "language_key", "date"), lite)
    return s, ip


def _sentences_schema(c: Collections, dim: int, lite: bool) -> tuple[Any, Any]:
    """The sentence vectors stored at ingest (evidence selection and claim checks read them)."""
    from pymilvus import DataType

    s = c.client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("key", DataType.VARCHAR, max_length=2048, is_primary=True)
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("content_hash", DataType.VARCHAR, max_length=64)  # of the article version
    for name in ("seq", "start_offset", "end_offset"):
        s.add_field(name, DataType.INT64)
    s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
    s.add_field("text_hash", DataType.VARCHAR, max_length=64)
    s.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    ip = c.client.prepare_index_params()
    ip.add_index("vec", index_type="FLAT" if lite else "AUTOINDEX", metric_type="IP")
    _scalar_indexes(ip, ("article_id", "text_hash"), lite)
    return s, ip
