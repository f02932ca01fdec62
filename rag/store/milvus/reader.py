"""The read side of the Milvus store: dense and BM25 search, records, stats."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import Settings
from rag.errors import IndexCorruptError, NewsragError
from rag.records import Article, ModelInfo, SearchFilters, StoredChunk, StoredSentence
from rag.store.base import CandidateSource, Manifest, check_compatible
from rag.store.milvus.filters import filter_expression, in_list, quote
from rag.store.milvus.schema import (
    ARTICLE_FIELDS,
    BATCH,
    CHUNK_FIELDS,
    Collections,
    connect,
    is_lite,
    milvus_uri,
    stored_chunk,
)
from rag.text.lexical import UNSPLIT_ANALYZER, analyze_query

if TYPE_CHECKING:
    from pymilvus import MilvusClient


class MilvusDenseSource:
    name = "dense"
    needs_vector = True

    def __init__(self, store: MilvusStore) -> None:
        self.store = store

    def candidates(self, query: str, vector: np.ndarray | None, k: int, allowed: str | None) -> list[tuple[int, float]]:
        if vector is None:
            raise ValueError("dense search needs the query vector")
        return self.store.dense_search(vector, k, allowed)


class MilvusBM25Source:
    name = "bm25"
    needs_vector = False

    def __init__(self, store: MilvusStore) -> None:
        self.store = store

    def candidates(self, query: str, vector: np.ndarray | None, k: int, allowed: str | None) -> list[tuple[int, float]]:
        return self.store.bm25_search(query, k, allowed)


class MilvusStore:
    """A read view of an index kept in Milvus (same methods as :class:`rag.store.faiss.reader.NewsIndex`)."""

    def __init__(self, settings: Settings, client: MilvusClient, manifest: Manifest) -> None:
        self.settings = settings
        self.path = settings.index_path
        self.c = Collections(settings, client)
        self.manifest = manifest
        self.metric = "IP"

    @staticmethod
    def exists(settings: Settings) -> bool:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            return False
        client = connect(settings)
        m = Collections(settings, client).load_manifest()
        return m is not None and m.generation >= 1

    @classmethod
    def read_manifest(cls, settings: Settings) -> Manifest | None:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            return None
        m = Collections(settings, connect(settings)).load_manifest()
        return m if m is not None and m.generation >= 1 else None

    @classmethod
    def open(cls, settings: Settings, model: ModelInfo | None = None) -> MilvusStore:
        uri = milvus_uri(settings)
        if is_lite(uri) and not Path(uri).exists():
            raise NewsragError(f"no index at {uri}: build one with `rag ingest PATH --index {settings.index}`")
        client = connect(settings)
        c = Collections(settings, client)
        manifest = c.load_manifest()
        if manifest is None or manifest.generation < 1:
            raise NewsragError(f"no index in {c.where}: build one with `rag ingest PATH --index {settings.index}`")
        if model is not None:
            check_compatible(manifest, model, c.where)
        for name in (c.chunks_name, c.articles_name):
            if not client.has_collection(name):
                raise IndexCorruptError(f"{c.where}: collection {name} is missing")
            client.load_collection(name)
        if client.has_collection(c.sentences_name):  # indexes written before sentence vectors have none
            client.load_collection(c.sentences_name)
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
    def candidate_sources(self) -> dict[str, CandidateSource]:
        return {"dense": MilvusDenseSource(self), "bm25": MilvusBM25Source(self)}

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
        terms = analyze_query(query, self.languages, self.manifest.extra.get("analyzer", UNSPLIT_ANALYZER))
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
            self.c.articles_name, filter=f"article_id == {quote(article_id)}", output_fields=ARTICLE_FIELDS
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
                self.c.chunks_name, filter=f"id in {part}", output_fields=CHUNK_FIELDS, limit=len(part)
            ):
                by_id[int(r["id"])] = stored_chunk(r)
        return [by_id[i] for i in wanted if i in by_id]

    def article_chunks(self, article_id: str) -> list[StoredChunk]:
        rows = self.c.query_all(self.c.chunks_name, f"article_id == {quote(article_id)}", CHUNK_FIELDS)
        return sorted((stored_chunk(r) for r in rows), key=lambda c: (c.seq, c.id))

    def sentences(self, article_ids: Sequence[str]) -> dict[str, list[StoredSentence]]:
        """The stored sentences of these articles, in order (of the live version of each article)."""
        c = self.c
        out: dict[str, list[StoredSentence]] = {}
        if not c.client.has_collection(c.sentences_name):
            return out
        ids = list(dict.fromkeys(article_ids))
        fields = ["article_id", "content_hash", "seq", "start_offset", "end_offset", "text", "vec"]
        for i in range(0, len(ids), BATCH):
            part = ids[i : i + BATCH]
            rows = list(c.query_all(c.sentences_name, in_list("article_id", part), fields))
            versions: dict[str, set[str]] = {}
            for row in rows:
                versions.setdefault(row["article_id"], set()).add(row["content_hash"])
            # two versions only after an interrupted replace: keep the one the article record names
            twice = [a for a, v in versions.items() if len(v) > 1]
            live = {}
            if twice:
                heads = c.query_all(
                    c.articles_name, f"part == 0 and {in_list('article_id', twice)}", ["article_id", "content_hash"]
                )
                live = {k: r["content_hash"] for k, r in c.live_records(heads).items()}
            for row in sorted(rows, key=lambda x: (x["article_id"], int(x["seq"]))):
                aid = row["article_id"]
                if aid in live and row["content_hash"] != live[aid]:
                    continue
                vec = np.asarray(row["vec"], dtype=np.float32)
                item = StoredSentence(
                    aid, int(row["seq"]), int(row["start_offset"]), int(row["end_offset"]), row["text"], vec
                )
                out.setdefault(aid, []).append(item)
        return out

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
        stamps: list[str] = []
        outlets: dict[str, int] = {}
        langs: dict[str, int] = {}
        fields = ["article_id", "content_hash", "date", "outlet", "language", "ingested_at"]
        live = c.live_records(c.query_all(c.articles_name, "part == 0", fields)).values()
        for r in live:
            if r.get("date"):
                dates.append(r["date"])
            if r.get("ingested_at"):
                stamps.append(r["ingested_at"])
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
            "undated": len(live) - len(dates),
            "ingested_min": min(stamps) if stamps else None,
            "ingested_max": max(stamps) if stamps else None,
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
