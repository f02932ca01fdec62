"""BM25 over the chunks of one FAISS-store generation, with bm25s.

The terms come from :func:`rag.text.lexical.analyze` at ingest and are stored per chunk, so
publishing a generation only re-packs them into bm25s's sparse matrix; nothing is tokenised or
rebuilt per query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from rag.text.lexical import ANALYZER_VERSION, analyze_query


class LexicalIndex:
    """A bm25s index whose document i is the chunk ``chunk_ids[i]``."""

    def __init__(
        self, bm25: bm25s.BM25, chunk_ids: np.ndarray, languages: Sequence[str], analyzer: str = ANALYZER_VERSION
    ) -> None:
        """:param analyzer: the analysis the stored terms were made with; queries are analysed alike."""
        self.bm25 = bm25
        self.analyzer = analyzer
        self.chunk_ids = chunk_ids
        self.languages = list(languages)
        self._pos = {int(c): i for i, c in enumerate(chunk_ids)}

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str]], languages: Sequence[str]) -> LexicalIndex:
        """``rows``: (chunk id, space-joined stored terms)."""
        ids: list[int] = []
        corpus: list[list[str]] = []
        for cid, terms in rows:
            ids.append(int(cid))
            corpus.append(terms.split() if terms else [])
        bm25 = bm25s.BM25()
        if corpus:
            bm25.index(corpus, show_progress=False)
        return cls(bm25, np.asarray(ids, dtype=np.int64), languages)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if len(self.chunk_ids):
            self.bm25.save(str(folder), show_progress=False)
        np.save(folder / "chunk_ids.npy", self.chunk_ids)
        (folder / "languages.json").write_text(json.dumps(self.languages))

    @classmethod
    def load(cls, folder: Path, analyzer: str = ANALYZER_VERSION) -> LexicalIndex:
        ids = np.load(folder / "chunk_ids.npy")
        languages = json.loads((folder / "languages.json").read_text())
        bm25 = bm25s.BM25.load(str(folder), mmap=False, show_progress=False) if len(ids) else bm25s.BM25()
        return cls(bm25, ids, languages, analyzer)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score, only among ``allowed`` chunk ids if given."""
        n = len(self.chunk_ids)
        if n == 0 or k <= 0:
            return []
        terms = analyze_query(query, self.languages, self.analyzer)
        if not terms:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(n, dtype=np.float32)
            pos = [self._pos[int(c)] for c in allowed if int(c) in self._pos]
            if not pos:
                return []
            mask[pos] = 1.0
        docs, scores = self.bm25.retrieve([terms], k=min(k, n), show_progress=False, weight_mask=mask, n_threads=1)
        return [(int(self.chunk_ids[d]), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
