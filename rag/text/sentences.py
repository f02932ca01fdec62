"""Sentence boundaries with exact character offsets.

pysbd does the segmentation (rule based, per language); on its own it still cuts German dates
such as "am 1. Nov. 2024" after "Nov." and ordinals like "der 2. Sieger" in some contexts, so a
small repair pass joins a segment to the next when the cut falls right after an ordinal or an
abbreviated month and the next segment starts with a digit or a lower-case letter.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

_PYSBD_LANGS = {
    "de",
    "en",
    "fr",
    "es",
    "it",
    "nl",
    "da",
    "ru",
    "pl",
    "el",
    "ar",
    "fa",
    "hi",
    "hy",
    "mr",
    "ur",
    "am",
    "bg",
    "my",
    "zh",
    "ja",
    "kk",
    "sk",
}
_MONTHS = r"(?:Jan|Feb|Febr|Mär|Mrz|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Oct|Nov|Dez|Dec)"
_JOIN_AFTER = re.compile(rf"(?:\b\d{{1,2}}\.|\b{_MONTHS}\.|\b[A-Za-zÄÖÜäöü]\.)\s*$")
_ENDS_SENTENCE = re.compile(r"[.!?…:;\"'“”»«)\]]$")
_JOIN_BEFORE = re.compile(r"^\s*[\d a-zäöüß(„\"-]")


@lru_cache(maxsize=8)
def _segmenter(lang: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def sentence_spans(text: str, language: str | None = "de") -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans covering the sentences of ``text``, whitespace trimmed.

    Offsets index into ``text`` itself, so ``text[start:end]`` is always the exact sentence.
    """
    lang = (language or "de").lower()[:2]
    lang = lang if lang in _PYSBD_LANGS else "en"
    spans: list[tuple[int, int]] = []
    # pysbd works paragraph by paragraph more reliably, and a newline is always a boundary.
    for para in re.finditer(r"[^\n]+", text):
        base = para.start()
        raw = para.group()
        if not raw.strip():
            continue
        pos = 0
        segs: list[tuple[int, int]] = []
        for seg in _segmenter(lang).segment(raw):
            # pysbd's spans can drift on repeated text; locate each segment from our own cursor.
            found = raw.find(seg.sent, pos)
            if found < 0:
                found = pos
            end = found + len(seg.sent)
            segs.append((found, end))
            pos = end
        if not segs or segs[-1][1] < len(raw):
            segs.append((segs[-1][1] if segs else 0, len(raw)))
        merged: list[tuple[int, int]] = []
        for s, e in segs:
            prev = raw[merged[-1][0] : merged[-1][1]].rstrip() if merged else ""
            if merged and (
                not _ENDS_SENTENCE.search(prev) or (_JOIN_AFTER.search(prev) and _JOIN_BEFORE.match(raw[s:e]))
            ):
                merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        for s, e in merged:
            while s < e and raw[s].isspace():
                s += 1
            while e > s and raw[e - 1].isspace():
                e -= 1
            if e > s:
                spans.append((base + s, base + e))
    return spans


def split_sentences(text: str, language: str | None = "de") -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, language)]
