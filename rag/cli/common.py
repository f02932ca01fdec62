"""What every command shares: consoles, settings from options, one-line problems, tables, filters."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.config import Generator, Settings
from rag.errors import InputProblem, NewsragError
from rag.records import SearchFilters

out = Console()
err = Console(stderr=True)

IndexOpt = Annotated[str | None, typer.Option("--index", "-i", help="Index name under indexes/ (NEWSRAG_INDEX).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Embedding model name or folder (NEWSRAG_EMBED_MODEL).")]
GeneratorOpt = Annotated[str | None, typer.Option("--generator", "-g", help="local, endpoint or evidence.")]
SinceOpt = Annotated[str | None, typer.Option(help="Only articles dated on or after (YYYY-MM-DD).")]
UntilOpt = Annotated[str | None, typer.Option(help="Only articles dated on or before (YYYY-MM-DD).")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="The day the question is asked from, YYYY-MM-DD (NEWSRAG_AS_OF; today).")
]
SourceOpt = Annotated[list[str], typer.Option("--source", help="Outlet or source file (repeatable).")]


def settings_for(index: str | None = None, model: str | None = None, **changes: Any) -> Settings:
    """Settings from the environment with command-line overrides; a bad value is a one-line error."""
    try:
        return Settings().with_(index=index, embed_model=model, **changes)
    except ValueError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = "; ".join(lines[1:3]) if len(lines) > 1 else lines[0]
        raise NewsragError(f"bad setting: {detail}") from exc


def log(message: str) -> None:
    """Progress lines of long commands, on stderr."""
    err.print(message, highlight=False)


def print_problem(p: InputProblem) -> None:
    style = "yellow" if p.warning else "red"
    err.print(
        f"[{style}]{'warning' if p.warning else 'skipped'}:[/{style}] {p}", markup=True, highlight=False, soft_wrap=True
    )


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def chosen_generator(settings: Settings, option: str | None) -> Generator | None:
    """The generator named on the command line (validated by ``settings``), None when none was named."""
    return settings.generator if option else None


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


def make_filters(
    since: str | None, until: str | None, sources: list[str], languages: list[str], article_ids: list[str] | None = None
) -> SearchFilters:
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


def print_figures(title: str, figures: dict[str, Any], *, digits: int = 2, header: str = "figure") -> None:
    """A two-column name/value table (benchmarks, evaluations)."""
    table = Table(title=title)
    table.add_column(header)
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:.{digits}f}" if isinstance(value, float) else str(value))
    out.print(table)


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    """One column per key of the (uniform) rows (benchmarks)."""
    table = Table(title=title)
    for c in rows[0]:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*[str(v) for v in r.values()])
    out.print(table)
