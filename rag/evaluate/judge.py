"""Optional LLM-judge pass of `rag eval answers --judge`: an OpenAI-compatible model grades each answer.

The string metrics (answer contained, citation checks, the verifier's faithfulness) are cheap and
reproducible but miss paraphrases; a judge model catches those, at the price of its own errors. Its
scores are therefore reported beside the others (``judge_correct``, ``judge_faithful``, and how many
verdicts could not be parsed), never mixed into them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.records import Answer

SYSTEM = (
    "You grade answers of a news question-answering system. Reply with one JSON object and nothing else: "
    '{"correct": 0 or 1, "faithful": 0 or 1}.'
)
TEMPLATE = (
    "correct = 1 when the answer states the same fact as one of the gold answers (wording, language and "
    "number format may differ); when there are no gold answers the question is unanswerable and correct = 1 "
    "only if the answer declines.\n"
    "faithful = 1 when every claim of the answer is stated in the cited passages (a declining answer is "
    "faithful).\n"
    """
Question: {question}
Gold answers: {gold}
Answer: {answer}
Cited passages:
{passages}"""
)

_OBJECT = re.compile(r"\{[^{}]*\}", re.S)


def parse_verdict(text: str) -> dict[str, float] | None:
    """The first JSON object with 0/1 ``correct`` and ``faithful`` in the judge's reply, else None."""
    for m in _OBJECT.finditer(text):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        try:
            verdict = {k: float(obj[k]) for k in ("correct", "faithful")}
        except (KeyError, TypeError, ValueError):
            continue
        if all(v in (0.0, 1.0) for v in verdict.values()):
            return verdict
    return None


def judge_answer(llm: BaseChatModel, question: str, gold: Sequence[str], answer: Answer) -> dict[str, Any]:
    """Ask the judge about one answer: ``judge_correct``/``judge_faithful`` (None when unparsable)."""
    passages = "\n".join(f"[{c.n}] {c.passage}" for c in answer.citations) or "(none)"
    prompt = TEMPLATE.format(
        question=question,
        gold=" | ".join(gold) if gold else "(none: unanswerable)",
        answer=answer.answer,
        passages=passages,
    )
    reply = llm.invoke([SystemMessage(SYSTEM), HumanMessage(prompt)])
    text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    verdict = parse_verdict(text)
    return {
        "judge_correct": verdict["correct"] if verdict else None,
        "judge_faithful": verdict["faithful"] if verdict else None,
        "judge_raw": text.strip()[:300],
    }


def judge_summary(rows: Sequence[dict[str, Any]]) -> dict[str, float | int]:
    """Means over the parsed verdicts, and how many were parsed at all."""
    parsed = [r for r in rows if r.get("judge_correct") is not None]
    n = len(parsed)
    return {
        "judge_correct": round(sum(r["judge_correct"] for r in parsed) / n, 4) if n else 0.0,
        "judge_faithful": round(sum(r["judge_faithful"] for r in parsed) / n, 4) if n else 0.0,
        "judge_parsed": n,
        "judge_unparsed": len(rows) - n,
    }
