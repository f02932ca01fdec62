"""One passage per story: overlapping chunks of an article and copies of a wire story fold together.

Also :func:`sentence_window`, which grows a passage by whole neighbouring sentences of its article
with the offsets still exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.records import Passage
from rag.store.base import NewsStore
from rag.text.sentences import sentence_spans

_WORDS = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    w = _WORDS.findall(text.lower())
    return {tuple(w[i : i + n]) for i in range(max(1, len(w) - n + 1))}


def _overlap(sa: set[tuple[str, ...]], sb: set[tuple[str, ...]], threshold: float) -> bool:
    if not sa or not sb:
        return False
    return len(sa & sb) / min(len(sa), len(sb)) >= threshold


def near_duplicate(a: str, b: str, threshold: float = 0.6) -> bool:
    """Same wording (shared 4-word shingles over the smaller text), e.g. one wire story in two outlets."""
    return _overlap(_shingles(a), _shingles(b), threshold)


def collapse(passages: Sequence[Passage], k: int) -> list[Passage]:
    """Keep the best of overlapping chunks of one article, and fold copies of a story into one passage.

    The first ``k`` distinct passages are returned in order; a folded copy is listed in the kept
    passage's ``also_in``.
    """
    kept: list[Passage] = []
    kept_shingles: list[set[tuple[str, ...]]] = []
    for p in passages:
        if len(kept) >= k:
            break
        if any(q.article_id == p.article_id and p.start < q.end and q.start < p.end for q in kept):
            continue
        sp = _shingles(p.text)
        copy_of = next(
            (
                q
                for q, sq in zip(kept, kept_shingles, strict=True)
                if q.article_id != p.article_id and _overlap(sq, sp, 0.6)
            ),
            None,
        )
        if copy_of is None:
            kept.append(p)
            kept_shingles.append(sp)
        elif not any(x["article_id"] == p.article_id for x in copy_of.also_in):
            copy_of.also_in.append(
                {"article_id": p.article_id, "headline": p.headline, "outlet": p.outlet, "date": p.date, "url": p.url}
            )
    return kept


def sentence_window(index: NewsStore, passage: Passage, before: int = 1, after: int = 1) -> Passage:
    """The passage grown by whole neighbouring sentences of its article, offsets still exact."""
    art = index.article(passage.article_id)
    if art is None:
        return passage
    spans = sentence_spans(art.body, art.language)
    inside = [i for i, (s, e) in enumerate(spans) if s < passage.end and e > passage.start]
    if not inside:
        return passage
    first = max(0, inside[0] - before)
    last = min(len(spans) - 1, inside[-1] + after)
    start = min(spans[first][0], passage.start)
    end = max(spans[last][1], passage.end)
    return replace(passage, start=start, end=end, text=art.body[start:end])
