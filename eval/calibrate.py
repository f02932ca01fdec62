"""Calibrate the evidence generator's refusal threshold on a development set (answerable vs unanswerable).

    python eval/calibrate.py --squad ../shared/data/xquad/xquad.de.json --dev 200 --negatives 40
    python eval/calibrate.py --squad ../shared/data/xquad/xquad.de.json --questions-from \
        ../shared/data/xquad/xquad.en.json      # cross-lingual: English questions, German paragraphs
    python eval/calibrate.py --questions eval/datasets/news_de.jsonl --index seed-gnad10k \
        --indexes-dir ~/.cache/newsrag/test-indexes          # only to look: news_de is a reported set

Every question goes through the served pipeline (``rag.pipeline.build_qa``) up to the evidence, and
the best evidence sentence's score is recorded; the script prints, for a range of thresholds, how
many answerable questions would be answered and unanswerable ones refused, with the threshold of
best balanced accuracy. ``--dev N`` draws N answerable questions that are NOT in the seeded sample
``rag eval answers --sample 200 --negatives 20`` reports (seed 0), so a threshold chosen here is not
tuned on the reported set; ``--negatives K`` removes K other paragraphs for the unanswerable side.
``--questions-from`` asks the same questions in another language (a parallel SQuAD file with the same
question ids, such as XQuAD), which calibrates ``evidence_min_score_cross``. Two thresholds are
printed: the best balanced accuracy, and the highest that still answers 95 % of the answerable
questions (the rule the shipped thresholds follow: a false refusal costs a reader more than a
weak answer that shows its source).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from dataclasses import replace
from pathlib import Path

from rag.answer.chain import AskRequest
from rag.config import Settings
from rag.evaluate.datasets import GoldQuestion, load_questions, load_squad, sample_questions, squad_task
from rag.evaluate.metrics import contained
from rag.ingest.pipeline import ingest_articles
from rag.pipeline import build_qa, load_encoder, open_index


def dev_questions(path: Path, n: int, negatives: int) -> tuple[list, list[GoldQuestion]]:
    """Answerable questions outside the reported sample, and questions whose paragraph is removed."""
    _, reported_pool = squad_task(path, 20, seed=0)
    reported = {q.id for q in sample_questions(reported_pool, 200, 0)}
    docs, qs = squad_task(path, negatives, seed=1)
    answerable = [q for q in qs if q.answerable and q.id not in reported]
    picked = random.Random(1).sample(answerable, min(n, len(answerable)))
    return docs, picked + [q for q in qs if not q.answerable and q.id.removeprefix("neg-") not in reported]


def main() -> None:
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--questions", type=Path)
    src.add_argument("--squad", type=Path)
    ap.add_argument("--dev", type=int, default=200, help="with --squad: answerable dev questions")
    ap.add_argument("--negatives", type=int, default=40, help="with --squad: paragraphs removed")
    ap.add_argument("--questions-from", type=Path, help="with --squad: the same questions from a parallel file")
    ap.add_argument("--index")
    ap.add_argument("--indexes-dir", type=Path, default=Path("indexes"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    base = Settings(indexes_dir=args.indexes_dir.expanduser(), **({"index": args.index} if args.index else {}))
    enc = load_encoder(base)
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.squad:
            docs, qs = dev_questions(args.squad, args.dev, args.negatives)
            if args.questions_from:
                other = dict(load_squad(args.questions_from).queries)
                qs = [replace(q, question=other[q.id.removeprefix("neg-")]) for q in qs]
            s = base.with_(indexes_dir=Path(tmp), index="calibrate")
            ingest_articles(docs, s, enc)
        else:
            s, qs = base, load_questions(args.questions)
        with open_index(s, enc) as idx:
            qa = build_qa(s, "evidence", store=idx, encoder=enc)
            for q in qs:
                ranked = qa.prepare.invoke(AskRequest(q.question))["sources"].evidence.ranked
                top = ranked[0].score if ranked else 0.0
                right = bool(ranked) and q.answerable and contained(ranked[0].sentence.text, q.answers) == 1.0
                points.append({"id": q.id, "answerable": q.answerable, "score": round(top, 4), "top_has_answer": right})
    ans = [p for p in points if p["answerable"]]
    neg = [p for p in points if not p["answerable"]]
    best = None
    print(f"{'threshold':>9} {'answerable answered':>20} {'unanswerable refused':>21} {'balanced':>9}")
    for t100 in range(20, 91, 2):
        t = t100 / 100
        a_rate = sum(p["score"] >= t for p in ans) / max(1, len(ans))
        r_rate = sum(p["score"] < t for p in neg) / len(neg) if neg else 1.0
        bal = (a_rate + r_rate) / 2  # the few unanswerable questions weigh as much as the many answerable ones
        print(f"{t:>9.2f} {a_rate:>20.3f} {r_rate:>21.3f} {bal:>9.3f}")
        if best is None or bal > best[1]:
            best = (t, bal)
    assert best is not None
    print(f"best threshold {best[0]:.2f} (balanced accuracy {best[1]:.3f}) on {len(ans)} + {len(neg)} questions")
    scores = sorted(p["score"] for p in ans)
    keep95 = scores[int(0.05 * len(scores))] if scores else 0.0
    refused95 = sum(p["score"] < keep95 for p in neg) / len(neg) if neg else 1.0
    print(f"answers 95 %: threshold {keep95:.2f} (refuses {refused95:.1%} of the unanswerable)")
    if args.out:
        summary = {"best": best[0], "balanced_accuracy": best[1], "answers_95": round(keep95, 4)}
        args.out.write_text(json.dumps({**summary, "refused_at_95": refused95, "points": points}, indent=2))


if __name__ == "__main__":
    main()
