"""Weighted reciprocal rank fusion of the first-stage rankings (dense, BM25)."""

from __future__ import annotations

Fused = tuple[int, float, dict[str, int], dict[str, float]]
"""(chunk id, fused score, rank per component, score per component)."""


def rrf(lists: dict[str, list[tuple[int, float]]], weights: dict[str, float], k0: int = 60) -> list[Fused]:
    """Reciprocal rank fusion: score = Σ weight / (k0 + rank); returns (id, score, ranks, scores)."""
    fused: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    scores: dict[int, dict[str, float]] = {}
    for name, items in lists.items():
        w = weights.get(name, 1.0)
        for rank, (cid, s) in enumerate(items, 1):
            fused[cid] = fused.get(cid, 0.0) + w / (k0 + rank)
            ranks.setdefault(cid, {})[name] = rank
            scores.setdefault(cid, {})[name] = s
    order = sorted(fused, key=lambda c: (-fused[c], c))
    return [(c, fused[c], ranks[c], scores[c]) for c in order]
