"""Time-aware answers through the real chain (small model, real FAISS): as-of, windows, currency notes."""

import json
import os

import pytest

from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_qa
from rag.store import open_store
from rag.text.timeexpr import TimeExpressionError
from tests.cli.test_cli import run_rag
from tests.retrieve.test_recency import TOLLS


@pytest.fixture()
def qa(settings, small_embedder):
    ingest_articles(TOLLS, settings, small_embedder)
    store = open_store(settings, None)
    yield build_qa(settings, "evidence", store=store, encoder=small_embedder)
    store.close()


def test_dated_question_is_answered_from_that_day_and_says_so(qa):
    ans = qa.ask("What was the earthquake death toll on 16 March 2017?", as_of="2017-03-30")
    assert not ans.refused and "113" in ans.answer  # the date's numbers do not make the guard skip the report
    assert ans.sources_span == ("2017-03-16", "2017-03-16")
    out = ans.to_json()
    assert out["time"] == {
        "as_of": "2017-03-30",
        "window": ["2017-03-16", "2017-03-16"],
        "recency": False,
        "expression": "on 16 March 2017",
    }
    assert out["sources_span"] == ["2017-03-16", "2017-03-16"]


def test_latest_answer_names_its_newest_source(qa):
    ans = qa.ask("What is the latest earthquake death toll?", as_of="2017-03-18")
    assert not ans.refused and "113" in ans.answer
    assert any("newest cited source is from 2017-03-16" in n for n in ans.notes)


def test_relative_question_over_older_archive_says_so(qa):
    ans = qa.ask("What was the earthquake death toll yesterday?", as_of="2026-12-02")
    assert ans.refused and not ans.citations
    assert any("index ends on 2017-03-20" in n and "yesterday" in n for n in ans.notes)


def test_empty_window_refuses_with_the_window(qa):
    ans = qa.ask("Wie hoch war die Zahl der Toten im Januar 2017?", as_of="2017-03-30")
    assert ans.refused and any("2017-01-01 bis 2017-01-31" in n for n in ans.notes)


def test_bad_time_input_is_a_one_line_error(qa, settings):
    with pytest.raises(TimeExpressionError, match=r"31\. Februar 2017"):
        qa.ask("Was geschah am 31. Februar 2017?")
    with pytest.raises(TimeExpressionError, match="'2017-13-01'"):
        qa.ask("What is the toll?", as_of="2017-13-01")
    env = dict(os.environ, NEWSRAG_INDEXES_DIR=str(settings.indexes_dir), NEWSRAG_EMBED_MODEL=settings.embed_model)
    proc = run_rag(["ask", "toll?", "--index", settings.index, "--as-of", "soon", "-g", "evidence"], env)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "'soon' is not a date" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_search_timeline_and_json(qa, settings):
    env = dict(os.environ, NEWSRAG_INDEXES_DIR=str(settings.indexes_dir), NEWSRAG_EMBED_MODEL=settings.embed_model)
    args = ["search", "earthquake toll this month", "--index", settings.index, "--as-of", "2017-03-31", "--timeline"]
    proc = run_rag(args, env)
    assert proc.returncode == 0, proc.stderr
    days = [ln for ln in proc.stdout.splitlines() if ln[:4] == "2017" or ln == "undated"]
    assert days == ["2017-03-13", "2017-03-16", "2017-03-20", "undated"]
    proc = run_rag(["search", "earthquake toll on 13 March 2017", "--index", settings.index, "--json"], env)
    data = json.loads(proc.stdout)
    assert data["time"]["window"] == ["2017-03-13", "2017-03-13"]
    assert {p["article_id"] for p in data["passages"]} <= {"t1", "t3"}
