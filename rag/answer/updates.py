"""Update-aware answers: the newest figure first, the earlier one named with its date and source.

News revises its numbers: a death toll of 65 on 13 March is 113 on 16 March. When two retrieved
sentences from articles of different dates say the same thing with different figures, the answer
gives the newest one on or before the question's as-of day and mentions the earlier one with its
date ("Zuvor, am 13. März 2017: „…65…“ [2]"). Each figure stays cited to its own source, so the
verifier checks it as usual (it reads a claim without the restated date of the source it cites,
:func:`rag.text.timeexpr.without_day`).

"The same thing" is read conservatively, since mistaking two facts of one story for a revision
would hide one of them: the sentences must be close in meaning (``min_similarity`` on their
vectors; 0.7, below which MiniLM already puts a pure change of figure), share most of their content
words once the numbers are left out (``min_shared``), write the same capitalised words (people,
places; months and weekdays aside), come from different articles and differ in their figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.text.lexical import analyze
from rag.text.mentions import capitalised, numbers
from rag.text.timeexpr import is_time_word, iso_day, without_day

_MONTHS = {
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
_EARLIER = {"de": "Zuvor, am {day}: „{text}“ [{n}]", "en": 'Earlier, on {day}: "{text}" [{n}]'}


@dataclass(frozen=True)
class Statement:
    """A candidate sentence as the revision check sees it."""

    text: str
    vector: np.ndarray
    date: str | None
    article_id: str
    language: str | None


@dataclass(frozen=True)
class Revision:
    """Which statement answers (the newest) and which earlier one it revises (None: no revision seen)."""

    newest: int
    earlier: int | None


def _figures(s: Statement) -> frozenset[str]:
    return frozenset(numbers(without_day(s.text, s.date)))


def _words(s: Statement) -> set[str]:
    return {t for t in analyze(s.text, s.language) if not any(ch.isdigit() for ch in t)}


def _names(s: Statement) -> set[str]:
    return {w.lower() for w in capitalised(s.text, s.language) if not is_time_word(w)}


def find_revision(
    chosen: int,
    statements: Sequence[Statement],
    as_of: str | None,
    *,
    min_similarity: float = 0.7,
    min_shared: float = 0.5,
) -> Revision:
    """The newest statement of the same thing as ``statements[chosen]`` and the one it revises.

    :param chosen: the statement the answer would use.
    :param statements: the scored candidates (best first), ``chosen`` among them.
    :param as_of: the question's day (ISO); statements dated after it are not news yet.
    :param min_similarity: cosine of the sentence vectors from which two statements may be the same thing.
    :param min_shared: Jaccard share of content words (numbers left out) they must have as well.
    """
    base = statements[chosen]
    figures = _figures(base)
    if not base.date or not figures or (as_of and base.date > as_of):
        return Revision(chosen, None)
    words, names = _words(base), _names(base)  # the base's, read once for all candidates

    def same_thing(s: Statement) -> bool:
        if s.article_id == base.article_id or float(base.vector @ s.vector) < min_similarity:
            return False
        theirs = _words(s)
        if not (words and theirs) or len(words & theirs) / len(words | theirs) < min_shared:
            return False
        return _names(s) == names  # "5 dead in Paris" is no revision of "12 dead in Lyon"

    group = [chosen] + [
        i
        for i, s in enumerate(statements)
        if i != chosen
        and s.date
        and (not as_of or s.date <= as_of)
        and s.date != base.date
        and (theirs := _figures(s))
        and theirs != figures
        and same_thing(s)
    ]
    if len(group) == 1:
        return Revision(chosen, None)
    by_date = sorted(group, key=lambda i: (statements[i].date or "", -i))
    newest = by_date[-1]
    # the most recent earlier report (the one the newest revises), not the oldest
    earlier = next(i for i in reversed(by_date[:-1]) if statements[i].date != statements[newest].date)
    return Revision(newest, earlier)


def format_day(day: str, language: str) -> str:
    """``2017-03-13`` as a reader of ``language`` writes it (German and English; ISO otherwise)."""
    d = iso_day(day)
    if d is None:
        return day
    lang = language[:2]
    if lang == "de":
        return f"{d.day}. {_MONTHS['de'][d.month - 1]} {d.year}"
    if lang == "en":
        return f"{d.day} {_MONTHS['en'][d.month - 1]} {d.year}"
    return d.isoformat()


def earlier_sentence(text: str, day: str, n: int, language: str) -> str:
    """The earlier report, quoted with its date and citation, in the question's language."""
    template = _EARLIER.get(language[:2], _EARLIER["en"])
    return template.format(day=format_day(day, language), text=text.strip().rstrip("."), n=n)
