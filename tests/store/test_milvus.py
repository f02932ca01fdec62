"""What only the Milvus store does: escaped filter expressions, split bodies, journalled writes."""

import dataclasses

import pytest

from rag.ingest.pipeline import ingest_articles, model_info
from rag.records import Article, SearchFilters
from rag.retrieve.search import HybridSearch, RetrievalConfig
from rag.store import open_store
from tests.conftest import DOCS, ODD, _has_milvus_lite

milvus = pytest.mark.skipif(not _has_milvus_lite(), reason="needs pymilvus and milvus-lite (pip install '.[scale]')")


@milvus
def test_milvus_filters_escape_strings(settings, small_embedder):
    s = settings.with_(store="milvus")
    ingest_articles([*DOCS, ODD], s, small_embedder)
    with open_store(s, model_info(small_embedder)) as idx:
        engine = HybridSearch(idx, small_embedder, RetrievalConfig(k=3, fetch_k=6))
        res = engine.run("ferry", filters=SearchFilters(article_ids=(ODD.id,)))
        assert [p.article_id for p in res] == [ODD.id]
        res = engine.run("ferry", filters=SearchFilters(outlets=('harbour "post"',)))
        assert [p.outlet for p in res] == [ODD.outlet]
        assert engine.run("ferry", filters=SearchFilters(outlets=('" or id >= 0 or "',))) == []
        art = idx.article(ODD.id)
        assert art is not None and art.body == ODD.body and art.content_hash == ODD.content_hash


@milvus
def test_milvus_long_article_body_round_trips(settings, small_embedder):
    s = settings.with_(store="milvus")
    body = " ".join(f"Satz {i}: Die Straßenbahn in Graz fährt öfter." for i in range(1300))  # > 60,000 bytes: two parts
    art = Article(id="long", headline="Straßenbahn", body=body, language="de")
    ingest_articles([art], s.with_(chunk_tokens=1000, chunk_overlap=0), small_embedder)
    with open_store(s) as idx:
        got = idx.article("long")
        assert got is not None and got.body == body
        assert all(body[c.start : c.end] == c.text for c in idx.article_chunks("long"))


@milvus
def test_milvus_interrupted_ingest_loses_nothing_and_is_redone(settings, small_embedder, monkeypatch):
    """Milvus has no atomic generation: a crash between the writes of one batch is repaired by re-running."""
    from pymilvus import MilvusClient

    s = settings.with_(store="milvus")
    ingest_articles(DOCS[:3], s, small_embedder)
    changed = dataclasses.replace(DOCS[0], body=DOCS[0].body + " Updated.")
    batch = [changed, *DOCS[3:]]
    calls = {"n": 0}

    # 1. crash after the chunks were inserted, before any article record was written
    real = MilvusClient.upsert

    def failing_upsert(self, collection_name, data, *a, **kw):
        if collection_name.endswith("_articles"):
            calls["n"] += 1
            raise OSError("simulated crash")
        return real(self, collection_name, data, *a, **kw)

    monkeypatch.setattr(MilvusClient, "upsert", failing_upsert)
    with pytest.raises(OSError, match="simulated crash"):
        ingest_articles(batch, s, small_embedder)
    monkeypatch.setattr(MilvusClient, "upsert", real)
    assert calls["n"] == 1
    with open_store(s, model_info(small_embedder)) as idx:
        # what was indexed before is all there, in its old version
        assert idx.article_ids() == sorted(a.id for a in DOCS[:3])
        assert idx.article(DOCS[0].id).body == DOCS[0].body
        engine = HybridSearch(idx, small_embedder, RetrievalConfig(k=3, fetch_k=6))
        assert engine.run("Brzęczyszczykiewicz", mode="bm25")[0].article_id == "rare"

    # 2. crash after the article records, before the old versions were deleted
    real_delete = MilvusClient.delete

    def failing_delete(self, collection_name, *a, **kw):
        raise OSError("simulated crash before cleanup")

    monkeypatch.setattr(MilvusClient, "delete", failing_delete)
    with pytest.raises(OSError, match="before cleanup"):
        ingest_articles(batch, s, small_embedder)
    monkeypatch.setattr(MilvusClient, "delete", real_delete)

    # re-running the same ingest redoes what was half-written and removes the leftovers
    rep = ingest_articles(batch, s, small_embedder)
    assert rep.updated + rep.added >= 1 and not rep.errors
    with open_store(s, model_info(small_embedder)) as idx:
        assert idx.article_ids() == sorted(a.id for a in DOCS)
        assert idx.article(DOCS[0].id).body == changed.body
        per_article = idx.chunk_articles()
        assert sorted(per_article.values()) == sorted(a.id for a in DOCS)  # one chunk each, no leftovers
        assert idx.manifest.articles == len(DOCS) and idx.manifest.chunks == len(DOCS)
    again = ingest_articles(batch, s, small_embedder)
    assert again.unchanged == len(batch)


@milvus
def test_milvus_first_load_replaces_an_article_written_twice(settings, small_embedder):
    """A load into an empty index skips the per-batch delete, except for an article already written by it."""
    from rag.ingest.pipeline import chunker_fingerprint, make_chunker
    from rag.records import ModelInfo
    from rag.store import open_writer

    s = settings.with_(store="milvus", index="twice")
    info = model_info(small_embedder)
    assert isinstance(info, ModelInfo)
    chunker = make_chunker(s, small_embedder)
    old = Article(id="a", headline="Old", body="The old version talks about trams in the city centre.", language="en")
    new = dataclasses.replace(old, headline="New", body="The new version is about ferries to the island instead.")
    other = Article(id="b", headline="Other", body="A separate article about bread prices rising again.", language="en")
    with open_writer(s, info, chunker_fingerprint(s)) as w:
        for art in (old, other, new):  # "a" twice: the second add flushes the first, then replaces it
            chunks = chunker.chunk(art)
            vecs = small_embedder.encode_documents([c.embed_text for c in chunks])
            w.add(art, chunks, vecs)
        w.commit()
    with open_store(s, info) as idx:
        texts = [c.text for c in idx.article_chunks("a")]
        assert texts and all("ferries" in t for t in texts)
        assert idx.article("a").headline == "New"  # type: ignore[union-attr]
        assert idx.stats()["articles"] == 2
