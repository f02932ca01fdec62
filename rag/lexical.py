"""BM25 over chunks with bm25s, stemmed per article language with PyStemmer.

Each chunk's terms are computed once at ingest (lower-cased words, stop words of the article's
language removed, Snowball stem of that language) and stored with the chunk, so publishing a new
index generation only re-packs the stored terms into bm25s's sparse matrix; nothing is
tokenised or rebuilt per query. A query is stemmed with every language present in the index
(the set of the variants), so an English query still matches English-stemmed terms while a
German query matches German ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s import stopwords as bm25_stopwords

_WORD = re.compile(r"\w\w+", re.UNICODE)
SNOWBALL = {
    "de": "german",
    "en": "english",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "fi": "finnish",
    "ru": "russian",
    "tr": "turkish",
    "hu": "hungarian",
    "ro": "romanian",
}
STOPWORDS = {
    "de": bm25_stopwords.STOPWORDS_GERMAN,
    "en": bm25_stopwords.STOPWORDS_EN,
    "fr": bm25_stopwords.STOPWORDS_FRENCH,
    "es": bm25_stopwords.STOPWORDS_SPANISH,
    "it": bm25_stopwords.STOPWORDS_ITALIAN,
    "nl": bm25_stopwords.STOPWORDS_DUTCH,
    "pt": bm25_stopwords.STOPWORDS_PORTUGUESE,
    "sv": bm25_stopwords.STOPWORDS_SWEDISH,
    "da": bm25_stopwords.STOPWORDS_DANISH,
    "no": bm25_stopwords.STOPWORDS_NORWEGIAN,
    "ru": bm25_stopwords.STOPWORDS_RUSSIAN,
    "tr": bm25_stopwords.STOPWORDS_TURKISH,
}
ANALYZER_VERSION = "words2+stop+snowball-v1"


def norm_lang(language: str | None) -> str:
    return (language or "").lower()[:2]


@lru_cache(maxsize=32)
def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    name = SNOWBALL.get(lang)
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=32)
def _stops(lang: str) -> frozenset[str]:
    return frozenset(STOPWORDS.get(lang, ()))


def analyze(text: str, language: str | None) -> list[str]:
    """Terms of ``text`` as stored for a chunk in ``language``."""
    lang = norm_lang(language)
    stops = _stops(lang)
    words = [w for w in _WORD.findall(text.lower()) if w not in stops]
    stem = _stemmer(lang)
    return stem.stemWords(words) if stem else words


def analyze_query(text: str, languages: Iterable[str | None]) -> list[str]:
    """Query terms: the union of the analyses in every index language (order kept, no repeats)."""
    terms: dict[str, None] = {}
    for lang in sorted({norm_lang(x) for x in languages}) or [""]:
        for t in analyze(text, lang):
            terms.setdefault(t, None)
    return list(terms)


class LexicalIndex:
    """A bm25s index whose document i is the chunk ``chunk_ids[i]``."""

    def __init__(self, bm25: bm25s.BM25, chunk_ids: np.ndarray, languages: Sequence[str]) -> None:
        self.bm25 = bm25
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
    def load(cls, folder: Path) -> LexicalIndex:
        ids = np.load(folder / "chunk_ids.npy")
        languages = json.loads((folder / "languages.json").read_text())
        bm25 = bm25s.BM25.load(str(folder), mmap=False, show_progress=False) if len(ids) else bm25s.BM25()
        return cls(bm25, ids, languages)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score, only among ``allowed`` chunk ids if given."""
        n = len(self.chunk_ids)
        if n == 0 or k <= 0:
            return []
        terms = analyze_query(query, self.languages)
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
