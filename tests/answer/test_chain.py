"""The answer chain on each store with the small model (the acceptance questions are in test_acceptance)."""

from rag.ingest.pipeline import ingest_articles, model_info
from rag.pipeline import build_qa
from rag.store import open_store
from tests.conftest import DOCS


def test_evidence_answer_is_cited_on_each_store(store_settings, small_embedder):
    s = store_settings.with_(generator="evidence", evidence_min_score=0.1)
    ingest_articles(DOCS, s, small_embedder)
    with open_store(s, model_info(small_embedder)) as idx:
        qa = build_qa(s, "evidence", store=idx, encoder=small_embedder)
        a = qa.ask("Did the central bank keep interest rates unchanged?")
    assert not a.refused, a
    assert a.citations and a.citations[0].article_id == "bank"
    assert "[1]" in a.answer
    c = a.citations[0]
    assert c.passage_start <= c.quote_start < c.quote_end <= c.passage_end
