"""Plain records passed between the pipeline stages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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
