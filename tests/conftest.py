"""Shared fixtures: real FAISS, the real small embedding model, data from ../shared when present."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.embeddings import SentenceEmbedder, load_embedder

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
