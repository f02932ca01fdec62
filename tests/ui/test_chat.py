"""The chat in a real browser (Debian chromium via playwright), through gradio_client, and its backend.

Uses EmbeddingGemma on a small index (the seed story + 30 10kGNAD articles) with the evidence
generator, so answers are fast and deterministic. Screenshots go to artifacts/ui/.
"""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.models.fetch import is_fetched
from rag.ui.app import build_app
from rag.ui.backend import ChatBackend, safe_name
from rag.ui.render import CSS
from tests.conftest import EMBED_CACHE, SEED, gnad_slice, needs_shared
from tests.ui.conftest import ARTIFACTS, free_port

pytestmark = [
    pytest.mark.slow,
    needs_shared,
    pytest.mark.skipif(not is_fetched(Settings(), "embeddinggemma-300m"), reason="run `rag models fetch`"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from rag.ingest.pipeline import ingest_paths

    tmp = tmp_path_factory.mktemp("ui")
    s = Settings(indexes_dir=tmp / "indexes", index="ui", embed_cache=EMBED_CACHE, generator="evidence")
    backend = ChatBackend(s, data_dir=tmp / "appdata")
    ingest_paths([SEED, gnad_slice(tmp / "g.csv", 30)], s, backend.encoder)
    backend._open()
    app = build_app(backend)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
    yield f"http://127.0.0.1:{port}/", backend, tmp
    app.close()


def test_safe_names():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\win.ini") == "win.ini"
    assert safe_name(".hidden") == "hidden"
    assert safe_name("Bericht über Wien (1).txt") == "Bericht_ber_Wien_1_.txt"


def test_api_endpoint_returns_documented_json(served):
    from gradio_client import Client

    url, _, _ = served
    client = Client(url, verbose=False)
    data = client.predict(
        "Wie viele nordkoreanische Soldaten sind in die Region Kursk verlegt worden?",
        "evidence",
        "",
        "",
        [],
        5,
        api_name="/ask",
    )
    assert set(data) >= {"question", "answer", "refused", "citations", "timings", "language", "generator"}
    assert not data["refused"] and data["citations"]
    assert "8000" in data["short_answer"], data
    c = data["citations"][0]
    assert c["quote"] and c["quote_end"] > c["quote_start"] and "Kursk" in c["quote"]


def test_upload_stays_inside_data_dir_and_reports_bad_files(served):
    _, backend, tmp = served
    good = tmp / "neu.txt"
    good.write_text(
        "Neue Seilbahn in Innsbruck\nDie neue Seilbahn auf die Nordkette in Innsbruck kostet 48 Millionen "
        "Euro und soll im Mai 2026 eröffnen.\n",
        encoding="utf-8",
    )
    bad = tmp / "kaputt.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    evil = tmp / "evil.exe"
    evil.write_bytes(b"MZ")
    rep = backend.add_files([good, bad, evil])
    assert any("kaputt.txt: binary file" in m for m in rep.messages), rep.messages
    assert any("evil.exe: unsupported file type" in m for m in rep.messages)
    assert "1 articles ingested" in rep.summary
    for f in backend.upload_dir.iterdir():
        assert f.resolve().parent == backend.upload_dir
    a = backend.ask("Wie viel kostet die neue Seilbahn in Innsbruck?", "evidence", None, 5)
    assert not a.refused and "48 Millionen" in a.answer


def test_browser_ask_open_source_upload(served, browser_page):
    url, _, tmp = served
    page = browser_page
    page.goto(url)
    page.locator("#question textarea").fill("Wer hat wem Unterstützung zugesagt?")
    page.locator("#ask").click()
    cite = page.locator("#chat a.cite").first
    cite.wait_for(timeout=120_000)
    strong = page.locator("#chat strong").first  # the short answer, in bold above its sentences
    assert strong.is_visible() and strong.inner_text().strip(), page.locator("#chat").inner_text()
    assert cite.inner_text() == "[1]"
    cite.click()
    mark = page.locator("#src-1 mark")
    mark.wait_for(timeout=10_000)
    assert mark.is_visible() and len(mark.inner_text()) > 20
    assert "Nordkorea" in page.locator("#src-1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)

    # add an article from the browser, then ask about it
    article = tmp / "seilbahn.txt"
    article.write_text(
        "Seilbahn am Arlberg\nDie neue Seilbahn am Arlberg befördert 3200 Personen pro Stunde.\n", encoding="utf-8"
    )
    broken = tmp / "broken.jsonl"
    broken.write_text('{"title": "x", "text": \n', encoding="utf-8")
    page.locator("#add-articles").click()
    page.locator("#upload input[type=file]").set_input_files([str(article), str(broken)])
    page.locator("#ingest").click()
    status = page.locator("#upload-status")
    status.get_by_text("articles ingested").wait_for(timeout=120_000)
    text = status.inner_text()
    assert "1 articles ingested" in text and "broken.jsonl line 1: not valid JSON" in text, text
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)

    # a question typed before "New conversation" stays in the box and is asked in the new one
    page.locator("#question textarea").fill("Wie viele Personen pro Stunde befördert die Seilbahn am Arlberg?")
    page.locator("#new-conversation").click()
    page.locator("#chat a.cite").first.wait_for(state="detached", timeout=30_000)  # the old answer is gone
    assert "Seilbahn" in page.locator("#question textarea").input_value()
    page.locator("#ask").click()
    try:
        page.locator("#chat a.cite").first.wait_for(timeout=120_000)
    except Exception as e:  # say what the chat showed instead of a bare timeout
        raise AssertionError(f"no cited answer; chat shows: {page.locator('#chat').inner_text()!r}") from e
    assert "3200" in page.locator("#chat").inner_text()
    assert "Arlberg" in page.locator("#src-1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "upload-answer.png"), full_page=True)
