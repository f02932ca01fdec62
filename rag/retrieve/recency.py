"""Retrieval with time: a question's window becomes a date filter, "latest" becomes a recency ranking.

A window (from :func:`rag.text.timeexpr.parse_time`) restricts the candidates to articles dated inside
it, plus ``tolerance`` days after it (outlets often date a report the day after the event), and never
after the as-of day; articles without a date are kept but ranked after the dated ones and are shown
as undated. Recency words ("latest", "jüngste") multiply each passage's score by a decay on its age,
counted from the newest dated candidate on or before as-of: an archive asked about years later still
ranks its own newest reports first; an undated passage counts as one half-life old. Questions
without time words are not touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta

from rag.records import Passage, SearchFilters, TimeScope
from rag.text.timeexpr import iso_day


def _later(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def _earlier(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def time_filters(
    filters: SearchFilters | None, scope: TimeScope | None, tolerance_days: int = 1
) -> SearchFilters | None:
    """The user's filters narrowed to the question's window (with the tolerance) and to as-of.

    :param filters: explicit filters (``--since``/``--until``/``--source``), kept and intersected.
    :param scope: the question's time; None or one without a window and recency changes nothing.
    :param tolerance_days: days after the window whose reports still count.
    """
    if scope is None or not scope.bound:
        return filters
    base = filters or SearchFilters()
    since: str | None = None
    until: str | None = scope.as_of
    if scope.window is not None:
        end = date.fromisoformat(scope.window[1]) + timedelta(days=tolerance_days)
        since, until = scope.window[0], min(end.isoformat(), scope.as_of)  # nothing after as-of exists yet
    since = _later(base.since, since)
    until = _earlier(base.until, until)
    if since and until and since > until:
        since = until  # an explicit filter outside the window: the narrowest honest reading is empty
    return dataclasses.replace(base, since=since, until=until, undated=True)


def _age_days(p: Passage, newest: date) -> int | None:
    day = iso_day(p.date)
    return None if day is None else (newest - day).days


def order_by_time(passages: Sequence[Passage], scope: TimeScope | None, half_life_days: float = 3.0) -> list[Passage]:
    """Dated passages before undated ones for a time-bound question; by decayed score when it asks for the latest.

    :param half_life_days: with recency, a passage this many days older than the newest candidate counts half.
    """
    if scope is None or not scope.bound:
        return list(passages)
    as_of = date.fromisoformat(scope.as_of)
    dates = [d for p in passages if (d := iso_day(p.date)) is not None and d <= as_of]
    newest = max(dates) if dates else as_of

    def key(p: Passage) -> tuple[int, float]:
        age = _age_days(p, newest)
        if scope.recency:
            # an undated report counts as one half-life old: it may be current, nothing says so
            p.scores["recency"] = 0.5 if age is None else 0.5 ** (max(age, 0) / half_life_days)
            decayed = -p.score * p.scores["recency"]
            return (1, decayed) if age is None and scope.window else (0, decayed)
        return (1, -p.score) if age is None else (0, -p.score)

    return sorted(passages, key=key)


def date_span(dates: Sequence[str | None]) -> tuple[str, str] | None:
    """Oldest and newest of the ISO dates given (None when none is a date)."""
    known = sorted(d.isoformat() for x in dates if (d := iso_day(x)) is not None)
    return (known[0], known[-1]) if known else None
