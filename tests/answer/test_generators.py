"""Generators: the JSON reply format, streaming what is known, and the fallback when a reply is unreadable.

The model tests use the real small GGUF (SmolLM2-135M) through llama.cpp with its JSON-schema grammar,
and the real chain on a small MiniLM index.
"""

import pytest

from rag.answer.generators import _partial_view, parse_reply, render
from rag.config import Settings
from rag.ingest.pipeline import ingest_articles
from rag.models.fetch import is_fetched
from rag.pipeline import build_qa
from rag.records import Answer
from rag.store import open_store
from tests.conftest import DOCS

smollm = pytest.mark.skipif(
    not is_fetched(Settings(), "smollm2-135m-instruct"), reason="run `rag models fetch smollm2-135m-instruct`"
)


def test_parse_reply_and_render():
    sentence = '{"text": "Nordkorea sicherte Russland Unterstützung zu.", "cites": [1, 1]}'
    raw = '{"answer": "Nordkorea", "sentences": [' + sentence + "]}"
    short, claims = parse_reply(raw)
    assert short == "Nordkorea" and claims == [("Nordkorea sicherte Russland Unterstützung zu.", [1, 1])]
    assert render(claims) == "Nordkorea sicherte Russland Unterstützung zu [1]."
    assert parse_reply('{"answer": null, "sentences": []}') == (None, [])
    assert parse_reply("Dazu enthalten die Quellen keine Angaben.") is None
    assert parse_reply('{"answer": "x", "sentences": [{"text": "cut') is None


def test_partial_view_shows_the_short_answer_first():
    assert _partial_view('{"answer": "Nordk') == "Nordk"
    view = _partial_view('{"answer": "Nordkorea", "sentences": [{"text": "Nordkorea sicherte')
    assert view == "Nordkorea\n\nNordkorea sicherte"


@pytest.fixture()
def small_index(settings, small_embedder):
    s = settings.with_(local_model="smollm2-135m-instruct", evidence_min_score=0.1)
    ingest_articles(DOCS, s, small_embedder)
    with open_store(s) as idx:
        yield s, idx


@smollm
def test_local_model_answers_in_the_schema_under_a_grammar(small_index, small_embedder):
    s, idx = small_index
    qa = build_qa(s.with_(grammar="always"), "local", store=idx, encoder=small_embedder)
    pieces = list(qa.stream("Did the central bank keep interest rates unchanged?"))
    answer = pieces[-1]
    assert isinstance(answer, Answer) and answer.notes == [], answer.notes
    assert pieces[:-1], "the draft streams before the verified answer"


@smollm
def test_a_reply_unreadable_without_the_grammar_is_retried_under_it(small_index, small_embedder):
    """The tiny model rarely writes valid JSON from the prompt alone; the retry under the grammar does."""
    s, idx = small_index
    qa = build_qa(s.with_(grammar="retry"), "local", store=idx, encoder=small_embedder)
    a = qa.ask("Did the central bank keep interest rates unchanged?")
    assert not any("evidence-only" in n for n in a.notes), a.notes
    assert all(n.startswith("attempt 1") for n in a.notes), a.notes


@smollm
def test_unreadable_reply_falls_back_to_evidence_with_a_note(small_index, small_embedder):
    s, idx = small_index
    # two (then four) tokens cannot hold a JSON answer: both attempts are cut off, the evidence generator answers
    qa = build_qa(s.with_(max_answer_tokens=16), "local", store=idx, encoder=small_embedder)
    qa.generator.max_tokens = 2
    a = qa.ask("Did the central bank keep interest rates unchanged?")
    assert any("answered evidence-only" in n for n in a.notes), a.notes
    assert not a.refused and a.citations[0].article_id == "bank"


def test_empty_and_overlong_questions(small_index, small_embedder):
    from rag.errors import NewsragError

    s, idx = small_index
    qa = build_qa(s, "evidence", store=idx, encoder=small_embedder)
    with pytest.raises(NewsragError, match="question is empty"):
        qa.ask("   ")
    a = qa.ask("Did the central bank keep interest rates unchanged? " + "x" * 2500)
    assert any("cut to its first 2000" in n for n in a.notes) and len(a.standalone_question) == 2000


def _replying(text: str):
    """A LangChain chat model that always gives ``text`` (the reply under test, not a model)."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    return FakeListChatModel(responses=[text] * 10)


@pytest.mark.parametrize(
    "reply",
    [
        '{"answer": null, "sentences": []}',  # the model refuses
        '{"answer": "2 Prozent", "sentences": [{"text": "The bank raised rates to 2 percent.", "cites": [1]}]}',
    ],  # ...or says something its source does not, which the verifier removes
)
def test_a_refusal_over_sure_evidence_is_answered_from_the_evidence_with_a_note(small_index, small_embedder, reply):
    s, idx = small_index
    q = "Did the central bank keep interest rates unchanged?"
    sure = build_qa(
        s.with_(evidence_sure_score=0.2), "endpoint", store=idx, encoder=small_embedder, chat_model=_replying(reply)
    )
    a = sure.ask(q)
    assert not a.refused and a.citations[0].article_id == "bank", a
    assert any("gave no supported answer" in n for n in a.notes), a.notes
    # not sure enough (scores reach about 1.4 at most) or switched off: the refusal stands
    for settings in (s.with_(evidence_sure_score=9.0), s.with_(evidence_sure_score=0.2, rescue_refusals=False)):
        qa = build_qa(settings, "endpoint", store=idx, encoder=small_embedder, chat_model=_replying(reply))
        a = qa.ask(q)
        assert a.refused and a.notes == [], a
