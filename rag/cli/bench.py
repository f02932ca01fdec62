"""``rag bench ingest|ray|scale|store|answer|load``: benchmarks that print figures."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Annotated, Any

import typer

from rag.cli.common import IndexOpt, ModelOpt, log, out, print_figures, print_rows, settings_for
from rag.config import ContextKind as Context
from rag.config import Generator
from rag.errors import NewsragError

app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")


def _sentences(path: Path) -> list[str]:
    """Every sentence of the articles in ``path`` (texts for the synthetic large indexes)."""
    from rag.ingest.loaders import load_paths
    from rag.records import Article
    from rag.text.sentences import split_sentences

    return [s for a in load_paths([path]) if isinstance(a, Article) for s in split_sentences(a.body, a.language)]


def _write(out_file: Path | None, data: Any) -> None:
    if out_file:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(data, indent=2))


def _generators(spec: str) -> list[Generator]:
    names = [g.strip() for g in spec.split(",") if g.strip()]
    bad = [g for g in names if g not in ("local", "endpoint", "evidence")]
    if bad:
        raise NewsragError(f"unknown generator(s) {', '.join(bad)}: use local, endpoint or evidence")
    return names  # type: ignore[return-value]


@app.command("ingest")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    format: Annotated[str, typer.Option("--format", "-f")] = "auto",
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = None,
    model: ModelOpt = None,
    backends: Annotated[
        str, typer.Option(help="Further encoder backends timed on the same texts, comma-separated (onnx, onnx-int8).")
    ] = "",
    sample: Annotated[int, typer.Option(help="Chunks (and sentences) timed on each bare encoder.")] = 200,
    json_out: Annotated[Path | None, typer.Option("--out", help="Also write the figures as JSON here.")] = None,
) -> None:
    """Ingest into a throw-away index; time the bare encoder(s) on the same chunks and sentences."""
    from rag.bench.ingest import run_ingest_benchmark

    names = [b.strip() for b in backends.split(",") if b.strip()]
    bad = [b for b in names if b not in ("torch", "onnx", "onnx-int8")]
    if bad:
        raise NewsragError(f"unknown backend(s) {', '.join(bad)}: use torch, onnx or onnx-int8")
    figures = run_ingest_benchmark(
        paths,
        settings_for(None, model),
        format=format,
        limit=limit,
        encoder_sample=sample,
        backends=names,  # type: ignore[arg-type]
        log=log,
    )
    rows = figures.pop("backends")
    print_figures("ingest benchmark", figures)
    print_rows("bare encoder per backend (same texts)", rows)
    figures["backends"] = rows
    _write(json_out, figures)


@app.command("ray")
def ray(
    texts: Annotated[list[Path], typer.Option("--texts", help="Articles to ingest (repeatable).")],
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = 300,
    model: Annotated[str, typer.Option("--model", help="Embedding model (default: the small one).")] = (
        "all-minilm-l6-v2"
    ),
    workers: Annotated[str, typer.Option(help="Comma-separated Ray worker (actor) counts.")] = "1,2",
    format: Annotated[str, typer.Option("--format", "-f")] = "auto",
    dtype: Annotated[str | None, typer.Option(help="auto, bfloat16 or float32 (default: NEWSRAG_EMBED_DTYPE).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = Path(
        "eval/results/bench_ray.json"
    ),
) -> None:
    """Ingest throughput without Ray and with Ray Data on 1..N embedding actors (same articles, fresh indexes)."""
    from rag.bench.ray import run_ray_benchmark
    from rag.ingest.ray_encoder import require_ray

    require_ray()
    settings = settings_for(None, model, embed_dtype=dtype)
    counts = [int(x) for x in workers.split(",") if x.strip()]
    result = run_ray_benchmark(texts, settings, format=format, limit=limit, workers=counts, log=log)
    print_figures(
        "ray benchmark: setup",
        {k: v for k, v in result.items() if k not in ("rows", "note", "load_average_after")}
        | {"load_average_after": " ".join(map(str, result["load_average_after"]))},
    )
    print_rows("ray benchmark: ingest throughput", result["rows"])
    out.print(f"note: {result['note']}", highlight=False, soft_wrap=True)
    _write(out_file, result)


@app.command("scale")
def scale(
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
    from rag.bench.scale import run_ann_benchmark, run_hybrid_scale_benchmark
    from rag.evaluate.datasets import squad_questions

    skipped = {tuple(x.split(":")) for x in skip.split(",") if ":" in x}
    rows: list[dict[str, Any]] = []
    for n in [int(x) for x in sizes.split(",") if x.strip()]:
        ks = [k for k in kinds.split(",") if (str(n), k) not in skipped]
        rows += run_ann_benchmark([n], ks, log=log)
    result: dict[str, Any] = {"ann": rows}
    if hybrid_chunks:
        if texts is None or squad is None:
            raise NewsragError("the hybrid part needs --texts (articles) and --squad (questions); or --hybrid-chunks 0")
        result["hybrid"] = run_hybrid_scale_benchmark(
            settings_for(),
            _sentences(texts),
            squad_questions(squad, 100),
            n_chunks=hybrid_chunks,
            kinds=hybrid_kinds.split(","),
            log=log,
        )
    for part, items in result.items():
        print_rows(f"scale: {part}", items)
    _write(out_file, result)


@app.command("store")
def store(
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
    from rag.bench.store import run_store_benchmark
    from rag.evaluate.datasets import squad_questions

    settings = settings_for(None, model)
    rows = run_store_benchmark(
        settings, _sentences(texts), squad_questions(squad, queries), n_chunks=chunks, stores=stores.split(","), log=log
    )
    print_rows(f"vector stores at {chunks:,} chunks ({settings.embed_model} query encoder)", rows)
    _write(out_file, {"embed_model": settings.embed_model, "rows": rows})


@app.command("load")
def load(
    index: IndexOpt = None,
    clients: Annotated[int, typer.Option(help="Concurrent gradio_client sessions.")] = 20,
    per_client: Annotated[int, typer.Option(help="Questions per session.")] = 5,
    url: Annotated[str | None, typer.Option(help="A running app; by default one is started on 127.0.0.1.")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = None,
) -> None:
    """Concurrent sessions against the chat API in evidence-only mode: every request answered? p50/p95."""
    from rag.bench.load import run_load_benchmark
    from rag.bench.questions import LOAD_QUESTIONS
    from rag.ui.app import build_app
    from rag.ui.backend import ChatBackend

    app = None
    if url is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        app = build_app(ChatBackend(settings_for(index)))
        app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        url = f"http://127.0.0.1:{port}/"
    try:
        figures = run_load_benchmark(url, LOAD_QUESTIONS, clients=clients, per_client=per_client, log=log)
    finally:
        if app is not None:
            app.close()
    print_figures("load benchmark (evidence-only)", figures)
    _write(out_file, figures)


@app.command("answer")
def answer(
    index: IndexOpt = None,
    generators: Annotated[str, typer.Option(help="Comma-separated generators.")] = "evidence,local",
    contexts: Annotated[str, typer.Option(help="evidence (the best sentences) and/or passages (whole ones).")] = (
        "evidence"
    ),
    prefix_cache: Annotated[
        str, typer.Option(help="on and/or off: the local model re-uses (or forgets) its evaluated prompt prefix.")
    ] = "on",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the figures as JSON here.")] = None,
) -> None:
    """Time to first token, total time and peak memory per generator and context (the served pipeline)."""
    from rag.bench.answer import run_answer_benchmark
    from rag.bench.questions import ANSWER_QUESTIONS

    kinds: list[Context] = []
    for c in (c.strip() for c in contexts.split(",") if c.strip()):
        if c not in ("evidence", "passages"):
            raise NewsragError(f"--contexts {contexts!r}: use evidence and/or passages")
        kinds.append("evidence" if c == "evidence" else "passages")
    reuse = []
    for v in (v.strip() for v in prefix_cache.split(",") if v.strip()):
        if v not in ("on", "off"):
            raise NewsragError(f"--prefix-cache {prefix_cache!r}: use on and/or off")
        reuse.append(v == "on")
    rows = run_answer_benchmark(
        settings_for(index), ANSWER_QUESTIONS, _generators(generators), kinds, reuse or [True], log=log
    )
    print_rows("answer benchmark", rows)
    _write(out_file, rows)
