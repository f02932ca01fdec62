"""Calibrate the evidence generator's refusal threshold on a gold set (answerable vs unanswerable).

    python eval/calibrate.py eval/datasets/news_de.jsonl --index seed-gnad10k \
        --indexes-dir ~/.cache/newsrag/test-indexes

For every question it retrieves the passages, scores the best source sentence as the evidence
generator does, and prints the decision accuracy (answer the answerable, refuse the rest) for a
range of thresholds, with the best one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.answer.evidence import EvidenceAnswerer
from rag.config import Settings
from rag.evaluate.datasets import load_questions
from rag.evaluate.metrics import contained
from rag.pipeline import build_search, load_encoder, open_index
from rag.text.language import detect_question_language


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index", required=True)
    ap.add_argument("--indexes-dir", type=Path, default=Path("indexes"))
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    s = Settings(index=args.index, indexes_dir=args.indexes_dir.expanduser())
    enc = load_encoder(s)
    qs = load_questions(args.questions)
    points = []
    with open_index(s, enc) as idx:
        search = build_search(s, idx, enc)
        ev = EvidenceAnswerer(enc)
        for q in qs:
            lang = detect_question_language(q.question)
            passages = search.run(q.question, k=s.answer_k)
            scored = ev.score_sentences(q.question, passages, lang)
            top = scored[0][0] if scored else 0.0
            right = bool(scored) and q.answerable and contained(scored[0][2], q.answers) == 1.0
            points.append({"id": q.id, "answerable": q.answerable, "score": round(top, 4), "top_has_answer": right})
    best = None
    print(f"{'threshold':>9} {'decision acc':>12} {'answerable answered':>20} {'unanswerable refused':>21}")
    for t100 in range(30, 91, 2):
        t = t100 / 100
        ans = [p for p in points if p["answerable"]]
        neg = [p for p in points if not p["answerable"]]
        a_rate = sum(p["score"] >= t for p in ans) / len(ans)
        r_rate = sum(p["score"] < t for p in neg) / len(neg) if neg else 1.0
        acc = (sum(p["score"] >= t for p in ans) + sum(p["score"] < t for p in neg)) / len(points)
        print(f"{t:>9.2f} {acc:>12.3f} {a_rate:>20.3f} {r_rate:>21.3f}")
        # balanced accuracy, so the few unanswerable questions weigh as much as the many answerable ones
        bal = (a_rate + r_rate) / 2
        if best is None or bal > best[1]:
            best = (t, bal)
    assert best is not None
    print(f"best threshold {best[0]:.2f} (balanced accuracy {best[1]:.3f})")
    if args.out:
        args.out.write_text(json.dumps({"best": best[0], "balanced_accuracy": best[1], "points": points}, indent=2))


if __name__ == "__main__":
    main()
