"""The generator seam: what the answer chain asks of whatever writes the draft answer.

A :class:`Generator` condenses a follow-up into a standalone question and turns the numbered
sources into a :class:`Draft` (a short answer and at most two cited sentences), streaming what it
writes as it goes. :class:`ChatGenerator` does both with a LangChain chat model (the local
llama.cpp model or an OpenAI-compatible endpoint), asking for JSON that a grammar enforces where
the backend supports one; :class:`EvidenceGenerator` does both without any LLM. The chain itself
has no per-generator branches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from rag.answer.evidence import Evidence, EvidenceAnswerer
from rag.answer.prompts import CONDENSE, USER, answer_schema, few_shot_messages, language_name
from rag.config import Generator as GeneratorName
from rag.config import GrammarUse
from rag.records import Passage, Turn
from rag.text.language import detect_question_language, is_refusal, refusal_text
from rag.text.lexical import analyze
from rag.text.mentions import CITE
from rag.text.tokens import count_tokens


@dataclass
class Sources:
    """What a generator answers from: the standalone question, its language and the evidence."""

    question: str
    language: str
    evidence: Evidence
    retrieved: list[Passage] = field(default_factory=list)  # everything retrieval returned (the timeline's)


@dataclass
class Draft:
    """A generator's answer before verification.

    ``text`` holds the supporting sentences with their [n] marks; ``failed`` says the model's output
    could not be read (the chain then answers with the evidence generator and says so in ``notes``).
    """

    text: str
    short_answer: str | None = None
    prompt_tokens: int = 0
    notes: list[str] = field(default_factory=list)
    failed: bool = False


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


Claim = tuple[str, list[int]]


def render(sentences: Sequence[Claim]) -> str:
    """Sentences with their citation marks before the final full stop: 'Text [1][2].'"""
    parts = []
    for text, cites in sentences:
        text = CITE.sub("", text).strip()
        if not text:
            continue
        marks = "".join(f"[{n}]" for n in dict.fromkeys(cites))
        end = len(text.rstrip(".!?…"))
        parts.append(f"{text[:end]} {marks}{text[end:] or '.'}" if marks else text)
    return " ".join(parts)


def parse_reply(raw: str) -> tuple[str | None, list[Claim]] | None:
    """(short answer, [(sentence, cites)]) from a JSON reply, or None when it is not a readable one."""
    match = re.search(r"\{.*\}", raw, re.S)
    if match is None:
        return None
    try:
        obj = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or "sentences" not in obj:
        return None
    answer = obj.get("answer")
    answer = answer.strip() if isinstance(answer, str) and answer.strip() else None
    claims: list[Claim] = []
    for item in obj.get("sentences") or []:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            cites = [int(c) for c in item.get("cites") or [] if isinstance(c, int | float)]
            claims.append((item["text"], cites))
    if answer is not None and is_refusal(answer):
        answer = None
    return answer, claims


def _partial_view(raw: str) -> str:
    """What a partial JSON reply says so far, for the reader: the short answer, then the sentences."""
    from pydantic_core import from_json

    try:
        obj = from_json(raw.encode(), allow_partial="trailing-strings")
    except ValueError:
        return ""
    if not isinstance(obj, dict):
        return ""
    value = obj.get("answer")
    answer = value if isinstance(value, str) else ""
    texts = [s.get("text", "") for s in obj.get("sentences") or [] if isinstance(s, dict)]
    body = " ".join(t for t in texts if isinstance(t, str))
    return answer + ("\n\n" + body if body else "")


class ChatGenerator:
    """A LangChain chat model prompted with the rules, worked examples and the numbered evidence.

    :param grammar: ``always`` decodes every reply under llama.cpp's JSON-schema grammar
        (``response_format``; the local model and llama.cpp servers); ``retry`` asks for JSON by the
        prompt alone and uses the grammar only for the retry of a reply that could not be read (the
        grammar slows llama.cpp's decoding by about 40 % here, and the prompt alone rarely fails).
        A server that rejects ``response_format`` is asked by the prompt alone from then on.
    """

    streams = True

    def __init__(
        self,
        name: GeneratorName,
        llm: BaseChatModel,
        *,
        encoding: str,
        exclusive: bool = False,
        grammar: GrammarUse = "retry",
        max_tokens: int = 256,
    ) -> None:
        self.name = name
        self.llm = llm
        self.encoding = encoding
        self.exclusive = exclusive
        self.grammar = grammar
        self.server_grammar = True  # False once a server rejected response_format
        self.max_tokens = max_tokens

    def condense(self, history: Sequence[Turn], question: str) -> str:
        turns = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in history[-3:])
        prompt = ChatPromptTemplate.from_messages([("human", CONDENSE)])
        out = (prompt | self.llm | StrOutputParser()).invoke({"history": turns, "question": question})
        line = out.strip().splitlines()[0].strip() if out.strip() else ""
        return line or question

    def messages(self, sources: Sources) -> list[BaseMessage]:
        cls = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
        msgs: list[BaseMessage] = [cls[r](content=t) for r, t in few_shot_messages()]
        user = USER.format(
            sources=sources.evidence.text, question=sources.question, language_name=language_name(sources.language)
        )
        msgs.append(HumanMessage(content=user))
        return msgs

    def _bound(self, n_sources: int, max_tokens: int, grammar: bool) -> Any:
        kwargs: dict[str, Any] = {"max_tokens": max_tokens}
        if grammar and self.server_grammar:
            kwargs["response_format"] = {"type": "json_object", "schema": answer_schema(n_sources)}
        return self.llm.bind(**kwargs) | StrOutputParser()

    def _stream_once(
        self, messages: list[BaseMessage], n_sources: int, max_tokens: int, grammar: bool
    ) -> Iterator[str]:
        """The reply as it grows (each item the whole reply so far)."""
        raw = ""
        try:
            for piece in self._bound(n_sources, max_tokens, grammar).stream(messages):
                raw += piece
                yield raw
        except Exception:  # a server that rejects response_format: ask again with the prompt alone
            if not (grammar and self.server_grammar) or raw:
                raise
            self.server_grammar = False
            yield from self._stream_once(messages, n_sources, max_tokens, grammar=False)

    def generate(self, sources: Sources) -> Iterator[str | Draft]:
        messages = self.messages(sources)
        prompt_tokens = sum(count_tokens(str(m.content), self.encoding) for m in messages)
        n = len(sources.evidence.passages)
        notes: list[str] = []
        shown = ""
        attempts = ((self.max_tokens, self.grammar == "always"), (2 * self.max_tokens, True))
        for attempt, (max_tokens, grammar) in enumerate(attempts):
            raw = ""
            for raw in self._stream_once(messages, n, max_tokens, grammar):
                view = _partial_view(raw) if raw.lstrip().startswith("{") else raw
                if view.startswith(shown) and len(view) > len(shown):
                    yield view[len(shown) :]
                    shown = view
            parsed = parse_reply(raw)
            if parsed is not None:
                short, claims = parsed
                yield Draft(render(claims), short, prompt_tokens, notes)
                return
            if not raw.lstrip().startswith("{") and (CITE.search(raw) or is_refusal(raw)):
                yield Draft(raw.strip(), None, prompt_tokens, [*notes, "plain-text answer (no JSON)"])
                return
            notes.append(f"attempt {attempt + 1}: unreadable reply {raw[:80]!r}")
        yield Draft("", None, prompt_tokens, notes, failed=True)


class EvidenceGenerator:
    """No LLM: the short answer span and the best supporting sentences, or a refusal (:mod:`rag.answer.evidence`)."""

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
        a = self.answerer.answer(sources.question, sources.evidence, sources.language)
        yield Draft(a.text, a.short_answer)


def refusal_draft(language: str) -> Draft:
    return Draft(refusal_text(language))
