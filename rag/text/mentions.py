"""What a sentence asserts that can be checked literally: numbers, name-like words, citation marks.

The verifier fails a claim whose numbers or names are not in the source sentence that supports it,
the evidence generator skips sources lacking a number the question asks about, and the evaluation
normalises numbers the same way, so "8.000", "8,000" and "8 000" are one number everywhere.
"""

from __future__ import annotations

import re

from rag.text.lexical import STOPWORDS, norm_lang

CITE = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
"""Citation marks of an answer: ``[1]``, ``[2][3]``, ``[2, 3]``."""

_NUM = re.compile(r"(?<![\w.,])\d{1,3}(?:[.,\u202f\u00a0 ]\d{3})+(?:[.,]\d+)?(?![\w])|(?<![\w])\d+(?:[.,]\d+)?")
_CAP = re.compile(r"\b([A-ZÄÖÜ][\w\-]*[\w])")
_NOUN_SUFFIX = re.compile(
    r"(ung|heit|keit|schaft|tion|sion|ität|nis|tum|ment|ismus|ling|chen|lein|ei|ik|enz|anz|ur|ie|age|en|er|e|s)$"
)


def normalize_number(text: str) -> str:
    """'8.000', '8,000', '8 000' -> '8000'; '3,5' -> '3.5'."""
    t = text.replace("\u202f", " ").replace("\u00a0", " ")
    if re.fullmatch(r"\d{1,3}(?:[., ]\d{3})+", t):
        return re.sub(r"[., ]", "", t)
    if m := re.fullmatch(r"(\d{1,3}(?:[., ]\d{3})+)[.,](\d+)", t):
        return re.sub(r"[., ]", "", m[1]) + "." + m[2]
    return t.replace(",", ".")


def numbers(text: str) -> set[str]:
    """The normalised numbers in ``text`` (citation marks ignored)."""
    return {normalize_number(m.group()) for m in _NUM.finditer(CITE.sub(" ", text))}


def names(sentence: str) -> list[str]:
    """Capitalised words that look like names (not the first word, not typical German noun endings)."""
    words = _CAP.findall(CITE.sub(" ", sentence))
    first = re.match(r"\W*(\w+)", sentence)
    out = []
    for i, w in enumerate(words):
        if i == 0 and first and first.group(1) == w:
            continue
        if len(w) < 3:
            continue
        if w.isupper() or not _NOUN_SUFFIX.search(w.lower()):
            out.append(w)
    return out


_TITLES = {"mr", "mrs", "ms", "dr", "prof", "sir", "st"}


def capitalised(sentence: str, language: str | None) -> list[str]:
    """Every capitalised word of three or more letters, the first one included, that is not a stop word.

    Wider than :func:`names`: in German every noun is capitalised, and a name often opens the
    sentence ("Lawrow sagte …"); the verifier asks of these only whether they come from elsewhere.
    """
    stops = STOPWORDS.get(norm_lang(language), set())
    out = []
    for w in _CAP.findall(CITE.sub(" ", sentence)):
        low = w.lower()
        if len(w) >= 3 and low not in stops and low not in _TITLES:
            out.append(w)
    return out


# sentence-opening adverbs and prepositions that stop-word lists lack ("Laut Polizei …", "Zudem …")
_OPENERS = {
    "laut", "demnach", "zudem", "außerdem", "dabei", "insgesamt", "zuvor", "bereits", "heute", "gestern", "morgen",
    "bisher", "derzeit", "inzwischen", "wegen", "trotz", "seit", "zufolge", "jedoch", "allerdings", "dennoch",
    "trotzdem", "somit", "according", "however", "also", "today", "yesterday", "since", "after", "before",
    "meanwhile", "earlier", "later", "then", "thus", "still",
}  # fmt: skip


def opening_name(sentence: str, language: str | None) -> str | None:
    """The sentence's first word when it looks like a name ("Lawrow sagte …"), which :func:`names` skips."""
    m = re.match(r"\W*([A-ZÄÖÜ][\w\-]*[\w])", CITE.sub(" ", sentence))
    if m is None:
        return None
    w = m.group(1)
    low = w.lower()
    if len(w) < 3 or low in STOPWORDS.get(norm_lang(language), set()) or low in _OPENERS or low in _TITLES:
        return None
    return w if w.isupper() or not _NOUN_SUFFIX.search(low) else None


def contains_name(name: str, text_lower: str) -> bool:
    """The name's stem (first 4-6 letters, so inflections match) is in the (lower-cased) text.

    A hyphenated compound ("Henkel-Chef", "A1-Wertkartentarif") also counts when each of its parts
    is there: German news writes "der Chef von Henkel" as readily as "Henkel-Chef".
    """
    stem = name.lower()[: max(4, min(len(name), 6))]
    if stem in text_lower:
        return True
    parts = [x for x in re.split(r"[-‐‑]", name) if x]
    return len(parts) > 1 and all(x.lower()[: max(2, min(len(x), 6))] in text_lower for x in parts)
