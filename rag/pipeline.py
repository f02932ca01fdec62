"""The composition root: the one place where settings become a working pipeline.

Every caller (the CLI, the chat, ``rag eval``, ``rag bench`` and the scripts in ``eval/``) builds its
search and its question answering here, so what is evaluated and benchmarked is exactly what a
user runs: the same reranker, the same generator settings, the same verifier, the same refusal
threshold. Stages below know nothing of :class:`~rag.config.Settings` beyond what they are given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from langchain_core.language_models.chat_models import BaseChatModel

from rag.answer.chain import NewsQA
from rag.answer.evidence import EvidenceAnswerer, SentenceSource
from rag.answer.generators import ChatGenerator, EvidenceGenerator, Generator
from rag.answer.verify import CitationVerifier
from rag.config import Generator as GeneratorName
from rag.config import Settings
from rag.errors import ModelMissingError
from rag.ingest.pipeline import model_info
from rag.models.chat import make_chat_model
from rag.models.embedders import SentenceEmbedder, load_embedder, resolve_spec
from rag.retrieve.rerankers import make_reranker
from rag.retrieve.search import HybridSearch, retrieval_config
from rag.store import open_store
from rag.store.base import NewsStore
from rag.text.lexical import warm_up
from rag.types import Encoder

__all__ = [
    "build_generator",
    "build_qa",
    "build_search",
    "evidence_answerer",
    "evidence_min_score",
    "evidence_min_score_cross",
    "load_encoder",
    "model_info",
    "open_index",
]


def load_encoder(settings: Settings) -> SentenceEmbedder:
    """The configured embedding model (loaded from its local folder)."""
    return load_embedder(settings)


def open_index(settings: Settings, encoder: Encoder) -> NewsStore:
    """The configured index, refused when it was built with another model than ``encoder``."""
    return open_store(settings, model_info(encoder))


def build_search(settings: Settings, store: NewsStore, encoder: Encoder) -> HybridSearch:
    """Hybrid search over ``store`` with the configured modes, weights and second stage."""
    reranker = make_reranker(settings.reranker, encoder, settings.cross_encoder, settings.fusion_alpha)
    # the German noun list of the lexical analyser takes seconds to load: load it now, beside the
    # rest of start-up, so the first question does not wait for it
    threading.Thread(target=warm_up, args=(store.languages,), daemon=True).start()
    return HybridSearch(store, encoder, retrieval_config(settings), reranker)


def evidence_min_score(settings: Settings) -> float:
    """The evidence generator's refusal threshold: configured, else the embedding model's own."""
    if settings.evidence_min_score is not None:
        return settings.evidence_min_score
    return resolve_spec(settings.embed_model).evidence_min_score


def evidence_min_score_cross(settings: Settings) -> float:
    """The refusal threshold when question and best source sentence differ in language."""
    if settings.evidence_min_score_cross is not None:
        return settings.evidence_min_score_cross
    spec = resolve_spec(settings.embed_model)
    return spec.evidence_min_score if spec.evidence_min_score_cross is None else spec.evidence_min_score_cross


def evidence_answerer(settings: Settings) -> EvidenceAnswerer:
    """The evidence generator's answerer with the embedding model's thresholds (or the configured ones)."""
    spec = resolve_spec(settings.embed_model)
    return EvidenceAnswerer(
        min_score=evidence_min_score(settings),
        cross_min_score=evidence_min_score_cross(settings),
        sure_score=spec.evidence_sure_score if settings.evidence_sure_score is None else settings.evidence_sure_score,
        sure_score_cross=(
            spec.evidence_sure_score_cross if settings.evidence_sure_score is None else settings.evidence_sure_score
        ),
    )


def build_generator(settings: Settings, name: GeneratorName, chat_model: BaseChatModel | None = None) -> Generator:
    """The generator called ``name``; ``chat_model`` replaces the configured one (tests, the judge)."""
    if name == "evidence":
        return EvidenceGenerator(evidence_answerer(settings))
    llm = chat_model if chat_model is not None else make_chat_model(settings, name)
    return ChatGenerator(
        name,
        llm,
        encoding=settings.tokenizer,
        exclusive=name == "local",
        grammar=settings.grammar,
        max_tokens=settings.max_answer_tokens,
    )


def build_qa(
    settings: Settings,
    generator: GeneratorName | None = None,
    *,
    store: NewsStore,
    encoder: Encoder,
    chat_model: BaseChatModel | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> NewsQA:
    """Question answering over ``store`` with ``generator`` (default: the configured one).

    When the configured local model is missing and ``settings.fallback_to_evidence`` is on, the
    evidence generator answers instead and ``on_warning`` is told why; a generator asked for by
    name is never replaced.
    """
    name = generator or settings.generator
    try:
        gen = build_generator(settings, name, chat_model)
    except ModelMissingError as exc:
        if not (name == "local" and generator is None and settings.fallback_to_evidence):
            raise
        if on_warning is not None:
            on_warning(f"{exc}; answering evidence-only")
        gen = build_generator(settings, "evidence")
    fallback = EvidenceGenerator(evidence_answerer(settings)) if gen.name != "evidence" else None
    return NewsQA(
        build_search(settings, store, encoder),
        gen,
        CitationVerifier(encoder),
        SentenceSource(encoder, store),
        fallback=fallback,
        rescue=fallback.answerer.is_sure if fallback is not None and settings.rescue_refusals else None,
        answer_k=settings.answer_k,
        context=settings.context,
        context_tokens=settings.context_tokens,
        evidence_tokens=settings.evidence_tokens,
        encoding=settings.tokenizer,
        as_of=settings.as_of,
    )
