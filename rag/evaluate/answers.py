"""`rag eval answers`: how often answers are correct, cited, faithful, and refused when they should be.

Every question goes through the pipeline a user gets (:func:`rag.pipeline.build_qa`: the same
search with its second stage, generator, verifier and refusal threshold), streamed, so the
first-token time is real. Metric definitions (also in docs/evaluation.md):

- em / f1: SQuAD exact match and token F1 (see :mod:`rag.evaluate.metrics`) of the short answer
  (the whole answer where a generator gives none), citations removed, against the best gold answer;
- answer_contained: a normalised gold answer occurs inside the normalised short answer + answer;
- citation_precision: cited passages that contain a gold answer or the gold evidence ÷ cited
  passages (answered questions with citations);
- citation_recall: share of answerable questions whose gold evidence passage/article is cited;
- faithfulness: answer sentences the verifier found supported by their cited passages ÷ answer
  sentences (answered questions);
- refusal_accuracy: share of unanswerable questions answered with a refusal;
- false_refusal_rate: share of answerable questions answered with a refusal;
- p50_s / p95_s: total answer time; first-token times are reported beside them.
"""

from __future__ import annotations

import csv
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.answer.chain import NewsQA
from rag.config import Generator, Settings
from rag.evaluate.datasets import GoldQuestion
from rag.evaluate.metrics import contained, exact_match, normalize_answer, percentile, token_f1
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_qa, evidence_min_score, evidence_min_score_cross, load_encoder, open_index
from rag.records import Answer, Article, Citation, SearchFilters
from rag.store.base import NewsStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass
class AnswerTask:
    """Questions to ask, and the documents to index for them (None: ask the configured index)."""

    name: str
    questions: list[GoldQuestion]
    docs: list[Article] | None = None


def _good_citation(q: GoldQuestion, c: Citation) -> bool:
    """The cited passage is the gold article, or contains a gold answer or the gold evidence."""
    passage = normalize_answer(c.passage)
    return (
        bool(q.article_ids and c.article_id in q.article_ids)
        or any(normalize_answer(g) in passage for g in q.answers)
        or bool(q.evidence and normalize_answer(q.evidence)[:80] in passage)
    )


def _answer_scores(q: GoldQuestion, a: Answer) -> dict[str, Any]:
    """Correctness and citation scores of an answerable question's answer."""
    refused = a.refused
    short = a.short_answer or a.answer
    row: dict[str, Any] = {
        "em": 0.0 if refused else exact_match(short, q.answers),
        "f1": 0.0 if refused else token_f1(short, q.answers),
        "answer_contained": 0.0 if refused else contained(f"{a.short_answer or ''} {a.answer}", q.answers),
        "citation_precision": (
            sum(_good_citation(q, c) for c in a.citations) / len(a.citations) if a.citations else None
        ),
        "refusal_correct": None,
    }
    if q.article_ids:
        row["citation_recall"] = float(bool(set(q.article_ids) & {c.article_id for c in a.citations}))
    else:
        evidence = normalize_answer(q.evidence)[:80] if q.evidence else ""
        row["citation_recall"] = float(
            bool(evidence) and any(evidence in normalize_answer(c.passage) for c in a.citations)
        )
    return row


def score_answer(q: GoldQuestion, a: Answer) -> dict[str, Any]:
    """One per_question.csv row: the answer, its verdicts and its timings."""
    row: dict[str, Any] = {
        "id": q.id,
        "type": q.type,
        "as_of": q.as_of or "",
        "question": q.question,
        "gold": " | ".join(q.answers),
        "short_answer": a.short_answer or "",
        "answer": a.answer,
        "refused": a.refused,
        "citations": " | ".join(f"[{c.n}] {c.article_id}" for c in a.citations),
        # what the generator said that the verifier rejected (why an answer became a refusal)
        "unsupported": " | ".join(a.unsupported_sentences),
        "total_s": round(a.timings.get("total_s", 0.0), 3),
        "first_token_s": round(a.timings.get("first_token_s", 0.0), 3),
        "notes": " | ".join(a.notes),
    }
    if q.answerable:
        row.update(_answer_scores(q, a))
    else:
        unanswerable = ("em", "f1", "answer_contained", "citation_precision", "citation_recall")
        row.update(dict.fromkeys(unanswerable), refusal_correct=float(a.refused))
    checks = [s for s in a.sentences if s.reason != "refusal"]
    row["faithfulness"] = (sum(s.supported for s in checks) / len(checks)) if (checks and not a.refused) else None
    row["false_refusal"] = float(a.refused) if q.answerable else None
    return row


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, float | int]:
    def mean(key: str) -> float:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return round(sum(vals) / len(vals), 4) if vals else 0.0

    totals = [r["total_s"] for r in rows]
    firsts = [r["first_token_s"] for r in rows]
    return {
        "em": mean("em"),
        "f1": mean("f1"),
        "answer_contained": mean("answer_contained"),
        "citation_precision": mean("citation_precision"),
        "citation_recall": mean("citation_recall"),
        "faithfulness": mean("faithfulness"),
        "refusal_accuracy": mean("refusal_correct"),
        "false_refusal_rate": mean("false_refusal"),
        "p50_s": round(statistics.median(totals), 3) if totals else 0.0,
        "p95_s": round(percentile(totals, 0.95), 3),
        "first_token_p50_s": round(statistics.median(firsts), 3) if firsts else 0.0,
        "first_token_p95_s": round(percentile(firsts, 0.95), 3),
        "n": len(rows),
    }


# per_question.csv: its columns, and those that hold numbers (empty = not applicable)
PER_QUESTION_COLUMNS = (
    "id",
    "type",
    "as_of",
    "question",
    "gold",
    "short_answer",
    "answer",
    "citations",
    "unsupported",
    "refused",
    "em",
    "f1",
    "answer_contained",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "refusal_correct",
    "false_refusal",
    "gold_rank",
    "judge_correct",
    "judge_faithful",
    "judge_raw",
    "first_token_s",
    "total_s",
    "notes",
)
NUMERIC_COLUMNS = (
    "em",
    "f1",
    "answer_contained",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "refusal_correct",
    "false_refusal",
    "total_s",
    "first_token_s",
)


def read_per_question(run: Path) -> list[dict[str, Any]]:
    """The rows of a run's per_question.csv with its numbers parsed, ready for :func:`aggregate`."""
    with (run / "per_question.csv").open(encoding="utf-8") as fh:
        rows: list[dict[str, Any]] = list(csv.DictReader(fh))
    for r in rows:
        for key in NUMERIC_COLUMNS:
            value = r.get(key)
            r[key] = float(value) if value not in (None, "") else None
        r["total_s"] = r["total_s"] or 0.0
        r["first_token_s"] = r["first_token_s"] or 0.0
    return rows


METRIC_KEYS = (
    "em",
    "f1",
    "answer_contained",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "refusal_accuracy",
    "false_refusal_rate",
    "p50_s",
    "p95_s",
    "n",
)
FINGERPRINT_KEYS = (
    "index",
    "generation",
    "articles",
    "chunks",
    "embed_model",
    "embed_weights_hash",
    "chunker",
    "faiss_type",
    "updated_at",
)


def _ask_all(
    qa: NewsQA,
    questions: Sequence[GoldQuestion],
    filters: SearchFilters | None,
    judge: BaseChatModel | None,
    log: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[int | None]]:
    """Every question streamed end to end and scored; also where the gold passage ranked."""
    rows: list[dict[str, Any]] = []
    ranks: list[int | None] = []
    t0 = time.perf_counter()
    for i, q in enumerate(questions, 1):
        *_, a = qa.stream(q.question, filters=filters, as_of=q.as_of)
        assert isinstance(a, Answer)
        row = score_answer(q, a)
        if judge is not None:
            from rag.evaluate.judge import judge_answer

            row.update(judge_answer(judge, q.question, q.answers, a))
        if q.article_ids:  # where the gold passage ranked in retrieval (for the recall@k plot)
            passages = qa.search.search(a.standalone_question, k=10, filters=filters, when=a.time).passages
            ranks.append(next((r for r, p in enumerate(passages, 1) if p.article_id in q.article_ids), None))
            row["gold_rank"] = ranks[-1] or ""
        rows.append(row)
        if i % 10 == 0 or i == len(questions):
            log(f"{i}/{len(questions)} questions, {time.perf_counter() - t0:.0f} s")
    return rows, ranks


def _write_run(out_dir: Path, result: dict[str, Any], config: dict[str, Any], judged: dict[str, Any] | None) -> None:
    from rag.evaluate.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result["metrics"], indent=2))
    if result["by_type"]:
        (out_dir / "metrics_by_type.json").write_text(json.dumps(result["by_type"], indent=2))
    if judged is not None:
        (out_dir / "judge.json").write_text(json.dumps(judged, indent=2))
    with (out_dir / "per_question.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=PER_QUESTION_COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(result["rows"])
    (out_dir / "run.json").write_text(json.dumps(config, indent=2, default=str))
    write_report(out_dir, result["extra"], result["rows"], result["ranks"], config)


def run_answer_eval(
    task: AnswerTask,
    settings: Settings,
    generator: Generator,
    *,
    out_dir: Path | None = None,
    filters: SearchFilters | None = None,
    judge: BaseChatModel | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ask every question of ``task`` end to end (retrieve, answer, verify) and score it.

    :param task: the questions, and the documents to index first (into a throw-away index).
    :param generator: the generator to answer with; everything else is as ``settings`` configures it.
    :param out_dir: where metrics.json, per_question.csv, run.json and the reports go.
    :param filters: retrieval filters, as ``rag ask --since/--until/--source``.
    :param judge: an endpoint chat model that also grades each answer (``judge.json``, the report).
    """
    encoder = load_encoder(settings)
    with tempfile.TemporaryDirectory(prefix="newsrag-answers-") as tmp:
        s = settings
        if task.docs is not None:
            s = settings.with_(indexes_dir=Path(tmp), index="eval")
            rep = ingest_articles(task.docs, s, encoder)
            log(f"indexed {len(task.docs)} documents: {rep.summary()}")
        with open_index(s, encoder) as idx:
            qa = build_qa(s, generator, store=idx, encoder=encoder)
            rows, ranks = _ask_all(qa, task.questions, filters, judge, log)
            fingerprint = _fingerprint(idx)
    metrics = aggregate(rows)
    by_type = {t: aggregate([r for r in rows if r["type"] == t]) for t in sorted({r["type"] for r in rows} - {""})}
    judged: dict[str, float | int] | None = None
    if judge is not None:
        from rag.evaluate.judge import judge_summary

        judged = judge_summary(rows)
        metrics.update(judged)
    result = {
        "metrics": {k: metrics[k] for k in METRIC_KEYS},
        "extra": metrics,
        "rows": rows,
        "ranks": ranks,
        "by_type": {t: {k: m[k] for k in METRIC_KEYS} for t, m in by_type.items()},
    }
    if out_dir:
        config = {
            "dataset": task.name,
            "generator": generator,
            "local_model": s.local_model,
            "evidence_min_score": evidence_min_score(s),
            "evidence_min_score_cross": evidence_min_score_cross(s),
            "questions": len(task.questions),
            "filters": filters.__dict__ if filters is not None and filters.active else None,
            "settings": {k: str(v) for k, v in s.model_dump().items()},
            "index": fingerprint,
        }
        _write_run(out_dir, result, config, judged)
    return result


def _fingerprint(idx: NewsStore) -> dict[str, Any]:
    return {k: v for k, v in idx.stats().items() if k in FINGERPRINT_KEYS}


def compare_runs(a: Path, b: Path) -> tuple[list[tuple[str, float, float]], list[dict[str, str]]]:
    """Metric deltas, and the questions whose verdict (contained / refused) changed between runs."""
    ma = json.loads((a / "metrics.json").read_text())
    mb = json.loads((b / "metrics.json").read_text())
    deltas = [(k, float(ma.get(k, 0)), float(mb.get(k, 0))) for k in METRIC_KEYS if k in ma or k in mb]

    def rows(d: Path) -> dict[str, dict[str, str]]:
        with (d / "per_question.csv").open(encoding="utf-8") as fh:
            return {r["id"]: r for r in csv.DictReader(fh)}

    ra, rb = rows(a), rows(b)

    def verdict(r: dict[str, str]) -> str:
        if r["refused"] == "True":
            return "refused" if r["refusal_correct"] in ("", "1.0") or not r["gold"] else "false refusal"
        if not r["gold"]:
            return "answered unanswerable"
        return "correct" if r["answer_contained"] == "1.0" else "wrong"

    changed = []
    for qid in sorted(set(ra) & set(rb)):
        va, vb = verdict(ra[qid]), verdict(rb[qid])
        if va != vb:
            changed.append(
                {
                    "id": qid,
                    "question": ra[qid]["question"],
                    "before": va,
                    "after": vb,
                    "answer_before": ra[qid]["answer"],
                    "answer_after": rb[qid]["answer"],
                }
            )
    return deltas, changed
