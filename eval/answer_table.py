"""One Markdown table from several `rag eval answers --out` runs (the README's per-generator tables).

    python eval/answer_table.py eval/results/answers_news_de_evidence eval/results/answers_news_de_local
    python eval/answer_table.py eval/results/answers_xquad_de_evidence eval/results/answers_xquad_de_local \
        --same-questions-as eval/results/answers_xquad_de_local

Metrics are recomputed from each run's per_question.csv with the same aggregation as the run
itself, so a run can also be restricted to the questions of another (`--same-questions-as`): the
local generator's small XQuAD sample is a subset of the evidence generator's larger one, and this
puts both on the same questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.evaluate.answers import aggregate, read_per_question

COLUMNS = (
    ("em", "EM"),
    ("f1", "F1"),
    ("answer_contained", "contained"),
    ("citation_precision", "cit. precision"),
    ("citation_recall", "cit. recall"),
    ("faithfulness", "faithfulness"),
    ("refusal_accuracy", "refusal acc."),
    ("false_refusal_rate", "false refusals"),
    ("first_token_p50_s", "first token p50"),
    ("p50_s", "total p50"),
    ("p95_s", "total p95"),
    ("n", "n"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--same-questions-as", type=Path, help="Only the question ids of this run.")
    args = ap.parse_args()
    keep = {r["id"] for r in read_per_question(args.same_questions_as)} if args.same_questions_as else None
    print("| generator | " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for run in args.runs:
        rows = [r for r in read_per_question(run) if keep is None or r["id"] in keep]
        m = aggregate(rows)
        config = json.loads((run / "run.json").read_text())
        generator = config["generator"]
        context = config.get("settings", {}).get("context")
        if context:  # runs since evidence-first context say which context the generator read
            generator += f" ({context})"
        cells = []
        for key, _ in COLUMNS:
            value = m[key]
            cells.append(str(value) if key == "n" else f"{value:.1f} s" if key.endswith("_s") else f"{value:.3f}")
        print(f"| {generator} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
