"""Answer-evaluation metrics against hand-computed cases, and the report files of a real small run."""

import csv
import json

import pytest

from rag.errors import NewsragError
from rag.evaluate.answers import AnswerTask, compare_runs, run_answer_eval
from rag.evaluate.datasets import GoldQuestion, load_questions, sample_questions, squad_task
from rag.evaluate.metrics import contained, exact_match, normalize_answer, token_f1


def test_normalisation_handles_german_numbers_quotes_and_articles():
    assert normalize_answer("Die 8.000 Soldaten [1].") == "8000 soldaten"
    assert normalize_answer("„Sieg“") == normalize_answer('"Sieg"') == "sieg"
    assert normalize_answer("3,5 Prozent") == "3.5 prozent"
    assert normalize_answer("The U.S.") == "u s"


def test_exact_match_f1_contained_hand_computed():
    assert exact_match("8.000", ["8000"]) == 1.0
    assert exact_match("etwa 8000", ["8000"]) == 0.0
    # prediction "rund 8000 soldaten" vs gold "8000 soldaten": precision 2/3, recall 1 -> F1 0.8
    assert token_f1("Rund 8000 Soldaten", ["8.000 Soldaten"]) == pytest.approx(0.8)
    assert token_f1("", ["8000"]) == 0.0 and token_f1("anything", []) == 0.0
    assert contained("Es waren 8.000 Soldaten [1].", ["8000"]) == 1.0
    assert contained("Es waren 18000 Soldaten.", ["8000"]) == 0.0  # whole tokens only
    assert contained("Keine Angaben.", []) == 0.0


def test_gold_file_validation(tmp_path):
    p = tmp_path / "gold.jsonl"
    p.write_text(
        '{"id": "a", "question": "Wer?", "answers": ["X"], "article_ids": null, "extra": 1}\n'
        '{"question": "Was?", "answers": []}\n',
        encoding="utf-8",
    )
    qs = load_questions(p)
    assert [q.id for q in qs] == ["a", "q2"] and qs[0].article_ids == [] and not qs[1].answerable
    p.write_text('{"question": "Wer?", "answers": "X"}\n', encoding="utf-8")
    with pytest.raises(NewsragError, match="line 1"):
        load_questions(p)


SQUAD = {
    "data": [
        {
            "title": "Städte",
            "paragraphs": [
                {
                    "context": "Wien ist die Hauptstadt Österreichs. Die Stadt hat etwa 2.000.000 Einwohner.",
                    "qas": [
                        {"id": "q1", "question": "Wie viele Einwohner hat Wien?", "answers": [{"text": "2.000.000"}]}
                    ],
                },
                {
                    "context": "Graz liegt an der Mur. Der Schloßberg ist das Wahrzeichen von Graz.",
                    "qas": [
                        {
                            "id": "q2",
                            "question": "Was ist das Wahrzeichen von Graz?",
                            "answers": [{"text": "Schloßberg"}],
                        }
                    ],
                },
                {
                    "context": "Linz liegt an der Donau und ist bekannt für die Ars Electronica.",
                    "qas": [
                        {"id": "q3", "question": "Wofür ist Linz bekannt?", "answers": [{"text": "Ars Electronica"}]}
                    ],
                },
            ],
        }
    ]
}


def test_real_small_run_writes_reports_and_compare(tmp_path, settings):
    path = tmp_path / "mini.de.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    docs, qs = squad_task(path, negatives=1)
    assert len(docs) == 2 and sum(not q.answerable for q in qs) == 1
    s = settings.with_(generator="evidence", answer_k=3)
    out_a = tmp_path / "a"
    res = run_answer_eval(AnswerTask("mini", qs, docs), s, "evidence", out_dir=out_a, log=lambda _: None)
    m = json.loads((out_a / "metrics.json").read_text())
    assert list(m) == [
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
    ]
    assert m["n"] == 3 and m == res["metrics"]
    rows = list(csv.DictReader((out_a / "per_question.csv").open(encoding="utf-8")))
    assert len(rows) == 3 and {"question", "gold", "answer", "citations", "unsupported", "f1"} <= set(rows[0])
    # streamed: the first token comes before the end of the answer
    assert all(0 < float(r["first_token_s"]) <= float(r["total_s"]) for r in rows)
    html = (out_a / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "embed_weights_hash" in html
    assert "![Metrics](metrics.png)" in (out_a / "report.md").read_text()
    # the evidence threshold is the embedding model's own unless configured
    assert json.loads((out_a / "run.json").read_text())["evidence_min_score"] == 0.54
    # a second run with a stricter refusal threshold changes verdicts; compare shows them
    out_b = tmp_path / "b"
    run_answer_eval(
        AnswerTask("mini", [GoldQuestion("q1", "Wie viele Einwohner hat Wien?", ["2.000.000"], [])], docs),
        s,
        "evidence",
        out_dir=out_b,
        log=lambda _: None,
    )
    deltas, changed = compare_runs(out_a, out_b)
    assert [d[0] for d in deltas][:2] == ["em", "f1"]
    assert all(c["id"] == "q1" for c in changed)


def test_sample_is_seeded_and_keeps_every_unanswerable_question():
    qs = [GoldQuestion(f"a{i}", f"Frage {i}?", [str(i)], []) for i in range(50)]
    qs += [GoldQuestion(f"n{i}", f"Unbeantwortbar {i}?", [], []) for i in range(3)]
    one, again, other = sample_questions(qs, 10, seed=1), sample_questions(qs, 10, seed=1), sample_questions(qs, 10)
    assert [q.id for q in one] == [q.id for q in again] and [q.id for q in one] != [q.id for q in other]
    assert sum(q.answerable for q in one) == 10 and [q.id for q in one if not q.answerable] == ["n0", "n1", "n2"]
    # spread over the set, not the first ten
    assert max(int(q.id[1:]) for q in one if q.answerable) >= 10
    assert len(sample_questions(qs, 500)) == 53


def test_judge_verdict_parsing():
    from rag.evaluate.judge import judge_summary, parse_verdict

    assert parse_verdict('{"correct": 1, "faithful": 0}') == {"correct": 1.0, "faithful": 0.0}
    assert parse_verdict('Sure! ```json\n{"correct": 0, "faithful": 1}\n``` done') == {"correct": 0.0, "faithful": 1.0}
    assert parse_verdict('{"correct": "yes"} then {"correct": 1, "faithful": 1}') == {"correct": 1.0, "faithful": 1.0}
    assert parse_verdict('{"correct": 2, "faithful": 1}') is None
    assert parse_verdict("I think it is correct.") is None
    rows = [{"judge_correct": 1.0, "judge_faithful": 1.0}, {"judge_correct": 0.0, "judge_faithful": 1.0}, {}]
    assert judge_summary(rows) == {"judge_correct": 0.5, "judge_faithful": 1.0, "judge_parsed": 2, "judge_unparsed": 1}
