"""Time-aware answers through the real chain (small model, real FAISS): as-of, windows, currency notes."""

import dataclasses
import json
import os

import pytest

from rag.answer.updates import Revision, Statement, earlier_sentence, find_revision, format_day
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


def test_revised_figure_answers_newest_and_names_the_earlier_with_its_date(qa):
    for q, as_of in (
        ("What was the earthquake death toll?", "2017-03-30"),
        ("What is the latest death toll?", "2017-03-18"),
    ):
        ans = qa.ask(q, as_of=as_of)
        assert not ans.refused and "113" in (ans.short_answer or ""), ans
        first, _, rest = ans.answer.partition("Earlier, on 13 March 2017:")
        assert "113" in first and "65" in rest and "65" not in first, ans.answer
        # both figures stay cited to their own source, and the verifier lets the restated date pass
        by_n = {c.n: c for c in ans.citations}
        assert not ans.unsupported_sentences, ans.unsupported_sentences
        newer = next(c for c in ans.citations if "113" in c.quote)
        older = next(c for c in ans.citations if "65" in c.quote)
        assert (newer.date, older.date) == ("2017-03-16", "2017-03-13") and f"[{older.n}]" in rest
        assert set(by_n) == {newer.n, older.n}


def test_no_revision_before_the_newer_report_or_on_a_dated_day(qa):
    # as of 14 March the 113 of the 16th is not news yet: the "latest" is 65, with no earlier figure
    ans = qa.ask("What is the latest earthquake death toll?", as_of="2017-03-14")
    assert "65" in ans.answer and "113" not in ans.answer and "Earlier" not in ans.answer, ans.answer
    # a question about one day is answered from that day only
    ans = qa.ask("What was the earthquake death toll on 13 March 2017?", as_of="2017-03-30")
    assert "65" in ans.answer and "Earlier" not in ans.answer, ans.answer


def test_revision_rules_on_real_vectors(small_embedder):
    texts = [
        "Das Erdbeben in Italien forderte 65 Tote.",  # 0: 13 March
        "Das Erdbeben in Italien forderte 113 Tote.",  # 1: 16 March
        "Das Erdbeben in Italien forderte 90 Tote.",  # 2: 15 March
        "Das Erdbeben in Chile forderte 12 Tote.",  # 3: another place, the same words otherwise
        "Die Regierung versprach 65 Millionen Euro Hilfe.",  # 4: another thing
    ]
    vecs = small_embedder.encode_documents(texts)
    days = ["2017-03-13", "2017-03-16", "2017-03-15", "2017-03-17", "2017-03-12"]
    st = [Statement(t, v, d, f"a{i}", "de") for i, (t, v, d) in enumerate(zip(texts, vecs, days, strict=True))]
    # the newest report answers; the earlier one named is the one it revises (the 15th), not the oldest
    assert find_revision(0, st, "2017-03-30") == Revision(newest=1, earlier=2)
    # as of the 15th, the 16th is not news yet
    assert find_revision(0, st, "2017-03-15") == Revision(newest=2, earlier=0)
    # another place, another thing, or the same article are no revision
    assert find_revision(3, st, "2017-03-30") == Revision(3, None)
    assert find_revision(4, st, "2017-03-30") == Revision(4, None)
    same_article = [dataclasses.replace(s, article_id="one") for s in st[:2]]
    assert find_revision(0, same_article, "2017-03-30") == Revision(0, None)
    assert earlier_sentence("Das Erdbeben forderte 65 Tote.", "2017-03-13", 2, "de") == (
        "Zuvor, am 13. März 2017: „Das Erdbeben forderte 65 Tote“ [2]"
    )
    assert format_day("2017-03-13", "en") == "13 March 2017" and format_day("2017-03-13", "fr") == "2017-03-13"
