"""Time expressions in news questions: which days a question means, read against the day it is asked from.

Retrieval filters and ranks by article date, so "Was sagte Merkel gestern?" must become a window of one
day, "the latest figures" a request for the newest state, and the time words must leave the search
query (they match no article text). Everything here is a rule over the question's own words:

* **Finding** is a table of regular expressions (``_RULES``), tried in order; a later rule never claims
  words an earlier one took. Day-level dates ("14. Februar 2017", "Feb 14", "2017-02-14"), months
  ("im Januar", "Ende Februar 2017"), years (only after "im", "in", "seit", "Jahr", ...; a bare "2016" is
  a count), weekdays, "gestern", "last week", rolling windows ("in den letzten drei Tagen") and
  recency words ("latest", "jüngste", "so far").
* **Combining**: two neighbouring dates joined by "bis", "to", "und", "and" after "vom", "from",
  "zwischen", "between" form one range (the left side takes month and year from the right:
  "vom 1. bis 5. März 2017"); "seit", "since", "ab" make ``[that day, as_of]``; "bis", "until" make
  ``[OPEN_START, that day]``; "before", "vor dem" ``[OPEN_START, first day]`` and "after", "nach dem"
  ``[last day, as_of]``. 1900-01-01 (``OPEN_START``) stands for "no lower bound", older than any
  corpus. Several windows in one question are intersected; when they do not overlap ("gestern und
  vorgestern") their hull is used. A weekday next to another window is that weekday inside it
  ("letzte Woche am Dienstag"; "am Montag, dem 6. März" is just the 6th).
* **Inference**: a date or month without a year is the most recent one not after ``as_of``, or, over
  an archive whose newest article is older (``newest``), not after that day: "am 15. März" asked in
  2026 of a 2017 archive means 15 March 2017, the latest one the archive can report on, while
  "gestern" stays anchored to ``as_of`` (the answer then says the archive is too old). Such a
  window, and every window with a bound taken from ``as_of``, is ``relative``. Windows computed from
  ``as_of`` end at ``as_of`` at the latest; windows written with a year are kept as written.

Why no ``dateparser``: it was tried (1.5, offline it works). Once a rule has found the words, day, month
and year are already integers, and ``datetime.date`` both builds and validates the day; dateparser
would only add four dependencies (regex, pytz, tzlocal, dateutil) and 100-160 ms on its first call. It
also answers None both for an impossible date ("30.2.2017") and for a spelling it does not know
("5. Maerz"), so it cannot tell the user which one it was. Its ``search_dates`` finds dates in ordinary
words, which is why finding is done by the rules here.
"""

from __future__ import annotations

import math
import re
from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from rag.errors import NewsragError
from rag.records import TimeScope

OPEN_START = date(1900, 1, 1)
"""The start of a window that is open towards the past ("bis zum 5. März", "until 2016")."""


class TimeExpressionError(NewsragError, ValueError):
    """A date that cannot be a day (in the question or the as-of value), or a range that runs backwards."""


# ---------------------------------------------------------------------------------------------- word tables

_MONTHS: dict[str, int] = {
    "januar": 1, "jänner": 1, "jaenner": 1, "january": 1, "jan": 1,
    "februar": 2, "feber": 2, "february": 2, "feb": 2,
    "märz": 3, "maerz": 3, "march": 3, "mär": 3, "mrz": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11,
    "dezember": 12, "december": 12, "dez": 12, "dec": 12,
}  # fmt: skip
_WEAK_MONTHS = frozenset({"may", "march", "jan", "mar"})
"""Also a verb or a name: a month only next to a day or a year (or, capitalised, after "in", "since"...)."""

_WEEKDAYS: dict[str, int] = {
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5,
    "sonnabend": 5, "sonntag": 6, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip

_NUMBERS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "eins": 1, "zwei": 2, "drei": 3,
    "vier": 4, "fünf": 5, "fuenf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "elf": 11, "zwölf": 12, "zwoelf": 12,
}  # fmt: skip

_UNIT_PREFIXES = {"tag": "day", "day": "day", "woch": "week", "week": "week", "monat": "month", "month": "month",
                  "jahr": "year", "year": "year", "stund": "hour", "hour": "hour"}  # fmt: skip
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_PART_WORDS = {"anfang": "early", "early": "early", "beginning": "early", "start": "early", "mitte": "mid",
               "mid": "mid", "middle": "mid", "ende": "late", "end": "late", "late": "late"}  # fmt: skip


def _alt(words: Iterable[str]) -> str:
    """A regex alternation of the words, longest first (so "Februar" wins over "Feb")."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = _alt(_MONTHS)
_WEEKDAY = _alt(_WEEKDAYS)
_NUM = rf"(?:\d{{1,3}}|{_alt(_NUMBERS)})"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON_NUM = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:1[89]\d\d|20\d\d)(?!\d)"
_EN_UNIT = r"(?:days?|weeks?|months?|years?|hours?)"
_DE_UNIT = r"(?:Tag(?:e|en)?|Woche(?:n)?|Monat(?:e|en)?|Jahr(?:e|en)?|Stunde(?:n)?)"
_DAYTIME_DE = (
    r"(?:abend|morgen|nachmittag|vormittag|mittag|nacht)?"
    r"(?:\s+(?:Morgen|Abend|Nachmittag|Vormittag|Mittag|Nacht|früh)\b)?"
)
_PART = r"anfang|mitte|ende|early|mid|late|(?:at\s+)?(?:the\s+)?(?:end|beginning|start|middle)\s+of"
_COUNT_NOUN = (
    r"(?!\s+(?:Menschen|Personen|Leute|Fälle|Fällen|Befragte|Befragten|Mal|Euro|Dollar|Prozent|Stimmen|"
    r"people|persons|cases|times|votes|percent|dollars|euros)\b)"
)

_I = re.IGNORECASE


# ---------------------------------------------------------------------------------------------- hits


@dataclass(frozen=True)
class _Parts:
    """What the words wrote of a date: None where they left it to be inferred."""

    day: int | None = None
    month: int | None = None
    year: int | None = None
    part: str | None = None  # "early", "mid", "late" of a month


@dataclass(frozen=True)
class _Hit:
    """One time expression found in the question: its span and what it means."""

    start: int
    end: int
    kind: str  # recency, day, partday, month, year, weekday, calendar, rolling, range, open
    window: tuple[date, date] | None = None
    relative: bool = False
    recency: bool = False
    parts: _Parts | None = None


_Handler = Callable[[re.Match[str], date], _Hit | None]


def _minus(day: date, days: int) -> date:
    return day - timedelta(days=days) if days < (day - date.min).days else date.min


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _unit(word: str) -> str:
    low = word.lower()
    return next(unit for prefix, unit in _UNIT_PREFIXES.items() if low.startswith(prefix))


def _group(m: re.Match[str], *names: str) -> str | None:
    """The first of the named groups that took part in the match."""
    return next((m[n] for n in names if n in m.re.groupindex and m[n] is not None), None)


def _month_days(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, monthrange(year, month)[1])


def _part_of_month(year: int, month: int, part: str | None) -> tuple[date, date]:
    """The whole month, or its first ten days, days 11-20, or its last ten days."""
    first, last = _month_days(year, month)
    if part == "early":
        return first, first.replace(day=10)
    if part == "mid":
        return first.replace(day=11), first.replace(day=20)
    if part == "late":
        return last - timedelta(days=9), last
    return first, last


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def _not_a_date(text: str) -> TimeExpressionError:
    return TimeExpressionError(f"{text.strip()!r} is not a date")


def _make_date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise _not_a_date(text) from None


def _latest_day(text: str, month: int, day: int, as_of: date) -> date:
    """The most recent such day not after ``as_of`` (a 29 February goes back to the last leap year)."""
    for year in range(as_of.year, as_of.year - 9, -1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= as_of:
            return found
    raise _not_a_date(text)


def _month_usable(word: str, *, day: bool, ordinal: bool, year: bool, lead: bool) -> bool:
    """Whether a month word is a month here: "May 2017", "3 May", "in May" yes; "What may happen" no.

    Lowercase "may" and "march" are the verbs unless a year or an ordinal ("may 3rd") comes with them.
    """
    low = word.lower()
    if low not in _WEAK_MONTHS or year:
        return True
    if word[0].islower():
        return ordinal
    return day or (lead and low not in {"jan", "mar"})


# ---------------------------------------------------------------------------------------------- handlers


def _recency(m: re.Match[str], as_of: date) -> _Hit:
    return _Hit(m.start(), m.end(), "recency", recency=True)


def _days_back(back: int) -> _Handler:
    def handle(m: re.Match[str], as_of: date) -> _Hit:
        day = _minus(as_of, back)
        return _Hit(m.start(), m.end(), "calendar", (day, day), relative=True)

    return handle


def _ago(m: re.Match[str], as_of: date) -> _Hit | None:
    """Days and weeks ago ("vor drei Tagen", "two weeks ago") are that day; months and years that month, year."""
    n, unit = _number(m["n"]), _unit(m["u"])
    if unit in ("day", "week", "hour"):
        day = _minus(as_of, n // 24 if unit == "hour" else n * _UNIT_DAYS[unit])
        window = (day, day)
    elif unit == "month":
        window = _month_days(*_shift_month(as_of.year, as_of.month, -n))
    else:
        window = (date(max(as_of.year - n, 1), 1, 1), date(max(as_of.year - n, 1), 12, 31))
    return _Hit(m.start(), m.end(), "calendar", window, relative=True)


def _rolling(m: re.Match[str], as_of: date) -> _Hit | None:
    """The last n units up to ``as_of``: n days are as_of-n+1..as_of; 24 hours reach back one day."""
    count = _group(m, "n", "n2")
    n = _number(count) if count else 1
    unit = _unit(_group(m, "u", "u1", "u2") or "")
    if n < 1:
        return None
    back = math.ceil(n / 24) if unit == "hour" else n * _UNIT_DAYS[unit] - 1
    return _Hit(m.start(), m.end(), "rolling", (_minus(as_of, back), as_of), relative=True)


def _this_week(d: date) -> tuple[date, date]:
    return d - timedelta(days=d.weekday()), d


def _last_week(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def _weekend(d: date) -> tuple[date, date]:
    if d.weekday() >= 5:
        return d - timedelta(days=d.weekday() - 5), d
    return _last_weekend(d)


def _last_weekend(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday - timedelta(days=2), monday - timedelta(days=1)


def _last_month(d: date) -> tuple[date, date]:
    return _month_days(*_shift_month(d.year, d.month, -1))


_CALENDAR: dict[str, Callable[[date], tuple[date, date]]] = {
    "this_week": _this_week,
    "last_week": _last_week,
    "weekend": _weekend,
    "last_weekend": _last_weekend,
    "this_month": lambda d: (d.replace(day=1), d),
    "last_month": _last_month,
    "this_year": lambda d: (date(d.year, 1, 1), d),
    "last_year": lambda d: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31)),
}


def _calendar(name: str) -> _Handler:
    def handle(m: re.Match[str], as_of: date) -> _Hit:
        return _Hit(m.start(), m.end(), "calendar", _CALENDAR[name](as_of), relative=True)

    return handle


_NOT_A_PAST_WEEKDAY = re.compile(
    r"\b(?:next|coming|every|each|nächsten?|naechsten?|kommenden?|jeden|black|cyber|good|super|easter|holy)\s+$", _I
)


def _weekday(m: re.Match[str], as_of: date) -> _Hit | None:
    """The most recent such weekday strictly before ``as_of`` ("am Montag" on a Monday: a week ago)."""
    if _NOT_A_PAST_WEEKDAY.search(m.string, 0, m.start()):
        return None
    back = (as_of.weekday() - _WEEKDAYS[m["wd"].lower()]) % 7 or 7
    day = _minus(as_of, back)
    return _Hit(m.start(), m.end(), "weekday", (day, day), relative=True)


_DAY_LEAD = re.compile(r"\b(?:am|seit|vom|bis|zum|ab|vor\s+dem|nach\s+dem)\s+$", _I)


def _day_parts(m: re.Match[str]) -> _Parts | None:
    """Day, month and year of whichever spelling matched; None where the month word is no month here."""
    if m["d3"] or m["d4"]:
        return _Parts(int(m["d3"] or m["d4"]), int(m["m3"] or m["m4"]), int(m["y3"] or m["y4"]))
    if m["d5"]:
        return _Parts(int(m["d5"]), int(m["m5"])) if _DAY_LEAD.search(m.string, 0, m.start()) else None
    word, day, year = (m["m1"], m["d1"], m["y1"]) if m["d1"] else (m["m2"], m["d2"], m["y2"])
    ordinal = re.search(r"\d(?:st|nd|rd|th)\b", m.group(), _I) is not None
    if not _month_usable(word, day=True, ordinal=ordinal, year=year is not None, lead=False):
        return None
    return _Parts(int(day), _MONTHS[word.lower()], int(year) if year else None)


def _day(m: re.Match[str], as_of: date) -> _Hit | None:
    parts = _day_parts(m)
    if parts is None or parts.day is None or parts.month is None:
        return None
    if parts.year is None:
        day = _latest_day(m.group(), parts.month, parts.day, as_of)
    else:
        day = _make_date(m.group(), parts.year, parts.month, parts.day)
    return _Hit(m.start(), m.end(), "day", (day, day), relative=parts.year is None, parts=parts)


def _partday(m: re.Match[str], as_of: date) -> _Hit:
    """A bare day number that only a range can complete ("vom 1. bis 5. März")."""
    return _Hit(m.start(), m.end(), "partday", parts=_Parts(day=int(m["d"])))


_MONTH_LEAD = re.compile(
    r"\b(?:im|in|seit|since|ab|bis|until|till|before|after|vor|nach|during|von|vom|from|zwischen|between|"
    r"Monat|month\s+of)\s+(?:(?:dem|den|the)\s+)?$",
    _I,
)
_RANGE_LEFT = re.compile(
    r"\b(?:vom|von|from|zwischen|between)\s+(?:(?:dem|the)\s+)?\S+(?:\s+\S+){0,2}?\s*(?:bis|to|und|and|-|–)\s*$", _I
)


def _has_lead(lead: re.Pattern[str], m: re.Match[str]) -> bool:
    return bool(lead.search(m.string, 0, m.start()) or _RANGE_LEFT.search(m.string, 0, m.start()))


def _month(m: re.Match[str], as_of: date) -> _Hit | None:
    """A month ("im Januar", "Ende Februar 2017", "mid-March"): the (part of the) most recent such month."""
    word, year = m["month"], int(m["year"]) if m["year"] else None
    part_words = m["part"].lower().split() if m["part"] else []
    part = _PART_WORDS[part_words[-2] if len(part_words) > 1 else part_words[0]] if part_words else None
    lead = part is not None or _has_lead(_MONTH_LEAD, m)
    if not (lead or year) or re.match(r"['’]s\b", m.string[m.end() :]):
        return None
    if not _month_usable(word.rstrip("."), day=False, ordinal=False, year=year is not None, lead=lead):
        return None
    month = _MONTHS[word.rstrip(".").lower()]
    if year is not None:
        window = _part_of_month(year, month, part)
    else:
        window = _part_of_month(as_of.year, month, part)
        if window[0] > as_of:
            window = _part_of_month(as_of.year - 1, month, part)
        window = (window[0], min(window[1], as_of))
    return _Hit(m.start(), m.end(), "month", window, year is None, parts=_Parts(None, month, year, part))


_YEAR_LEAD = re.compile(
    r"\b(?:im|in|seit|since|ab|bis|until|till|before|after|vor|nach|during|von|from|zwischen|between)\s+$", _I
)


_YEAR_LIST = re.compile(rf"\b(?:Jahre|Jahren|years)\s+{_YEAR}\s*(?:und|and|bis|to|-|–)\s*$", _I)


def _year(m: re.Match[str], as_of: date) -> _Hit | None:
    """A year after "im Jahr", "in", "seit"...; a bare four-digit number elsewhere is a count ("der 2016 Befragten")."""
    if not (m["noun"] or _has_lead(_YEAR_LEAD, m) or _YEAR_LIST.search(m.string, 0, m.start())):
        return None
    year = int(m["y"])
    return _Hit(m.start(), m.end(), "year", (date(year, 1, 1), date(year, 12, 31)), parts=_Parts(year=year))


# ---------------------------------------------------------------------------------------------- the rules

_RECENCY = (
    r"\b(?:neueste[nrs]?|jüngste[nmrs]?|juengste[nmrs]?|aktuell(?:e[nmrs]?)?|derzeit(?:ig(?:e[nmrs]?)?)?|"
    r"zuletzt|bislang|bisher(?:ige[nmrs]?)?|inzwischen|mittlerweile|jetzt|momentan|gegenwärtig|"
    r"bis\s+(?:jetzt|heute|dato)|stand\s+heute|latest|most\s+recent(?:ly)?|newest|currently|current|"
    r"as\s+of\s+(?:now|today)|right\s+now|(?:until|till|up\s+to)\s+now|so\s+far|to\s+date|now|still)\b"
)
_DAY_ATOM = (
    rf"(?:\bthe\s+)?(?<![\w.,])(?P<d1>{_DAY})(?:(?:st|nd|rd|th)\s+of\s+|(?:\.|st|nd|rd|th)?\s*)(?P<m1>{_MONTH})(?:\.|\b)"
    rf"(?:,?\s*(?P<y1>{_YEAR}))?"
    rf"|\b(?P<m2>{_MONTH})(?:\.|\b)\s*(?:the\s+)?(?P<d2>{_DAY})(?:st|nd|rd|th)?\b(?![.,]\d)(?:,?\s*(?P<y2>{_YEAR}))?"
    rf"|(?<![\w.,])(?P<d3>{_DAY})\.(?P<m3>{_MON_NUM})\.(?P<y3>{_YEAR})(?![.,]?\d)"
    rf"|(?<![\w.-])(?P<y4>{_YEAR})-(?P<m4>0[1-9]|1[0-2])-(?P<d4>0[1-9]|[12]\d|3[01])(?![\w-])"
    rf"|(?<![\w.,])(?P<d5>{_DAY})\.(?P<m5>{_MON_NUM})\.(?!\d)"
)
_CONNECT = r"(?:bis|to|until|till|through|und|and|-|–)"

_RULES: tuple[tuple[re.Pattern[str], _Handler], ...] = tuple(
    (re.compile(pattern, _I), handler)
    for pattern, handler in (
        (_RECENCY, _recency),
        (rf"\bthe\s+day\s+before\s+yesterday\b|\bvorgestern{_DAYTIME_DE}\b", _days_back(2)),
        (
            rf"\byesterday(?:\s+(?:morning|afternoon|evening|night))?\b|\blast\s+night\b|\bletzte\s+Nacht\b"
            rf"|\bgestern{_DAYTIME_DE}\b",
            _days_back(1),
        ),
        (
            r"\btoday\b|\btonight\b|\bthis\s+(?:morning|afternoon|evening)\b|\bheute(?:\s+(?:Morgen|Abend|"
            r"Nachmittag|Vormittag|Mittag|Nacht|früh))?\b",
            _days_back(0),
        ),
        (rf"\bvor\s+(?P<n>{_NUM})\s+(?P<u>{_DE_UNIT})\b", _ago),
        (rf"\b(?P<n>{_NUM})\s+(?P<u>{_EN_UNIT})\s+ago\b", _ago),
        (
            rf"(?:\bthe\s+)?\b(?:past|last|previous)\s+(?P<n>{_NUM})\s+(?P<u>{_EN_UNIT})\b"
            r"|(?:\bthe\s+(?:past|last|previous)|\bpast)\s+(?P<u1>day|week|month|year)\b",
            _rolling,
        ),
        (
            rf"(?:\b(?:den|die)\s+)?\b(?:letzten|vergangenen|zurückliegenden|zurueckliegenden|vorigen)\s+"
            rf"(?P<n>{_NUM})\s+(?P<u>{_DE_UNIT})\b|\bseit\s+(?P<n2>{_NUM})\s+(?P<u2>{_DE_UNIT})\b",
            _rolling,
        ),
        (r"\b(?:diese[rn]?)\s+Woche\b|\bthis\s+week\b", _calendar("this_week")),
        (
            r"\b(?:letzte[nr]?|vergangene[nr]?|vorige[nr]?)\s+Woche\b|\bVorwoche\b|\b(?:last|previous)\s+week\b",
            _calendar("last_week"),
        ),
        (
            r"\b(?:letzte[snm]?|vergangene[snm]?|vorige[snm]?)\s+Wochenende\b|\blast\s+weekend\b",
            _calendar("last_weekend"),
        ),
        (r"\b(?:(?:diese[snm]?|this|the)\s+)?(?:Wochenende|weekend)\b", _calendar("weekend")),
        (r"\b(?:diese[nmr]|laufenden)\s+Monat\b|\bthis\s+month\b", _calendar("this_month")),
        (
            r"\b(?:letzte[nmr]?|vergangene[nmr]?|vorige[nmr]?)\s+Monat\b|\bVormonat\b|\b(?:last|previous)\s+month\b",
            _calendar("last_month"),
        ),
        (r"\b(?:diese[snm]|laufenden)\s+Jahr(?:es)?\b|\bthis\s+year\b|\bheuer\b", _calendar("this_year")),
        (
            r"\b(?:letzte[snm]?|vergangene[snm]?|vorige[snm]?)\s+Jahr(?:es)?\b|\bVorjahr(?:es)?\b"
            r"|\b(?:last|previous)\s+year\b",
            _calendar("last_year"),
        ),
        (
            rf"\b(?:(?:letzte[nmr]?|vergangene[nmr]?|vorige[nmr]?|last|this\s+past|past)\s+)?(?P<wd>{_WEEKDAY})"
            r"(?:abend|morgen|nachmittag|vormittag|mittag|nacht)?\b(?:\s+(?:morning|afternoon|evening|night)\b)?",
            _weekday,
        ),
        (_DAY_ATOM, _day),
        (rf"(?<![\w.,])(?P<d>{_DAY})(?:\.|st|nd|rd|th)?(?=\s*{_CONNECT}\s*(?:(?:dem|zum|the)\s+)?\d)", _partday),
        (rf"(?:\b(?P<part>{_PART})(?:\s+|-))?\b(?P<month>{_MONTH})(?:\.|\b)(?:\s+(?P<year>{_YEAR}))?", _month),
        (
            rf"(?:\b(?P<noun>Jahr(?:es)?|year|(?:(?:the|die|den)\s+)?(?:Jahre|Jahren|years))\s+)?\b(?P<y>{_YEAR}){_COUNT_NOUN}(?![.,]\d)",
            _year,
        ),
    )
)


# ---------------------------------------------------------------------------------------------- combining

_RANGEABLE = frozenset({"day", "partday", "month", "year"})
_GAP = re.compile(rf"\s*(?P<word>{_CONNECT})(?:\s+(?:zum|zur|einschließlich))?\s*(?:(?:dem|zum|zur|the)\s+)?", _I)
_PLURAL_YEARS = re.compile(r"(?:(?:the|die|den)\s+)?(?:Jahre|Jahren|years)\b", _I)
_RANGE_LEAD = re.compile(r"\b(?:vom|von|from|zwischen|between)\s+(?:(?:dem|the)\s+)?$", _I)
_OPEN = re.compile(
    r"\b(?P<w>seit|since|ab|bis(?:\s+(?:zum|zur))?|until|till|up\s+to|before|vor|after|nach)\s+"
    r"(?:(?:dem|den|der|the)\s+)?$",
    _I,
)
_SINCE, _UNTIL, _BEFORE = {"seit", "since", "ab"}, {"bis", "until", "till", "up"}, {"before", "vor"}
_PREP = re.compile(
    r"\b(?:am|im|in|on|at|during|over|within|throughout|for|um|gegen)\s+(?:(?:dem|den|der|the)\s+)?$", _I
)


_YEAR_INFERRED: frozenset[_Handler] = frozenset({_day, _month})
"""The rules whose missing year is inferred (from ``year_ref``); every other one reads ``as_of``."""


def _find(question: str, as_of: date, year_ref: date | None = None) -> list[_Hit]:
    """Every rule's matches, in rule order, that do not overlap words an earlier match took."""
    hits: list[_Hit] = []
    for pattern, handle in _RULES:
        for m in pattern.finditer(question):
            if any(m.start() < h.end and h.start < m.end() for h in hits):
                continue
            ref = year_ref if year_ref is not None and handle in _YEAR_INFERRED else as_of
            if (hit := handle(m, ref)) is not None:
                hits.append(hit)
    return sorted(hits, key=lambda h: h.start)


def _reversed(text: str) -> TimeExpressionError:
    return TimeExpressionError(f"time range {text.strip()!r} ends before it starts")


def _day_range(text: str, left: _Parts, right: _Parts, right_day: date) -> tuple[date, date]:
    """The left day takes month and year from the right one; an inferred year may step back one."""
    month = left.month or right.month or right_day.month
    year = left.year or right.year or right_day.year
    start = _make_date(text, year, month, left.day or 1)
    if start > right_day and left.year is None and right.year is None and left.month is not None:
        start = _make_date(text, year - 1, month, left.day or 1)
    return start, right_day


def _month_range(left: _Parts, right: _Parts, right_window: tuple[date, date]) -> tuple[date, date]:
    year = left.year or right.year or right_window[0].year
    start = _part_of_month(year, left.month or 1, left.part)[0]
    if start > right_window[1] and left.year is None and right.year is None:
        start = _part_of_month(year - 1, left.month or 1, left.part)[0]
    return start, right_window[1]


def _range_window(text: str, left: _Hit, right: _Hit) -> tuple[date, date]:
    assert left.parts is not None and right.parts is not None and right.window is not None
    if right.kind == "day":
        window = _day_range(text, left.parts, right.parts, right.window[0])
    elif left.kind == right.kind == "month":
        window = _month_range(left.parts, right.parts, right.window)
    else:
        assert left.window is not None
        window = (left.window[0], right.window[1])
    if window[0] > window[1]:
        raise _reversed(text)
    return window


def _listed_years(question: str, left: _Hit) -> bool:
    """Whether the left year follows a plural: "die Jahre 2015 und 2016" is a range without "zwischen"."""
    return left.kind == "year" and _PLURAL_YEARS.match(question, left.start) is not None


def _range(question: str, left: _Hit, right: _Hit) -> _Hit | None:
    """Two dates joined by "bis", "to", "und", "and" (these two only after "zwischen", "between")."""
    if left.kind not in _RANGEABLE or right.kind not in _RANGEABLE - {"partday"}:
        return None
    if left.kind == "partday" and right.kind != "day":
        return None
    gap = _GAP.fullmatch(question, left.end, right.start)
    lead = _RANGE_LEAD.search(question, 0, left.start)
    if gap is None or (lead is None and gap["word"].lower() in {"und", "and"} and not _listed_years(question, left)):
        return None
    start = lead.start() if lead else left.start
    window = _range_window(question[start : right.end], left, right)
    inherits = right.kind == "day" or left.kind == right.kind == "month"  # the left side takes the right's year
    relative = right.relative if inherits else left.relative or right.relative
    return _Hit(start, right.end, "range", window, relative, parts=right.parts)


def _pair_ranges(question: str, hits: list[_Hit]) -> list[_Hit]:
    """Neighbouring dates that form a range become one hit; bare day numbers left over are dropped."""
    out: list[_Hit] = []
    i = 0
    while i < len(hits):
        joined = _range(question, hits[i], hits[i + 1]) if i + 1 < len(hits) else None
        if joined is not None:
            out.append(joined)
            i += 2
            continue
        if hits[i].kind != "partday":
            out.append(hits[i])
        i += 1
    return out


def _open_ended(question: str, hit: _Hit, as_of: date) -> _Hit:
    """A window opened by the word in front: "seit"/"since"/"ab", "bis"/"until", "before"/"vor", "after"/"nach"."""
    if hit.window is None or hit.kind in ("range", "rolling"):
        return hit
    m = _OPEN.search(question, 0, hit.start)
    if m is None:
        return hit
    word, (first, last) = m["w"].lower().split()[0], hit.window
    if word in _SINCE:
        window, relative = (first, as_of if as_of >= first else last), True
    elif word in _UNTIL:
        window, relative = (OPEN_START, last), hit.relative
    elif word in _BEFORE:
        window, relative = (OPEN_START, first), hit.relative
    else:
        window, relative = (last, as_of if as_of >= last else last), True
    return _Hit(m.start(), hit.end, "open", window, relative)


def _with_preposition(question: str, hit: _Hit) -> _Hit:
    """Take in a plain preposition right in front ("am Montag", "in den letzten drei Tagen")."""
    if hit.window is None:
        return hit
    m = _PREP.search(question, 0, hit.start)
    return replace(hit, start=m.start()) if m else hit


def _merge(windows: list[tuple[date, date]]) -> tuple[date, date] | None:
    """The intersection of the windows; their hull where they do not overlap."""
    if not windows:
        return None
    start, end = max(w[0] for w in windows), min(w[1] for w in windows)
    if start <= end:
        return start, end
    return min(w[0] for w in windows), max(w[1] for w in windows)


def _weekday_within(hit: _Hit, within: tuple[date, date] | None) -> _Hit | None:
    """A weekday next to another window means that weekday inside it ("letzte Woche am Dienstag",
    "am Montag, dem 6. März"); where the window holds no such day, the weekday adds nothing."""
    if hit.kind != "weekday" or hit.window is None or within is None:
        return hit
    day = within[1] - timedelta(days=(within[1].weekday() - hit.window[0].weekday()) % 7)
    return replace(hit, window=(day, day), relative=False) if day >= within[0] else None


def _scope(question: str, as_of: date, hits: list[_Hit]) -> TimeScope:
    others = _merge([h.window for h in hits if h.window is not None and h.kind != "weekday"])
    used = [u for h in hits if h.window is not None and (u := _weekday_within(h, others)) is not None]
    window = _merge([h.window for h in used if h.window is not None])
    spans = tuple((h.start, h.end) for h in hits)
    return TimeScope(
        as_of=as_of.isoformat(),
        window=(window[0].isoformat(), window[1].isoformat()) if window else None,
        recency=any(h.recency for h in hits),
        expression=" ".join(question[s:e] for s, e in spans) or None,
        relative=any(h.relative for h in used),
        spans=spans,
    )


# ---------------------------------------------------------------------------------------------- public API


def parse_as_of(value: str | date | None, today: date | None = None) -> date:
    """The day a question is asked from: None or "" is today, otherwise an ISO date ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or not value.strip():
        return today or date.today()
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise TimeExpressionError(f"as-of date {value!r} is not a date: expected YYYY-MM-DD")


def parse_time(question: str, as_of: date, newest: date | None = None) -> TimeScope:
    """The time ``question`` asks about, read against ``as_of``; words that are no time are ignored.

    :param newest: the date of the index's newest article, when known: a date or month written without
        a year is then the most recent one not after the earlier of ``as_of`` and ``newest``.

    Raises TimeExpressionError for a date that cannot exist ("31. Februar 2017") or a range that ends
    before it starts ("vom 10. bis 3. März 2017").
    """
    year_ref = newest if newest is not None and newest < as_of else None
    hits = _pair_ranges(question, _find(question, as_of, year_ref))
    hits = [_with_preposition(question, _open_ended(question, h, as_of)) for h in hits]
    return _scope(question, as_of, hits)


_DANGLING = re.compile(
    r"\b(?:am|im|in|on|at|during|over|within|throughout|for|für|um|gegen|seit|since|ab|vom|von|from|"
    r"bis(?:\s+zum|\s+zur)?|to|until|till|zwischen|between|before|after|vor|nach)\s+(?:(?:dem|den|der|the)\s+)?$"
    r"|,\s*(?:dem|den)\s+$",  # "Am Montag, dem 6. März"
    _I,
)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    text = re.sub(r"[,;:]+(?=[?.!,;:]|$)", "", text)
    return text.strip().lstrip(",;: ")


def strip_time(question: str, scope: TimeScope) -> str:
    """The question without its time words and the prepositions that only belonged to them.

    Unchanged when that would leave fewer than two words (the time was the whole question).
    """
    if not scope.spans:
        return question
    text = question
    for start, end in sorted(scope.spans, reverse=True):
        m = _DANGLING.search(text, 0, start)
        text = text[: m.start() if m else start] + " " + text[end:]
    text = _tidy(text)
    return text if len(re.findall(r"\w+", text)) >= 2 else question


def iso_day(value: str | None) -> date | None:
    """``value`` as a date when it is an ISO date (YYYY-MM-DD), else None (an undated article)."""
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def without_day(text: str, day: str | None) -> str:
    """``text`` with the written mentions of the date ``day`` (ISO) left out ("On 13 March 2017: 65" → "On : 65").

    An answer may restate a source's own date ("am 13. März noch 65 [2]"); checks of the numbers and
    names a claim takes from its source read the claim without it. Relative words ("yesterday") and
    other dates are kept: only an absolute day equal to ``day`` is removed.
    """
    when = iso_day(day)
    if when is None:
        return text
    spans = [
        (h.start, h.end) for h in _find(text, when) if not h.relative and h.kind == "day" and h.window == (when, when)
    ]
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + text[end:]
    return text


def is_time_word(word: str) -> bool:
    """Whether ``word`` alone names a month or a weekday ("März", "Thursday")."""
    low = word.lower()
    return low in _MONTHS or low in _WEEKDAYS
