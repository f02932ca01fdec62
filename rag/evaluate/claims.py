"""`rag eval claims`: does the verifier catch misattributions, and does it still accept right answers?

Each gold item names an article, a question, a right claim and a wrong one (the same claim with its
person, organisation, country or number swapped for another the same article also contains, or
negated). The articles are indexed with the served ingest; each question is retrieved with the
served search and its evidence chosen as for an answer; both claims are then checked by the served
verifier, each citing the passage of the gold article (so the check is against the right source).
Reported: misattributions that pass (the goal is 0), right claims accepted, and per kind.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.evidence import SentenceSource, passage_context, score_sentences
from rag.answer.verify import CitationVerifier
from rag.config import Settings
from rag.errors import NewsragError
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_search, load_encoder, open_index
from rag.records import Article


@dataclass(frozen=True)
class ClaimItem:
    id: str
    article_id: str
    language: str
    question: str
    right: str
    wrong: str
    kind: str


def load_claims(path: Path) -> list[ClaimItem]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(
                ClaimItem(
                    str(obj["id"]),
                    str(obj["article_id"]),
                    str(obj.get("language") or "de"),
                    str(obj["question"]),
                    str(obj["right"]),
                    str(obj["wrong"]),
                    str(obj.get("kind") or "other"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise NewsragError(f"{path} line {n}: not a claim item ({exc})") from exc
    return out


def run_claims_eval(
    items: Sequence[ClaimItem],
    articles: Sequence[Article],
    settings: Settings,
    *,
    out_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Index ``articles`` in a throw-away index, then check each item's right and wrong claim."""
    wanted = {i.article_id for i in items}
    docs = [a for a in articles if a.id in wanted]
    missing = wanted - {a.id for a in docs}
    if missing:
        raise NewsragError(
            f"{len(missing)} article(s) of the claims set are not in the given sources, e.g. {sorted(missing)[0]}"
        )
    encoder = load_encoder(settings)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="newsrag-claims-") as tmp:
        s = settings.with_(indexes_dir=Path(tmp), index="claims")
        log(ingest_articles(docs, s, encoder).summary())
        with open_index(s, encoder) as idx:
            search = build_search(s, idx, encoder)
            sentences = SentenceSource(encoder, idx)
            verifier = CitationVerifier(encoder)
            for item in items:
                rows.append(_check_item(item, search, sentences, verifier, s))
    result = summarise(rows)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
        with (out_dir / "per_item.jsonl").open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return result


def _check_item(
    item: ClaimItem, search: Any, sentences: SentenceSource, verifier: CitationVerifier, s: Settings
) -> dict[str, Any]:
    found = search.search(item.question, k=s.answer_k)
    passages = found.passages
    gold = [i for i, p in enumerate(passages) if p.article_id == item.article_id]
    row: dict[str, Any] = {"id": item.id, "kind": item.kind, "retrieved": bool(gold)}
    if not gold:
        row.update(right_accepted=None, wrong_passed=None)
        return row
    vector = found.vector if found.vector is not None else search.query_vector(item.question)
    groups = sentences.for_passages(passages)
    ranked = score_sentences(item.question, item.language, vector, passages, groups)
    evidence = passage_context(passages, groups, ranked, 10_000, s.tokenizer)
    n = gold[0] + 1
    for key, claim in (("right", item.right), ("wrong", item.wrong)):
        v = verifier.verify(f"{claim.rstrip('. ')} [{n}].", evidence, item.question, item.language)
        ok = not v.refused
        row[f"{key}_accepted" if key == "right" else "wrong_passed"] = ok
        row[f"{key}_reason"] = v.sentences[0].reason if v.sentences else ""
    return row


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    checked = [r for r in rows if r["retrieved"]]
    by_kind: dict[str, dict[str, int]] = {}
    for r in checked:
        k = by_kind.setdefault(r["kind"], {"items": 0, "misattributions_passed": 0, "right_accepted": 0})
        k["items"] += 1
        k["misattributions_passed"] += int(bool(r["wrong_passed"]))
        k["right_accepted"] += int(bool(r["right_accepted"]))
    return {
        "items": len(rows),
        "retrieved": len(checked),
        "misattributions_passed": sum(int(bool(r["wrong_passed"])) for r in checked),
        "right_accepted": sum(int(bool(r["right_accepted"])) for r in checked),
        "by_kind": by_kind,
    }
