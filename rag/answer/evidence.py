"""Evidence first: the sentences of the retrieved passages that answer the question, scored and chosen.

Every sentence of the retrieved passages is scored against the question: half its own similarity
to the question (the query vector retrieval computed, against the sentence vector stored at
ingest), half its passage's, plus 0.3 × the share of the question's content words it contains
(stemmed), plus 0.1 when the sentence holds what a number, date or place question asks for
(:mod:`rag.answer.spans`). A source lacking a number the question asks about is skipped (a year counts when it is
the article's own year: reports rarely print it). From the best sentences, each with the sentence
before it (for pronouns), grouped by source and headed by headline, outlet and date, the
generator's context is built within a small token budget (``evidence_tokens``); the same scored
sentences, with their vectors, are what the verifier checks claims against, so no source sentence
is embedded twice.

The evidence generator (:class:`EvidenceAnswerer`) answers from these scores alone: the short
answer span of the best sentence (:mod:`rag.answer.spans`) and the best sentence(s) cited, or a
refusal below ``min_score`` or when a question asking for a number, date or place finds none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.spans import candidates, question_type, short_answer, typed_candidate_missing
from rag.answer.updates import Statement, earlier_sentence, find_revision
from rag.records import Passage
from rag.store.base import NewsStore
from rag.text.language import refusal_text
from rag.text.lexical import analyze
from rag.text.mentions import numbers
from rag.text.sentences import sentence_spans
from rag.text.tokens import count_tokens
from rag.types import Encoder

_CACHE_SIZE = 20_000
TYPE_BONUS = 0.1
TYPE_BONUS_KINDS = ("number", "date", "place")


@dataclass(frozen=True)
class SourceSentence:
    """A sentence of a retrieved passage (or its article neighbour) with its vector and article offsets."""

    passage: int  # index of its passage in the list it was read for
    seq: int  # position in its article (or in the passage when the index stores no sentences)
    start: int
    end: int
    text: str
    vector: np.ndarray
    inside: bool = True  # False: a neighbour from the article, outside the retrieved passage


@dataclass(frozen=True)
class ScoredSentence:
    sentence: SourceSentence
    score: float
    similarity: float
    overlap: float


class SentenceSource:
    """The sentences (with vectors) of passages: stored at ingest, else embedded now and remembered.

    :param encoder: embeds sentences the index does not store (an index built before sentence vectors).
    :param store: where stored sentences come from (None: always embed).
    """

    def __init__(self, encoder: Encoder, store: NewsStore | None = None) -> None:
        self.encoder = encoder
        self.store = store
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def for_passages(self, passages: Sequence[Passage]) -> list[list[SourceSentence]]:
        """Per passage: its sentences in order, with one neighbour of the article on each side."""
        stored = self.store.sentences([p.article_id for p in passages]) if self.store is not None else {}
        out: list[list[SourceSentence]] = []
        missing: list[tuple[int, Passage]] = []
        for i, p in enumerate(passages):
            rows = stored.get(p.article_id, [])
            inside = [k for k, r in enumerate(rows) if r.start < p.end and r.end > p.start]
            if not inside:
                out.append([])
                missing.append((i, p))
                continue
            lo, hi = max(0, inside[0] - 1), min(len(rows) - 1, inside[-1] + 1)
            within = set(inside)
            out.append(
                [
                    SourceSentence(i, r.seq, r.start, r.end, r.text, r.vector, k in within)
                    for k, r in enumerate(rows[lo : hi + 1], start=lo)
                ]
            )
        for i, p in missing:
            out[i] = self._embedded(i, p)
        return out

    def _embedded(self, i: int, p: Passage) -> list[SourceSentence]:
        spans = sentence_spans(p.text, p.language)
        texts = [self.encoder.format_document(p.headline, p.text[s:e]) for s, e in spans]
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            vecs = self.encoder.encode_documents(todo)
            with self._lock:
                self._cache.update(zip(todo, vecs, strict=True))
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            vectors = [self._cache[t] for t in texts]
        return [
            SourceSentence(i, k, p.start + s, p.start + e, p.text[s:e], v)
            for k, ((s, e), v) in enumerate(zip(spans, vectors, strict=True))
        ]


def _year_of(p: Passage) -> set[str]:
    """The year, month and day of the passage's own date: a question's date is rarely printed in the report."""
    if not p.date or len(p.date) < 4:
        return set()
    parts = p.date[:10].split("-")
    return {parts[0], *(str(int(x)) for x in parts[1:] if x.isdigit())}


def score_sentences(
    question: str,
    language: str,
    query_vector: np.ndarray,
    passages: Sequence[Passage],
    sentences: Sequence[Sequence[SourceSentence]],
) -> list[ScoredSentence]:
    """The sentences inside the passages, scored against the question (best first); see the module doc."""
    q_terms = set(analyze(question, language))
    q_numbers = numbers(question)
    typed = question_type(question) in TYPE_BONUS_KINDS
    out: list[ScoredSentence] = []
    for p, group in zip(passages, sentences, strict=True):
        inside = [s for s in group if s.inside]
        if not inside:
            continue
        if q_numbers - numbers(p.headline + " " + p.text) - _year_of(p):
            continue  # a figure the question asks about is not in this source at all
        sims = np.stack([s.vector for s in inside]) @ np.asarray(query_vector, dtype=np.float32)
        chunk_sim = float(p.scores["dense"]) if "dense" in p.scores else float(np.max(sims))
        for s, sim in zip(inside, sims, strict=True):
            terms = set(analyze(s.text, p.language))
            overlap = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
            score = 0.5 * float(sim) + 0.5 * chunk_sim + 0.3 * overlap
            if typed and candidates(question, s.text, p.language)[1]:
                score += TYPE_BONUS  # it holds what the question asks for: a number, a date, a place
            out.append(ScoredSentence(s, score, float(sim), overlap))
    return sorted(out, key=lambda x: -x.score)


RECENCY_WEIGHT = 0.2


def newest_first(ranked: Sequence[ScoredSentence], passages: Sequence[Passage]) -> list[ScoredSentence]:
    """For a question about the latest state: sentences of newer sources first among close scores.

    The order (not the score, which the refusal threshold reads) moves by up to ``RECENCY_WEIGHT``
    times a source's age decay (``Passage.scores["recency"]``, set by retrieval): of two reports
    saying the same thing, the newer one answers ("113 dead", not the earlier "65").
    """

    def key(r: ScoredSentence) -> float:
        decay = passages[r.sentence.passage].scores.get("recency", 1.0)
        return -(r.score - RECENCY_WEIGHT * (1.0 - decay))

    return sorted(ranked, key=key)


@dataclass
class Evidence:
    """What the generator answers from: the sources used (numbered 1..n), their sentences, the prompt text.

    ``ranked`` refers to sentences by their ``passage`` index into ``passages``.
    """

    passages: list[Passage]
    sentences: list[list[SourceSentence]]
    ranked: list[ScoredSentence]
    text: str
    query_vector: np.ndarray | None = None  # the question as retrieval embedded it (query prompt)
    as_of: str | None = None  # the day the question is asked from (ISO): later reports are not news yet


def _header(n: int, p: Passage) -> str:
    meta = ", ".join(x for x in (p.outlet, p.date) if x)
    return f"[{n}] {p.headline}" + (f" ({meta})" if meta else "")


def _renumbered(
    passages: Sequence[Passage],
    sentences: Sequence[Sequence[SourceSentence]],
    ranked: Sequence[ScoredSentence],
    order: list[int],
) -> tuple[list[Passage], list[list[SourceSentence]], list[ScoredSentence]]:
    """Keep the passages in ``order`` (old indices), numbered by their new position."""
    new = {old: i for i, old in enumerate(order)}

    def moved(s: SourceSentence) -> SourceSentence:
        return SourceSentence(new[s.passage], s.seq, s.start, s.end, s.text, s.vector, s.inside)

    return (
        [passages[i] for i in order],
        [[moved(s) for s in sentences[i]] for i in order],
        [
            ScoredSentence(moved(r.sentence), r.score, r.similarity, r.overlap)
            for r in ranked
            if r.sentence.passage in new
        ],
    )


def select_evidence(
    passages: Sequence[Passage],
    sentences: Sequence[Sequence[SourceSentence]],
    ranked: Sequence[ScoredSentence],
    budget_tokens: int,
    encoding: str,
    max_sentences: int = 6,
) -> Evidence:
    """The best sentences, each with the one before it, grouped by source, within ``budget_tokens``."""
    chosen: dict[int, set[int]] = {}  # passage index -> positions in its sentence list
    total = 0
    for r in ranked[:max_sentences]:
        group = sentences[r.sentence.passage]
        k = next(i for i, s in enumerate(group) if s.start == r.sentence.start)
        picks = {k - 1, k} if k > 0 else {k}
        new = picks - chosen.get(r.sentence.passage, set())
        cost = sum(count_tokens(group[i].text, encoding) for i in new)
        if r.sentence.passage not in chosen:
            cost += count_tokens(_header(1, passages[r.sentence.passage]), encoding)
        if chosen and total + cost > budget_tokens:
            break
        chosen.setdefault(r.sentence.passage, set()).update(picks)
        total += cost
    order = list(chosen)  # sources in the order of their best sentence
    used, used_sentences, used_ranked = _renumbered(passages, sentences, ranked, order)
    blocks = []
    for n, old in enumerate(order, 1):
        group = sentences[old]
        body = " ".join(group[i].text for i in sorted(chosen[old]))
        blocks.append(f"{_header(n, passages[old])}\n{body}")
    return Evidence(used, used_sentences, used_ranked, "\n\n".join(blocks))


def passage_context(
    passages: Sequence[Passage],
    sentences: Sequence[Sequence[SourceSentence]],
    ranked: Sequence[ScoredSentence],
    budget_tokens: int,
    encoding: str,
) -> Evidence:
    """The whole passages as numbered sources within ``budget_tokens`` (the context before evidence-first)."""
    blocks: list[str] = []
    order: list[int] = []
    total = 0
    for i, p in enumerate(passages):
        block = f"{_header(len(order) + 1, p)}\n{p.text}"
        n = count_tokens(block, encoding)
        if order and total + n > budget_tokens:
            break
        blocks.append(block)
        order.append(i)
        total += n
    used, used_sentences, used_ranked = _renumbered(passages, sentences, ranked, order)
    return Evidence(used, used_sentences, used_ranked, "\n\n".join(blocks))


@dataclass
class EvidenceAnswer:
    text: str  # sentences with their [n]
    short_answer: str | None


class EvidenceAnswerer:
    """No LLM: the short answer span and the best supporting sentence(s) with their [n], or a refusal.

    The refusal threshold is per embedding model (``ModelSpec.evidence_min_score``), since
    similarities live on a different scale for each; ``NEWSRAG_EVIDENCE_MIN_SCORE`` overrides it.
    """

    def __init__(
        self,
        min_score: float = 0.32,
        max_sentences: int = 2,
        margin: float = 0.08,
        cross_min_score: float | None = None,
        sure_score: float | None = None,
        sure_score_cross: float | None = None,
    ) -> None:
        """:param min_score: refuse when the best sentence scores lower.
        :param max_sentences: supporting sentences at most.
        :param margin: a further sentence must score within this of the best.
        :param cross_min_score: the threshold when the best sentence's source is in another language
            than the question (cross-lingual similarities run lower); None: ``min_score``.
        :param sure_score: from this score on the best sentence is trusted to answer when an LLM gave
            no supported answer (:meth:`is_sure`); None: never. ``sure_score_cross`` across languages.
        """
        self.min_score = min_score
        self.cross_min_score = min_score if cross_min_score is None else cross_min_score
        self.sure_score = sure_score
        self.sure_score_cross = sure_score if sure_score_cross is None else sure_score_cross
        self.max_sentences = max_sentences
        self.margin = margin
        self.revision_pool = 12  # best-scored sentences searched for an earlier report of the answer's figure

    def _same_language(self, evidence: Evidence, language: str) -> bool:
        src = (evidence.passages[evidence.ranked[0].sentence.passage].language or language)[:2]
        return src == language[:2]

    def threshold(self, evidence: Evidence, language: str) -> float:
        """The refusal threshold for this question: lower when its best source is in another language."""
        if not evidence.ranked:
            return self.min_score
        return self.min_score if self._same_language(evidence, language) else self.cross_min_score

    def is_sure(self, evidence: Evidence, language: str) -> bool:
        """Whether the best sentence scores high enough to answer from it when an LLM would not."""
        if not evidence.ranked:
            return False
        sure = self.sure_score if self._same_language(evidence, language) else self.sure_score_cross
        return sure is not None and evidence.ranked[0].score >= sure

    def _revised(
        self, evidence: Evidence, chosen: list[ScoredSentence], floor: float
    ) -> tuple[list[ScoredSentence], ScoredSentence | None]:
        """The chosen sentences with the newest report of the best one's figure first, and the earlier report."""
        pool = [r for r in evidence.ranked[: self.revision_pool] if r.score >= floor - self.margin]
        if chosen[0] not in pool:
            return chosen, None
        statements = [
            Statement(
                r.sentence.text,
                r.sentence.vector,
                evidence.passages[r.sentence.passage].date,
                evidence.passages[r.sentence.passage].article_id,
                evidence.passages[r.sentence.passage].language,
            )
            for r in pool
        ]
        rev = find_revision(pool.index(chosen[0]), statements, evidence.as_of)
        if rev.earlier is None:
            return chosen, None
        newest, earlier = pool[rev.newest], pool[rev.earlier]
        # the newest report answers; one more supporting sentence at most, never the earlier report
        rest = [r for r in chosen if r is not newest and r is not earlier][: max(0, self.max_sentences - 2)]
        return [newest, *rest], earlier

    def answer(self, question: str, evidence: Evidence, language: str) -> EvidenceAnswer:
        ranked = evidence.ranked
        floor = self.threshold(evidence, language)
        if not ranked or ranked[0].score < floor:
            return EvidenceAnswer(refusal_text(language), None)
        top = ranked[0].score
        chosen = [r for r in ranked[: self.max_sentences] if r.score >= max(floor, top - self.margin)]
        chosen, earlier = self._revised(evidence, chosen, floor)
        texts = [r.sentence.text.strip() for r in chosen]
        if typed_candidate_missing(question, texts, language):
            return EvidenceAnswer(refusal_text(language), None)
        parts = []
        for r, text in zip(chosen, texts, strict=True):
            n = r.sentence.passage + 1
            src_lang = (evidence.passages[r.sentence.passage].language or language)[:2]
            if src_lang != language[:2]:
                intro = {"en": "The source says", "de": "Die Quelle schreibt", "fr": "La source indique"}.get(
                    language[:2], "The source says"
                )
                parts.append(f'{intro}: "{text}" [{n}]')
            else:
                end = len(text.rstrip(".!?…"))
                parts.append(f"{text[:end]} [{n}]{text[end:] or '.'}")
        if earlier is not None:
            p = evidence.passages[earlier.sentence.passage]
            parts.append(
                earlier_sentence(earlier.sentence.text, p.date or "", earlier.sentence.passage + 1, language) + "."
            )
        same_language = [
            t
            for r, t in zip(chosen, texts, strict=True)
            if (evidence.passages[r.sentence.passage].language or language)[:2] == language[:2]
        ]
        return EvidenceAnswer(
            " ".join(parts), short_answer(question, same_language, language) if same_language else None
        )
