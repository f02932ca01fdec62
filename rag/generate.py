"""Generators: the local GGUF model, an OpenAI-compatible endpoint, and evidence-only extraction.

The two LLM generators are LangChain chat models, so the answer chain is the same LCEL pipeline
for both. The local model is wrapped directly around ``llama_cpp.Llama`` (a small
``BaseChatModel``) instead of LangChain-community's ``ChatLlamaCpp``, which forces
``rope_freq_base=10000`` and silently ruins Qwen2.5 (whose GGUF says 1e6).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from rag.config import Settings
from rag.errors import ModelMissingError, NewsragError
from rag.language import refusal_text
from rag.lexical import analyze
from rag.retrieval import Passage
from rag.sentences import sentence_spans
from rag.verify import numbers

GENERATORS = ("local", "endpoint", "evidence")

LOCAL_MODELS = {
    "qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "smollm2-135m-instruct": "SmolLM2-135M-Instruct.Q4_1.gguf",
}


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(m.type, "user")


class LlamaCppChat(BaseChatModel):
    """A llama.cpp GGUF model as a LangChain chat model (streaming, deterministic by default)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_batch: int = 512
    n_threads: int | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    _llm: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-newsrag"

    def _client(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise NewsragError("llama-cpp-python is not installed: pip install -e '.[local]' (see README)") from exc
            self._llm = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_batch=self.n_batch,
                n_threads=self.n_threads or max(1, os.cpu_count() or 1),
                rope_freq_base=0.0,
                verbose=False,
            )
        return self._llm

    def _params(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [{"role": _role(m), "content": str(m.content)} for m in messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": stop or [],
            "seed": 0,
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.content for c in self._stream(messages, stop, run_manager))  # type: ignore[misc]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for part in self._client().create_chat_completion(stream=True, **self._params(messages, stop)):
            delta = part["choices"][0].get("delta", {}).get("content") or ""
            if delta:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                if run_manager:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk

    def count_tokens(self, text: str) -> int:
        return len(self._client().tokenize(text.encode("utf-8"), add_bos=False))


def local_model_path(settings: Settings) -> Path:
    name = settings.local_model
    if name in LOCAL_MODELS:
        path = settings.models_path / name / LOCAL_MODELS[name]
        if not path.is_file():
            raise ModelMissingError(
                f"local model {name!r} is not installed in {settings.models_path}: run `rag models fetch {name}`"
            )
        return path
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelMissingError(f"local model {name!r}: no such GGUF file and not one of {', '.join(LOCAL_MODELS)}")
    return path


def make_chat_model(settings: Settings, generator: str) -> BaseChatModel:
    """The chat model behind ``local`` or ``endpoint``."""
    if generator == "local":
        return LlamaCppChat(
            model_path=str(local_model_path(settings)),
            n_ctx=settings.llm_ctx,
            n_threads=settings.threads or None,
            max_tokens=settings.max_answer_tokens,
        )
    if generator == "endpoint":
        if not settings.endpoint_url:
            raise NewsragError(
                "no endpoint configured: set NEWSRAG_ENDPOINT_URL (and NEWSRAG_ENDPOINT_MODEL, "
                "NEWSRAG_ENDPOINT_KEY if needed)"
            )
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=settings.endpoint_url,
            model=settings.endpoint_model,
            api_key=settings.endpoint_key or "none",  # type: ignore[arg-type]
            temperature=0.0,
            max_tokens=settings.max_answer_tokens,
            timeout=120,  # type: ignore[call-arg]
            max_retries=1,
            extra_body=settings.endpoint_extra_body or None,
        )
    raise NewsragError(f"generator {generator!r} is not an LLM generator")


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

    def __init__(self, encoder: Any, min_score: float = 0.32, max_sentences: int = 2) -> None:
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


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))
