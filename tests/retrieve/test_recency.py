"""Retrieval with time, on both stores with the real small model: windows filter, 'latest' re-ranks."""

from datetime import date

from rag.ingest.pipeline import ingest_articles
from rag.records import Article, Passage, SearchFilters, TimeScope
from rag.retrieve.recency import date_span, order_by_time, time_filters
from rag.retrieve.search import HybridSearch, RetrievalConfig
from rag.store import open_store
from rag.text.timeexpr import parse_time

TOLLS = [
    Article(
        id="t1",
        headline="Quake toll",
        body="The earthquake death toll rose to 65, officials said.",
        outlet="Gazette",
        date="2017-03-13",
        language="en",
    ),
    Article(
        id="t2",
        headline="Quake toll revised",
        body="The earthquake death toll rose to 113, officials said.",
        outlet="Courier",
        date="2017-03-16",
        language="en",
    ),
    Article(
        id="t3",
        headline="Quake aid",
        body="Aid for the earthquake region arrived, officials said.",
        outlet="Herald",
        date=None,
        language="en",
    ),
    Article(
        id="t4",
        headline="Quake memorial",
        body="A memorial for the earthquake victims was held, officials said.",
        outlet="Herald",
        date="2017-03-20",
        language="en",
    ),
]


def _engine(store_settings, small_embedder):
    ingest_articles(TOLLS, store_settings, small_embedder)
    store = open_store(store_settings, None)
    return store, HybridSearch(store, small_embedder, RetrievalConfig(k=4, fetch_k=4))


def test_window_filters_keeps_undated_last_and_as_of_caps(store_settings, small_embedder):
    store, engine = _engine(store_settings, small_embedder)
    with store:
        when = parse_time("What was the earthquake death toll on 13 March 2017?", date(2017, 3, 30))
        got = engine.search("What was the earthquake death toll on 13 March 2017?", when=when).passages
        # 13 March plus one day of tolerance: t1; the undated article is kept, after the dated ones
        assert [p.article_id for p in got] == ["t1", "t3"]
        # "this week" asked on Friday 17 March: Monday 13th to that day; the 20th does not exist yet
        when = parse_time("earthquake news this week", date(2017, 3, 17))
        got = engine.search("earthquake news this week", when=when).passages
        assert {p.article_id for p in got} == {"t1", "t2", "t3"} and got[-1].date is None


def test_latest_ranks_newest_first(store_settings, small_embedder):
    store, engine = _engine(store_settings, small_embedder)
    with store:
        q = "What is the latest earthquake death toll?"
        when = parse_time(q, date(2017, 3, 18))
        assert when.recency and when.window is None
        got = engine.search(q, when=when).passages
        dated = [p for p in got if p.date]
        assert dated[0].article_id == "t2"  # the newest report on or before as-of, though t1 says the same
        assert "t4" not in {p.article_id for p in got}  # dated after as-of
        plain = engine.search("What is the earthquake death toll?").passages  # no time words: untouched
        assert len(plain) == 4


def test_time_filters_intersect_user_filters():
    scope = TimeScope(as_of="2017-03-30", window=("2017-03-01", "2017-03-31"))
    f = time_filters(SearchFilters(since="2017-03-10", outlets=("bbc",)), scope, 1)
    assert f is not None and (f.since, f.until, f.outlets, f.undated) == ("2017-03-10", "2017-03-30", ("bbc",), True)
    assert time_filters(None, TimeScope(as_of="2017-03-30"), 1) is None  # no time words: no filter


def test_order_by_time_counts_age_from_newest_candidate():
    def p(aid, d, score):
        return Passage(0, aid, "t", 0, 1, "h", None, d, None, "en", "s", score=score)

    scope = TimeScope(as_of="2026-12-02", recency=True, expression="latest")
    # an archive asked about years later: the newest of its reports still comes first; an undated one
    # counts as one half-life old, and with a window it goes after every dated one
    got = order_by_time([p("old", "2017-03-01", 1.0), p("new", "2017-03-20", 0.9), p("nodate", None, 1.5)], scope, 7)
    assert [x.article_id for x in got] == ["new", "nodate", "old"]
    windowed = TimeScope(as_of="2026-12-02", window=("2017-03-01", "2017-03-31"))
    got = order_by_time([p("nodate", None, 5.0), p("old", "2017-03-01", 1.0)], windowed, 7)
    assert [x.article_id for x in got] == ["old", "nodate"]
    assert date_span(["2017-03-20", None, "2017-03-01"]) == ("2017-03-01", "2017-03-20")
