"""What only the FAISS store does: generations published atomically, ANN indexes, the writer lock."""

import os

import pytest

from rag.errors import IndexCorruptError, NewsragError
from rag.ingest.pipeline import chunker_fingerprint, delete_from_index, ingest_articles, ingest_paths, model_info
from rag.records import SearchFilters
from rag.retrieve.search import HybridSearch, RetrievalConfig
from rag.store.faiss.reader import NewsIndex
from rag.store.faiss.writer import IndexWriter
from tests.conftest import DOCS, store_snapshot


def test_unchanged_chunks_reuse_stored_vectors(settings, small_embedder, tmp_path):
    body = " ".join(f"Absatz {i}: Der Gemeinderat von Linz beschloss Punkt {i} der Tagesordnung." for i in range(40))
    story = tmp_path / "long.txt"
    story.write_text("Gemeinderat\n" + body + "\n", encoding="utf-8")
    s = settings.with_(chunk_tokens=60, chunk_overlap=0)
    first = ingest_paths([story], s, small_embedder)
    story.write_text("Gemeinderat\n" + body + " Nachtrag: die Sitzung endete spät.\n", encoding="utf-8")
    second = ingest_paths([story], s, small_embedder)
    assert second.updated == 1
    assert second.chunks_reused >= first.chunks_added - 2 and second.chunks_embedded <= 2


def test_crash_before_pointer_swap_keeps_previous_generation(settings, small_embedder, tmp_path, monkeypatch):
    story = tmp_path / "a.txt"
    story.write_text("Eins\nErster Text aus Wien.\n", encoding="utf-8")
    ingest_paths([story], settings, small_embedder)
    before = store_snapshot(settings)
    story2 = tmp_path / "b.txt"
    story2.write_text("Zwei\nZweiter Text aus Graz.\n", encoding="utf-8")
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("CURRENT"):
            raise OSError("simulated power loss")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        ingest_paths([story2], settings, small_embedder)
    monkeypatch.undo()
    assert store_snapshot(settings) == before
    rep = ingest_paths([story2], settings, small_embedder)  # the next writer cleans up and succeeds
    assert rep.added == 1 and rep.total_articles == 2
    assert sorted(p.name for p in settings.index_path.glob("gen-*")) == ["gen-000002"]


def test_inconsistent_generation_is_refused(settings, small_embedder, tmp_path):
    story = tmp_path / "a.txt"
    story.write_text("Eins\nErster Text aus Wien.\n", encoding="utf-8")
    ingest_paths([story], settings, small_embedder)
    gen = next(settings.index_path.glob("gen-*"))
    import faiss

    faiss.write_index(faiss.IndexIDMap2(faiss.IndexFlatIP(384)), str(gen / "vectors.faiss"))
    with pytest.raises(IndexCorruptError):
        NewsIndex.open(settings.index_path)


def test_writer_lock_and_missing_index(settings, small_embedder):
    with pytest.raises(NewsragError, match="no index at"):
        NewsIndex.open(settings.index_path)
    info = model_info(small_embedder)
    with (
        IndexWriter(settings.index_path, info, chunker_fingerprint(settings)),
        pytest.raises(NewsragError, match="being written"),
        IndexWriter(settings.index_path, info, chunker_fingerprint(settings)),
    ):
        pass


@pytest.mark.parametrize("kind", ["hnsw", "ivfsq8"])
def test_ann_generation_is_searched_with_filters(settings, small_embedder, kind):
    s = settings.with_(faiss_index=kind)
    ingest_articles(DOCS, s, small_embedder)
    with NewsIndex.open(s.index_path, model_info(small_embedder)) as idx:
        assert (idx.gen / "ann.faiss").is_file() and idx.manifest.faiss_type.endswith(kind)
        engine = HybridSearch(idx, small_embedder, RetrievalConfig(k=2, fetch_k=6))
        assert engine.run("interest rates central bank", mode="dense")[0].article_id == "bank"
        res = engine.run("interest rates", mode="dense", filters=SearchFilters(outlets=("Gazette",)))
        assert res and {p.outlet for p in res} == {"Gazette"}
    # deletes rebuild the ANN index from the exact master

    delete_from_index(s, model_info(small_embedder), ids=["bank"])
    with NewsIndex.open(s.index_path) as idx:
        assert idx.vectors.ntotal == idx.manifest.chunks == len(DOCS) - 1
