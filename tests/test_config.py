"""Settings: environment overrides, frozen values, closed option sets; the embedder's vectors."""

import shutil

import numpy as np
import pytest
from pydantic import ValidationError

from rag.config import Settings
from rag.store import store_exists
from tests.conftest import _has_milvus_lite


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


def test_vectors_are_normalised(small_embedder):
    v = small_embedder.encode_documents(["Ein Text.", "Noch einer, etwas länger als der erste."])
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


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
