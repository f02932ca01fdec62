"""The store contract, once per backend (FAISS and Milvus Lite): every test takes ``store_settings``."""

import pytest

from rag.errors import IndexMismatchError
from rag.ingest.pipeline import delete_from_index, ingest_articles, ingest_paths, model_info
from rag.records import Article, ModelInfo
from rag.retrieve.search import HybridSearch, RetrievalConfig
from rag.store import open_store
from rag.store.faiss.reader import NewsIndex
from tests.conftest import DOCS, ODD, SEED, _has_milvus_lite, gnad_slice, needs_shared, open_test_store, store_snapshot


def test_seed_and_gnad_slice_ingest_then_search(store_settings, small_embedder, tmp_path):
    settings = store_settings
    csv = gnad_slice(tmp_path / "gnad.csv", 40)
    report = ingest_paths([SEED, csv], settings, small_embedder)
    assert report.added == 41 and not report.errors
    assert report.chunks_added == report.total_chunks > 41
    with open_test_store(settings, small_embedder) as idx:
        st = idx.stats()
        assert st["articles"] == 41 and st["chunks"] == report.total_chunks
        assert st["embed_model"] == "all-minilm-l6-v2" and st["dim"] == 384
        assert st["languages"] == {"de": 41}
        # the articles' own dates and the time they entered the index are two separate spans
        # (10kGNAD rows and the seed file carry no date: all 41 are undated, no published span)
        assert st["undated"] == sum(idx.article(a).date is None for a in idx.article_ids()) == 41
        assert st["date_min"] is None and st["date_max"] is None
        assert st["ingested_min"] <= st["ingested_max"] and st["ingested_min"][:4] >= "2026"
        # every stored chunk's offsets reproduce its text from the stored article body
        for aid in idx.article_ids():
            art = idx.article(aid)
            for c in idx.article_chunks(aid):
                assert art.body[c.start : c.end] == c.text
        # the real vectors find the seed story for a question about it (a near-verbatim query suits MiniLM)
        q = small_embedder.encode_queries(["Nordkoreas Außenministerin Choe Son Hui in Moskau bei Lawrow"])
        scores, ids = idx.search(q, 5)
        hits = idx.chunks(ids[0].tolist())
        assert hits[0].headline.startswith("Nordkorea sichert Russland")
        assert scores[0][0] > scores[0][-1]


def test_stats_keep_publication_and_ingestion_spans_apart(store_settings, small_embedder):
    arts = [
        Article(
            id="a", headline="Flood", body="The river rose by two metres overnight.", date="2017-03-13", language="en"
        ),
        Article(
            id="b", headline="Toll", body="The death toll rose to 113 on Thursday.", date="2017-03-16", language="en"
        ),
        Article(id="c", headline="Undated", body="A note without any date on bread prices.", language="en"),
    ]
    ingest_articles(arts, store_settings, small_embedder)
    with open_test_store(store_settings, small_embedder) as idx:
        first = idx.stats()
    assert (first["date_min"], first["date_max"], first["undated"]) == ("2017-03-13", "2017-03-16", 1)
    assert first["ingested_min"][:4] >= "2026" and first["ingested_min"] <= first["ingested_max"]
    # a later, older-dated article moves the publication span back and the ingestion span forward
    ingest_articles(
        [Article(id="d", headline="Rain", body="Heavy rain was forecast.", date="2017-03-01")],
        store_settings,
        small_embedder,
    )
    with open_test_store(store_settings, small_embedder) as idx:
        later = idx.stats()
    assert later["date_min"] == "2017-03-01" and later["ingested_min"] == first["ingested_min"]
    assert later["ingested_max"] >= first["ingested_max"]


@needs_shared
def test_reingest_is_idempotent(store_settings, small_embedder, tmp_path):
    settings = store_settings
    csv = gnad_slice(tmp_path / "gnad.csv", 15)
    ingest_paths([SEED, csv], settings, small_embedder)
    before = store_snapshot(settings)
    again = ingest_paths([csv, SEED], settings, small_embedder)
    assert again.unchanged == 16 and again.added == again.updated == 0
    assert again.chunks_embedded == 0 and again.chunks_added == 0
    assert store_snapshot(settings) == before  # same generation, nothing rewritten
    # a slice overlapping the first one only adds the new rows
    bigger = gnad_slice(tmp_path / "gnad2.csv", 20)
    more = ingest_paths([bigger], settings, small_embedder)
    assert (more.added, more.unchanged) == (5, 15)


def test_changed_article_replaces_its_chunks(store_settings, small_embedder, tmp_path):
    settings = store_settings
    story = tmp_path / "story.txt"
    story.write_text(
        "Brücke eröffnet\nDie neue Brücke in Graz wurde am Montag eröffnet. Sie kostete 12 Millionen Euro.\n"
        "Der Bürgermeister sprach von einem großen Tag.\n",
        encoding="utf-8",
    )
    ingest_paths([story], settings, small_embedder)
    arts1, chunks1, _, gen1 = store_snapshot(settings)
    story.write_text(
        "Brücke eröffnet\nDie neue Brücke in Graz wurde am Montag eröffnet. Sie kostete 15 Millionen Euro.\n"
        "Der Bürgermeister sprach von einem großen Tag.\n",
        encoding="utf-8",
    )
    rep = ingest_paths([story], settings, small_embedder)
    assert rep.updated == 1 and rep.added == 0
    arts2, chunks2, n2, gen2 = store_snapshot(settings)
    assert list(arts2) == list(arts1) and arts2 != arts1
    assert gen2 == gen1 + 1 and n2 == len(chunks2)
    texts = " ".join(c[4] for c in chunks2)
    assert "15 Millionen" in texts and "12 Millionen" not in texts
    assert not {c[0] for c in chunks1} & {c[0] for c in chunks2}  # old chunk ids are gone from the vectors too


def test_delete_by_id_and_source(store_settings, small_embedder, tmp_path):
    settings = store_settings
    folder = tmp_path / "in"
    folder.mkdir()
    for i, city in enumerate(["Wien", "Graz", "Linz"]):
        (folder / f"{i}.txt").write_text(
            f"Nachricht aus {city}\nIn {city} regnete es am Montag stark.\n", encoding="utf-8"
        )
    other = tmp_path / "other.txt"
    other.write_text("Andere\nIn Salzburg schien die Sonne.\n", encoding="utf-8")
    ingest_paths([folder, other], settings, small_embedder)
    with open_test_store(settings) as idx:
        wien = next(a for a in idx.article_ids() if idx.article(a).headline.endswith("Wien"))
    info = model_info(small_embedder)
    assert delete_from_index(settings, info, ids=[wien, "no-such-id"]) == (1, 1)
    assert store_snapshot(settings)[2] == 3
    with open_test_store(settings) as idx:
        assert idx.manifest.articles == 3
    n_art, _ = delete_from_index(settings, info, sources=[str(folder)])
    assert n_art == 2
    with open_test_store(settings) as idx:
        assert [idx.article(a).headline for a in idx.article_ids()] == ["Andere"]
    assert store_snapshot(settings)[2] == 1


def test_model_mismatch_is_a_clear_error(store_settings, small_embedder, tmp_path):
    settings = store_settings
    story = tmp_path / "s.txt"
    story.write_text("Titel\nEin kurzer Text aus Wien.\n", encoding="utf-8")
    ingest_paths([story], settings, small_embedder)
    other = ModelInfo(name="embeddinggemma-300m", weights_hash="x", dim=768)
    with pytest.raises(IndexMismatchError, match="built with embedding model 'all-minilm-l6-v2'"):
        open_store(settings, other)
    with pytest.raises(IndexMismatchError, match="other weights"):
        open_store(settings, ModelInfo("all-minilm-l6-v2", "deadbeef", 384))
    exact = model_info(small_embedder)
    with pytest.raises(IndexMismatchError, match=r"holds exact vectors.*computes int8"):
        open_store(settings, ModelInfo(exact.name, exact.weights_hash, exact.dim, "int8"))
    with pytest.raises(IndexMismatchError, match="chunked with"):
        ingest_paths([story], settings.with_(chunk_tokens=300), small_embedder)


def test_delete_on_each_store_keeps_the_rest(store_settings, small_embedder):
    ingest_articles(DOCS, store_settings, small_embedder)
    assert delete_from_index(store_settings, model_info(small_embedder), ids=["bank", "nope"]) == (1, 1)
    with open_store(store_settings, model_info(small_embedder)) as idx:
        assert "bank" not in idx.article_ids() and len(idx.article_ids()) == len(DOCS) - 1
        assert HybridSearch(idx, small_embedder).run("central bank interest rates", k=1)[0].article_id != "bank"


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


def test_bm25_follows_deletes(store_settings, small_embedder, index):
    from rag.ingest.pipeline import delete_from_index

    settings = store_settings
    assert HybridSearch(index, small_embedder).run("Brzęczyszczykiewicz", mode="bm25")[0].article_id == "rare"
    delete_from_index(settings, model_info(small_embedder), ids=["rare"])
    with open_store(settings) as idx:
        if isinstance(idx, NewsIndex):
            assert len(idx.lexical) == idx.manifest.chunks
            assert idx.lexical.search("Brzęczyszczykiewicz", 5) == []
        assert HybridSearch(idx, small_embedder).run("Brzęczyszczykiewicz", mode="bm25") == []
        assert idx.manifest.articles == 7 and "rare" not in idx.article_ids()


def test_sentence_vectors_are_stored_reused_and_backfilled(store_settings, small_embedder, tmp_path):
    """Each sentence gets a vector at ingest; an unchanged re-ingest embeds nothing; an index written
    without them gets them on the next ingest, reusing every chunk vector."""
    settings = store_settings
    story = tmp_path / "s.txt"
    story.write_text(
        "Brücke eröffnet\nDie neue Brücke in Graz wurde am Montag eröffnet. Sie kostete 12 Millionen Euro.\n",
        encoding="utf-8",
    )
    off = ingest_paths([story], settings.with_(sentence_vectors=False), small_embedder)
    assert off.sentences_added == 0
    on = ingest_paths([story], settings, small_embedder)
    assert on.updated == 1 and on.chunks_embedded == 0 and on.sentences_embedded == 2
    again = ingest_paths([story], settings, small_embedder)
    assert again.unchanged == 1 and again.sentences_embedded == 0
    with open_test_store(settings, small_embedder) as idx:
        [aid] = idx.article_ids()
        body = idx.article(aid).body
        rows = idx.sentences([aid])[aid]
        assert [r.text for r in rows] == [
            "Die neue Brücke in Graz wurde am Montag eröffnet.",
            "Sie kostete 12 Millionen Euro.",
        ]
        assert all(body[r.start : r.end] == r.text for r in rows)
        vec = small_embedder.encode_documents([small_embedder.format_document("Brücke eröffnet", rows[1].text)])[0]
        assert float(rows[1].vector @ vec) > 0.999
