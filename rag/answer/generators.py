"""The generator seam: what the answer chain asks of whatever writes the draft answer.

A :class:`Generator` condenses a follow-up into a standalone question and turns the numbered
sources into a :class:`Draft`, streaming the text as it goes. :class:`ChatGenerator` does both with
a LangChain chat model (the local llama.cpp model or an OpenAI-compatible endpoint);
:class:`EvidenceGenerator` does both without any LLM. The chain itself has no per-generator
branches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from rag.answer.evidence import EvidenceAnswerer
from rag.answer.prompts import CONDENSE, USER, few_shot_messages
from rag.config import Generator as GeneratorName
from rag.records import Passage, Turn
from rag.text.language import detect_question_language, refusal_text
from rag.text.lexical import analyze
from rag.text.tokens import count_tokens


@dataclass
class Sources:
    """What a generator answers from: the question and the numbered sources [1..n]."""

    question: str
    language: str
    passages: list[Passage]
    text: str  # the numbered sources as the prompt shows them


@dataclass
class Draft:
    """A generator's answer before verification: sentences with [n] marks."""

    text: str
    prompt_tokens: int = 0
    notes: list[str] = field(default_factory=list)


class Generator(Protocol):
    """Writes draft answers; ``streams`` when it yields text before the draft is done, ``exclusive``
    when one instance must not run two generations at once (llama.cpp is not re-entrant)."""

    name: GeneratorName
    streams: bool
    exclusive: bool

    def condense(self, history: Sequence[Turn], question: str) -> str:
        """A follow-up question rewritten to stand alone (``history`` is never empty)."""
        ...

    def generate(self, sources: Sources) -> Iterator[str | Draft]:
        """Text pieces as they are written, then the :class:`Draft` (always last)."""
        ...


class ChatGenerator:
    """A LangChain chat model prompted with the rules, two worked examples and the numbered sources."""

    streams = True

    def __init__(self, name: GeneratorName, llm: BaseChatModel, *, encoding: str, exclusive: bool = False) -> None:
        self.name = name
        self.llm = llm
        self.encoding = encoding
        self.exclusive = exclusive

    def condense(self, history: Sequence[Turn], question: str) -> str:
        turns = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in history[-3:])
        prompt = ChatPromptTemplate.from_messages([("human", CONDENSE)])
        out = (prompt | self.llm | StrOutputParser()).invoke({"history": turns, "question": question})
        line = out.strip().splitlines()[0].strip() if out.strip() else ""
        return line or question

    def messages(self, sources: Sources) -> list[BaseMessage]:
        lang = sources.language
        shots = few_shot_messages(lang, refusal_text(lang), refusal_text("de"))
        cls = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
        msgs: list[BaseMessage] = [cls[r](content=t) for r, t in shots]
        msgs.append(HumanMessage(content=USER.format(sources=sources.text, question=sources.question)))
        return msgs

    def generate(self, sources: Sources) -> Iterator[str | Draft]:
        messages = self.messages(sources)
        pieces: list[str] = []
        for piece in (self.llm | StrOutputParser()).stream(messages):
            pieces.append(piece)
            yield piece
        prompt_tokens = sum(count_tokens(str(m.content), self.encoding) for m in messages)
        yield Draft("".join(pieces), prompt_tokens=prompt_tokens)


class EvidenceGenerator:
    """No LLM: the best supporting source sentences with their [n], or a refusal (see :mod:`rag.answer.evidence`)."""

    name: GeneratorName = "evidence"
    streams = False
    exclusive = False

    def __init__(self, answerer: EvidenceAnswerer) -> None:
        self.answerer = answerer

    def condense(self, history: Sequence[Turn], question: str) -> str:
        """Carry the previous question's words into a short follow-up (there is no model to rewrite it)."""
        lang = detect_question_language(question)
        return question if len(analyze(question, lang)) >= 4 else f"{history[-1].question} {question}"

    def generate(self, sources: Sources) -> Iterator[str | Draft]:
        yield Draft(self.answerer.answer(sources.question, sources.passages, sources.language))
