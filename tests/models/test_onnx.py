"""The ONNX encoder backends: a real export of the small model (torch.onnx, onnxruntime), run beside torch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import IndexMismatchError, ModelMissingError
from rag.ingest.pipeline import ingest_articles, model_info
from rag.models.embedders import export_onnx, load_embedder
from rag.models.onnx import OnnxSentenceModel
from rag.records import Article
from rag.store import open_store

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

TEXTS = [
    "Nordkoreas Außenministerin sicherte Russland Unterstützung zu.",
    "Der Wiener Gemeinderat beschloss am Dienstag ein neues Budget für Schulen.",
    "North Korea tested a ballistic missile on Sunday, the South's military said.",
    "Bei dem Erdbeben kamen mindestens 113 Menschen ums Leben.",
    "The central bank raised interest rates by a quarter point.",
    "Im Finale siegte Salzburg mit 3:1 gegen Rapid.",
]
QUERIES = ["Wer sagte Russland Unterstützung zu?", "How many died in the earthquake?", "Wer gewann das Finale?"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    settings = Settings(
        embed_model="all-minilm-l6-v2", models_dir=tmp_path_factory.mktemp("models"), embed_dtype="float32"
    )
    export_onnx(settings, log=lambda _m: None)
    return settings


def _vectors(settings: Settings, backend: str) -> tuple[np.ndarray, np.ndarray]:
    enc = load_embedder(settings.with_(embed_backend=backend))
    return enc.encode_documents(TEXTS), enc.encode_queries(QUERIES)


def test_fp32_onnx_reproduces_torch_and_int8_ranks_like_it(exported):
    docs_t, q_t = _vectors(exported, "torch")
    docs_f, q_f = _vectors(exported, "onnx")
    docs_i, q_i = _vectors(exported, "onnx-int8")
    assert np.min(np.sum(docs_t * docs_f, axis=1)) > 0.9999
    assert np.min(np.sum(q_t * q_f, axis=1)) > 0.9999
    cos_int8 = np.sum(docs_t * docs_i, axis=1)
    assert 0.95 < np.mean(cos_int8) < 0.99999  # close, but measurably not the same vectors
    # every query finds the same best document with int8 as with torch
    assert list(np.argmax(q_t @ docs_t.T, axis=1)) == list(np.argmax(q_i @ docs_i.T, axis=1))


def test_an_int8_index_refuses_the_exact_backend_and_fp32_onnx_shares_the_torch_index(exported, tmp_path):
    base = exported.with_(indexes_dir=tmp_path / "indexes")
    art = Article(id="a1", headline="Erdbeben", body=TEXTS[3], language="de", source="t", source_ref="1")
    int8 = load_embedder(base.with_(embed_backend="onnx-int8", index="int8"))
    ingest_articles([art], base.with_(index="int8"), int8)
    torch_enc = load_embedder(base.with_(embed_backend="torch"))
    with pytest.raises(IndexMismatchError, match="holds int8 vectors"):
        open_store(base.with_(index="int8"), model_info(torch_enc))
    ingest_articles([art], base.with_(index="exact"), torch_enc)
    onnx_fp32 = load_embedder(base.with_(embed_backend="onnx"))
    with open_store(base.with_(index="exact"), model_info(onnx_fp32)) as idx:
        assert idx.article_ids() == ["a1"]
    assert onnx_fp32.weights_hash == torch_enc.weights_hash == int8.weights_hash


def test_missing_or_stale_export_falls_back_to_torch_with_a_one_line_warning(exported, tmp_path):
    warnings: list[str] = []
    enc = load_embedder(exported.with_(embed_backend="onnx", models_dir=tmp_path / "none"), warnings.append)
    assert enc.backend == "torch" and enc.vectors == "exact"
    assert len(warnings) == 1 and "run `rag models export-onnx`" in warnings[0] and "\n" not in warnings[0]
    folder = exported.models_path / "all-minilm-l6-v2-onnx"
    meta = folder / "newsrag-onnx.json"
    saved = meta.read_text()
    try:
        meta.write_text(saved.replace('"source_hash": "', '"source_hash": "stale'))
        enc = load_embedder(exported.with_(embed_backend="onnx-int8"), warnings.append)
        assert enc.backend == "torch" and "of other weights" in warnings[1]
        with pytest.raises(ModelMissingError, match="of other weights"):
            OnnxSentenceModel(folder, "real-hash", "int8", 1)
    finally:
        meta.write_text(saved)


def test_an_int8_export_without_reduced_range_counts_as_stale(exported):
    """int8 files quantised before reduce_range (wrong vectors on CPUs without VNNI) are not used."""
    folder = exported.models_path / "all-minilm-l6-v2-onnx"
    meta = folder / "newsrag-onnx.json"
    saved = meta.read_text()
    try:
        old = json.loads(saved)
        del old["int8_recipe"]
        meta.write_text(json.dumps(old))
        warnings: list[str] = []
        enc = load_embedder(exported.with_(embed_backend="onnx-int8"), warnings.append)
        assert enc.backend == "torch" and len(warnings) == 1 and "without reduced range" in warnings[0]
        # the fp32 copy does not depend on the int8 recipe
        assert load_embedder(exported.with_(embed_backend="onnx"), warnings.append).backend == "onnx"
    finally:
        meta.write_text(saved)
