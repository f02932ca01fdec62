"""The evidence generator: no LLM, the best supporting source sentence(s) with their [n], or a refusal."""

from __future__ import annotations

from collections.abc import Sequence

from rag.records import Passage
from rag.text.language import refusal_text
from rag.text.lexical import analyze
from rag.text.mentions import numbers
from rag.text.sentences import sentence_spans
from rag.types import Encoder


class EvidenceAnswerer:
    """No LLM: answers with the best supporting source sentence(s) and their [n], or refuses.

    Each sentence of the retrieved passages is scored by half its own embedding similarity to the
    question, half its passage's, plus 0.3 × the share of the question's content words it contains
    (overlap at sentence level); a source lacking a number the question asks about is skipped.
    Below ``min_score`` the answer is a refusal. The threshold is per embedding model
    (``ModelSpec.evidence_min_score``): EmbeddingGemma's 0.32 comes from `eval/calibrate.py` on
    news_de: it answers 98.8 % of the answerable questions (vague ones like "Who pledged support to
    whom?" score only 0.35) but refuses only 43 % of the unanswerable ones; 0.70 would refuse 71 %
    and answer 94 % (NEWSRAG_EVIDENCE_MIN_SCORE overrides it).
    """

    def __init__(self, encoder: Encoder, min_score: float = 0.32, max_sentences: int = 2) -> None:
        self.encoder = encoder
        self.min_score = min_score
        self.max_sentences = max_sentences

    def score_sentences(
        self, question: str, passages: Sequence[Passage], language: str
    ) -> list[tuple[float, int, str]]:
        items: list[tuple[int, str]] = []
        for n, p in enumerate(passages, 1):
            for s, e in sentence_spans(p.text, p.language):
                items.append((n, p.text[s:e]))
        if not items:
            return []
        q = self.encoder.encode_queries([question])[0]
        docs = self.encoder.encode_documents(
            [self.encoder.format_document(passages[n - 1].headline, t) for n, t in items]
        )
        sims = docs @ q
        # how well the whole passage matches, from the first stage (or computed when BM25 alone found it)
        chunk_sim: dict[int, float] = {}
        for n, p in enumerate(passages, 1):
            if "dense" in p.scores:
                chunk_sim[n] = p.scores["dense"]
        missing = [n for n in range(1, len(passages) + 1) if n not in chunk_sim]
        if missing:
            vecs = self.encoder.encode_documents(
                [self.encoder.format_document(passages[n - 1].headline, passages[n - 1].text) for n in missing]
            )
            chunk_sim.update(zip(missing, (float(x) for x in vecs @ q), strict=True))
        q_terms = set(analyze(question, language))
        q_numbers = numbers(question)
        scored = []
        for (n, text), sim in zip(items, sims, strict=True):
            p = passages[n - 1]
            if q_numbers - numbers(p.headline + " " + p.text):
                continue  # a year or figure the question asks about is not in this source at all
            terms = set(analyze(text, passages[n - 1].language))
            overlap = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
            scored.append((0.5 * float(sim) + 0.5 * chunk_sim[n] + 0.3 * overlap, n, text))
        return sorted(scored, key=lambda x: -x[0])

    def answer(self, question: str, passages: Sequence[Passage], language: str) -> str:
        scored = self.score_sentences(question, passages, language)
        if not scored or scored[0][0] < self.min_score:
            return refusal_text(language)
        top = scored[0][0]
        chosen = [x for x in scored[: self.max_sentences] if x[0] >= max(self.min_score, top - 0.08)]
        parts = []
        for _, n, text in chosen:
            text = text.strip()
            src_lang = (passages[n - 1].language or language)[:2]
            if src_lang != language[:2]:
                intro = {"en": "The source says", "de": "Die Quelle schreibt", "fr": "La source indique"}.get(
                    language[:2], "The source says"
                )
                parts.append(f'{intro}: "{text}" [{n}]')
            else:
                end = len(text.rstrip(".!?…"))
                parts.append(f"{text[:end]} [{n}]{text[end:] or '.'}")
        return " ".join(parts)
