"""The language of a question, and the fixed phrases we answer with in it."""

from __future__ import annotations

import re

REFUSALS = {
    "de": "Dazu enthalten die Quellen keine Angaben.",
    "en": "The sources do not contain information about this.",
    "fr": "Les sources ne contiennent aucune information à ce sujet.",
    "es": "Las fuentes no contienen información sobre esto.",
    "it": "Le fonti non contengono informazioni su questo.",
}
# Phrases by which a generator declines; any of them marks the answer as a refusal.
_REFUSAL_PATTERNS = re.compile(
    r"(quellen (enthalten|nennen|sagen) (dazu )?(keine|nichts)|keine (angaben|informationen)|"
    r"sources do not (contain|say|mention)|no information (about|on)|not (mentioned|contained) in the sources|"
    r"i (do not|don't) know|ne contiennent aucune|no contienen información|non contengono informazioni)",
    re.IGNORECASE,
)
_EN_HINTS = re.compile(r"\b(who|what|when|where|which|why|how|did|does|is|are|the|whom|many|much)\b", re.I)
_DE_HINTS = re.compile(r"\b(wer|was|wann|wo|welche[rsmn]?|warum|wie|hat|haben|ist|sind|der|die|das|wem|viele)\b", re.I)


def detect_question_language(text: str) -> str:
    """Language code of a (short) question; question words decide before the statistical model."""
    en = len(_EN_HINTS.findall(text))
    de = len(_DE_HINTS.findall(text))
    if en != de and (en >= 1 or de >= 1) and len(text.split()) <= 25:
        return "en" if en > de else "de"
    import py3langid

    lang, _ = py3langid.classify(text)
    return str(lang)


def detect_language(text: str) -> str | None:
    """Language code of an article body (py3langid on its first 2,000 characters); None when too short."""
    import py3langid

    sample = text[:2000].strip()
    if len(sample) < 20:
        return None
    lang, _ = py3langid.classify(sample)
    return str(lang)


def refusal_text(language: str) -> str:
    return REFUSALS.get(language, REFUSALS["en"])


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL_PATTERNS.search(text)) or text.strip() in REFUSALS.values()
