"""``rag serve``: the Gradio chat on an index (loopback only unless told otherwise)."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.common import IndexOpt, err, settings_for


def serve(
    index: IndexOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind (default loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 7860,
    auth: Annotated[str | None, typer.Option(help="user:password (or NEWSRAG_AUTH).", envvar="NEWSRAG_AUTH")] = None,
    generator: Annotated[str | None, typer.Option("--generator", "-g", help="Default generator in the UI.")] = None,
) -> None:
    """Start the Gradio chat on an index (binds 127.0.0.1 unless told otherwise)."""
    from rag.ui.app import launch

    settings = settings_for(index, generator=generator)
    err.print(f"newsrag chat on http://{host}:{port} (index {settings.index_path})", highlight=False)
    launch(settings, host=host, port=port, auth=auth)
