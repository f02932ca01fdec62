"""Retrieval metrics against hand-computed values, and the files `rag eval retrieval` writes."""

import json
import math

import pytest

from rag.evaluate.datasets import load_squad
from rag.evaluate.metrics import doc_ranking, percentile, query_metrics
from rag.evaluate.retrieval import evaluate_retrieval


def test_metrics_against_hand_computed_values():
    m = query_metrics(["d3", "d1", "d2"], {"d1": 1})
    assert m["mrr@10"] == 0.5 and m["recall@1"] == 0.0 and m["recall@5"] == 1.0
    assert m["ndcg@10"] == pytest.approx(1 / math.log2(3))
    # graded, two relevant documents: DCG = 3/log2(2) + 1/log2(4) = 3.5; IDCG = 3 + 1/log2(3)
    m = query_metrics(["a", "x", "b"], {"a": 2, "b": 1})
    assert m["ndcg@10"] == pytest.approx(3.5 / (3 + 1 / math.log2(3)))
    assert m["recall@1"] == 0.5 and m["mrr@10"] == 1.0
    assert query_metrics(["x"] * 3, {"a": 1})["mrr@10"] == 0.0
    assert doc_ranking([5, 6, 7, 8], {5: "a", 6: "a", 7: "b", 8: "a"}) == ["a", "b"]
    assert percentile([1, 2, 3, 4], 0.5) == 2.5 and percentile([10], 0.95) == 10


def test_eval_retrieval_writes_exact_metrics_shape(tmp_path, settings):
    squad = {
        "data": [
            {
                "title": "Wien",
                "paragraphs": [
                    {
                        "context": "Wien ist die Hauptstadt Österreichs und liegt an der Donau.",
                        "qas": [{"id": "q1", "question": "Was ist die Hauptstadt Österreichs?", "answers": []}],
                    },
                    {
                        "context": "Graz ist die zweitgrößte Stadt und liegt an der Mur.",
                        "qas": [{"id": "q2", "question": "An welchem Fluss liegt Graz?", "answers": []}],
                    },
                ],
            }
        ]
    }
    path = tmp_path / "mini.de.json"
    path.write_text(json.dumps(squad), encoding="utf-8")
    task = load_squad(path)
    assert task.docs[0].language == "de" and task.qrels == {"q1": {"Wien#0": 1}, "q2": {"Wien#1": 1}}
    out = tmp_path / "out"
    metrics = evaluate_retrieval(task, settings.with_(reranker="fusion"), out_dir=out, log=lambda s: None)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics and set(saved) == {"dataset", "n_queries", "configs"}
    assert saved["n_queries"] == 2 and list(saved["configs"]) == ["bm25", "dense", "hybrid", "hybrid+rerank"]
    keys = {"mrr@10", "ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "p50_ms", "p95_ms"}
    assert all(set(v) == keys for v in saved["configs"].values())
    assert saved["configs"]["bm25"]["mrr@10"] == 1.0
    rows = (out / "per_query.csv").read_text().splitlines()
    assert rows[0].startswith("config,query_id") and len(rows) == 1 + 2 * 4
