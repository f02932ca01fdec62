"""The Gradio chat: ask, read the verified answer, see exactly where each claim comes from.

The UI is a thin layer over :class:`rag.chain.NewsQA`. Everything that touches files goes through
:class:`ChatBackend`, which owns the index, swaps it atomically after an upload, and keeps uploads
inside its own data folder.
"""

from __future__ import annotations

import html
import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.chain import NewsQA, Turn
from rag.config import Settings
from rag.errors import InputProblem, NewsragError
from rag.ingest import ingest_paths, model_info
from rag.loaders import CSV_EXT, JSONL_EXT, TEXT_EXT, LoadOptions
from rag.records import Answer
from rag.rerank import make_reranker
from rag.retrieval import HybridSearch, SearchFilters, retrieval_config
from rag.store import NewsStore, open_store, store_exists

ALLOWED_UPLOADS = TEXT_EXT | CSV_EXT | JSONL_EXT
CSS = """
.src-card {border:1px solid #d0d7de; border-radius:8px; padding:10px 12px; margin:8px 0; background: #fff;}
.src-card h4 {margin:0 0 4px 0; font-size: 1rem;}
.src-meta {color:#57606a; font-size:0.85rem; margin-bottom:6px;}
.src-card mark {background:#fff3a3; padding:0 2px;}
.src-flag {color:#9a6700; font-size:0.9rem;}
.cite {font-weight:600; text-decoration:none;}
"""


def safe_name(name: str) -> str:
    """A file name that cannot leave the upload folder: no separators, no leading dots, limited charset."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


def answer_markdown(answer: Answer) -> str:
    """The answer text with each [n] turned into a link to its source card."""
    text = html.escape(answer.answer, quote=False)
    text = re.sub(r"\[(\d+)\]", lambda m: f'<a class="cite" href="#src-{m[1]}">[{m[1]}]</a>', text)
    if answer.unsupported_sentences:
        text += "\n\n" + "\n".join(
            f"⚠️ *not supported by the sources:* {html.escape(s)}" for s in answer.unsupported_sentences
        )
    return text


def sources_html(answer: Answer | None, article_bodies: dict[str, str] | None = None) -> str:
    """Cards for the cited sources only, numbered as in the answer, with the quote highlighted."""
    if answer is None:
        return "<div class='src-empty'>Sources of the answer appear here.</div>"
    if not answer.citations:
        return "<div class='src-empty'>No sources cited.</div>"
    cards = []
    for c in answer.citations:
        rel_s, rel_e = c.quote_start - c.passage_start, c.quote_end - c.passage_start
        passage = c.passage
        if 0 <= rel_s <= rel_e <= len(passage):
            body = (
                html.escape(passage[:rel_s])
                + f"<mark data-quote='{c.n}'>{html.escape(passage[rel_s:rel_e])}</mark>"
                + html.escape(passage[rel_e:])
            )
        else:
            body = html.escape(passage)
        meta = " · ".join(html.escape(x) for x in (c.outlet, c.date) if x)
        link = f" · <a href='{html.escape(c.url)}' target='_blank' rel='noopener'>link</a>" if c.url else ""
        cards.append(
            f"<div class='src-card' id='src-{c.n}'><h4>[{c.n}] {html.escape(c.headline)}</h4>"
            f"<div class='src-meta'>{meta}{link}</div><div class='src-text'>{body}</div></div>"
        )
    return "".join(cards)


@dataclass
class UploadReport:
    saved: list[str]
    messages: list[str]
    summary: str


class ChatBackend:
    """Index, search and generators for the app; safe to call from Gradio's worker threads."""

    def __init__(self, settings: Settings, data_dir: Path | None = None) -> None:
        from rag.embeddings import load_embedder

        self.settings = settings
        self.encoder = load_embedder(settings)
        self.data_dir = (data_dir or settings.cache_dir.expanduser() / "app" / settings.index).resolve()
        self.upload_dir = self.data_dir / "uploads"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._gen_lock = threading.Lock()  # llama.cpp is not re-entrant
        self._qa: dict[str, NewsQA] = {}
        self.index: NewsStore | None = None
        self._open()

    def _open(self) -> None:
        with self._lock:
            old = self.index
            self.index = open_store(self.settings, model_info(self.encoder)) if store_exists(self.settings) else None
            self._qa = {}
            if old is not None:
                old.close()

    def qa(self, generator: str) -> NewsQA:
        with self._lock:
            if self.index is None:
                raise NewsragError(f"the index {self.settings.index} is empty: add articles first")
            if generator not in self._qa:
                search = HybridSearch(
                    self.index,
                    self.encoder,
                    retrieval_config(self.settings),
                    make_reranker(self.settings.reranker, self.encoder),
                )
                self._qa[generator] = NewsQA(self.settings, search, self.encoder, generator)
            return self._qa[generator]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self.index.stats() if self.index else {"articles": 0, "chunks": 0}

    def outlets(self) -> list[str]:
        return [o for o in self.stats().get("outlets", {}) if o != "?"]

    def languages(self) -> list[str]:
        return [x for x in self.stats().get("languages", {}) if x != "?"]

    def stream(
        self, question: str, history: Sequence[Turn], generator: str, filters: SearchFilters | None, k: int | None
    ) -> Iterator[str | Answer]:
        qa = self.qa(generator)
        if qa.llm is None:
            yield from qa.stream(question, history, filters, k)
            return
        with self._gen_lock:
            yield from qa.stream(question, history, filters, k)

    def ask(self, question: str, generator: str, filters: SearchFilters | None, k: int | None) -> Answer:
        answer = None
        for piece in self.stream(question, [], generator, filters, k):
            if isinstance(piece, Answer):
                answer = piece
        assert answer is not None
        return answer

    def add_files(self, paths: Sequence[str | Path], progress: Any = None) -> UploadReport:
        """Copy uploads into the app's folder under safe names, ingest them, then reopen the index."""
        saved: list[Path] = []
        messages: list[str] = []
        for p in paths:
            src = Path(p)
            name = safe_name(src.name)
            if Path(name).suffix.lower() not in ALLOWED_UPLOADS:
                messages.append(f"{name}: unsupported file type (use {', '.join(sorted(ALLOWED_UPLOADS))}), skipped")
                continue
            dest = self.upload_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
            shutil.copyfile(src, dest)
            saved.append(dest)
        if not saved:
            return UploadReport([], messages, "nothing ingested")

        def note(p: InputProblem) -> None:
            messages.append(str(p).replace(str(self.upload_dir) + "/", ""))

        with self._lock:
            report = ingest_paths(
                saved,
                self.settings,
                self.encoder,
                LoadOptions(max_article_bytes=self.settings.max_article_bytes),
                on_problem=note,
                progress=progress,
            )
            self._open()
        return UploadReport([p.name for p in saved], messages, report.summary())


def build_app(backend: ChatBackend, *, title: str = "newsrag") -> Any:
    """The Gradio Blocks app (see the README for the API endpoint)."""
    import gradio as gr

    generators = ["evidence", "local", "endpoint"]

    def stats_md() -> str:
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

    def respond(
        message: str,
        history: list[dict[str, Any]],
        turns: list[Turn],
        generator: str,
        since: str,
        until: str,
        outlets: list[str],
        langs: list[str],
        k: int,
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
            for piece in backend.stream(message, turns, generator, filters, int(k)):
                if isinstance(piece, Answer):
                    history[-1] = {"role": "assistant", "content": answer_markdown(piece)}
                    turns = [*turns, Turn(message, piece.answer)]
                    yield "", history, turns, sources_html(piece)
                else:
                    text += piece
                    history[-1] = {"role": "assistant", "content": html.escape(text)}
                    yield "", history, turns, gr.update()
        except (NewsragError, ValueError) as exc:
            history[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
            yield "", history, turns, gr.update()
        except Exception as exc:  # the model backend failed: say so in the chat, keep serving
            history[-1] = {
                "role": "assistant",
                "content": f"⚠️ The {generator} generator failed: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc).splitlines()[0] if str(exc) else '')}",
            }
            yield "", history, turns, gr.update()

    def api_ask(
        question: str,
        generator: str = "evidence",
        since: str = "",
        until: str = "",
        outlets: list[str] | None = None,
        k: float = 5,
    ) -> dict[str, Any]:
        """Answer one question; returns the answer and its citations as JSON (see README, API)."""
        try:
            answer = backend.ask(
                question, generator or "evidence", filters_of(since or "", until or "", outlets, []), int(k or 5)
            )
        except (NewsragError, ValueError) as exc:
            return {"error": str(exc)}
        return answer.to_json()

    def upload(files: list[Any] | None, progress: Any = gr.Progress()) -> tuple[str, str, Any]:
        if not files:
            return "No files chosen.", stats_md(), gr.update()
        paths = [f if isinstance(f, str) else f.name for f in files]
        progress(0.1, desc="ingesting")
        rep = backend.add_files(paths)
        progress(1.0, desc="done")
        lines = [f"✅ {rep.summary}"] + [f"⚠️ {m}" for m in rep.messages]
        return "\n\n".join(lines), stats_md(), gr.update(choices=backend.outlets())

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
                generator = gr.Radio(
                    generators,
                    value=backend.settings.generator if backend.settings.generator in generators else "evidence",
                    label="Generator",
                    elem_id="generator",
                )
                k = gr.Slider(1, 15, value=backend.settings.answer_k, step=1, label="Passages")
            with gr.Row():
                since = gr.Textbox(label="Since (YYYY-MM-DD)")
                until = gr.Textbox(label="Until (YYYY-MM-DD)")
                outlets = gr.Dropdown(backend.outlets(), multiselect=True, label="Outlets")
                langs = gr.Dropdown(backend.languages(), multiselect=True, label="Languages")
        stats = gr.Markdown(stats_md(), elem_id="stats")
        with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
            files = gr.File(file_count="multiple", label="Text, CSV or JSONL files", elem_id="upload")
            add = gr.Button("Ingest", elem_id="ingest")
            upload_status = gr.Markdown(elem_id="upload-status")

        inputs = [box, chatbot, turns, generator, since, until, outlets, langs, k]
        outputs = [box, chatbot, turns, sources]
        send.click(respond, inputs, outputs, api_visibility="private")
        box.submit(respond, inputs, outputs, api_visibility="private")
        # A question already typed stays in the box: it is asked in the fresh conversation.
        new.click(lambda: ([], [], sources_html(None)), None, [chatbot, turns, sources], api_visibility="private")
        add.click(upload, [files], [upload_status, stats, outlets], api_visibility="private")
        gr.api(api_ask, api_name="ask")  # type: ignore[attr-defined]
    app.queue(default_concurrency_limit=8)
    return app


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None) -> None:
    backend = ChatBackend(settings)
    app = build_app(backend)
    creds = None
    if auth:
        user, sep, pw = auth.partition(":")
        if not sep or not user or not pw:
            raise NewsragError("--auth must look like user:password")
        creds = (user, pw)
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
