"""The sentence-transformers encoder: precision choice and the query-vector cache (real MiniLM)."""

from __future__ import annotations

import numpy as np
import torch

from rag.config import Settings
from rag.models.embedders import auto_dtype, load_embedder


def test_auto_precision_is_bf16_only_with_a_native_bf16_path(small_embedder):
    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert auto_dtype() == ("bfloat16" if native else "float32")
    assert small_embedder.dtype == auto_dtype()  # Settings().embed_dtype is "auto"


def test_query_cache_returns_the_encoded_vectors_and_spares_re_encoding(small_embedder, monkeypatch):
    queries = ["Wer hat wem Unterstützung zugesagt?", "What did North Korea test?"]
    uncached = load_embedder(Settings(embed_model="all-minilm-l6-v2", query_cache=0))
    expected = uncached.encode_queries(queries)

    calls: list[int] = []
    real = small_embedder._encode

    def counting(texts, progress=None):
        calls.append(len(texts))
        return real(texts, progress)

    monkeypatch.setattr(small_embedder, "_encode", counting)
    small_embedder._query_cache.clear()
    first = small_embedder.encode_queries(queries)
    again = small_embedder.encode_queries([queries[1], queries[0], queries[1]])
    assert calls == [2]  # the second call was answered from the cache
    np.testing.assert_allclose(first, expected, atol=1e-6)
    np.testing.assert_allclose(again, expected[[1, 0, 1]], atol=1e-6)
    again[0] += 1.0  # a caller changing its copy does not change what the cache returns
    np.testing.assert_allclose(small_embedder.encode_queries([queries[1]])[0], expected[1], atol=1e-6)
    assert small_embedder.encode_queries([]).shape == (0, small_embedder.dim)


def test_query_cache_drops_the_least_recently_used():
    enc = load_embedder(Settings(embed_model="all-minilm-l6-v2", query_cache=2))
    enc.encode_queries(["a question", "b question"])
    enc.encode_queries(["a question"])  # a is now the most recent
    enc.encode_queries(["c question"])
    assert [k.removeprefix(enc.spec.query_prompt) for k in enc._query_cache] == ["a question", "c question"]
