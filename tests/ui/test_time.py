"""The chat's time handling: the /ask API's as_of, the time lines, the timeline (also in a real browser)."""

from rag.ingest.pipeline import ingest_articles
from rag.records import Answer, SourceRef
from rag.ui.app import build_app, make_api
from rag.ui.backend import ChatBackend
from rag.ui.render import CSS, answer_markdown, timeline_html
from tests.retrieve.test_recency import TOLLS
from tests.ui.conftest import ARTIFACTS, free_port


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


def test_timeline_places_retrieved_articles_by_day_and_links_the_cited(settings, small_embedder, tmp_path):
    ingest_articles(TOLLS, settings, small_embedder)
    backend = ChatBackend(settings, data_dir=tmp_path / "app")
    answer = backend.ask("What is the latest earthquake death toll?", "evidence", None, 4, "2017-03-18")
    by_id = {r.article_id: r for r in answer.retrieved}
    # everything retrieval returned is there (t4 is dated after as-of, so it was never a candidate)
    assert {"t1", "t2", "t3"} <= set(by_id) and "t4" not in by_id
    cited = {c.article_id: c.n for c in answer.citations}
    assert all(by_id[a].cited == (n,) for a, n in cited.items()) and cited
    html = timeline_html(answer)
    # days oldest first on the axis and in the list, the undated article listed last
    assert html.index("data-day='2017-03-13'") < html.index("data-day='2017-03-16'") < html.index("data-day='undated'")
    assert "left:0.0%" in html and "left:100.0%" in html
    for n in cited.values():
        assert f"href='#src-{n}'" in html
    assert answer.to_json()["retrieved"][0].keys() == {"article_id", "headline", "outlet", "date", "cited"}


def test_timeline_escapes_article_text_and_skips_undated_archives():
    hostile = SourceRef("x", "<img src=x onerror=alert(1)>", "O'Reilly <b>", "2017-03-01", (1,))
    answer = Answer("q", "q", "a [1]", False, "en", "evidence", retrieved=[hostile])
    html = timeline_html(answer)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "O&#x27;Reilly &lt;b&gt;" in html
    undated = Answer("q", "q", "a", False, "en", "evidence", retrieved=[SourceRef("y", "h", None, None)])
    assert timeline_html(undated) == ""


def test_browser_timeline_click_opens_the_cited_card(settings, small_embedder, tmp_path, browser_page):
    ingest_articles(TOLLS, settings, small_embedder)
    backend = ChatBackend(settings, data_dir=tmp_path / "app")
    app = build_app(backend)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
    try:
        page = browser_page
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Search options").click()
        page.locator("#as-of textarea, #as-of input").first.fill("2017-03-18")
        page.locator("#question textarea").fill("What is the latest earthquake death toll?")
        page.locator("#ask").click()
        timeline = page.locator("#timeline")
        timeline.wait_for(timeout=60_000)
        days = [d.get_attribute("data-day") for d in timeline.locator(".tl-day").all()]
        assert days == ["2017-03-13", "2017-03-16"], days
        assert "undated" in timeline.locator(".tl-days").inner_text()
        # the dots sit left to right in date order on the drawn axis
        x13, x16 = (timeline.locator(f".tl-day[data-day='{d}']").bounding_box()["x"] for d in days)
        assert x13 < x16
        dot = timeline.locator(".tl-dot.cited").first
        n = dot.inner_text().strip()
        dot.click()
        card = page.locator(f"#src-{n}")
        assert card.is_visible() and "toll" in card.inner_text()
        page.screenshot(path=str(ARTIFACTS / "timeline.png"), full_page=True)
    finally:
        app.close()
