"""Plain records passed between the pipeline stages.

Every stage speaks in these types and nothing else: loaders produce :class:`Article`, the chunker
:class:`Chunk`, a store returns :class:`StoredChunk` and is identified by :class:`ModelInfo`,
retrieval takes :class:`SearchFilters` and returns :class:`Passage`, and the answer chain returns an
:class:`Answer` with its :class:`Citation` list. Offsets always index the article body, so
``body[start:end]`` is the exact text. Nothing here imports a backend (no FAISS, no model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as read from its source.

    ``body`` is the text every chunk offset refers to; ``headline`` is kept apart so it can be
    shown in citations and given to the embedder with each chunk.
    """

    id: str
    headline: str
    body: str
    date: str | None = None  # ISO 8601 date (YYYY-MM-DD) when known
    outlet: str | None = None
    byline: str | None = None
    url: str | None = None
    language: str | None = None
    section: str | None = None
    source: str = ""  # the file it came from
    source_ref: str | None = None  # row or line inside that file

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes."""
        parts = [self.headline, self.body, self.date, self.outlet, self.byline, self.url, self.language, self.section]
        return sha256_text("\x1f".join(p or "" for p in parts))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token-bounded span of an article body: ``article.body[start:end] == text``."""

    article_id: str
    seq: int
    start: int
    end: int
    text: str
    n_tokens: int
    embed_text: str = field(default="", compare=False)

    @property
    def text_hash(self) -> str:
        """Hash of what the embedder sees, so an unchanged chunk is never embedded twice."""
        return sha256_text(self.embed_text or self.text)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of an article body (as the chunker cuts it): ``article.body[start:end] == text``.

    Stored with its own vector at ingest, so answering scores evidence sentences and checks claims
    without embedding the sources again.
    """

    article_id: str
    seq: int
    start: int
    end: int
    text: str
    embed_text: str = field(default="", compare=False)

    @property
    def text_hash(self) -> str:
        return sha256_text(self.embed_text or self.text)


@dataclass(frozen=True)
class StoredSentence:
    """A stored sentence with its unit vector (float32)."""

    article_id: str
    seq: int
    start: int
    end: int
    text: str
    vector: np.ndarray = field(compare=False, repr=False)


@dataclass(frozen=True)
class ModelInfo:
    """What identifies the vectors in an index: the model, its weights, their dimension, and whether
    the backend computes them exactly ("exact": torch bf16/fp32, ONNX fp32) or approximately
    ("int8": the quantised ONNX copy), which must not be mixed with exact ones."""

    name: str
    weights_hash: str
    dim: int
    vectors: str = "exact"


@dataclass(frozen=True)
class StoredChunk:
    """A chunk row of a store joined with its article's metadata."""

    id: int
    article_id: str
    seq: int
    start: int
    end: int
    text: str
    headline: str
    date: str | None
    outlet: str | None
    url: str | None
    language: str | None
    section: str | None
    source: str


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied inside retrieval. Dates are inclusive ISO dates (YYYY-MM-DD)."""

    since: str | None = None
    until: str | None = None
    outlets: tuple[str, ...] = ()  # outlet names (case-insensitive) or source path fragments
    languages: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()
    undated: bool = False  # with since/until: also keep articles that carry no date

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"--{name} {value!r}: expected a date like 2024-11-01") from None
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"--since {self.since} is after --until {self.until}")

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.outlets or self.languages or self.article_ids)


@dataclass(frozen=True)
class TimeScope:
    """The time a question asks about, read from its words against the day it is asked from.

    ``as_of`` is that day (ISO); ``window`` the inclusive ISO dates the question means ("yesterday",
    "im Januar 2017", "last week"), or None; ``recency`` whether it asks for the newest state
    ("latest", "jüngste", "so far"); ``expression`` the words both came from; ``relative`` whether the
    window was computed from ``as_of`` (and so says nothing when the index is older); ``spans`` the
    character offsets of those words in the question (removed from the text that is searched).
    """

    as_of: str
    window: tuple[str, str] | None = None
    recency: bool = False
    expression: str | None = None
    relative: bool = False
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def bound(self) -> bool:
        """Whether the question is about a time at all (a window or the newest state)."""
        return self.window is not None or self.recency

    def to_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of,
            "window": list(self.window) if self.window else None,
            "recency": self.recency,
            "expression": self.expression,
        }


@dataclass
class Passage:
    """A retrieved span of an article, with where it came from and how it ranked."""

    chunk_id: int
    article_id: str
    text: str
    start: int
    end: int
    headline: str
    outlet: str | None
    date: str | None
    url: str | None
    language: str | None
    source: str
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    also_in: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_chunk(cls, c: StoredChunk) -> Passage:
        return cls(
            chunk_id=c.id,
            article_id=c.article_id,
            text=c.text,
            start=c.start,
            end=c.end,
            headline=c.headline,
            outlet=c.outlet,
            date=c.date,
            url=c.url,
            language=c.language,
            source=c.source,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation: what was asked, what was answered."""

    question: str
    answer: str


@dataclass
class Citation:
    """One cited source, numbered as in the answer text; offsets index the article body."""

    n: int
    article_id: str
    headline: str
    outlet: str | None
    date: str | None
    url: str | None
    passage: str
    passage_start: int
    passage_end: int
    quote: str
    quote_start: int
    quote_end: int


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A retrieved article as the answer's timeline shows it: when it appeared and whether it is cited."""

    article_id: str
    headline: str
    outlet: str | None
    date: str | None
    cited: tuple[int, ...] = ()  # the answer's [n] pointing at this article; empty: retrieved, not cited


@dataclass
class SentenceCheck:
    """The verifier's verdict on one answer sentence."""

    text: str
    cited: list[int]
    supported: bool
    reason: str = ""
    score: float = 0.0


@dataclass
class Answer:
    question: str
    standalone_question: str
    answer: str
    refused: bool
    language: str
    generator: str
    citations: list[Citation] = field(default_factory=list)
    unsupported_sentences: list[str] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    prompt_tokens: int = 0
    raw_answer: str = ""
    short_answer: str | None = None  # the answer itself in a few words, with its [n]; None when refused
    notes: list[str] = field(default_factory=list)  # what the reader should know (a fallback, a cut question)
    time: TimeScope | None = None  # the time the question was read as asking about
    sources_span: tuple[str, str] | None = None  # oldest and newest date of the cited articles
    retrieved: list[SourceRef] = field(default_factory=list)  # the articles searched, for the timeline

    def to_json(self) -> dict[str, object]:
        """The documented JSON shape of `rag ask --json` and the chat API."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "short_answer": self.short_answer,
            "answer": self.answer,
            "refused": self.refused,
            "language": self.language,
            "generator": self.generator,
            "citations": [
                {
                    "n": c.n,
                    "article_id": c.article_id,
                    "headline": c.headline,
                    "outlet": c.outlet,
                    "date": c.date,
                    "url": c.url,
                    "passage": c.passage,
                    "quote": c.quote,
                    "quote_start": c.quote_start,
                    "quote_end": c.quote_end,
                }
                for c in self.citations
            ],
            "unsupported_sentences": list(self.unsupported_sentences),
            "timings": {k: round(self.timings.get(k, 0.0), 3) for k in ("retrieve_s", "first_token_s", "total_s")},
            "prompt_tokens": self.prompt_tokens,
            "notes": list(self.notes),
            "time": self.time.to_json() if self.time else None,
            "sources_span": list(self.sources_span) if self.sources_span else None,
            "retrieved": [
                {
                    "article_id": r.article_id,
                    "headline": r.headline,
                    "outlet": r.outlet,
                    "date": r.date,
                    "cited": list(r.cited),
                }
                for r in self.retrieved
            ],
        }
