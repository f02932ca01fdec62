"""Scores of answers and rankings: SQuAD EM/F1 with German normalisation, containment, MRR/nDCG/recall.

- em / f1: SQuAD exact match and token F1 against the best gold answer, after SQuAD normalisation
  (lower case, punctuation and articles removed, whitespace collapsed) plus German handling:
  thousands separators (8.000 → 8000), decimal commas, typographic quotes, German articles;
- contained: a normalised gold answer occurs inside the normalised answer (whole tokens);
- query metrics: MRR@10, nDCG@10 (graded, log2 discount) and Recall@k of one ranking.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence

from rag.text.lexical import ARTICLES
from rag.text.mentions import CITE, normalize_number

CUTOFFS = (1, 5, 10, 100)
_ARTICLES = ARTICLES | {"le", "la", "les", "un", "une"}
_PUNCT = set(string.punctuation) | set("„“”‚‘’«»–—…")


def normalize_answer(text: str) -> str:
    text = CITE.sub(" ", text)
    text = re.sub(
        r"\d{1,3}(?:[.,\u202f\u00a0 ]\d{3})+(?:[.,]\d+)?|\d+[.,]\d+", lambda m: normalize_number(m.group()), text
    )
    text = text.lower()
    text = "".join(" " if ch in _PUNCT and ch != "." else ch for ch in text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    best = 0.0
    p = normalize_answer(prediction).split()
    for g in golds:
        gt = normalize_answer(g).split()
        common = Counter(p) & Counter(gt)
        same = sum(common.values())
        if not p or not gt or same == 0:
            continue
        prec, rec = same / len(p), same / len(gt)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best


def contained(prediction: str, golds: Sequence[str]) -> float:
    p = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in p for g in golds if normalize_answer(g)))


def doc_ranking(chunk_ranking: Sequence[int], chunk_doc: dict[int, str]) -> list[str]:
    """Documents in the order of their best chunk."""
    seen: dict[str, None] = {}
    for cid in chunk_ranking:
        d = chunk_doc.get(cid)
        if d is not None and d not in seen:
            seen[d] = None
    return list(seen)


def query_metrics(ranking: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    """MRR@10, nDCG@10 (graded, log2 discount) and Recall@k for one query."""
    out: dict[str, float] = {}
    first = next((i for i, d in enumerate(ranking[:10], 1) if d in relevant), None)
    out["mrr@10"] = 1.0 / first if first else 0.0
    dcg = sum((2 ** relevant[d] - 1) / math.log2(i + 1) for i, d in enumerate(ranking[:10], 1) if d in relevant)
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum((2**r - 1) / math.log2(i + 1) for i, r in enumerate(ideal, 1))
    out["ndcg@10"] = dcg / idcg if idcg else 0.0
    for k in CUTOFFS:
        out[f"recall@{k}"] = len(set(ranking[:k]) & set(relevant)) / len(relevant) if relevant else 0.0
    return out


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
