"""Lexical terms: lower-cased words, stop words of the text's language removed, Snowball stems.

Each chunk's terms are computed once at ingest and stored with it (both stores index exactly
these terms for BM25); a query is analysed in every language present in the index (the union of
the variants), so an English query still matches English-stemmed terms while a German query
matches German ones. The verifier and the evidence generator use the same analysis for their
word-overlap scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

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

# Definite and indefinite articles of the languages we answer in most (English, German), which
# short answers and answer normalisation strip or skip.
ARTICLES = frozenset(
    {"a", "an", "the", "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines"}
)


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
