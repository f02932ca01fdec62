"""The chat's backend: one index, its search and generators, uploads kept inside the app's folder.

Safe to call from Gradio's worker threads: the index is swapped atomically after an upload, and a
generator that cannot run two generations at once (llama.cpp) is serialised.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.chain import NewsQA
from rag.config import Generator, Settings
from rag.errors import InputProblem, NewsragError
from rag.ingest.loaders import CSV_EXT, JSONL_EXT, TEXT_EXT, LoadOptions
from rag.ingest.pipeline import ingest_paths
from rag.pipeline import build_qa, load_encoder, open_index
from rag.records import Answer, SearchFilters, Turn
from rag.store import NewsStore, store_exists

ALLOWED_UPLOADS = TEXT_EXT | CSV_EXT | JSONL_EXT


def safe_name(name: str) -> str:
    """A file name that cannot leave the upload folder: no separators, no leading dots, limited charset."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".") or "upload"
    return base[:120]


@dataclass
class UploadReport:
    saved: list[str]
    messages: list[str]
    summary: str


class ChatBackend:
    """Index, search and generators for the app; safe to call from Gradio's worker threads."""

    def __init__(self, settings: Settings, data_dir: Path | None = None) -> None:
        self.settings = settings
        self.encoder = load_encoder(settings)
        self.data_dir = (data_dir or settings.cache_dir.expanduser() / "app" / settings.index).resolve()
        self.upload_dir = self.data_dir / "uploads"
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._gen_lock = threading.Lock()  # llama.cpp is not re-entrant
        self._qa: dict[Generator, NewsQA] = {}
        self.index: NewsStore | None = None
        self._open()

    def _open(self) -> None:
        with self._lock:
            old = self.index
            self.index = open_index(self.settings, self.encoder) if store_exists(self.settings) else None
            self._qa = {}
            if old is not None:
                old.close()

    def qa(self, generator: Generator) -> NewsQA:
        with self._lock:
            if self.index is None:
                raise NewsragError(f"the index {self.settings.index} is empty: add articles first")
            if generator not in self._qa:
                self._qa[generator] = build_qa(self.settings, generator, store=self.index, encoder=self.encoder)
            return self._qa[generator]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return self.index.stats() if self.index else {"articles": 0, "chunks": 0}

    def outlets(self) -> list[str]:
        return [o for o in self.stats().get("outlets", {}) if o != "?"]

    def languages(self) -> list[str]:
        return [x for x in self.stats().get("languages", {}) if x != "?"]

    def stream(
        self,
        question: str,
        history: Sequence[Turn],
        generator: Generator,
        filters: SearchFilters | None,
        k: int | None,
        as_of: str | None = None,
    ) -> Iterator[str | Answer]:
        """:param as_of: the day the question is asked from (YYYY-MM-DD; None or "": the settings', else today)."""
        qa = self.qa(generator)
        if not qa.generator.exclusive:
            yield from qa.stream(question, history, filters, k, as_of or None)
            return
        with self._gen_lock:
            yield from qa.stream(question, history, filters, k, as_of or None)

    def ask(
        self,
        question: str,
        generator: Generator,
        filters: SearchFilters | None,
        k: int | None,
        as_of: str | None = None,
    ) -> Answer:
        answer = None
        for piece in self.stream(question, [], generator, filters, k, as_of):
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
