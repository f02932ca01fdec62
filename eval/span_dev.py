"""Short-answer F1 with the gold sentence given (oracle), on XQuAD-de questions outside the reported sample.

python eval/span_dev.py 1190 ../shared/data/xquad/xquad.de.json
"""

import collections
import json
import random
import sys
from pathlib import Path

from rag.answer.spans import question_type, short_answer
from rag.evaluate.datasets import sample_questions, squad_task
from rag.evaluate.metrics import exact_match, token_f1
from rag.text.sentences import split_sentences

path = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/data/xquad/xquad.de.json")
_, pool = squad_task(path, 20, seed=0)
reported = {q.id for q in sample_questions(pool, 200, 0)}
data = json.loads(path.read_text())["data"]
items = []
for art in data:
    for p in art["paragraphs"]:
        sents = split_sentences(p["context"], "de")
        for qa in p["qas"]:
            if qa["id"] in reported:
                continue
            a = qa["answers"][0]["text"]
            s = next((x for x in sents if a in x), None)
            if s:
                items.append((qa["question"], s, [x["text"] for x in qa["answers"]]))
items = random.Random(1).sample(items, min(int(sys.argv[1]) if len(sys.argv) > 1 else 400, len(items)))
by = collections.defaultdict(list)
for q, s, golds in items:
    sa = short_answer(q, [s], "de") or ""
    sa = sa.split(" [")[0]
    by[question_type(q)].append((token_f1(sa, golds), exact_match(sa, golds)))
allf = [f for v in by.values() for f, _ in v]
print(f"F1 {sum(allf) / len(allf):.3f} n={len(allf)}")
for t, v in sorted(by.items()):
    print(f"  {t:7} n={len(v):3} F1 {sum(f for f, _ in v) / len(v):.3f} EM {sum(e for _, e in v) / len(v):.3f}")
