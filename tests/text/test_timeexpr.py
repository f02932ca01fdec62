"""Time expressions in real German and English news questions, read against a fixed as-of day.

Most cases are asked from Wednesday 22 March 2017: that week began on Monday the 20th, the week
before ran from the 13th to the 19th, and the month before was February (28 days).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rag.errors import NewsragError
from rag.records import TimeScope
from rag.text.timeexpr import OPEN_START, TimeExpressionError, parse_as_of, parse_time, strip_time

WED = date(2017, 3, 22)  # a Wednesday
MON = date(2017, 3, 20)  # a Monday
MID_JAN = date(2017, 1, 15)
EARLY_MAR = date(2017, 3, 5)
LEAP = date(2017, 3, 1)


def day(iso: str) -> tuple[str, str]:
    return iso, iso


# (question, as_of, window, recency, relative)
CASES: list[tuple[str, date, tuple[str, str] | None, bool, bool]] = [
    # absolute dates, German spellings
    ("Was sagte Merkel am 14. Februar 2017?", WED, day("2017-02-14"), False, False),
    ("Was geschah am 14. Feb. 2017 in Berlin?", WED, day("2017-02-14"), False, False),
    ("Was geschah am 14.2.2017?", WED, day("2017-02-14"), False, False),
    ("Was meldete die Polizei am 14.02.2017?", WED, day("2017-02-14"), False, False),
    ("Was geschah am 2017-02-14?", WED, day("2017-02-14"), False, False),
    ("Was geschah am 3. Jänner 2017?", WED, day("2017-01-03"), False, False),
    ("Was geschah am 5. Maerz 2017?", WED, day("2017-03-05"), False, False),
    ("Was beschloss der Bundestag am 3. Feber 2017?", WED, day("2017-02-03"), False, False),
    # without a year: the most recent such day on or before as_of
    ("Was geschah am 14. Februar?", WED, day("2017-02-14"), False, True),
    ("Was geschah am 25. März?", WED, day("2016-03-25"), False, True),
    ("Was geschah am 29. Februar?", LEAP, day("2016-02-29"), False, True),
    ("Was geschah am 14.2.?", WED, day("2017-02-14"), False, True),
    # absolute dates, English spellings
    ("What did Trump say on February 14, 2017?", WED, day("2017-02-14"), False, False),
    ("What happened on 14 February 2017?", WED, day("2017-02-14"), False, False),
    ("What happened on 3 May 2016?", WED, day("2016-05-03"), False, False),
    ("What happened on Feb 14?", WED, day("2017-02-14"), False, True),
    ("What happened on February 14th?", WED, day("2017-02-14"), False, True),
    ("What happened on the 14th of February?", WED, day("2017-02-14"), False, True),
    ("What happened on March 25?", WED, day("2016-03-25"), False, True),
    ("What happened on Sept 3?", WED, day("2016-09-03"), False, True),
    # months and years
    ("Was passierte im Januar?", WED, ("2017-01-01", "2017-01-31"), False, True),
    ("Was passierte im März?", WED, ("2017-03-01", "2017-03-22"), False, True),  # the current month, capped
    ("Was passierte im April?", WED, ("2016-04-01", "2016-04-30"), False, True),  # after as_of: last year
    ("What happened in March?", MID_JAN, ("2016-03-01", "2016-03-31"), False, True),
    ("What happened in May?", WED, ("2016-05-01", "2016-05-31"), False, True),
    ("Was passierte im Januar 2017?", WED, ("2017-01-01", "2017-01-31"), False, False),
    ("What happened in March 2017?", WED, ("2017-03-01", "2017-03-31"), False, False),
    ("Was geschah Ende Februar 2017?", WED, ("2017-02-19", "2017-02-28"), False, False),
    ("What happened at the end of February 2016?", WED, ("2016-02-20", "2016-02-29"), False, False),
    ("Was geschah Anfang März?", WED, ("2017-03-01", "2017-03-10"), False, True),
    ("What happened in early March?", WED, ("2017-03-01", "2017-03-10"), False, True),
    ("Was geschah Mitte März?", WED, ("2017-03-11", "2017-03-20"), False, True),
    ("What happened in mid-March?", WED, ("2017-03-11", "2017-03-20"), False, True),
    ("Was geschah Mitte März?", EARLY_MAR, ("2016-03-11", "2016-03-20"), False, True),  # not yet this year
    ("Was geschah im Jahr 2016?", WED, ("2016-01-01", "2016-12-31"), False, False),
    ("What happened in 2016?", WED, ("2016-01-01", "2016-12-31"), False, False),
    ("Welche Zahlen gibt es für die Jahre 2015 und 2016?", WED, ("2015-01-01", "2016-12-31"), False, False),
    # ranges
    ("Was geschah vom 1. bis 5. März 2017?", WED, ("2017-03-01", "2017-03-05"), False, False),
    ("Was geschah zwischen dem 1. und dem 5. März?", WED, ("2017-03-01", "2017-03-05"), False, True),
    ("What happened from 1 to 5 March 2017?", WED, ("2017-03-01", "2017-03-05"), False, False),
    ("What happened between March 1 and March 5, 2017?", WED, ("2017-03-01", "2017-03-05"), False, False),
    ("Was geschah vom 20. Dezember bis 5. Januar?", WED, ("2016-12-20", "2017-01-05"), False, True),
    ("Wie stieg die Arbeitslosigkeit von Januar bis März 2017?", WED, ("2017-01-01", "2017-03-31"), False, False),
    ("What changed between 2015 and 2017?", WED, ("2015-01-01", "2017-12-31"), False, False),
    # weekdays: the most recent one strictly before as_of
    ("Was geschah am Montag?", WED, day("2017-03-20"), False, True),
    ("Was geschah am Montag?", MON, day("2017-03-13"), False, True),  # same weekday: a week back
    ("Was geschah am Mittwoch?", WED, day("2017-03-15"), False, True),
    ("Who spoke on Sunday?", WED, day("2017-03-19"), False, True),
    ("What did he say Monday?", WED, day("2017-03-20"), False, True),
    ("Was geschah am vergangenen Freitag?", WED, day("2017-03-17"), False, True),
    ("What happened last Friday?", WED, day("2017-03-17"), False, True),
    ("Was geschah am Sonntagabend?", WED, day("2017-03-19"), False, True),
    # relative days
    ("Was ist heute passiert?", WED, day("2017-03-22"), False, True),
    ("What happened today?", WED, day("2017-03-22"), False, True),
    ("Who speaks tonight?", WED, day("2017-03-22"), False, True),
    ("What happened this morning?", WED, day("2017-03-22"), False, True),
    ("Was geschah heute Morgen?", WED, day("2017-03-22"), False, True),
    ("Was sagte Merkel gestern?", WED, day("2017-03-21"), False, True),
    ("What happened yesterday?", WED, day("2017-03-21"), False, True),
    ("Was geschah gestern Abend?", WED, day("2017-03-21"), False, True),
    ("What happened last night?", WED, day("2017-03-21"), False, True),
    ("Was geschah vorgestern?", WED, day("2017-03-20"), False, True),
    ("What happened the day before yesterday?", WED, day("2017-03-20"), False, True),
    ("Was geschah vor drei Tagen?", WED, day("2017-03-19"), False, True),
    ("Was geschah vor 3 Tagen?", WED, day("2017-03-19"), False, True),
    ("What happened three days ago?", WED, day("2017-03-19"), False, True),
    ("What happened two weeks ago?", WED, day("2017-03-08"), False, True),
    # calendar weeks, months, years
    ("Was geschah diese Woche?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("What happened this week?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("Was geschah letzte Woche?", WED, ("2017-03-13", "2017-03-19"), False, True),
    ("Was geschah vergangene Woche?", WED, ("2017-03-13", "2017-03-19"), False, True),
    ("What happened last week?", WED, ("2017-03-13", "2017-03-19"), False, True),
    ("Was geschah in der Vorwoche?", WED, ("2017-03-13", "2017-03-19"), False, True),
    ("Was geschah diesen Monat?", WED, ("2017-03-01", "2017-03-22"), False, True),
    ("What happened this month?", WED, ("2017-03-01", "2017-03-22"), False, True),
    ("Was geschah letzten Monat?", WED, ("2017-02-01", "2017-02-28"), False, True),
    ("Was geschah im vergangenen Monat?", WED, ("2017-02-01", "2017-02-28"), False, True),
    ("What happened last month?", MID_JAN, ("2016-12-01", "2016-12-31"), False, True),
    ("Was geschah letztes Jahr?", WED, ("2016-01-01", "2016-12-31"), False, True),
    ("Was geschah im vergangenen Jahr?", WED, ("2016-01-01", "2016-12-31"), False, True),
    ("What happened last year?", WED, ("2016-01-01", "2016-12-31"), False, True),
    ("Was geschah dieses Jahr?", WED, ("2017-01-01", "2017-03-22"), False, True),
    ("What happened this year?", WED, ("2017-01-01", "2017-03-22"), False, True),
    # rolling windows ending on as_of
    ("Was geschah in den letzten drei Tagen?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("What happened in the last 3 days?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("What happened over the past week?", WED, ("2017-03-16", "2017-03-22"), False, True),
    ("What happened in the past month?", WED, ("2017-02-21", "2017-03-22"), False, True),
    ("Was geschah in den vergangenen zwei Wochen?", WED, ("2017-03-09", "2017-03-22"), False, True),
    ("What happened in the past 24 hours?", WED, ("2017-03-21", "2017-03-22"), False, True),
    ("Was geschah in den letzten 24 Stunden?", WED, ("2017-03-21", "2017-03-22"), False, True),
    ("Was geschah in den letzten zwölf Monaten?", WED, ("2016-03-28", "2017-03-22"), False, True),
    # open-ended
    ("Was geschah seit Montag?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("What happened since Monday?", WED, ("2017-03-20", "2017-03-22"), False, True),
    ("Was geschah seit dem 1. März?", WED, ("2017-03-01", "2017-03-22"), False, True),
    ("What happened since March 1?", WED, ("2017-03-01", "2017-03-22"), False, True),
    ("Wie viele Flüchtlinge kamen seit 2015?", WED, ("2015-01-01", "2017-03-22"), False, True),
    ("Was geschah bis zum 5. März?", WED, ("1900-01-01", "2017-03-05"), False, True),
    ("What happened until March 5, 2017?", WED, ("1900-01-01", "2017-03-05"), False, False),
    ("What happened before 5 March 2017?", WED, ("1900-01-01", "2017-03-05"), False, False),
    # recency words: no window by themselves
    ("Was ist der neueste Stand?", WED, None, True, False),
    ("Wie lautet die jüngste Prognose?", WED, None, True, False),
    ("Wie ist die aktuelle Lage in Aleppo?", WED, None, True, False),
    ("Wer regiert derzeit in Rom?", WED, None, True, False),
    ("Wie viele Menschen sind bislang gestorben?", WED, None, True, False),
    ("Was ist bisher über den Täter bekannt?", WED, None, True, False),
    ("Was ist inzwischen passiert?", WED, None, True, False),
    ("Was sagt die Regierung jetzt?", WED, None, True, False),
    ("What is the latest news on Brexit?", WED, None, True, False),
    ("What is the most recent unemployment figure?", WED, None, True, False),
    ("Who is currently leading the polls?", WED, None, True, False),
    ("How many have died so far?", WED, None, True, False),
    ("How much has been raised to date?", WED, None, True, False),
    ("Is Assad still in power?", WED, None, True, False),
    ("What does the government say now?", WED, None, True, False),
    # several expressions in one question
    ("Was ist der neueste Stand seit Montag?", WED, ("2017-03-20", "2017-03-22"), True, True),
    ("What were the latest figures last week?", WED, ("2017-03-13", "2017-03-19"), True, True),
    ("Was sagte er letzte Woche am Dienstag?", WED, day("2017-03-14"), False, True),
    ("Was sagte er am Montag, dem 6. März 2017?", WED, day("2017-03-06"), False, False),
    ("Was geschah gestern und vorgestern?", WED, ("2017-03-20", "2017-03-21"), False, True),
]


@pytest.mark.parametrize(("question", "as_of", "window", "recency", "relative"), CASES)
def test_time_expressions(question, as_of, window, recency, relative):
    scope = parse_time(question, as_of)
    assert scope.as_of == as_of.isoformat()
    assert (scope.window, scope.recency, scope.relative) == (window, recency, relative)
    assert scope.spans, "a time expression must have spans"
    assert scope.expression == " ".join(question[s:e] for s, e in scope.spans)


def test_the_table_is_large_and_bilingual():
    assert len(CASES) >= 60
    assert len({q for q, *_ in CASES}) >= 60


NO_TIME = [
    "Wie viele Menschen starben?",
    "What may happen next?",
    "Who will march in Berlin?",
    "Wie viele der 2016 Befragten stimmten zu?",
    "Die Stadt hat 73.421 Einwohner, wie viele davon sind Kinder?",
    "What did Theresa May say about Brexit?",
    "Was sagte Jan Böhmermann über Erdogan?",
    "Welche Rolle spielte der Montagsprotest?",
    "Which 3 may win the title?",
    "In 2016 Fällen wurde ermittelt, warum?",
    "Who are the top 5 of March Madness?",
    "Gibt es das Wort nowhere im Text?",
    "Was ist die Jetztzeit?",
    "Was kostete das Projekt mit 3,5 Millionen Euro?",
    "Um 20.15 Uhr begann die Sendung, wer moderierte?",
    "Wer belegte den 5. Platz?",
    "How many people attended the Black Friday sales?",
    "Wer plant nächsten Montag eine Demonstration?",
    "Wie viele Stimmen bekam die AfD in Sachsen?",
    "Zwischen 3 und 5 Menschen wurden verletzt, wer?",
]


@pytest.mark.parametrize("question", NO_TIME)
def test_ordinary_questions_have_no_time(question):
    assert parse_time(question, WED) == TimeScope(as_of="2017-03-22")


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("Was geschah am 31. Februar 2017?", "'31. Februar 2017' is not a date"),
        ("Was geschah am 30.2.2017?", "'30.2.2017' is not a date"),
        ("What happened on February 30, 2017?", "'February 30, 2017' is not a date"),
        ("Was geschah am 2017-02-30?", "'2017-02-30' is not a date"),
        ("Was geschah am 31. April?", "'31. April' is not a date"),
        ("What happened on 29 February 2017?", "'29 February 2017' is not a date"),
        ("Was geschah vom 10. bis 3. März 2017?", "'vom 10. bis 3. März 2017' ends before it starts"),
        ("What happened between 10 March and 3 March 2017?", "'between 10 March and 3 March 2017' ends before"),
        ("Was geschah von 2017 bis 2015?", "'von 2017 bis 2015' ends before it starts"),
    ],
)
def test_impossible_dates_and_reversed_ranges_are_errors_that_name_the_words(question, named):
    with pytest.raises(TimeExpressionError) as caught:
        parse_time(question, WED)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["2017-02-31", "17.3.2017", "yesterday", "2017-3-5", "2017-13-01"])
def test_a_bad_as_of_value_is_an_error_that_names_it(value):
    with pytest.raises(TimeExpressionError) as caught:
        parse_as_of(value)
    assert str(caught.value) == f"as-of date {value!r} is not a date: expected YYYY-MM-DD"
    assert isinstance(caught.value, NewsragError)
    assert isinstance(caught.value, ValueError)


def test_as_of_values():
    assert parse_as_of(None, today=WED) == WED
    assert parse_as_of("", today=WED) == WED
    assert parse_as_of("  ", today=WED) == WED
    assert parse_as_of("2017-02-14") == date(2017, 2, 14)
    assert parse_as_of(" 2017-02-14 ") == date(2017, 2, 14)
    assert parse_as_of(MON) == MON
    assert parse_as_of(datetime(2017, 3, 20, 15, 30)) == MON
    assert parse_as_of(None) == date.today()


def test_an_open_start_is_1900():
    assert OPEN_START.isoformat() == "1900-01-01"
    assert parse_time("Was geschah vor dem 5. März 2017?", WED).window == ("1900-01-01", "2017-03-05")
    assert parse_time("What happened after March 5, 2017?", WED).window == ("2017-03-05", "2017-03-22")


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("Was sagte Merkel am 14. Februar 2017?", ["am 14. Februar 2017"]),
        ("What happened on the 14th of February?", ["on the 14th of February"]),
        ("Was geschah in den letzten drei Tagen in Syrien?", ["in den letzten drei Tagen"]),
        ("What happened over the past week in Syria?", ["over the past week"]),
        ("Was ist der neueste Stand seit Montag?", ["neueste", "seit Montag"]),
        ("Was geschah vom 1. bis 5. März 2017?", ["vom 1. bis 5. März 2017"]),
        ("Wie viele Flüchtlinge kamen seit Januar 2016 nach Deutschland?", ["seit Januar 2016"]),
        ("What happened in 2016?", ["in 2016"]),
        ("Was sagte er am 5. Mai 2016 und was sagt er heute?", ["am 5. Mai 2016", "heute"]),
        ("Is Assad still in power?", ["still"]),
    ],
)
def test_spans_cover_exactly_the_time_words(question, words):
    scope = parse_time(question, WED)
    assert [question[s:e] for s, e in scope.spans] == words
    assert scope.expression == " ".join(words)
    starts = [s for s, _ in scope.spans]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("question", "stripped"),
    [
        ("Was sagte Merkel am 14. Februar 2017?", "Was sagte Merkel?"),
        ("Was geschah gestern in Berlin?", "Was geschah in Berlin?"),
        ("What happened in Berlin on Monday?", "What happened in Berlin?"),
        (
            "Wie viele Flüchtlinge kamen seit Januar 2016 nach Deutschland?",
            "Wie viele Flüchtlinge kamen nach Deutschland?",
        ),
        ("What happened from 1 to 5 March 2017 in Paris?", "What happened in Paris?"),
        ("Was ist der neueste Stand der Ermittlungen?", "Was ist der Stand der Ermittlungen?"),
        ("Was geschah in den letzten drei Tagen in Syrien?", "Was geschah in Syrien?"),
        ("Am Montag, dem 6. März 2017, sagte er was?", "sagte er was?"),
        ("Welche Zahlen gibt es für die Jahre 2015 und 2016?", "Welche Zahlen gibt es?"),
        ("Gestern?", "Gestern?"),  # nothing would be left
        ("Was gestern?", "Was gestern?"),  # one word would be left
        ("Wie viele Menschen starben?", "Wie viele Menschen starben?"),  # no time words
    ],
)
def test_strip_time_removes_the_time_words_and_their_prepositions(question, stripped):
    assert strip_time(question, parse_time(question, WED)) == stripped


def test_strip_time_removes_prepositions_left_dangling_by_narrow_spans():
    question = "Was geschah vom 1. März bis 5. März in Paris?"
    first, second = question.index("1. März"), question.index("5. März")
    scope = TimeScope(as_of="2017-03-22", spans=((first, first + 7), (second, second + 7)))
    assert strip_time(question, scope) == "Was geschah in Paris?"
    question = "Was geschah am Montag?"
    start = question.index("Montag")
    assert strip_time(question, TimeScope(as_of="2017-03-22", spans=((start, start + 6),))) == "Was geschah?"


ARCHIVE_END = date(2017, 6, 30)  # the newest article of an archive asked from 2026
TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("question", "window"),
    [
        ("Was geschah am 15. März?", ("2017-03-15", "2017-03-15")),
        ("What happened on 15 March?", ("2017-03-15", "2017-03-15")),
        ("What happened on December 24?", ("2016-12-24", "2016-12-24")),  # after the archive's end: a year back
        ("Was meldete die Polizei im Februar?", ("2017-02-01", "2017-02-28")),
        ("Was geschah Ende Juni?", ("2017-06-21", "2017-06-30")),
        ("Was geschah vom 1. bis 5. März?", ("2017-03-01", "2017-03-05")),
        ("Was geschah am 15. März 2015?", ("2015-03-15", "2015-03-15")),  # a written year stays
    ],
)
def test_a_date_without_a_year_is_read_within_an_older_archive(question, window):
    assert parse_time(question, TODAY, newest=ARCHIVE_END).window == window


def test_relative_words_stay_anchored_to_as_of_over_an_older_archive():
    assert parse_time("Was geschah gestern?", TODAY, newest=ARCHIVE_END).window == ("2026-12-02", "2026-12-02")
    assert parse_time("What happened last week?", TODAY, newest=ARCHIVE_END).window == ("2026-11-23", "2026-11-29")
    # an archive newer than as-of changes nothing
    assert parse_time("Was geschah am 15. März?", WED, newest=TODAY).window == ("2017-03-15", "2017-03-15")
