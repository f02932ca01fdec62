"""Time to first token, total time and peak memory per generator (``rag bench answer``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.bench.memory import PeakRSS
from rag.config import Generator, Settings
from rag.pipeline import build_qa, load_encoder, open_index
from rag.records import Answer


def run_answer_benchmark(
    settings: Settings,
    questions: Sequence[str],
    generators: Sequence[Generator],
    budgets: Sequence[int] = (1000, 2000),
    *,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Time to first token and total time per generator at each context budget (cl100k tokens).

    Each configuration is the served pipeline (:func:`rag.pipeline.build_qa`) with only the
    context budget changed; answers are streamed, so the first-token time is real.
    """
    encoder = load_encoder(settings)
    rows = []
    with open_index(settings, encoder) as idx:
        for gen in generators:
            for budget in budgets:
                s = settings.with_(context_tokens=budget)
                with PeakRSS() as rss:
                    qa = build_qa(s, gen, store=idx, encoder=encoder)
                    first, total, ptoks = [], [], []
                    for q in questions:
                        *_, answer = qa.stream(q)
                        assert isinstance(answer, Answer)
                        first.append(answer.timings["first_token_s"])
                        total.append(answer.timings["total_s"])
                        ptoks.append(answer.prompt_tokens)
                row = {
                    "generator": gen,
                    "context_budget": budget,
                    "questions": len(questions),
                    "prompt_tokens_avg": round(float(np.mean(ptoks))),
                    "first_token_s_p50": round(float(np.median(first)), 2),
                    "total_s_p50": round(float(np.median(total)), 2),
                    "total_s_max": round(max(total), 2),
                    "peak_rss_mb": round(rss.peak / 2**20),
                }
                log(str(row))
                rows.append(row)
    return rows
