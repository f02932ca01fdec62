"""``rag eval retrieval|answers|compare``: evaluations on standard data or your own gold sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from rag.cli.common import (
    GeneratorOpt,
    IndexOpt,
    ModelOpt,
    SinceOpt,
    SourceOpt,
    UntilOpt,
    err,
    log,
    make_filters,
    out,
    print_figures,
    settings_for,
)
from rag.errors import NewsragError

app = typer.Typer(no_args_is_help=True, help="Evaluations on standard or your own data.")


@app.command("retrieval")
def retrieval(
    squad: Annotated[
        Path | None, typer.Option("--squad", help="SQuAD-format JSON (each paragraph a document).")
    ] = None,
    beir: Annotated[
        Path | None, typer.Option("--beir", help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/).")
    ] = None,
    questions: Annotated[
        Path | None, typer.Option("--questions", help="Our gold JSONL (article_ids) vs --index.")
    ] = None,
    split: Annotated[str, typer.Option(help="BEIR qrels split.")] = "test",
    configs: Annotated[str, typer.Option(help="Comma-separated: bm25,dense,hybrid,hybrid+rerank.")] = (
        "bm25,dense,hybrid,hybrid+rerank"
    ),
    index: Annotated[str | None, typer.Option("--index", help="Keep the built index under this name.")] = None,
    model: ModelOpt = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    reranker: Annotated[
        str | None, typer.Option(help="Reranker for hybrid+rerank: fusion, sentence or a folder.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write metrics.json, per_query.csv, run.json here.")
    ] = None,
) -> None:
    """MRR@10, nDCG@10, Recall@1/5/10/100 and latency per configuration, at document level."""
    from rag.evaluate.datasets import load_beir, load_gold_questions, load_squad
    from rag.evaluate.retrieval import ALL_CONFIGS, RetrievalConfigName, evaluate_retrieval

    if sum(x is not None for x in (squad, beir, questions)) != 1:
        raise NewsragError("give exactly one of --squad FILE, --beir DIR or --questions FILE --index NAME")
    settings = settings_for(None, model, reranker=reranker)
    if questions is not None:
        task = load_gold_questions(questions)
    elif squad is not None:
        task = load_squad(squad)
    else:
        assert beir is not None
        task = load_beir(beir, split)
    names = [c.strip() for c in configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in ALL_CONFIGS]
    if unknown:
        raise NewsragError(f"unknown config(s) {', '.join(unknown)}: use {', '.join(ALL_CONFIGS)}")
    metrics = evaluate_retrieval(
        task,
        settings,
        [cast(RetrievalConfigName, c) for c in names],
        index_name=index,
        out_dir=out_dir,
        limit=limit,
        log=log,
    )
    table = Table(title=f"{metrics['dataset']}: {metrics['n_queries']} queries ({settings.embed_model})")
    cols = ["mrr@10", "ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "p50_ms", "p95_ms"]
    table.add_column("config")
    for c in cols:
        table.add_column(c, justify="right")
    for name, m in metrics["configs"].items():
        table.add_row(name, *[f"{m[c]:.4f}" if not c.endswith("_ms") else f"{m[c]:.1f}" for c in cols])
    out.print(table)


@app.command("answers")
def answers(
    squad: Annotated[Path | None, typer.Option("--squad", help="SQuAD-format JSON: indexes every paragraph.")] = None,
    questions: Annotated[Path | None, typer.Option("--questions", help="Your gold set (JSON Lines).")] = None,
    index: IndexOpt = None,
    generator: GeneratorOpt = None,
    model: ModelOpt = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="A random sample of N answerable questions (seeded, reproducible).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample and --negatives.")] = 0,
    negatives: Annotated[int, typer.Option(help="With --squad: K questions whose paragraph is removed.")] = 0,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Passages given to the generator.")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: SourceOpt = [],  # noqa: B006
    out_dir: Annotated[Path | None, typer.Option("--out", help="metrics.json, per_question.csv, report.*")] = None,
    floors: Annotated[Path | None, typer.Option(help="JSON of minimum metric values: exit 1 if any is missed.")] = None,
    judge: Annotated[
        bool, typer.Option(help="Also let the configured endpoint model judge correctness and faithfulness.")
    ] = False,
) -> None:
    """Answer quality: EM/F1, answer contained, citation precision/recall, faithfulness, refusals, latency."""
    from rag.evaluate.answers import AnswerTask, run_answer_eval
    from rag.evaluate.datasets import load_questions, sample_questions, squad_task
    from rag.evaluate.gate import check_floors

    if (squad is None) == (questions is None):
        raise NewsragError("give exactly one of --squad FILE or --questions FILE.jsonl")
    settings = settings_for(index, model, generator=generator, answer_k=k)
    filters = make_filters(since, until, source, [])
    judge_llm = None
    if judge:
        from rag.models.chat import make_chat_model

        if not settings.endpoint_url:
            raise NewsragError("--judge needs an OpenAI-compatible endpoint: set NEWSRAG_ENDPOINT_URL")
        judge_llm = make_chat_model(settings, "endpoint")
    if squad is not None:
        docs, qs = squad_task(squad, negatives, seed=seed)
        task = AnswerTask(squad.name, qs, docs)
    else:
        assert questions is not None
        task = AnswerTask(questions.name, load_questions(questions))
    n_neg = sum(1 for q in task.questions if not q.answerable)
    if sample:
        task.questions = sample_questions(task.questions, sample, seed)
    elif squad is not None and limit and n_neg:  # keep the negatives when limiting
        pos = [q for q in task.questions if q.answerable][: max(0, limit - n_neg)]
        task.questions, limit = pos + [q for q in task.questions if not q.answerable], None
    if limit:
        task.questions = task.questions[:limit]
    result = run_answer_eval(
        task, settings, settings.generator, out_dir=out_dir, filters=filters, judge=judge_llm, log=log
    )
    m = result["extra"]
    print_figures(f"answers ({settings.generator}): {m['n']} questions", m, digits=4, header="metric")
    for kind, by in result["by_type"].items():  # per question type (the gold set's "type" field)
        print_figures(f"type {kind}", by, digits=4, header="metric")
    if floors is not None:
        n, missed = check_floors(m, floors)
        if missed:
            err.print("[red]regression:[/red] " + "; ".join(missed), highlight=False)
            raise typer.Exit(1)
        err.print(f"all {n} floors met ({floors})", highlight=False)


@app.command("claims")
def claims(
    sources: Annotated[list[Path], typer.Argument(help="Article files or folders the gold set refers to.")],
    demo: Annotated[bool, typer.Option(help="Also read the demo corpus (fetched once, as `rag corpus demo`).")] = True,
    gold: Annotated[Path, typer.Option("--gold", help="Claims gold set (JSON Lines).")] = Path(
        "eval/datasets/claims.jsonl"
    ),
    model: ModelOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write metrics.json and per_item.jsonl here.")] = None,
    floors: Annotated[Path | None, typer.Option(help="JSON of bounds, e.g. misattributions_passed_max: 0.")] = None,
) -> None:
    """Misattributions the verifier lets pass (goal 0) and right claims it accepts, on a claims gold set."""
    from rag.evaluate.claims import load_claims, run_claims_eval
    from rag.evaluate.gate import check_floors
    from rag.ingest.loaders import load_paths
    from rag.records import Article

    items = load_claims(gold)
    paths = list(sources)
    if demo:
        from rag.ingest.corpus import fetch_demo_csv

        paths.append(fetch_demo_csv(settings_for()))
    articles = [a for a in load_paths(paths) if isinstance(a, Article)]
    result = run_claims_eval(items, articles, settings_for(None, model), out_dir=out_dir, log=log)
    figures = {k: v for k, v in result.items() if k != "by_kind"}
    for kind, m in result["by_kind"].items():
        figures[f"{kind}: misattributions passed / right accepted / items"] = (
            f"{m['misattributions_passed']} / {m['right_accepted']} / {m['items']}"
        )
    print_figures(f"claims ({gold.name})", figures, header="metric")
    if floors is not None:
        n, missed = check_floors(result, floors)
        if missed:
            err.print("[red]regression:[/red] " + "; ".join(missed), highlight=False)
            raise typer.Exit(1)
        err.print(f"all {n} floors met ({floors})", highlight=False)


@app.command("compare")
def compare(run_a: Path, run_b: Path) -> None:
    """Differences between two `rag eval answers --out` runs, question by question where the verdict changed."""
    from rag.evaluate.answers import compare_runs

    deltas, changed = compare_runs(run_a, run_b)
    table = Table(title=f"{run_a} → {run_b}")
    for c in ("metric", "A", "B", "Δ"):
        table.add_column(c, justify="right")
    for key, a, b in deltas:
        table.add_row(key, f"{a:.4f}", f"{b:.4f}", f"{b - a:+.4f}")
    out.print(table)
    for ch in changed:
        out.print(
            f"[bold]{ch['id']}[/bold] {ch['question']}: {ch['before']} → {ch['after']}", highlight=False, soft_wrap=True
        )
    out.print(f"{len(changed)} question(s) changed verdict")
