"""Evaluation data: our gold JSONL, SQuAD-format files (XQuAD) and BEIR folders, as tasks.

A SQuAD-format file becomes one article per paragraph (titled by its Wikipedia article) and one
question per ``qas`` entry; ``--negatives K`` removes K paragraphs so their questions become
unanswerable. Our gold sets are JSON Lines with ``question``, ``answers``, ``article_ids`` and an
``evidence`` sentence (see ``eval/datasets/``).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.errors import NewsragError
from rag.records import Article


@dataclass
class GoldQuestion:
    id: str
    question: str
    answers: list[str]
    article_ids: list[str] = field(default_factory=list)
    evidence: str | None = None
    type: str = ""  # the question's kind (e.g. dated, relative, latest), metrics are also reported per type
    as_of: str | None = None  # the day the question is asked from (YYYY-MM-DD), when not today

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


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
                type=str(obj.get("type") or ""),
                as_of=_as_of(obj.get("as_of"), path, n),
            )
        )
    return out


def _as_of(value: object, path: Path, n: int) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise NewsragError(f'{path} line {n}: "as_of" {value!r} is not a date (YYYY-MM-DD)') from None


@dataclass
class RetrievalTask:
    name: str
    docs: list[Article]
    queries: list[tuple[str, str]]  # (query id, text)
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def load_squad(path: Path, language: str | None = None) -> RetrievalTask:
    """Each paragraph is a document (titled by its article); each question's paragraph is relevant."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise NewsragError(f"{path}: not a SQuAD-format JSON file ({exc})") from exc
    docs: list[Article] = []
    queries: list[tuple[str, str]] = []
    qrels: dict[str, dict[str, int]] = {}
    lang = language or _guess_lang(path)
    for art in data:
        for i, para in enumerate(art["paragraphs"]):
            doc_id = f"{art['title']}#{i}"
            docs.append(
                Article(
                    id=doc_id,
                    headline=art["title"],
                    body=para["context"],
                    language=lang,
                    source=str(path),
                    source_ref=doc_id,
                )
            )
            for qa in para["qas"]:
                queries.append((qa["id"], qa["question"]))
                qrels[qa["id"]] = {doc_id: 1}
    return RetrievalTask(path.name, docs, queries, qrels)


def _guess_lang(path: Path) -> str | None:
    for part in path.name.split("."):
        if len(part) == 2 and part.isalpha():
            return part.lower()
    return None


def load_beir(folder: Path, split: str = "test", language: str | None = None) -> RetrievalTask:
    corpus, qfile, qrels_file = folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for f in (corpus, qfile, qrels_file):
        if not f.is_file():
            raise NewsragError(f"{f}: missing (BEIR layout: corpus.jsonl, queries.jsonl, qrels/{split}.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["query-id", "corpus-id", "score"]:
            raise NewsragError(f"{qrels_file}: expected header 'query-id corpus-id score'")
        for row in reader:
            if len(row) >= 3 and int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    docs = []
    for n, line in enumerate(corpus.open(encoding="utf-8"), 1):
        if line.strip():
            try:
                d = json.loads(line)
            except ValueError as exc:
                raise NewsragError(f"{corpus} line {n}: not valid JSON ({exc})") from exc
            docs.append(
                Article(
                    id=str(d["_id"]),
                    headline=d.get("title") or "",
                    body=d.get("text") or "",
                    language=language,
                    source=str(corpus),
                    source_ref=f"line {n}",
                )
            )
    queries = []
    for line in qfile.open(encoding="utf-8"):
        if line.strip():
            q = json.loads(line)
            if str(q["_id"]) in qrels:
                queries.append((str(q["_id"]), q["text"]))
    return RetrievalTask(folder.name, docs, queries, qrels)


def load_gold_questions(path: Path) -> RetrievalTask:
    """A gold set of ours (JSON Lines with article_ids) against an existing index: no documents to build."""
    qs = [q for q in load_questions(path) if q.article_ids]
    return RetrievalTask(
        path.name, [], [(q.id, q.question) for q in qs], {q.id: dict.fromkeys(q.article_ids, 1) for q in qs}
    )


def squad_task(
    path: Path, negatives: int, seed: int = 0, language: str | None = None
) -> tuple[list[Article], list[GoldQuestion]]:
    """Paragraphs as articles and questions as gold; ``negatives`` questions lose their paragraph."""
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


def squad_questions(path: Path, limit: int | None = None) -> list[str]:
    """The question texts of a SQuAD-format file, in file order (queries for the benchmarks)."""
    return [q for _, q in load_squad(path).queries][:limit]
