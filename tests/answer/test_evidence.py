"""Evidence first: stored sentence vectors, sentence scores, the chosen evidence and its budget."""

import itertools

import numpy as np

from rag.answer.evidence import EvidenceAnswer, EvidenceAnswerer, SentenceSource, score_sentences, select_evidence
from rag.ingest.pipeline import ingest_articles
from rag.records import Article
from rag.store import open_store
from rag.text.language import refusal_text

BODY = (
    "Der Gemeinderat von Linz hat am Dienstag den Bau eines neuen Hallenbads beschlossen. "
    "Die Kosten betragen laut Bürgermeister Klaus Luger 24 Millionen Euro. "
    "Eröffnet werden soll das Bad im Herbst 2025. "
    "Die Opposition kritisierte die Pläne als zu teuer. "
    "Das alte Bad wird abgerissen."
)


def test_stored_sentences_match_embedding_them_now(store_settings, small_embedder):
    art = Article(id="bad", headline="Neues Hallenbad", body=BODY, language="de", outlet="Kurier", date="2023-05-02")
    ingest_articles([art], store_settings.with_(chunk_tokens=30, chunk_overlap=0), small_embedder)
    with open_store(store_settings) as idx:
        from rag.retrieve.search import HybridSearch

        passages = HybridSearch(idx, small_embedder).run("Wie viel kostet das Hallenbad?", k=3)
        stored = SentenceSource(small_embedder, idx).for_passages(passages)
        fresh = SentenceSource(small_embedder, None).for_passages(passages)
        for p, a, b in zip(passages, stored, fresh, strict=True):
            inside = [s for s in a if s.inside]
            assert [s.text for s in inside] == [s.text for s in b]
            for s in a:  # exact article offsets, neighbours included
                assert BODY[s.start : s.end] == s.text
            for x, y in zip(inside, b, strict=True):
                assert float(x.vector @ y.vector) > 0.999  # float16 storage changes nothing that matters
            assert any(not s.inside for s in a) or len(a) == len(inside)
            assert all(p.start <= s.start and s.end <= p.end for s in inside)


POOL = (
    "The city council of Linz approved a new indoor swimming pool on Tuesday. "
    "Mayor Klaus Luger said it will cost 24 million euros. "
    "The pool is due to open in autumn 2025. "
    "The opposition criticised the plans as too expensive. "
    "The old baths will be demolished."
)


def test_evidence_selection_keeps_the_best_sentence_with_its_neighbour(settings, small_embedder):
    art = Article(id="pool", headline="New pool", body=POOL, language="en", outlet="Kurier", date="2023-05-02")
    s = settings.with_(chunk_tokens=200)
    ingest_articles([art], s, small_embedder)
    with open_store(s) as idx:
        from rag.retrieve.search import HybridSearch

        search = HybridSearch(idx, small_embedder)
        q = "How much will the new swimming pool cost?"
        found = search.search(q, k=2)
        groups = SentenceSource(small_embedder, idx).for_passages(found.passages)
        ranked = score_sentences(q, "en", found.vector, found.passages, groups)
        assert ranked[0].sentence.text.startswith("Mayor Klaus Luger said it will cost")
        assert all(a.score >= b.score for a, b in itertools.pairwise(ranked))
        ev = select_evidence(found.passages, groups, ranked, budget_tokens=60, encoding=s.tokenizer, max_sentences=1)
        assert ev.text.startswith("[1] New pool (Kurier, 2023-05-02)\n")
        # the best sentence and the one before it (what "it" is), nothing else within 60 tokens
        assert "24 million euros" in ev.text and "approved a new indoor swimming pool" in ev.text
        assert "demolished" not in ev.text
        assert len(ev.passages) == 1 and ev.ranked[0].sentence.passage == 0
        assert np.isclose(np.linalg.norm(ranked[0].sentence.vector), 1.0, atol=1e-2)


def test_a_question_in_another_language_than_its_source_gets_the_cross_lingual_threshold(settings, small_embedder):
    art = Article(id="pool", headline="New pool", body=POOL, language="en", outlet="Kurier", date="2023-05-02")
    s = settings.with_(chunk_tokens=200)
    ingest_articles([art], s, small_embedder)
    with open_store(s) as idx:
        from rag.retrieve.search import HybridSearch

        q = "How much will the new swimming pool cost?"
        found = HybridSearch(idx, small_embedder).search(q, k=2)
        groups = SentenceSource(small_embedder, idx).for_passages(found.passages)
        ranked = score_sentences(q, "en", found.vector, found.passages, groups)
        ev = select_evidence(found.passages, groups, ranked, budget_tokens=200, encoding=s.tokenizer)
        top = ev.ranked[0].score
        # a threshold just above the best score refuses a same-language question...
        strict = EvidenceAnswerer(min_score=top + 0.01, cross_min_score=top - 0.01)
        assert strict.threshold(ev, "en") == top + 0.01
        assert strict.answer(q, ev, "en") == EvidenceAnswer(refusal_text("en"), None)
        # ...while a German question over this English source is held to the cross-lingual one
        assert strict.threshold(ev, "de") == top - 0.01
        de = strict.answer("Wie viel kostet das neue Hallenbad?", ev, "de")
        assert "24 million euros" in de.text and de.text.startswith('Die Quelle schreibt: "')
        assert EvidenceAnswerer(min_score=0.3).threshold(ev, "de") == 0.3  # default: the same threshold
