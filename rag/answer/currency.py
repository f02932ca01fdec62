"""How current an answer is: the dates of its cited sources set against the time the question asks about.

A news reader needs to know whether "the latest toll" is from this morning or from last month, and
whether an archive can answer "yesterday" at all. These notes are written in the question's language
(German or English; other languages get English) and say only what the dates show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from rag.records import Citation, Passage, SourceRef, TimeScope
from rag.retrieve.recency import date_span

_TEXT = {
    "de": {
        "archive": "Der Index endet am {newest}; zu {what} (vom {as_of} aus gesehen) enthält er nichts.",
        "empty_window": "Nichts in den Quellen vom {start} bis {end} beantwortet die Frage.",
        "newest": "Die neueste zitierte Quelle ist vom {newest}.",
        "older": "Die neueste zitierte Quelle ist vom {newest}, vor dem gefragten Zeitraum ({start} bis {end}).",
        "undated": "Die zitierten Quellen tragen kein Datum.",
    },
    "en": {
        "archive": "The index ends on {newest}; it holds nothing about {what} (as of {as_of}).",
        "empty_window": "Nothing in the sources from {start} to {end} answers this.",
        "newest": "The newest cited source is from {newest}.",
        "older": "The newest cited source is from {newest}, before the time asked about ({start} to {end}).",
        "undated": "The cited sources carry no date.",
    },
}


def _say(language: str, key: str, **values: str) -> str:
    return _TEXT.get(language[:2], _TEXT["en"])[key].format(**values)


def archive_too_old(scope: TimeScope, index_newest: str | None) -> bool:
    """Whether a relative question ("yesterday", "last week") asks about days after the index's newest article."""
    return bool(scope.relative and scope.window and index_newest and index_newest < scope.window[0])


def archive_note(scope: TimeScope, index_newest: str, language: str) -> str:
    return _say(language, "archive", newest=index_newest, what=scope.expression or "", as_of=scope.as_of)


def empty_window_note(scope: TimeScope, language: str) -> str | None:
    """The refusal's reason when the question's window held nothing relevant."""
    if scope.window is None:
        return None
    return _say(language, "empty_window", start=scope.window[0], end=scope.window[1])


def sources_span(citations: Sequence[Citation]) -> tuple[str, str] | None:
    """Oldest and newest date of the cited articles."""
    return date_span([c.date for c in citations])


def currency_note(scope: TimeScope, span: tuple[str, str] | None, cited: int, language: str) -> str | None:
    """What a time-bound answer should say about how current its sources are (None for other questions).

    :param span: oldest and newest date of the cited articles.
    :param cited: how many sources are cited.
    """
    if not scope.bound or not cited:
        return None
    if span is None:
        return _say(language, "undated")
    newest = span[1]
    if scope.window is not None and newest < scope.window[0]:
        return _say(language, "older", newest=newest, start=scope.window[0], end=scope.window[1])
    return _say(language, "newest", newest=newest) if scope.recency else None


def retrieved_refs(passages: Sequence[Passage], citations: Sequence[Citation]) -> list[SourceRef]:
    """One entry per retrieved article (in retrieval order), with the answer's numbers that cite it.

    Citations point into the evidence, which is drawn from the retrieved passages: every [n] is here.
    """
    cited: dict[str, list[int]] = {}
    for c in citations:
        cited.setdefault(c.article_id, []).append(c.n)
    refs: dict[str, SourceRef] = {}
    for p in passages:
        if p.article_id not in refs:
            refs[p.article_id] = SourceRef(
                p.article_id, p.headline, p.outlet, p.date, tuple(cited.get(p.article_id, ()))
            )
    return list(refs.values())


class _Dated(Protocol):
    @property
    def date(self) -> str | None: ...


D = TypeVar("D", bound=_Dated)


def by_day(items: Iterable[D]) -> list[tuple[str | None, list[D]]]:
    """``items`` grouped by their date, oldest day first, the undated ones last (day None)."""
    days: dict[str | None, list[D]] = {}
    for item in items:
        days.setdefault(item.date or None, []).append(item)
    return sorted(days.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
