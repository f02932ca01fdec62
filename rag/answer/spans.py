"""Short answers without a QA model: the span of a source sentence that answers the question's type.

There is no extractive QA or NER model to be had offline, so the evidence generator reads the
question's type from its wording (wer/who → a person or organisation, wie viele/how many → a
number with its unit, wann/when → a date, wo/where → a place, warum/why → a reason clause, else the
phrase the question asks about) and picks, in the best evidence sentence, the candidate of that type
that sits closest to the words the sentence shares with the question and repeats none of them
(an answer is what the sentence adds to the question). Candidates come from patterns that are the
same in every Latin-script language we stem: numbers and units, month names, capitalised runs,
prepositional phrases. When a typed question finds no candidate of its type, that is evidence
against answering (see :func:`typed_candidate_missing`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rag.text.lexical import ARTICLES, analyze

QuestionType = Literal["person", "number", "date", "place", "reason", "name", "other"]

# "welche Partei …", "which team …": the noun after the question word says what kind of answer it wants
_NUMBER_NOUNS = (
    r"(platz|minute|alter|preis|punktzahl|temperatur|betrag|rate|größe|länge|höhe|dauer|entfernung|kosten|"
    r"anteil|prozent\w*|mengen?|place|age|price|score|temperature|amount|size|length|height|distance|cost|"
    r"share|percentage)"
)
_ACTOR_NOUNS = (
    r"(team|mannschaft|partei|organisation|institution|unternehmen|firma|konzern|verein|gruppe|band|person|mann|"
    r"frau|herrscher|könig|kaiser|präsident|schauspieler\w*|spieler\w*|chemiker|physiker|wissenschaftler\w*|"
    r"anführer|führer|verteidiger|sänger\w*|künstler\w*|autor\w*|architekt\w*|general|politiker\w*|"
    r"minister\w*|kanzler|papst|familie|dynastie|stamm|gericht|behörde|regierung|universität|schule|party|"
    r"organi[sz]ation|company|firm|club|group|man|woman|ruler|king|emperor|president|actor|player|chemist|"
    r"physicist|scientist|leader|defender|singer|artist|author|architect|politician|minister|chancellor|pope|"
    r"family|dynasty|tribe|court|agency|government|university|school)"
)
_TYPES: tuple[tuple[QuestionType, re.Pattern[str]], ...] = (
    (
        "number",
        re.compile(
            rf"\b((in |an |auf |mit |ab |zu |um |bei )?welche(m|n|r|s)? {_NUMBER_NOUNS}|(what|which) {_NUMBER_NOUNS})\b",
            re.I,
        ),
    ),
    (
        "number",
        re.compile(
            r"\b(wie\s?viele?|wieviele?|wie (hoch|lang|groß|gross|alt|weit|schwer|oft|teuer|breit|tief|stark|schnell)|"
            r"um wie viel|how (many|much|long|high|old|far|big|large|often|tall|wide|deep|fast)|what (percentage|proportion|share|number|amount)|"
            r"welche(n|r|s)? (anzahl|zahl|summe|menge|höhe|prozentsatz|anteil|betrag))\b",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            r"\b(wann|seit wann|bis wann|when|(in |an |um )?welche(m|n|r|s)? (jahr|jahrhundert|jahrzehnt|monat|tag|zeit|datum|epoche)|"
            r"(in |on )?(what|which) (year|century|decade|month|day|date|time|era))\b",
            re.I,
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(wo|wohin|woher|where|(in |aus |nach )?welche(m|n|r|s)? (land|stadt|ort|region|staat|kontinent|gebiet|gegend|provinz|bundesland|insel|fluss|straße)|"
            r"(in |from |to )?(what|which) (country|city|town|place|region|state|continent|area|province|island|river|street))\b",
            re.I,
        ),
    ),
    ("person", re.compile(r"\b(wer|wem|wen|wessen|who|whom|whose|von wem|mit wem|für wen)\b", re.I)),
    ("person", re.compile(rf"\b(welche(m|n|r|s)?|what|which) (\w+ )?{_ACTOR_NOUNS}\b", re.I)),
    ("reason", re.compile(r"\b(warum|weshalb|wieso|weswegen|why|aus welchem grund|for what reason)\b", re.I)),
    (
        "name",
        re.compile(
            r"\b(wie (heißt|hieß|heißen|hießen|lautet|lautete|nennt man|wird .{1,40} genannt)|what (is|was|are|were) the names?|"
            r"what (is|was) .{1,40} called|name)\b",
            re.I,
        ),
    ),
    ("name", re.compile(r"\b(welche(m|n|r|s)?|which) \w+", re.I)),  # another "welche X": a named thing
)

_NUMBER = re.compile(
    r"(?:(?:bis zu|rund|etwa|ca\.|circa|fast|knapp|über|mehr als|weniger als|mindestens|höchstens|about|around|"
    r"nearly|almost|over|more than|less than|up to|at least|some)\s+)?"
    r"\d[\d.,\u202f\u00a0 ]*\d|\d"
)
_UNIT = re.compile(
    r"^\s*(%|‰|°\s?[CF]?|prozent|percent|per cent|prozentpunkte|mio\.?|mrd\.?|millionen|milliarden|million|billion|"
    r"tausend|thousand|hundert|hundred|euros?|dollars?|us-dollars?|pfund|pounds?|franken|francs?|yen|yuan|€|\$|£|km²|km|m²|m³|m|cm|mm|kg|g|t|"
    r"tonnen|tons|kilometer|kilometers|meter|metres|meters|meilen|miles|fuß|feet|zoll|inches|liter|litres|hektar|"
    r"hectares|grad|degrees|jahre|jahren|years|monate|months|tage|days|stunden|hours|minuten|minutes|sekunden|seconds|"
    r"mw|gw|kw|kwh|volt|watt|ps)\b\.?",
    re.I,
)
_MONTHS = (
    r"(januar|jänner|februar|feber|märz|april|mai|juni|juli|august|september|oktober|november|dezember|"
    r"january|february|march|may|june|july|october|december)"
)
_DATE = re.compile(
    rf"\b(\d{{1,2}}\.\s?{_MONTHS}(\s\d{{4}})?|{_MONTHS}\s\d{{1,2}}(,\s\d{{4}})?|{_MONTHS}\s\d{{4}}|\d{{1,2}}\s{_MONTHS}(\s\d{{4}})?|"
    rf"{_MONTHS}|\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}|(vor|nach|seit|bis|ab|um|im|in den|in the|since|before|after|by)?\s?"
    r"(\d{3,4}(er)?|\d{1,2}\.\s?jahrhundert(s)?|\w+ jahrhundert(s)?|\d{1,2}(st|nd|rd|th) century|\d{4}s)|"
    r"(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.I,
)
_REASON = re.compile(
    r"\b(weil|da|denn|um|damit|wegen|aufgrund|because|since|as|due to|owing to|so that|in order to)\b", re.I
)
_PLACE_PREP = re.compile(r"\b(in|im|nach|bei|aus|an|am|auf|von|vom|zu|zur|zum|at|from|near|to|on)\s+$", re.I)
_WORD = re.compile(r"[\w][\w'’\-.]*[\w]|[\w]|[%€$£°]", re.UNICODE)
_PARTICLES = {
    "von",
    "van",
    "de",
    "der",
    "den",
    "du",
    "da",
    "di",
    "la",
    "le",
    "of",
    "the",
    "y",
    "bin",
    "al",
    "zu",
    "und",
    "&",
}
_LOWER_STOP = ARTICLES | {
    "und",
    "oder",
    "and",
    "or",
    "of",
    "in",
    "im",
    "am",
    "zu",
    "zum",
    "zur",
    "to",
    "at",
    "on",
    "with",
    "mit",
}


def question_type(question: str) -> QuestionType:
    """The kind of answer the question asks for, from its wording."""
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return "other"


@dataclass(frozen=True)
class Span:
    """A candidate answer inside a sentence: ``sentence[start:end] == text``."""

    start: int
    end: int
    text: str
    kind: str
    score: float = 0.0


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def _question_stems(question: str, language: str | None) -> set[str]:
    stems = set(analyze(question, language))
    return stems | {w.lower() for w in re.findall(r"\w+", question) if len(w) > 3}


def _in_question(word: str, stems: set[str], language: str | None) -> bool:
    lw = word.lower()
    if lw in stems:
        return True
    terms = analyze(word, language)
    return bool(terms) and all(t in stems for t in terms)


def _numbers(sentence: str) -> list[Span]:
    out = []
    for m in _NUMBER.finditer(sentence):
        end = m.end()
        if unit := _UNIT.match(sentence[end:]):
            end += unit.end()
        out.append(Span(m.start(), end, sentence[m.start() : end].strip(), "number"))
    return out


def _dates(sentence: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group().strip(), "date") for m in _DATE.finditer(sentence) if m.group().strip()]


def _capital_runs(sentence: str, tokens: list[tuple[int, int, str]], asked: list[bool]) -> list[Span]:
    """Maximal runs of capitalised words (name particles allowed inside) that the question does not
    contain, excluding the first word alone ("Noble" in "ernannte Noble Robert Kintner", asked about Kintner)."""
    out: list[Span] = []
    i = 0
    while i < len(tokens):
        s, _, w = tokens[i]
        if not asked[i] and (w[:1].isupper() or (w[:1].isdigit() and i > 0 and out and out[-1].end == s - 1)):
            j = i + 1
            while (
                j < len(tokens)
                and not asked[j]
                and (
                    tokens[j][2][:1].isupper()
                    or (tokens[j][2].lower() in _PARTICLES and j + 1 < len(tokens) and tokens[j + 1][2][:1].isupper())
                )
            ):
                j += 1
            start, end = tokens[i][0], tokens[j - 1][1]
            if not (i == 0 and j == 1):  # a capitalised first word alone is usually just the sentence start
                out.append(Span(start, end, sentence[start:end], "capital"))
            i = j
        else:
            i += 1
    return out


def _places(sentence: str, runs: list[Span]) -> list[Span]:
    return [Span(r.start, r.end, r.text, "place") for r in runs if _PLACE_PREP.search(sentence[: r.start])]


def _reasons(sentence: str) -> list[Span]:
    out = []
    for m in _REASON.finditer(sentence):
        end = re.search(r"[.;!?]|$", sentence[m.start() :])
        stop = m.start() + (end.start() if end else len(sentence))
        if stop - m.start() > 8:
            out.append(Span(m.start(), stop, sentence[m.start() : stop].strip(" ,"), "reason"))
    return out


_NOUN_LIKE = re.compile(
    r"(ung|heit|keit|schaft|tion|sion|ität|nis|tum|ment|ismus|ling|chen|lein|ei|ik|enz|anz|ur|ie|age|en|er|e|s)$"
)
_DETERMINERS = ARTICLES | {
    "alle",
    "diese",
    "diesem",
    "diesen",
    "dieser",
    "dieses",
    "her",
    "his",
    "ihr",
    "ihre",
    "ihrem",
    "ihren",
    "ihrer",
    "its",
    "jede",
    "jeder",
    "jedes",
    "kein",
    "keine",
    "sein",
    "seine",
    "seinem",
    "seinen",
    "seiner",
    "their",
}
_ADJ_END = re.compile(r"(e|en|er|es|em|ste|sten|ische|ischen|ischer|isches)$")


def _noun_phrases(sentence: str, tokens: list[tuple[int, int, str]], language: str | None) -> list[Span]:
    """Noun phrases: in German (determiner) (adjectives) capitalised nouns; elsewhere runs of content words."""
    stops = {"und", "and", "oder", "or"}
    out: list[Span] = []
    german = (language or "de")[:2] == "de"
    n = len(tokens)
    for i in range(n):
        w = tokens[i][2]
        if not w[:1].isupper() or i == 0:
            continue
        # extend over following capitalised words (compound names, "Manned Spacecraft Center")
        j = i + 1
        while j < n and tokens[j][2][:1].isupper() and not _gap(sentence, tokens, j):
            j += 1
        # take the adjectives and a determiner before it
        a = i
        while a > 0 and not _gap(sentence, tokens, a):
            prev = tokens[a - 1][2]
            if german and prev.islower() and _ADJ_END.search(prev) and prev not in _LOWER_STOP:
                a -= 1
            else:
                break
        for start in {a, i}:
            text = sentence[tokens[start][0] : tokens[j - 1][1]]
            out.append(Span(tokens[start][0], tokens[j - 1][1], text, "phrase"))
    if not german:
        i = 0
        while i < n:
            if tokens[i][2].lower() in _LOWER_STOP or tokens[i][2].lower() in stops:
                i += 1
                continue
            j = i
            while (
                j < n
                and j - i < 5
                and tokens[j][2].lower() not in _LOWER_STOP
                and not (j > i and _gap(sentence, tokens, j))
            ):
                j += 1
            out.append(Span(tokens[i][0], tokens[j - 1][1], sentence[tokens[i][0] : tokens[j - 1][1]], "phrase"))
            i = j
    return out


def _gap(sentence: str, tokens: list[tuple[int, int, str]], j: int) -> bool:
    """Punctuation between token j-1 and token j (a phrase does not run across it)."""
    return bool(re.search(r"[,;:()„“”\"–]", sentence[tokens[j - 1][1] : tokens[j][0]]))


def candidates(question: str, sentence: str, language: str | None) -> tuple[QuestionType, list[Span]]:
    """The question's type and the scored candidate answers in ``sentence`` (best first)."""
    kind = question_type(question)
    stems = _question_stems(question, language)
    tokens = _tokens(sentence)
    asked = [_in_question(w, stems, language) for _, _, w in tokens]
    runs = _capital_runs(sentence, tokens, asked)
    pool: list[Span]
    if kind == "number":
        pool = _numbers(sentence)
    elif kind == "date":
        pool = _dates(sentence)
    elif kind == "place":
        pool = _places(sentence, runs) or runs
    elif kind in ("person", "name"):
        pool = runs or _noun_phrases(sentence, tokens, language)
    elif kind == "reason":
        pool = _reasons(sentence)
    else:
        pool = _noun_phrases(sentence, tokens, language)
    hits = [(s, e) for (s, e, _), a in zip(tokens, asked, strict=True) if a]
    scored = []
    for span in pool:
        words = [w for s, e, w in tokens if s >= span.start and e <= span.end]
        if not words:
            continue
        repeated = sum(_in_question(w, stems, language) for w in words) / len(words)
        if repeated >= 1.0:
            continue  # the question's own words are not its answer
        gaps = [max(0, span.start - he, hs - span.end) for hs, he in hits]
        distance = min(gaps, default=len(sentence)) / max(1, len(sentence))
        score = 1.0 - repeated - 0.8 * distance
        if kind in ("other", "name"):
            score -= 0.03 * max(0, len(words) - 4)
        if kind in ("person", "name"):
            capitals = [w for w in words if w[:1].isupper()]
            name_like = [w for w in capitals if w.isupper() or not _NOUN_LIKE.search(w.lower())]
            score += 0.3 * bool(name_like) + 0.2 * (len(capitals) >= 2)
        scored.append(Span(span.start, span.end, span.text, span.kind, score))
    scored.sort(key=lambda s: (-s.score, s.start))
    return kind, scored


def short_answer(question: str, sentences: Sequence[str], language: str | None) -> str | None:
    """The best typed candidate in the first sentence that has one (sentences best first), else None."""
    for sentence in sentences:
        _, spans = candidates(question, sentence, language)
        if spans:
            return spans[0].text.strip(" ,;:")
    return None


def typed_candidate_missing(question: str, sentences: Sequence[str], language: str | None) -> bool:
    """True when the question asks for a number, a date or a place and none of ``sentences`` offers one."""
    kind = question_type(question)
    if kind not in ("number", "date", "place"):
        return False
    return all(not candidates(question, s, language)[1] for s in sentences)
