"""The Gradio chat: ask, read the verified answer, see exactly where each claim comes from.

The page is a thin layer over :class:`rag.ui.backend.ChatBackend`; its HTML comes from
:mod:`rag.ui.render`. :func:`build_app` lays the page out and wires three handlers made by the
functions below it: the streaming chat answer, the ``/ask`` API and the upload.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

from rag.config import Generator, Settings
from rag.errors import NewsragError
from rag.records import Answer, SearchFilters, Turn
from rag.ui.backend import ChatBackend
from rag.ui.render import CSS, answer_markdown, sources_html

GENERATORS: list[Generator] = ["evidence", "local", "endpoint"]


def stats_markdown(backend: ChatBackend) -> str:
    s = backend.stats()
    if not s.get("articles"):
        return "**Index:** empty — add articles below."
    span = f"{s['date_min']} – {s['date_max']}" if s.get("date_min") else "no dates"
    return (
        f"**Index** `{backend.settings.index}`: {s['articles']} articles, {s['chunks']} chunks, {span}; "
        f"model `{s['embed_model']}`"
    )


def filters_of(since: str, until: str, outlets: list[str] | None, langs: list[str] | None) -> SearchFilters:
    return SearchFilters(
        since=(since or "").strip() or None,
        until=(until or "").strip() or None,
        outlets=tuple(outlets or ()),
        languages=tuple(langs or ()),
    )


def _failure(generator: str, exc: Exception) -> str:
    if isinstance(exc, NewsragError | ValueError):
        return f"⚠️ {html.escape(str(exc))}"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"⚠️ The {generator} generator failed: {html.escape(type(exc).__name__)}: {html.escape(first)}"


def make_respond(backend: ChatBackend) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The chat handler: streams the draft, then shows the verified answer and its source cards."""
    import gradio as gr

    def respond(
        message: str,
        history: list[dict[str, Any]],
        turns: list[Turn],
        generator: Generator,
        since: str,
        until: str,
        outlets: list[str],
        langs: list[str],
        k: int,
        as_of: str = "",
    ) -> Iterator[tuple[Any, ...]]:
        message = (message or "").strip()
        if not message:
            yield gr.update(), history, turns, gr.update()
            return
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield "", history, turns, gr.update()
        try:
            filters = filters_of(since, until, outlets, langs)
            text = ""
            for piece in backend.stream(message, turns, generator, filters, int(k), (as_of or "").strip() or None):
                if isinstance(piece, Answer):
                    history[-1] = {"role": "assistant", "content": answer_markdown(piece)}
                    turns = [*turns, Turn(message, piece.answer)]
                    yield "", history, turns, sources_html(piece)
                else:
                    text += piece
                    history[-1] = {"role": "assistant", "content": html.escape(text)}
                    yield "", history, turns, gr.update()
        except Exception as exc:  # the model backend failed: say so in the chat, keep serving
            history[-1] = {"role": "assistant", "content": _failure(generator, exc)}
            yield "", history, turns, gr.update()

    return respond


def make_api(backend: ChatBackend) -> Callable[..., dict[str, Any]]:
    """The ``/ask`` API: one question in, the ``rag ask --json`` object out."""

    def api_ask(
        question: str,
        generator: str = "evidence",
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        k: float = 5,
        as_of: str = "",
    ) -> dict[str, Any]:
        """Answer one question; returns the answer and its citations as JSON (see README, API)."""
        if generator and generator not in GENERATORS:
            return {"error": f"unknown generator {generator!r}: use {', '.join(GENERATORS)}"}
        try:
            answer = backend.ask(
                question,
                generator or "evidence",
                filters_of(since or "", until or "", outlets, []),
                int(k or 5),
                (as_of or "").strip() or None,
            )
        except (NewsragError, ValueError) as exc:
            return {"error": str(exc)}
        return answer.to_json()

    return api_ask


def make_upload(backend: ChatBackend) -> Callable[..., tuple[str, str, Any]]:
    """The "Add articles" handler: ingest the files, report each bad one, refresh the outlets."""
    import gradio as gr

    def upload(files: list[Any] | None, progress: Any = gr.Progress()) -> tuple[str, str, Any]:
        if not files:
            return "No files chosen.", stats_markdown(backend), gr.update()
        paths = [f if isinstance(f, str) else f.name for f in files]
        progress(0.1, desc="ingesting")
        rep = backend.add_files(paths)
        progress(1.0, desc="done")
        lines = [f"✅ {rep.summary}"] + [f"⚠️ {m}" for m in rep.messages]
        return "\n\n".join(lines), stats_markdown(backend), gr.update(choices=backend.outlets())

    return upload


def build_app(backend: ChatBackend, *, title: str = "newsrag") -> Any:
    """The Gradio Blocks app (see the README for the API endpoint)."""
    import gradio as gr

    with gr.Blocks(title=title) as app:
        gr.Markdown(f"## {title} — ask the news, check every source")
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="chat", sanitize_html=True)
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question, e.g. Wer hat wem Unterstützung zugesagt?",
                        show_label=False,
                        scale=5,
                        elem_id="question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Accordion("Search options", open=False):
            with gr.Row():
                default = backend.settings.generator if backend.settings.generator in GENERATORS else "evidence"
                generator = gr.Radio(GENERATORS, value=default, label="Generator", elem_id="generator")
                k = gr.Slider(1, 15, value=backend.settings.answer_k, step=1, label="Passages")
            with gr.Row():
                since = gr.Textbox(label="Since (YYYY-MM-DD)")
                until = gr.Textbox(label="Until (YYYY-MM-DD)")
                as_of = gr.Textbox(label="As of (YYYY-MM-DD; default today)", elem_id="as-of")
                outlets = gr.Dropdown(backend.outlets(), multiselect=True, label="Outlets")
                langs = gr.Dropdown(backend.languages(), multiselect=True, label="Languages")
        stats = gr.Markdown(stats_markdown(backend), elem_id="stats")
        with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
            files = gr.File(file_count="multiple", label="Text, CSV or JSONL files", elem_id="upload")
            add = gr.Button("Ingest", elem_id="ingest")
            upload_status = gr.Markdown(elem_id="upload-status")

        respond = make_respond(backend)
        inputs = [box, chatbot, turns, generator, since, until, outlets, langs, k, as_of]
        outputs = [box, chatbot, turns, sources]
        send.click(respond, inputs, outputs, api_visibility="private")
        box.submit(respond, inputs, outputs, api_visibility="private")
        # A question already typed stays in the box: it is asked in the fresh conversation.
        new.click(lambda: ([], [], sources_html(None)), None, [chatbot, turns, sources], api_visibility="private")
        add.click(make_upload(backend), [files], [upload_status, stats, outlets], api_visibility="private")
        gr.api(make_api(backend), api_name="ask")  # type: ignore[attr-defined]
    app.queue(default_concurrency_limit=8)
    return app


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None) -> None:
    creds = None
    if auth:
        user, sep, pw = auth.partition(":")
        if not sep or not user or not pw:
            raise NewsragError("--auth must look like user:password")
        creds = (user, pw)
    app = build_app(ChatBackend(settings))
    import gradio as gr

    app.launch(
        server_name=host,
        server_port=port,
        auth=creds,
        show_error=False,
        css=CSS,
        allowed_paths=[],
        theme=gr.themes.Soft(),
    )
