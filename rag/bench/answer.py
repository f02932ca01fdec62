"""Time to first token, total time and peak memory per generator and context (``rag bench answer``).

Each configuration is the served pipeline (:func:`rag.pipeline.build_qa`) with only the generator
and the context kind changed; answers are streamed, so the first-token time is real. The first
question of a configuration is reported apart (``cold_*``): it pays for loading the model and, for
the local model, for evaluating the fixed prompt prefix (rules and worked examples) that llama.cpp
then keeps for every later question; the p50 figures are over the other questions. With
``prefix_cache=(True, False)`` the local model is also run forgetting that prefix before every
question, which shows what re-using it saves.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from rag.answer.chain import Context
from rag.bench.memory import PeakRSS
from rag.config import Generator, Settings
from rag.pipeline import build_qa, load_encoder, open_index
from rag.records import Answer


def run_answer_benchmark(
    settings: Settings,
    questions: Sequence[str],
    generators: Sequence[Generator],
    contexts: Sequence[Context] = ("evidence",),
    prefix_cache: Sequence[bool] = (True,),
    *,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """One row per generator and context: prompt size, cold and warm first-token and total times, memory."""
    encoder = load_encoder(settings)
    rows = []
    with open_index(settings, encoder) as idx:
        encoder.encode_queries(["warm up"])
        for gen in generators:
            for context, reuse in ((c, r) for c in contexts for r in (prefix_cache if gen == "local" else (True,))):
                s = settings.with_(context=context, prefix_cache=reuse)
                with PeakRSS() as rss:
                    qa = build_qa(s, gen, store=idx, encoder=encoder)
                    answers = []
                    for q in questions:
                        *_, answer = qa.stream(q)
                        assert isinstance(answer, Answer)
                        answers.append(answer)
                del qa  # the next configuration loads its own model: free this one's first
                gc.collect()
                warm = answers[1:] or answers
                row = {
                    "generator": gen,
                    "context": context,
                    "prefix_cache": reuse,
                    "budget_tokens": s.evidence_tokens if context == "evidence" else s.context_tokens,
                    "questions": len(questions),
                    "prompt_tokens_avg": round(statistics.mean(a.prompt_tokens for a in answers)),
                    "cold_first_token_s": round(answers[0].timings["first_token_s"], 2),
                    "cold_total_s": round(answers[0].timings["total_s"], 2),
                    "first_token_s_p50": round(statistics.median(a.timings["first_token_s"] for a in warm), 2),
                    "total_s_p50": round(statistics.median(a.timings["total_s"] for a in warm), 2),
                    "total_s_max": round(max(a.timings["total_s"] for a in warm), 2),
                    "retrieve_s_p50": round(statistics.median(a.timings.get("retrieve_s", 0) for a in warm), 3),
                    "evidence_s_p50": round(statistics.median(a.timings.get("evidence_s", 0) for a in warm), 3),
                    "verify_s_p50": round(statistics.median(a.timings.get("verify_s", 0) for a in warm), 3),
                    "refused": sum(a.refused for a in answers),
                    "peak_rss_mb": round(rss.peak / 2**20),
                }
                log(str(row))
                rows.append(row)
    return rows
