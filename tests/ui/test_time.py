"""The chat's time handling without a browser: the /ask API's as_of argument and the answer's time lines."""

from rag.ingest.pipeline import ingest_articles
from rag.ui.app import make_api
from rag.ui.backend import ChatBackend
from rag.ui.render import answer_markdown
from tests.retrieve.test_recency import TOLLS


def test_api_as_of_and_time_shown_next_to_the_answer(settings, small_embedder, tmp_path):
    ingest_articles(TOLLS, settings, small_embedder)
    backend = ChatBackend(settings, data_dir=tmp_path / "app")
    api = make_api(backend)
    out = api("What was the earthquake death toll on 16 March 2017?", "evidence", "", "", None, 4, "2017-03-30")
    assert out["time"]["window"] == ["2017-03-16", "2017-03-16"] and out["time"]["as_of"] == "2017-03-30"
    assert out["sources_span"] == ["2017-03-16", "2017-03-16"] and "113" in out["answer"]
    assert "not a date" in api("toll?", "evidence", as_of="next week")["error"]
    answer = backend.ask("What is the latest earthquake death toll?", "evidence", None, 4, "2017-03-18")
    md = answer_markdown(answer)
    assert "newest first, as of 2017-03-18" in md and "*sources dated* 2017-03-13 … 2017-03-16" in md
