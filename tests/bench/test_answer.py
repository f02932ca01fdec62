"""`rag bench answer` on a real small index: one row per generator, context and prefix re-use."""

import pytest

from rag.bench.answer import run_answer_benchmark
from rag.config import Settings
from rag.ingest.pipeline import ingest_articles
from rag.models.fetch import is_fetched
from tests.conftest import DOCS


@pytest.mark.skipif(
    not is_fetched(Settings(), "smollm2-135m-instruct"), reason="run `rag models fetch smollm2-135m-instruct`"
)
def test_rows_per_generator_context_and_prefix_reuse(settings, small_embedder):
    s = settings.with_(local_model="smollm2-135m-instruct", evidence_min_score=0.1, max_answer_tokens=48)
    ingest_articles(DOCS, s, small_embedder)
    questions = ["Did the central bank keep interest rates unchanged?", "Who won the match?"]
    rows = run_answer_benchmark(s, questions, ["evidence", "local"], ["evidence"], (True, False), log=lambda _: None)
    # the evidence generator has no prompt prefix: one row; the local model once with and once without re-use
    assert [(r["generator"], r["context"], r["prefix_cache"]) for r in rows] == [
        ("evidence", "evidence", True),
        ("local", "evidence", True),
        ("local", "evidence", False),
    ]
    for r in rows:
        assert r["questions"] == 2 and 0 < r["first_token_s_p50"] <= r["total_s_p50"] <= r["total_s_max"]
        assert r["cold_first_token_s"] <= r["cold_total_s"] and r["peak_rss_mb"] > 100
    assert rows[0]["prompt_tokens_avg"] == 0 and rows[1]["prompt_tokens_avg"] > 100
