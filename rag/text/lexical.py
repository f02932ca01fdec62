"""Lexical terms: lower-cased words, stop words of the text's language removed, German compounds
split, Snowball stems.

Each chunk's terms are computed once at ingest and stored with it (both stores index exactly
these terms for BM25); a query is analysed in every language present in the index (the union of
the variants), so an English query still matches English-stemmed terms while a German query
matches German ones. The verifier and the evidence generator use the same analysis, without the
compound parts, for their word-overlap scores.

German compounds: news German joins nouns into one word ("Religionswissenschafter",
"Flüchtlingsunterkunft"), so a question's "Wissenschafter" or "Unterkunft" never met the article's
compound. A German word of 10 letters or more also contributes the stems of its parts, as found by
german-nouns' parser over ~100,000 Wiktionary nouns (the compound itself stays a term). Measured
with ``python eval/lexical_study.py`` (docs/evaluation.md): BM25 MRR@10 on XQuAD-de 0.915 → 0.921,
on news_de 0.934 → 0.957. The parser loads its noun list (~3 s) on the first German text.

An index records the analysis that made its terms (``ANALYZER_VERSION`` in its manifest); a query is
analysed the same way (an index built before compounds were split gets unsplit query terms until a
write re-analyses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

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
ANALYZER_VERSION = "words2+stop+de-compounds+snowball-v2"
UNSPLIT_ANALYZER = "words2+stop+snowball-v1"  # before German compounds were split
COMPOUND_MIN_LETTERS = 10

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


@lru_cache(maxsize=1)
def _german_nouns() -> Any:
    from german_nouns.lookup import Nouns

    return Nouns()


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """The lower-cased parts of a German compound noun ("lautäußerungen" → laut, äußerung); () if none."""
    if len(word) < COMPOUND_MIN_LETTERS or not word.isalpha():
        return ()
    parts = [x.lower() for x in _german_nouns().parse_compound(word.capitalize())]
    return tuple(x for x in parts if x != word and len(x) > 2)


def warm_up(languages: Iterable[str | None]) -> None:
    """Load what analysing text of ``languages`` needs (the German noun list), so a first query does not wait."""
    if "de" in {norm_lang(x) for x in languages}:
        _german_nouns()


def analyze(text: str, language: str | None, *, split_compounds: bool = False) -> list[str]:
    """Terms of ``text`` in ``language``; with ``split_compounds`` as the stores index them (:func:`index_terms`)."""
    lang = norm_lang(language)
    stops = _stops(lang)
    words = [w for w in _WORD.findall(text.lower()) if w not in stops]
    if split_compounds and lang == "de":
        words = [x for w in words for x in (w, *compound_parts(w)) if x not in stops]
    stem = _stemmer(lang)
    return stem.stemWords(words) if stem else words


def index_terms(text: str, language: str | None, analyzer: str = ANALYZER_VERSION) -> list[str]:
    """The terms the stores index for a chunk, made with ``analyzer`` (an index keeps the one it began with)."""
    return analyze(text, language, split_compounds=analyzer != UNSPLIT_ANALYZER)


def analyze_query(text: str, languages: Iterable[str | None], analyzer: str = ANALYZER_VERSION) -> list[str]:
    """Query terms: the union of the analyses in every index language (order kept, no repeats).

    :param analyzer: the analysis the index's terms were made with (its manifest's ``analyzer``).
    """
    split = analyzer != UNSPLIT_ANALYZER
    terms: dict[str, None] = {}
    for lang in sorted({norm_lang(x) for x in languages}) or [""]:
        for t in analyze(text, lang, split_compounds=split):
            terms.setdefault(t, None)
    return list(terms)
