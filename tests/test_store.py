"""The vector-store backends behind one interface: FAISS and Milvus Lite, real parts, the small model."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from rag.chain import NewsQA
from rag.config import Settings
from rag.ingest import delete_from_index, ingest_articles, model_info
from rag.records import Article
from rag.retrieval import HybridSearch, RetrievalConfig, SearchFilters, retrieval_config
from rag.store import open_store, read_manifest, store_exists
from tests.conftest import _has_milvus_lite
from tests.test_retrieval import DOCS

milvus = pytest.mark.skipif(not _has_milvus_lite(), reason="needs pymilvus and milvus-lite (pip install '.[scale]')")

ODD = Article(
    id='odd "id" \\ with | marks',
    headline="Ferry timetable",
    body="The ferry to the island now leaves every forty minutes during the summer season.",
    outlet='Harbour "Post"',
    date="2024-04-04",
    language="en",
)


def test_evidence_answer_is_cited_on_each_store(store_settings, small_embedder):
    s = store_settings.with_(generator="evidence", evidence_min_score=0.1)
    ingest_articles(DOCS, s, small_embedder)
    with open_store(s, model_info(small_embedder)) as idx:
        qa = NewsQA(s, HybridSearch(idx, small_embedder, retrieval_config(s)), small_embedder, "evidence")
        a = qa.ask("Did the central bank keep interest rates unchanged?")
    assert not a.refused, a
    assert a.citations and a.citations[0].article_id == "bank"
    assert "[1]" in a.answer
    c = a.citations[0]
    assert c.passage_start <= c.quote_start < c.quote_end <= c.passage_end


def test_both_stores_rank_alike(settings, small_embedder):
    """Same articles, same query: the same top passages from FAISS+bm25s and from Milvus (dense+BM25)."""
    tops = {}
    for store in ("faiss", "milvus") if _has_milvus_lite() else ("faiss",):
        s = settings.with_(store=store, index=f"alike-{store}")
        ingest_articles([*DOCS, ODD], s, small_embedder)
        with open_store(s, model_info(small_embedder)) as idx:
            engine = HybridSearch(idx, small_embedder, RetrievalConfig(k=3, fetch_k=7))
            tops[store] = {
                (q, mode): [p.article_id for p in engine.run(q, mode=mode)]
                for q in ("ferry to the island", "interest rates", "Brzęczyszczykiewicz bus timetable")
                for mode in ("dense", "bm25", "hybrid")
            }
    if len(tops) == 2:
        for key, faiss_ids in tops["faiss"].items():
            assert tops["milvus"][key][:1] == faiss_ids[:1], key
            assert set(tops["milvus"][key]) == set(faiss_ids) or key[1] == "bm25", key


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
def test_cli_on_milvus_via_env(settings, tmp_path):
    env = dict(
        os.environ,
        NEWSRAG_INDEXES_DIR=str(tmp_path / "indexes"),
        NEWSRAG_INDEX="cli",
        NEWSRAG_EMBED_MODEL="all-minilm-l6-v2",
        NEWSRAG_STORE="milvus",
        COLUMNS="200",
    )
    folder = tmp_path / "in"
    folder.mkdir()
    for i, city in enumerate(["Wien", "Graz"]):
        (folder / f"{i}.txt").write_text(f"Nachricht aus {city}\nIn {city} regnete es am Montag.\n", encoding="utf-8")

    def rag(*args):
        return subprocess.run(
            [sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True, timeout=300
        )

    assert rag("ingest", str(folder)).returncode == 0
    assert (tmp_path / "indexes" / "cli" / "milvus.db").exists()
    st = json.loads(rag("stats", "--json").stdout)
    assert st["store"] == "milvus" and st["articles"] == 2
    found = json.loads(rag("search", "Regen in Graz", "--json", "-k", "1").stdout)
    assert found["passages"][0]["headline"] == "Nachricht aus Graz"
    proc = rag("delete", "--source", str(folder / "0.txt"))
    assert proc.returncode == 0 and "deleted 1 articles" in proc.stdout, proc.stderr
    s = Settings(indexes_dir=tmp_path / "indexes", index="cli", store="milvus")
    assert store_exists(s) and read_manifest(s).articles == 1


def test_store_setting_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSRAG_STORE", "milvus")
    monkeypatch.setenv("NEWSRAG_MILVUS_URI", "http://milvus.example:19530")
    s = Settings(indexes_dir=tmp_path)
    assert s.store == "milvus" and s.milvus_uri == "http://milvus.example:19530"
    with pytest.raises(ValueError):
        Settings(store="chroma")
    monkeypatch.delenv("NEWSRAG_MILVUS_URI")
    assert not store_exists(Settings(indexes_dir=tmp_path, store="faiss"))
    assert not store_exists(Settings(indexes_dir=tmp_path, store="milvus")) if _has_milvus_lite() else True


def test_delete_on_each_store_keeps_the_rest(store_settings, small_embedder):
    ingest_articles(DOCS, store_settings, small_embedder)
    assert delete_from_index(store_settings, model_info(small_embedder), ids=["bank", "nope"]) == (1, 1)
    with open_store(store_settings, model_info(small_embedder)) as idx:
        assert "bank" not in idx.article_ids() and len(idx.article_ids()) == len(DOCS) - 1
        assert HybridSearch(idx, small_embedder).run("central bank interest rates", k=1)[0].article_id != "bank"


@milvus
def test_milvus_first_load_replaces_an_article_written_twice(settings, small_embedder):
    """A load into an empty index skips the per-batch delete, except for an article already written by it."""
    from rag.index import ModelInfo
    from rag.ingest import chunker_fingerprint, make_chunker
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
