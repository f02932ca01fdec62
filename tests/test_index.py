"""The persisted index with the real small model and real FAISS."""

import os
import shutil

import numpy as np
import pytest
from pydantic import ValidationError

from rag.config import Settings
from rag.errors import IndexCorruptError, IndexMismatchError, NewsragError
from rag.index import IndexWriter, ModelInfo, NewsIndex
from rag.ingest import chunker_fingerprint, delete_from_index, ingest_paths, model_info
from rag.store import NewsStore, open_store
from tests.conftest import SEED, gnad_slice, needs_shared


def _open(settings, embedder=None) -> NewsStore:
    return open_store(settings, model_info(embedder) if embedder else None)


def _snapshot(settings):
    """Store-neutral: (article id -> content hash, chunk rows, vectors, generation)."""
    with _open(settings) as idx:
        ids = idx.article_ids()
        arts = {aid: idx.article(aid).content_hash for aid in ids}
        chunks = sorted((c.id, c.article_id, c.start, c.end, c.text) for aid in ids for c in idx.article_chunks(aid))
        n_vectors = idx.vectors.ntotal if isinstance(idx, NewsIndex) else len(idx.chunk_articles())
        return arts, chunks, n_vectors, idx.manifest.generation


@needs_shared
def test_seed_and_gnad_slice_ingest_then_search(store_settings, small_embedder, tmp_path):
    settings = store_settings
    csv = gnad_slice(tmp_path / "gnad.csv", 40)
    report = ingest_paths([SEED, csv], settings, small_embedder)
    assert report.added == 41 and not report.errors
    assert report.chunks_added == report.total_chunks > 41
    with _open(settings, small_embedder) as idx:
        st = idx.stats()
        assert st["articles"] == 41 and st["chunks"] == report.total_chunks
        assert st["embed_model"] == "all-minilm-l6-v2" and st["dim"] == 384
        assert st["languages"] == {"de": 41}
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


@needs_shared
def test_reingest_is_idempotent(store_settings, small_embedder, tmp_path):
    settings = store_settings
    csv = gnad_slice(tmp_path / "gnad.csv", 15)
    ingest_paths([SEED, csv], settings, small_embedder)
    before = _snapshot(settings)
    again = ingest_paths([csv, SEED], settings, small_embedder)
    assert again.unchanged == 16 and again.added == again.updated == 0
    assert again.chunks_embedded == 0 and again.chunks_added == 0
    assert _snapshot(settings) == before  # same generation, nothing rewritten
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
    arts1, chunks1, _, gen1 = _snapshot(settings)
    story.write_text(
        "Brücke eröffnet\nDie neue Brücke in Graz wurde am Montag eröffnet. Sie kostete 15 Millionen Euro.\n"
        "Der Bürgermeister sprach von einem großen Tag.\n",
        encoding="utf-8",
    )
    rep = ingest_paths([story], settings, small_embedder)
    assert rep.updated == 1 and rep.added == 0
    arts2, chunks2, n2, gen2 = _snapshot(settings)
    assert list(arts2) == list(arts1) and arts2 != arts1
    assert gen2 == gen1 + 1 and n2 == len(chunks2)
    texts = " ".join(c[4] for c in chunks2)
    assert "15 Millionen" in texts and "12 Millionen" not in texts
    assert not {c[0] for c in chunks1} & {c[0] for c in chunks2}  # old chunk ids are gone from the vectors too


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
    with _open(settings) as idx:
        wien = next(a for a in idx.article_ids() if idx.article(a).headline.endswith("Wien"))
    info = model_info(small_embedder)
    assert delete_from_index(settings, info, ids=[wien, "no-such-id"]) == (1, 1)
    assert _snapshot(settings)[2] == 3
    with _open(settings) as idx:
        assert idx.manifest.articles == 3
    n_art, _ = delete_from_index(settings, info, sources=[str(folder)])
    assert n_art == 2
    with _open(settings) as idx:
        assert [idx.article(a).headline for a in idx.article_ids()] == ["Andere"]
    assert _snapshot(settings)[2] == 1


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
    with pytest.raises(IndexMismatchError, match="chunked with"):
        ingest_paths([story], settings.with_(chunk_tokens=300), small_embedder)


def test_crash_before_pointer_swap_keeps_previous_generation(settings, small_embedder, tmp_path, monkeypatch):
    story = tmp_path / "a.txt"
    story.write_text("Eins\nErster Text aus Wien.\n", encoding="utf-8")
    ingest_paths([story], settings, small_embedder)
    before = _snapshot(settings)
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
    assert _snapshot(settings) == before
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


def test_vectors_are_normalised(small_embedder):
    v = small_embedder.encode_documents(["Ein Text.", "Noch einer, etwas länger als der erste."])
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_settings_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSRAG_CHUNK_TOKENS", "150")
    monkeypatch.setenv("NEWSRAG_INDEXES_DIR", str(tmp_path))
    s = Settings()
    assert s.chunk_tokens == 150 and s.index_path == tmp_path / "default"
    with pytest.raises(ValueError):
        Settings(index="../escape")
    with pytest.raises(ValidationError):  # frozen
        s.chunk_tokens = 10  # type: ignore[misc]
    shutil.rmtree(tmp_path, ignore_errors=True)
