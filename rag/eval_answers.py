"""`rag eval answers`: how often answers are correct, cited, faithful, and refused when they should be.

Metric definitions (also in the README):
- em / f1: SQuAD exact match and token F1 of the answer (citations removed) against the best gold
  answer, after SQuAD normalisation (lower case, punctuation and articles removed, whitespace
  collapsed) plus German handling: thousands separators (8.000 → 8000), decimal commas, typographic
  quotes, German articles;
- answer_contained: a normalised gold answer occurs inside the normalised answer;
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
import random
import re
import statistics
import string
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.errors import NewsragError
from rag.eval_retrieval import percentile
from rag.records import Answer, Article
from rag.verify import CITE, normalize_number

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from rag.retrieval import SearchFilters

_ARTICLES = {
    "a",
    "an",
    "the",
    "der",
    "die",
    "das",
    "den",
    "dem",
    "des",
    "ein",
    "eine",
    "einen",
    "einem",
    "einer",
    "eines",
    "le",
    "la",
    "les",
    "un",
    "une",
}
_PUNCT = set(string.punctuation) | set("„“”‚‘’«»–—…")


@dataclass
class GoldQuestion:
    id: str
    question: str
    answers: list[str]
    article_ids: list[str] = field(default_factory=list)
    evidence: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def normalize_answer(text: str) -> str:
    text = CITE.sub(" ", text)
    text = re.sub(
        r"\d{1,3}(?:[.,\u202f\u00a0 ]\d{3})+(?:[.,]\d+)?|\d+[.,]\d+", lambda m: normalize_number(m.group()), text
    )
    text = text.lower()
    text = "".join(" " if ch in _PUNCT and ch != "." else ch for ch in text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds)) if golds else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    best = 0.0
    p = normalize_answer(prediction).split()
    for g in golds:
        gt = normalize_answer(g).split()
        common = Counter(p) & Counter(gt)
        same = sum(common.values())
        if not p or not gt or same == 0:
            continue
        prec, rec = same / len(p), same / len(gt)
        best = max(best, 2 * prec * rec / (prec + rec))
    return best


def contained(prediction: str, golds: Sequence[str]) -> float:
    p = f" {normalize_answer(prediction)} "
    return float(any(f" {normalize_answer(g)} " in p for g in golds if normalize_answer(g)))


def load_questions(path: Path) -> list[GoldQuestion]:
    out: list[GoldQuestion] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise NewsragError(f"{path} line {n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            raise NewsragError(f'{path} line {n}: needs at least a "question" string')
        answers = obj.get("answers") or []
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise NewsragError(f'{path} line {n}: "answers" must be a list of strings')
        out.append(
            GoldQuestion(
                id=str(obj.get("id") or f"q{n}"),
                question=obj["question"],
                answers=answers,
                article_ids=[str(a) for a in obj.get("article_ids") or []],
                evidence=obj.get("evidence") or None,
            )
        )
    return out


def squad_task(
    path: Path, negatives: int, seed: int = 0, language: str | None = None
) -> tuple[list[Article], list[GoldQuestion]]:
    """Paragraphs as articles and questions as gold; ``negatives`` questions lose their paragraph."""
    from rag.eval_retrieval import load_squad

    task = load_squad(path, language)
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    answers = {
        qa["id"]: [a["text"] for a in qa.get("answers", [])]
        for art in data
        for p in art["paragraphs"]
        for qa in p["qas"]
    }
    questions = [GoldQuestion(qid, text, answers.get(qid, []), list(task.qrels[qid])) for qid, text in task.queries]
    rng = random.Random(seed)
    removed: set[str] = set()
    if negatives:
        doc_ids = sorted({d for q in questions for d in q.article_ids})
        for d in rng.sample(doc_ids, min(len(doc_ids), negatives)):
            removed.add(d)
    docs = [d for d in task.docs if d.id not in removed]
    negs: list[GoldQuestion] = []
    for q in questions:
        if set(q.article_ids) & removed and len(negs) < negatives:
            negs.append(GoldQuestion(f"neg-{q.id}", q.question, [], [], None))
    kept = [q for q in questions if not set(q.article_ids) & removed]
    return docs, kept + negs


def sample_questions(questions: Sequence[GoldQuestion], n: int, seed: int = 0) -> list[GoldQuestion]:
    """A seeded random sample of ``n`` answerable questions plus every unanswerable one.

    The first N of a SQuAD file all come from its first few articles; a random sample spreads over
    the whole set, and the same seed gives the same sample, so runs can be compared.
    """
    answerable = [q for q in questions if q.answerable]
    rest = [q for q in questions if not q.answerable]
    picked = random.Random(seed).sample(answerable, min(n, len(answerable)))
    return picked + rest


def score_answer(q: GoldQuestion, a: Answer) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": q.id,
        "question": q.question,
        "gold": " | ".join(q.answers),
        "answer": a.answer,
        "refused": a.refused,
        "citations": " | ".join(f"[{c.n}] {c.article_id}" for c in a.citations),
        # what the generator said that the verifier rejected (why an answer became a refusal)
        "unsupported": " | ".join(a.unsupported_sentences),
        "total_s": round(a.timings.get("total_s", 0.0), 3),
        "first_token_s": round(a.timings.get("first_token_s", 0.0), 3),
    }
    if not q.answerable:
        row.update(
            em=None,
            f1=None,
            answer_contained=None,
            citation_precision=None,
            citation_recall=None,
            refusal_correct=float(a.refused),
        )
    else:
        row["em"] = 0.0 if a.refused else exact_match(a.answer, q.answers)
        row["f1"] = 0.0 if a.refused else token_f1(a.answer, q.answers)
        row["answer_contained"] = 0.0 if a.refused else contained(a.answer, q.answers)
        if a.citations:
            good = [
                c
                for c in a.citations
                if (q.article_ids and c.article_id in q.article_ids)
                or any(normalize_answer(g) in normalize_answer(c.passage) for g in q.answers)
                or (q.evidence and normalize_answer(q.evidence)[:80] in normalize_answer(c.passage))
            ]
            row["citation_precision"] = len(good) / len(a.citations)
        else:
            row["citation_precision"] = None
        gold_docs = set(q.article_ids)
        row["citation_recall"] = (
            float(bool(gold_docs & {c.article_id for c in a.citations}))
            if gold_docs
            else (
                float(
                    any(
                        q.evidence and normalize_answer(q.evidence)[:80] in normalize_answer(c.passage)
                        for c in a.citations
                    )
                )
            )
        )
        row["refusal_correct"] = None
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
    "question",
    "gold",
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


def run_answer_eval(
    questions: Sequence[GoldQuestion],
    settings: Settings,
    generator: str,
    *,
    docs: Sequence[Article] | None = None,
    limit: int | None = None,
    out_dir: Path | None = None,
    dataset: str = "",
    log: Callable[[str], None] = print,
    filters: SearchFilters | None = None,
    judge: BaseChatModel | None = None,
) -> dict[str, Any]:
    """Ask every question end to end (retrieve, answer, verify) and score it.

    With ``judge`` (an endpoint chat model) each answer is also graded by that model; its scores go
    to ``judge.json`` and the report, separate from the string metrics."""
    from rag.chain import NewsQA
    from rag.embeddings import load_embedder
    from rag.ingest import ingest_articles, model_info
    from rag.retrieval import HybridSearch, retrieval_config
    from rag.store import open_store

    encoder = load_embedder(settings)
    qs = list(questions)[:limit] if limit else list(questions)
    with tempfile.TemporaryDirectory(prefix="newsrag-answers-") as tmp:
        s = settings
        if docs is not None:
            s = settings.with_(indexes_dir=Path(tmp), index="eval")
            rep = ingest_articles(docs, s, encoder)
            log(f"indexed {len(docs)} documents: {rep.summary()}")
        with open_store(s, model_info(encoder)) as idx:
            search = HybridSearch(idx, encoder, retrieval_config(s))
            qa = NewsQA(s, search, encoder, generator)
            rows = []
            ranks: list[int | None] = []
            t0 = time.perf_counter()
            for i, q in enumerate(qs, 1):
                # streamed, so the first-token time is real (ask() can only time the whole answer)
                *_, a = qa.stream(q.question, filters=filters)
                assert isinstance(a, Answer)
                row = score_answer(q, a)
                if judge is not None:
                    from rag.eval_judge import judge_answer

                    row.update(judge_answer(judge, q.question, q.answers, a))
                # where the gold passage ranked in retrieval (for the recall@k plot)
                if q.article_ids:
                    passages = search.run(a.standalone_question, k=10, filters=filters)
                    ranks.append(next((r for r, p in enumerate(passages, 1) if p.article_id in q.article_ids), None))
                    row["gold_rank"] = ranks[-1] or ""
                rows.append(row)
                if i % 10 == 0 or i == len(qs):
                    log(f"{i}/{len(qs)} questions, {time.perf_counter() - t0:.0f} s")
            fingerprint = {
                k: v
                for k, v in idx.stats().items()
                if k
                in (
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
            }
    metrics = aggregate(rows)
    flat = {k: metrics[k] for k in METRIC_KEYS}
    judged: dict[str, float | int] = {}
    if judge is not None:
        from rag.eval_judge import judge_summary

        judged = judge_summary(rows)
        metrics.update(judged)
    result = {"metrics": flat, "extra": metrics, "rows": rows, "ranks": ranks}
    if out_dir:
        from rag.eval_report import write_report

        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(flat, indent=2))
        if judge is not None:
            (out_dir / "judge.json").write_text(json.dumps(judged, indent=2))
        with (out_dir / "per_question.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=PER_QUESTION_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        config = {
            "dataset": dataset,
            "generator": generator,
            "local_model": s.local_model,
            "evidence_min_score": qa.evidence.min_score,
            "questions": len(qs),
            "filters": filters.__dict__ if filters is not None and filters.active else None,
            "settings": {k: str(v) for k, v in s.model_dump().items()},
            "index": fingerprint,
        }
        (out_dir / "run.json").write_text(json.dumps(config, indent=2, default=str))
        write_report(out_dir, metrics, rows, ranks, config)
    return result


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
