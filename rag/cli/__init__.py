"""The ``rag`` command line, one module per command group.

Every expected failure is a :class:`~rag.errors.NewsragError` and is printed as one line on
stderr (exit status 1). Ingest prints one line per bad input and goes on; its exit status is 0
when everything was read, 3 when some inputs were skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from rag.cli import bench, corpus, evaluate, index, models, query, serve
from rag.cli.common import err
from rag.errors import NewsragError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="newsrag: grounded, cited question answering over news articles."
)
for command in (index.ingest, index.stats, index.delete, query.search, query.ask, query.chat, serve.serve):
    app.command()(command)
app.add_typer(models.app, name="models")
app.add_typer(corpus.app, name="corpus")
app.add_typer(bench.app, name="bench")
app.add_typer(evaluate.app, name="eval")

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
