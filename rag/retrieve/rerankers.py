"""Second-stage rerankers over first-stage passages.

No cross-encoder ships with weights in any registry package, so a user-supplied
sentence-transformers CrossEncoder folder is accepted, and two offline second stages are built
from what we have: a sentence-level re-scorer that uses the embedding model on the sentences of
each candidate (a passage is as good as its best sentence), and a score-fusion re-scorer that
combines the normalised dense and BM25 scores instead of their ranks. Whether any is on by
default is decided by ``rag eval retrieval`` (see the README).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.config import RerankerName
from rag.errors import ModelMissingError
from rag.records import Passage
from rag.text.sentences import sentence_spans
from rag.types import Encoder


class Reranker(Protocol):
    """A second stage: re-order (and re-score) first-stage passages for a query."""

    name: str

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]: ...


def _minmax(values: list[float]) -> list[float]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    return [0.5 if hi == lo else (v - lo) / (hi - lo) for v in values]


class ScoreFusionReranker:
    """Re-scores by ``alpha * dense + (1 - alpha) * bm25`` with both min-max normalised over the pool."""

    name = "fusion"

    def __init__(self, alpha: float = 0.8) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError("alpha must be within [0, 1]")
        self.alpha = alpha

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        dense = _minmax([p.scores.get("dense", float("nan")) for p in passages if "dense" in p.scores])
        bm25 = _minmax([p.scores.get("bm25", 0.0) for p in passages if "bm25" in p.scores])
        dmap = dict(zip([p.chunk_id for p in passages if "dense" in p.scores], dense, strict=True))
        bmap = dict(zip([p.chunk_id for p in passages if "bm25" in p.scores], bm25, strict=True))
        out = []
        for p in passages:
            s = self.alpha * dmap.get(p.chunk_id, 0.0) + (1 - self.alpha) * bmap.get(p.chunk_id, 0.0)
            out.append(replace(p, score=s, scores={**p.scores, "fusion": s}))
        return sorted(out, key=lambda p: -p.score)


class SentenceReranker:
    """Scores each passage by its best sentence's similarity to the query, blended with its chunk score."""

    name = "sentence"

    def __init__(self, encoder: Encoder, weight: float = 0.5) -> None:
        self.encoder = encoder
        self.weight = weight

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        if not passages:
            return passages
        q = self.encoder.encode_queries([query])[0]
        texts: list[str] = []
        owner: list[int] = []
        for i, p in enumerate(passages):
            for s, e in sentence_spans(p.text, p.language):
                texts.append(self.encoder.format_document(p.headline, p.text[s:e]))
                owner.append(i)
        sims = self.encoder.encode_documents(texts) @ q if texts else np.zeros(0)
        best = np.full(len(passages), -1.0)
        for i, sim in zip(owner, sims, strict=True):
            best[i] = max(best[i], float(sim))
        out = []
        for i, p in enumerate(passages):
            dense = p.scores.get("dense", best[i])
            s = self.weight * best[i] + (1 - self.weight) * dense
            out.append(replace(p, score=s, scores={**p.scores, "sentence": float(best[i])}))
        return sorted(out, key=lambda p: -p.score)


class CrossEncoderReranker:
    """A user-supplied sentence-transformers CrossEncoder, loaded from a local folder only."""

    name = "cross-encoder"

    def __init__(self, path: Path) -> None:
        from sentence_transformers import CrossEncoder

        if not Path(path).is_dir():
            raise ModelMissingError(f"cross-encoder folder {path} does not exist")
        self.model = CrossEncoder(str(path), device="cpu", local_files_only=True)

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        if not passages:
            return passages
        scores = self.model.predict([(query, f"{p.headline}\n{p.text}") for p in passages])
        out = [
            replace(p, score=float(s), scores={**p.scores, "cross": float(s)})
            for p, s in zip(passages, scores, strict=True)
        ]
        return sorted(out, key=lambda p: -p.score)


def make_reranker(
    name: RerankerName, encoder: Encoder, cross_encoder: Path | None = None, fusion_alpha: float = 0.8
) -> Reranker | None:
    """The second stage named in the settings (``cross-encoder`` loads the ``cross_encoder`` folder)."""
    if name == "cross-encoder":
        if cross_encoder is None:
            raise ModelMissingError("reranker cross-encoder needs a folder: set NEWSRAG_CROSS_ENCODER")
        return CrossEncoderReranker(cross_encoder)
    if name == "none":
        return None
    if name == "fusion":
        return ScoreFusionReranker(fusion_alpha)
    return SentenceReranker(encoder)
