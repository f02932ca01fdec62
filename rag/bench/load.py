"""Concurrent chat sessions through the ``/ask`` API (``rag bench load``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def run_load_benchmark(
    url: str,
    questions: Sequence[str],
    *,
    clients: int = 20,
    per_client: int = 5,
    generator: str = "evidence",
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``clients`` concurrent gradio_client sessions, each asking ``per_client`` questions via the API."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def session(i: int) -> list[tuple[float, str | None]]:
        client = Client(url, verbose=False)
        out: list[tuple[float, str | None]] = []
        for j in range(per_client):
            q = questions[(i + j) % len(questions)]
            t = time.perf_counter()
            try:
                data = client.predict(q, generator, "", "", [], 5, api_name="/ask")
                problem = data.get("error") if isinstance(data, dict) else "not a JSON object"
                if problem is None and not isinstance(data.get("answer"), str):
                    problem = "no answer"
            except Exception as exc:  # counted and reported, the run goes on
                problem = f"{type(exc).__name__}: {exc}"
            out.append((time.perf_counter() - t, problem))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [r for rs in pool.map(session, range(clients)) for r in rs]
    wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    errors = [r[1] for r in results if r[1]]
    figures = {
        "clients": clients,
        "requests": len(results),
        "answered": len(results) - len(errors),
        "errors": len(errors),
        "wall_s": round(wall, 1),
        "p50_s": round(float(np.median(lat)), 2),
        "p95_s": round(float(np.percentile(lat, 95)), 2),
        "max_s": round(max(lat), 2),
        "throughput_rps": round(len(results) / wall, 2),
    }
    if errors:
        log(f"first error: {errors[0]}")
    return figures
