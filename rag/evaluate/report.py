"""report.md and report.html (with matplotlib plots) for `rag eval answers`."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

BAR_KEYS = (
    "em",
    "f1",
    "answer_contained",
    "citation_precision",
    "citation_recall",
    "faithfulness",
    "refusal_accuracy",
    "false_refusal_rate",
)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def make_plots(
    out: Path, metrics: dict[str, Any], rows: Sequence[dict[str, Any]], ranks: Sequence[int | None]
) -> list[tuple[str, str]]:
    """Writes the PNGs; returns (title, file name) pairs."""
    plots = []
    fig, ax = plt.subplots(figsize=(6, 3.2))
    vals = [metrics[k] for k in BAR_KEYS]
    ax.barh(list(BAR_KEYS), vals, color="#3b78c2")
    ax.set_xlim(0, 1)
    for i, v in enumerate(vals):
        ax.text(min(v + 0.01, 0.92), i, f"{v:.2f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_title("Metrics")
    _save(fig, out / "metrics.png")
    plots.append(("Metrics", "metrics.png"))

    f1s = [r["f1"] for r in rows if r.get("f1") is not None]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(f1s, bins=10, range=(0, 1), color="#5a9e6f")
    ax.set_xlabel("token F1 per answerable question")
    ax.set_ylabel("questions")
    ax.set_title("F1 distribution")
    _save(fig, out / "f1.png")
    plots.append(("F1 distribution", "f1.png"))

    if ranks:
        ks = list(range(1, 11))
        rec = [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in ks]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(ks, rec, marker="o", color="#c2643b")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylabel("gold passage found")
        ax.set_title("Recall@k of the gold passage")
        _save(fig, out / "recall_at_k.png")
        plots.append(("Recall@k of the gold passage", "recall_at_k.png"))

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist([r["total_s"] for r in rows], bins=20, color="#8a63b8")
    ax.set_xlabel("seconds per answer (total)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    _save(fig, out / "latency.png")
    plots.append(("Latency", "latency.png"))
    return plots


def write_report(
    out: Path,
    metrics: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    ranks: Sequence[int | None],
    config: dict[str, Any],
) -> None:
    plots = make_plots(out, metrics, rows, ranks)
    table = "\n".join(f"| {k} | {v} |" for k, v in metrics.items())
    md = [
        f"# Answer evaluation: {config.get('dataset', '')}",
        "",
        f"Generator `{config['generator']}`, {metrics['n']} questions.",
        "",
        "| metric | value |",
        "|---|---|",
        table,
        "",
    ]
    md += [f"## {title}\n\n![{title}]({name})\n" for title, name in plots]
    md += ["## Configuration", "", "```json", json.dumps(config, indent=2, default=str), "```", ""]
    wrong = [r for r in rows if r.get("answer_contained") == 0.0][:15]
    if wrong:
        md += ["## Examples of answers without the gold answer", ""]
        md += [f"- **{r['question']}** gold: {r['gold']} — answer: {r['answer']}" for r in wrong]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")

    imgs = "".join(
        f"<figure><img alt='{html.escape(t)}' src='data:image/png;base64,"
        f"{base64.b64encode((out / n).read_bytes()).decode()}'><figcaption>{html.escape(t)}</figcaption></figure>"
        for t, n in plots
    )
    rows_html = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in metrics.items())
    wrong_html = "".join(
        f"<li><b>{html.escape(r['question'])}</b> gold: {html.escape(r['gold'])} — "
        f"answer: {html.escape(r['answer'])}</li>"
        for r in wrong
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>newsrag answer evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:3px 8px}}figure{{display:inline-block;margin:8px}}
img{{max-width:460px}}pre{{background:#f6f8fa;padding:8px;overflow:auto}}</style></head><body>
<h1>Answer evaluation: {html.escape(str(config.get("dataset", "")))}</h1>
<p>Generator <code>{html.escape(config["generator"])}</code>, {metrics["n"]} questions.</p>
<table>{rows_html}</table><h2>Plots</h2>{imgs}
<h2>Answers without the gold answer</h2><ul>{wrong_html}</ul>
<h2>Configuration</h2><pre>{html.escape(json.dumps(config, indent=2, default=str))}</pre></body></html>"""
    (out / "report.html").write_text(page, encoding="utf-8")
