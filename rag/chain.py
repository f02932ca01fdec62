"""The answer chain, as LangChain LCEL runnables end to end.

(chat history, question) → standalone question (condensed from follow-ups; skipped on the first
turn) → retrieval with the user's filters → numbered sources [1..k] with headline, outlet and
date within a tiktoken-measured budget → generation (streamable) → citation parsing and
verification → :class:`~rag.records.Answer`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableBranch, RunnableLambda, RunnablePassthrough

from rag.chunking import get_encoding
from rag.config import Settings
from rag.generate import EvidenceAnswerer, make_chat_model
from rag.language import detect_question_language, refusal_text
from rag.lexical import analyze
from rag.prompts import CONDENSE, USER, few_shot_messages
from rag.records import Answer
from rag.retrieval import HybridSearch, Passage, SearchFilters
from rag.verify import CitationVerifier


@dataclass
class Turn:
    question: str
    answer: str


@dataclass
class AskRequest:
    question: str
    history: Sequence[Turn] = ()
    filters: SearchFilters | None = None
    k: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


def format_sources(passages: Sequence[Passage], budget_tokens: int, encoding: str) -> tuple[str, list[Passage]]:
    """Numbered sources within ``budget_tokens`` (cl100k); returns the text and the passages used."""
    enc = get_encoding(encoding)
    blocks: list[str] = []
    used: list[Passage] = []
    total = 0
    for p in passages:
        meta = ", ".join(x for x in (p.outlet, p.date) if x)
        block = f"[{len(used) + 1}] {p.headline}" + (f" ({meta})" if meta else "") + f"\n{p.text}"
        n = len(enc.encode(block, disallowed_special=()))
        if used and total + n > budget_tokens:
            break
        blocks.append(block)
        used.append(p)
        total += n
    return "\n\n".join(blocks), used


class NewsQA:
    """Question answering over one index with one generator."""

    def __init__(
        self,
        settings: Settings,
        search: HybridSearch,
        encoder: Any,
        generator: str | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.search = search
        self.encoder = encoder
        self.generator = generator or settings.generator
        if self.generator not in ("local", "endpoint", "evidence"):
            raise ValueError(f"unknown generator {self.generator!r}")
        self.llm = (
            chat_model
            if chat_model is not None or self.generator == "evidence"
            else make_chat_model(settings, self.generator)
        )
        min_score = settings.evidence_min_score
        if min_score is None:
            spec = getattr(encoder, "spec", None)
            min_score = spec.evidence_min_score if spec is not None else 0.32
        self.evidence = EvidenceAnswerer(encoder, min_score=min_score)
        self.verifier = CitationVerifier(encoder)
        self.prepare: Runnable[AskRequest, dict[str, Any]] = self._prepare_chain()
        self.generate: Runnable[dict[str, Any], str] = self._generate_chain()
        self.chain: Runnable[AskRequest, Answer] = (
            self.prepare | RunnablePassthrough.assign(raw=self.generate) | RunnableLambda(self._finish)
        )

    # steps -------------------------------------------------------------------------------------------
    def _condense(self, req: AskRequest) -> str:
        if not req.history:
            return req.question
        if self.llm is None:  # evidence mode: carry the previous question's words into a short follow-up
            prev = req.history[-1].question
            lang = detect_question_language(req.question)
            return req.question if len(analyze(req.question, lang)) >= 4 else f"{prev} {req.question}"
        history = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in req.history[-3:])
        prompt = ChatPromptTemplate.from_messages([("human", CONDENSE)])
        out = (prompt | self.llm | StrOutputParser()).invoke({"history": history, "question": req.question})
        line = out.strip().splitlines()[0].strip() if out.strip() else ""
        return line or req.question

    def _prepare_chain(self) -> Runnable[AskRequest, dict[str, Any]]:
        def start(req: AskRequest) -> dict[str, Any]:
            return {"req": req, "t0": time.perf_counter(), "language": detect_question_language(req.question)}

        condense = RunnableBranch(
            (lambda x: not x["req"].history, lambda x: x["req"].question),
            RunnableLambda(lambda x: self._condense(x["req"])),
        )

        def retrieve(x: dict[str, Any]) -> list[Passage]:
            t = time.perf_counter()
            req: AskRequest = x["req"]
            passages = self.search.run(x["standalone"], k=req.k or self.settings.answer_k, filters=req.filters)
            req.timings["retrieve_s"] = time.perf_counter() - t
            return passages

        def sources(x: dict[str, Any]) -> dict[str, Any]:
            text, used = format_sources(x["passages"], self.settings.context_tokens, self.settings.tokenizer)
            return {"sources_text": text, "used": used}

        return (
            RunnableLambda(start)
            | RunnablePassthrough.assign(standalone=condense)
            | RunnablePassthrough.assign(passages=RunnableLambda(retrieve))
            | RunnableLambda(lambda x: {**x, **sources(x)})
        )

    def messages(self, x: dict[str, Any]) -> list[Any]:
        lang = x["language"]
        shots = few_shot_messages(lang, refusal_text(lang), refusal_text("de"))
        cls = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
        msgs = [cls[r](content=t) for r, t in shots]
        msgs.append(HumanMessage(content=USER.format(sources=x["sources_text"], question=x["standalone"])))
        return msgs

    def _generate_chain(self) -> Runnable[dict[str, Any], str]:
        if self.llm is None:
            return RunnableLambda(lambda x: self.evidence.answer(x["standalone"], x["used"], x["language"]))
        return RunnableLambda(self.messages) | self.llm | StrOutputParser()

    def _finish(self, x: dict[str, Any]) -> Answer:
        req: AskRequest = x["req"]
        lang = x["language"]
        used: list[Passage] = x["used"]
        if not used:
            v_answer, refused, cites, checks, unsupported = refusal_text(lang), True, [], [], []
        else:
            v = self.verifier.verify(x["raw"], used, x["standalone"], lang)
            v_answer, refused, cites, checks, unsupported = v.answer, v.refused, v.citations, v.sentences, v.unsupported
        req.timings["total_s"] = time.perf_counter() - x["t0"]
        req.timings.setdefault("first_token_s", req.timings["total_s"])
        prompt_tokens = 0
        if self.llm is not None:
            enc = get_encoding(self.settings.tokenizer)
            prompt_tokens = sum(len(enc.encode(str(m.content), disallowed_special=())) for m in self.messages(x))
        return Answer(
            question=req.question,
            standalone_question=x["standalone"],
            answer=v_answer,
            refused=refused,
            language=lang,
            generator=self.generator,
            citations=cites,
            unsupported_sentences=unsupported,
            sentences=checks,
            timings=dict(req.timings),
            prompt_tokens=prompt_tokens,
            raw_answer=x["raw"],
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
        pieces: list[str] = []
        for piece in self.generate.stream(x):
            if not pieces:
                req.timings["first_token_s"] = time.perf_counter() - x["t0"]
            pieces.append(piece)
            yield piece
        yield self._finish({**x, "raw": "".join(pieces)})
