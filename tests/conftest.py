"""Shared fixtures: real FAISS, the real small embedding model, data from ../shared when present."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest.pipeline import ingest_articles, model_info
from rag.models.embedders import SentenceEmbedder, load_embedder
from rag.records import Article
from rag.store import NewsStore, open_store
from rag.store.faiss.reader import NewsIndex

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SEED = SHARED / "seed" / "nordkorea-russland.txt"
GNAD = SHARED / "gnad10k" / "test.csv"
XQUAD_DE = SHARED / "xquad" / "xquad.de.json"

# CI sets NEWSRAG_EMBED_CACHE so the EmbeddingGemma test index is built from cached vectors. Only the
# tests that ask for it get it (EMBED_CACHE): the rest count embedded chunks and must start cold.
EMBED_CACHE = Path(os.environ.pop("NEWSRAG_EMBED_CACHE", "") or Settings().cache_dir / "embed-cache.sqlite")

needs_shared = pytest.mark.skipif(
    not SEED.is_file() or not GNAD.is_file(), reason="needs ../shared/data (seed story and gnad10k); absent here"
)


def gnad_slice(target: Path, n: int, start: int = 0) -> Path:
    """Write rows [start, start+n) of the shared 10kGNAD test file to ``target`` (same layout)."""
    with GNAD.open(encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=";", quotechar="'"))[start : start + n]
    with target.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", quotechar="'")
        w.writerows(rows)
    return target


def open_test_store(settings, embedder=None) -> NewsStore:
    return open_store(settings, model_info(embedder) if embedder else None)


def store_snapshot(settings):
    """Store-neutral: (article id -> content hash, chunk rows, vectors, generation)."""
    with open_test_store(settings) as idx:
        ids = idx.article_ids()
        arts = {aid: idx.article(aid).content_hash for aid in ids}
        chunks = sorted((c.id, c.article_id, c.start, c.end, c.text) for aid in ids for c in idx.article_chunks(aid))
        n_vectors = idx.vectors.ntotal if isinstance(idx, NewsIndex) else len(idx.chunk_articles())
        return arts, chunks, n_vectors, idx.manifest.generation


@pytest.fixture(scope="session")
def small_embedder() -> SentenceEmbedder:
    return load_embedder(Settings(embed_model="all-minilm-l6-v2"))


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(indexes_dir=tmp_path / "indexes", index="test", embed_model="all-minilm-l6-v2")


def _has_milvus_lite() -> bool:
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        return False
    return True


STORES = [
    "faiss",
    pytest.param(
        "milvus",
        marks=pytest.mark.skipif(not _has_milvus_lite(), reason="needs pymilvus, milvus-lite: '.[scale]'"),
    ),
]


@pytest.fixture(params=STORES)
def store_settings(request, settings: Settings) -> Settings:
    """``settings`` on each vector-store backend: local FAISS and Milvus Lite (a file in the index folder)."""
    return settings.with_(store=request.param)


# Shared data: a few English articles with outlets and dates, and a wire story (tests of every store).
DOCS = [
    Article(
        id="rare",
        headline="Local council",
        body="Councillor Brzęczyszczykiewicz opened the session on the new bus timetable for the district.",
        outlet="Gazette",
        date="2024-03-01",
        language="en",
    ),
    Article(
        id="car",
        headline="Household budgets",
        body="Buying a vehicle has become much more expensive for families this year, dealers say.",
        outlet="Courier",
        date="2024-05-10",
        language="en",
    ),
    Article(
        id="weather",
        headline="Storm warning",
        body="Heavy rain and strong winds are expected on the coast tomorrow, forecasters said.",
        outlet="Gazette",
        date="2024-06-02",
        language="en",
    ),
    Article(
        id="football",
        headline="Cup final",
        body="The home side won the cup final two to one after extra time in front of a sold-out stadium.",
        outlet="Courier",
        date="2024-07-15",
        language="en",
    ),
    Article(
        id="bank",
        headline="Interest rates",
        body="The central bank kept interest rates unchanged and signalled cuts later in the year.",
        outlet="Herald",
        date="2024-08-20",
        language="en",
    ),
    Article(
        id="school",
        headline="New school",
        body="A new primary school with twelve classrooms opens in September near the river.",
        outlet="Herald",
        date="2024-09-01",
        language="en",
    ),
]

WIRE = (
    "Officials confirmed on Monday that the bridge over the river will close for repairs for three months, "
    "with diversions signposted for drivers and cyclists."
)

ODD = Article(
    id='odd "id" \\ with | marks',
    headline="Ferry timetable",
    body="The ferry to the island now leaves every forty minutes during the summer season.",
    outlet='Harbour "Post"',
    date="2024-04-04",
    language="en",
)


def make_bad_batch(folder: Path) -> dict[str, Path]:
    """One file per bad-input case, plus two good ones."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "good": folder / "good.txt",
        "empty": folder / "empty.txt",
        "binary": folder / "binary.txt",
        "latin1": folder / "latin1.txt",
        "csv": folder / "rows.csv",
        "jsonl": folder / "lines.jsonl",
        "huge": folder / "huge.txt",
    }
    files["good"].write_text(
        "Gute Schlagzeile\nDer Bürgermeister von Graz eröffnete am Montag die neue Brücke.\n", encoding="utf-8"
    )
    files["empty"].write_bytes(b"")
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    files["latin1"].write_bytes("Überschrift\nDie Straße in Köln wurde für den Verkehr gesperrt.\n".encode("latin-1"))
    files["csv"].write_text(
        'id,title,text\n1,Eins,"Erster guter Text über die Wahl."\n2,Zwei\n3,Drei,\n'
        '4,Vier,"Vierter guter Text über den Haushalt."\n',
        encoding="utf-8",
    )
    files["jsonl"].write_text(
        '{"id": "j1", "title": "T", "text": "Ein gültiger Artikeltext über Linz."}\n'
        '{"id": "j2", "title": "T", "text": \n'
        '{"id": "j3", "title": "Ohne Text"}\n',
        encoding="utf-8",
    )
    files["huge"].write_text("Riesig\n" + ("Ein sehr langer Satz über nichts. " * 160_000), encoding="utf-8")
    return files


@pytest.fixture()
def index(store_settings, small_embedder):
    """The same articles in each vector store (FAISS and Milvus Lite): every test using it runs on both."""
    settings = store_settings
    docs = [
        *DOCS,
        Article(id="wire-a", headline="Bridge to close", body=WIRE, outlet="Gazette", date="2024-10-01", language="en"),
        Article(
            id="wire-b",
            headline="Bridge closure announced",
            body=WIRE + " (Agency)",
            outlet="Herald",
            date="2024-10-01",
            language="en",
        ),
    ]
    ingest_articles(docs, settings, small_embedder)
    with open_store(settings, model_info(small_embedder)) as idx:
        yield idx
