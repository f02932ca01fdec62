"""Check the hand-made German news gold set ``eval/datasets/news_de.jsonl`` against the shared data.

Standalone (standard library only). For every line it checks: valid JSON with the required fields and types,
unique ids, known ``lang`` and ``type`` values; for answerable questions that every article id exists (ids are
recomputed exactly as ``rag.loaders`` computes them), that the evidence is a verbatim substring of that article's
text and that every answer is a substring of the evidence; for unanswerable questions that ``answers == []``,
``article_ids == []`` and ``evidence is None``. Finally it checks the minimum counts of the set.

    python eval/check_news_de.py [--dataset PATH] [--shared PATH]

Prints a summary and one line per failure; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / "eval" / "datasets" / "news_de.jsonl"
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEED_NAME = "nordkorea-russland.txt"
GNAD_PATH = Path("gnad10k") / "test.csv"
SEED_PATH = Path("seed") / SEED_NAME

FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "question": str,
    "answers": list,
    "article_ids": list,
    "evidence": (str, type(None)),
    "lang": str,
    "type": str,
}
LANGS = {"de", "en"}
TYPES = {"who", "pledge", "number", "place", "date", "what", "unanswerable"}
MIN_TOTAL = 60
MIN_UNANSWERABLE = 10
MIN_ENGLISH = 5
MIN_SEED = 10

# Same byline rule as rag.loaders.parse_wire_story: a last line like "(V.Blanchet--LPdF)".
_BYLINE = re.compile(r"^\((?P<inner>[^()\n]{1,120})\)$")


def stable_id(*parts: str) -> str:
    """Article id exactly as ``rag.loaders.stable_id``."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def load_gnad(path: Path) -> dict[str, str]:
    """10kGNAD rows ``label;'text'``: id = stable_id("text", "", body) -> body."""
    csv.field_size_limit(1 << 30)
    articles: dict[str, str] = {}
    for row in csv.reader(io.StringIO(read_text(path)), delimiter=";", quotechar="'"):
        if len(row) != 2 or not row[1].strip():
            continue
        body = row[1].strip()
        articles[stable_id("text", "", body)] = body
    return articles


def load_seed(path: Path) -> tuple[str, str]:
    """Wire story: first line headline, body after it, last line byline (excluded). Returns (id, body)."""
    lines = read_text(path).strip("\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    headline = lines[0].strip() if lines else ""
    rest = lines[1:]
    while rest and not rest[-1].strip():
        rest.pop()
    if rest and _BYLINE.match(rest[-1].strip()):
        rest.pop()
    return stable_id("file", path.name, headline), "\n".join(rest).strip("\n")


def check_record(rec: Any, where: str, articles: dict[str, str]) -> list[str]:
    """All failures of one parsed line (empty list when it is fine)."""
    if not isinstance(rec, dict):
        return [f"{where}: not a JSON object"]
    fails: list[str] = []
    for name, typ in FIELDS.items():
        if name not in rec:
            fails.append(f"{where}: missing field {name!r}")
        elif not isinstance(rec[name], typ):
            fails.append(f"{where}: field {name!r} has type {type(rec[name]).__name__}")
    if fails:
        return fails
    if not rec["id"].strip() or not rec["question"].strip():
        fails.append(f"{where}: empty id or question")
    if rec["lang"] not in LANGS:
        fails.append(f"{where}: lang {rec['lang']!r} not in {sorted(LANGS)}")
    if rec["type"] not in TYPES:
        fails.append(f"{where}: type {rec['type']!r} not in {sorted(TYPES)}")
    answers, ids, evidence = rec["answers"], rec["article_ids"], rec["evidence"]
    if not all(isinstance(a, str) and a.strip() for a in answers):
        fails.append(f"{where}: answers must be non-empty strings")
    if not all(isinstance(i, str) for i in ids):
        fails.append(f"{where}: article_ids must be strings")
    if fails:
        return fails

    if rec["type"] == "unanswerable" or not answers:
        if rec["type"] != "unanswerable":
            fails.append(f"{where}: no answers but type is {rec['type']!r} (want 'unanswerable')")
        if answers:
            fails.append(f"{where}: unanswerable question has answers {answers}")
        if ids:
            fails.append(f"{where}: unanswerable question has article_ids {ids}")
        if evidence is not None:
            fails.append(f"{where}: unanswerable question has evidence (want null)")
        return fails

    if not ids:
        fails.append(f"{where}: answerable question without article_ids")
    if not isinstance(evidence, str) or not evidence.strip():
        return [*fails, f"{where}: answerable question without evidence"]
    for aid in ids:
        text = articles.get(aid)
        if text is None:
            fails.append(f"{where}: unknown article id {aid}")
        elif evidence not in text:
            fails.append(f"{where}: evidence is not a verbatim substring of article {aid}: {evidence[:80]!r}")
    for ans in answers:
        if ans not in evidence:
            fails.append(f"{where}: answer {ans!r} is not a substring of the evidence")
    return fails


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET, help="gold set (jsonl)")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared data folder (gnad10k/, seed/)")
    args = ap.parse_args(argv)

    fails: list[str] = []
    try:
        articles = load_gnad(args.shared / GNAD_PATH)
        seed_id, seed_body = load_seed(args.shared / SEED_PATH)
        lines = args.dataset.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"FAIL: {exc}")
        return 1
    if seed_id in articles:
        fails.append(f"seed id {seed_id} collides with a gnad10k id")
    articles[seed_id] = seed_body

    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            fails.append(f"{where}: invalid JSON ({exc.msg})")
            continue
        if isinstance(rec, dict) and isinstance(rec.get("id"), str):
            where = f"line {lineno} ({rec['id']})"
            if rec["id"] in seen:
                fails.append(f"{where}: duplicate id (first on line {seen[rec['id']]})")
            else:
                seen[rec["id"]] = lineno
        rec_fails = check_record(rec, where, articles)
        fails += rec_fails
        if not rec_fails:
            records.append(rec)

    by_type = Counter(r["type"] for r in records)
    by_lang = Counter(r["lang"] for r in records)
    seed_n = sum(seed_id in r["article_ids"] for r in records)
    gnad_articles = {i for r in records for i in r["article_ids"] if i != seed_id}
    unanswerable = by_type["unanswerable"]
    counts = [
        ("questions", len(records), MIN_TOTAL),
        ("unanswerable", unanswerable, MIN_UNANSWERABLE),
        ("English", by_lang["en"], MIN_ENGLISH),
        ("seed-story", seed_n, MIN_SEED),
    ]
    for label, n, minimum in counts:
        if n < minimum:
            fails.append(f"counts: {n} valid {label} questions, want >= {minimum}")

    print(f"dataset: {args.dataset}")
    print(f"shared:  {args.shared}  ({len(articles) - 1} gnad10k articles + seed {seed_id})")
    print(f"lines: {sum(1 for ln in lines if ln.strip())}, valid: {len(records)}")
    print(
        f"answerable: {len(records) - unanswerable} (seed {seed_n}, gnad10k {len(records) - unanswerable - seed_n} "
        f"over {len(gnad_articles)} distinct articles), unanswerable: {unanswerable}"
    )
    print("by type: " + ", ".join(f"{t}={by_type[t]}" for t in sorted(TYPES)))
    print("by lang: " + ", ".join(f"{k}={by_lang[k]}" for k in sorted(LANGS)))
    for f in fails:
        print(f"FAIL {f}")
    print(f"{'FAILED' if fails else 'OK'}: {len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
